"""Validate FHIR R4 resources with the ``fhir.resources`` R4B models.

A resource that fails validation raises :class:`~neurodose.errors.FhirError` naming
the FHIR path of the first bad element (``Observation.valueQuantity.value``).
The R4B models are close to R4 for the resources neurodose reads and writes
(Patient, MedicationRequest, MedicationStatement, Condition, Observation,
DetectedIssue, CarePlan, Bundle, OperationOutcome).

Validation through the models is about 50 µs of CPU for a small resource (every
element is a pydantic model of its own). A resource is validated once per process:
the SHA-256 of its canonical JSON (sorted keys) is remembered after it passed
(:data:`VALID`, a bounded LRU), so the same resource again (prefetched on every
order-sign, or read twice in one request) costs the hash (about 4 µs). Only resources
that passed are remembered: bad input is validated, and rejected, every time.

Examples
--------
>>> validate_resource({"resourceType": "Patient", "gender": "female"})["gender"]
'female'
>>> try:
...     validate_resource({"resourceType": "Patient", "birthDate": "last year"}, where="entry[0]")
... except FhirError as exc:
...     print(str(exc).split(";")[0])
entry[0] Patient.birthDate: 'last year' is not allowed
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydantic import ValidationError

from neurodose.errors import FhirError

__all__ = ["VALID", "bundle_entries", "resource_class", "validate_resource", "validated_json"]


class ValidSet:
    """A bounded, thread-safe LRU of the keys of resources that passed validation.

    >>> v = ValidSet(size=1)
    >>> v.add(b"a"); v.add(b"b"); (b"a" in v, b"b" in v)
    (False, True)
    """

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._keys: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return True
            return False

    def add(self, key: bytes) -> None:
        with self._lock:
            self._keys[key] = None
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


#: resources (their canonical-JSON hashes) that passed validation in this process
VALID = ValidSet()


def _key(data: dict[str, Any]) -> bytes | None:
    """SHA-256 of the resource as canonical JSON; None where it is not plain JSON
    (then it is validated every time)."""
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).digest()


@cache
def resource_class(resource_type: str) -> Any:
    """The R4B model class of ``resource_type`` (FhirError when FHIR has no such type)."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        raise FhirError("resourceType", resource_type, "a FHIR R4 resource type") from None


def _path(resource_type: str, loc: tuple[Any, ...]) -> str:
    out = resource_type
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def validate_resource(
    data: Any, *, where: str = "", expect: str | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Check one resource against its R4B model; return it as a plain dict.

    Parameters
    ----------
    data : dict
        The resource JSON.
    where : str
        Prefix for error messages (``"prefetch.patient"``, ``"entry[2]"``).
    expect : str or tuple of str, optional
        Allowed resource types.
    """
    prefix = f"{where} " if where else ""
    if not isinstance(data, dict):
        raise FhirError(f"{where or 'resource'}", type(data).__name__, "a FHIR resource (object)")
    rtype = data.get("resourceType")
    if not isinstance(rtype, str):
        raise FhirError(f"{prefix}resourceType".strip(), rtype, "a FHIR resource type")
    allowed = (expect,) if isinstance(expect, str) else expect
    if allowed and rtype not in allowed:
        raise FhirError(f"{prefix}resourceType".strip(), rtype, " or ".join(allowed))
    key = _key(data)
    if key is not None and key in VALID:
        return data
    cls = resource_class(rtype)
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = tuple(x for x in e["loc"] if x != "__root__")
        msg = str(e["msg"]).removeprefix("Value error, ")
        bad = e.get("input")
        if isinstance(bad, dict | list):  # keep the message one short line
            bad = f"<{type(bad).__name__}>"
        raise FhirError(
            f"{prefix}{_path(rtype, loc)}", bad, f"a valid FHIR R4 value ({msg})"
        ) from None
    if key is not None:
        VALID.add(key)
    return data


def validated_json(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate an output resource and return its JSON (None and empty fields removed)."""
    cls = resource_class(str(resource.get("resourceType")))
    model = cls.model_validate(resource)
    out: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return out


def bundle_entries(bundle: Any, *, where: str = "bundle") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path, resource)`` for each entry of a Bundle (each entry validated).

    A value that is not a Bundle, or an entry without a resource, is a FhirError.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        got = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise FhirError(where, got, "a FHIR Bundle")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(f"{where}.entry", type(entries).__name__, "a list of entries")
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if res is None:
            raise FhirError(f"{where}.entry[{i}].resource", None, "a resource")
        yield f"{where}.entry[{i}]", validate_resource(res, where=f"{where}.entry[{i}]")
