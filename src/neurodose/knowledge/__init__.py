"""The cited knowledge base: drug records, references, PGx tables, rules.

>>> from neurodose.knowledge import get_drug
>>> get_drug("amitriptyline").display_name
'Amitriptyline'
"""

from neurodose.knowledge.registry import (
    DATA_DIR,
    drug_names,
    drugs,
    get_drug,
    get_reference,
    load_drug_file,
    record,
    references,
    resolve_name,
)
from neurodose.knowledge.schema import DrugRecord, Quantity

__all__ = [
    "DATA_DIR",
    "DrugRecord",
    "Quantity",
    "drug_names",
    "drugs",
    "get_drug",
    "get_reference",
    "load_drug_file",
    "record",
    "references",
    "resolve_name",
]
