"""Quick start: look up cited numbers and the sources a result rests on.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import neurodose
from neurodose import citations
from neurodose.errors import UnknownDrugError
from neurodose.units import parse_quantity


def main() -> None:
    with citations.tracking() as used:
        ami = neurodose.drugs["amitriptyline"]
        pain = ami.doses["neuropathic_pain"]
        assert pain.start is not None and pain.maximum is not None
        print(f"{ami.display_name}: {len(neurodose.drugs)} drugs in the knowledge base")
        print(f"  pain start dose  {pain.start.display():<22} {pain.start.source}")
        print(f"  pain maximum     {pain.maximum.display():<22} {pain.maximum.source}")
        dep = ami.doses["depression"]
        assert dep.maximum is not None
        print(f"  depression max   {dep.maximum.display():<22} {dep.maximum.source}")
        sert = ami.affinities("SERT")[0]
        print(f"  SERT {sert.kind:<11} {sert.display():<22} {sert.source}")
    print(f"  sources registered while looking: {len(used)}")

    # user input is parsed at the boundary into mg, h, ng/mL
    print(f"  '0.025 g' -> {parse_quantity('0.025 g', 'mass')} mg")

    # a misspelt name is an error that says what was meant
    try:
        neurodose.get_drug("amitriptylin")
    except UnknownDrugError as exc:
        print(f"  error: {exc}")


if __name__ == "__main__":
    main()
