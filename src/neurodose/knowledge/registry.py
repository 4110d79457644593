"""Load and validate the knowledge-base files; registries keyed by name.

Files
-----
``drugs/<name>.toml``        one :class:`~neurodose.knowledge.schema.DrugRecord` per file
``references/*.json``        CSL-JSON lists of sources (merged; duplicate ids are errors)
``pgx/*.toml``, ``rules/*.toml``, ``pkmodels/*.toml``, ``conditions.toml``, ...  loaded by
                             their own modules through :func:`load_validated`

Loading fails (:class:`~neurodose.errors.KnowledgeBaseError`) on a number without
a source, a source key missing from the references, a unit that does not parse,
a value outside a plausible range, or a duplicate key.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from neurodose import citations
from neurodose.errors import KnowledgeBaseError, UnknownDrugError, UnknownSourceError
from neurodose.knowledge.schema import DrugRecord, Sourced, iter_sourced

__all__ = [
    "DATA_DIR",
    "Reference",
    "drug_names",
    "format_validation_error",
    "get_drug",
    "get_reference",
    "load_drug_file",
    "load_toml",
    "load_validated",
    "record",
    "references",
    "resolve_name",
]

DATA_DIR = Path(str(resources.files("neurodose.knowledge")))

Reference = dict[str, Any]


def format_validation_error(path: Path | str, err: ValidationError) -> str:
    """Turn a pydantic error into one readable message naming the field."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return f"{path}: " + "; ".join(parts)


_K = TypeVar("_K")
_V = TypeVar("_V")


class ByObject(Generic[_K, _V]):
    """A cache keyed on an immutable object's identity (the object is kept alive with its
    value, so an id is never reused while cached). For values derived from a record."""

    def __init__(self, compute: Callable[[_K], _V], size: int = 4096) -> None:
        self._compute = compute
        self._size = size
        self._data: dict[int, tuple[_K, _V]] = {}

    def __call__(self, obj: _K) -> _V:
        hit = self._data.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = self._compute(obj)
        if len(self._data) >= self._size:
            self._data.clear()
        self._data[id(obj)] = (obj, value)
        return value

    def clear(self) -> None:
        """Forget every cached value."""
        self._data.clear()


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; duplicate keys and syntax errors become KnowledgeBaseError."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:  # includes duplicate keys
        raise KnowledgeBaseError(f"{path}: {exc}") from exc


@cache
def references() -> Mapping[str, Reference]:
    """All sources, merged from ``references/*.json`` (CSL-JSON), keyed by id."""
    out: dict[str, Reference] = {}
    for path in sorted((DATA_DIR / "references").glob("*.json")):
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(f"{path}: invalid JSON: {exc}") from exc
        for item in items:
            key = item.get("id")
            if not key:
                raise KnowledgeBaseError(f"{path}: a reference has no 'id'")
            if key in out:
                raise KnowledgeBaseError(f"{path}: duplicate reference id {key!r}")
            if not any(item.get(k) for k in ("DOI", "PMID", "PMCID", "URL")):
                raise KnowledgeBaseError(
                    f"{path}: reference {key!r} needs a DOI, PMID, PMCID or URL"
                )
            if not item.get("title"):
                raise KnowledgeBaseError(f"{path}: reference {key!r} needs a title")
            out[key] = item
    return out


def get_reference(key: str) -> Reference:
    """One source by key; an unknown key raises :class:`UnknownSourceError`."""
    refs = references()
    if key not in refs:
        raise UnknownSourceError(key, refs)
    return refs[key]


def check_sources(items: list[tuple[str, Sourced]], where: str) -> None:
    """Raise if any cited item names a source key that is not in the references."""
    refs = references()
    for path, item in items:
        if item.source not in refs:
            hints = UnknownSourceError(item.source, refs).suggestions
            hint = f"; did you mean {', '.join(map(repr, hints))}?" if hints else ""
            raise KnowledgeBaseError(
                f"{where}: {path}: source key {item.source!r} is not in the references{hint}"
            )


_M = TypeVar("_M", bound=BaseModel)


def load_validated(path: Path, model: type[_M]) -> _M:
    """Load a TOML file as ``model``; schema errors and unknown source keys raise
    :class:`KnowledgeBaseError` naming the file and the field."""
    data = load_toml(path)
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeBaseError(format_validation_error(path, exc)) from None
    check_sources(iter_sourced(obj), str(path))
    return obj


def index_once(pairs: Iterable[tuple[str, _V]], twice: str) -> dict[str, _V]:
    """``{key: value}`` of ``pairs``; a key given twice is a :class:`KnowledgeBaseError`
    (``twice``: its message, ``{!r}`` the key)."""
    out: dict[str, _V] = {}
    for key, value in pairs:
        if key in out:
            raise KnowledgeBaseError(twice.format(key))
        out[key] = value
    return out


def load_drug_file(path: Path) -> DrugRecord:
    """Load and validate one drug file (schema, units, ranges, sources)."""
    rec = load_validated(path, DrugRecord)
    if rec.name != path.stem:
        raise KnowledgeBaseError(f"{path}: name {rec.name!r} must match the file name")
    return rec


@cache
def _drug_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted((DATA_DIR / "drugs").glob("*.toml"))}


def _normalise(name: str) -> str:
    """Lower case, no apostrophes, spaces and hyphens as underscores."""
    key = name.strip().lower().replace("'", "").replace("’", "").replace("-", "_")
    return "_".join(key.split())


@cache
def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _drug_paths():
        rec = _load(name)
        for alias in rec.aliases:
            a = _normalise(alias)
            if a in out or a in _drug_paths():
                raise KnowledgeBaseError(f"alias {a!r} of {name!r} is used twice")
            out[a] = name
    for brand, generic in brand_names().items():
        a = _normalise(brand)
        if a in out and out[a] != generic:
            raise KnowledgeBaseError(f"brand name {brand!r} is already an alias of {out[a]!r}")
        if generic not in _drug_paths():
            raise KnowledgeBaseError(f"brand name {brand!r}: generic {generic!r} is not a drug")
        out.setdefault(a, generic)
    return out


class BrandName(Sourced):
    """A brand name and the generic it stands for (cited: RxNorm BN, dm+d AMP)."""

    name: str
    generic: str
    market: str


class _BrandFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: int = 1
    brands: list[BrandName]


@cache
def brand_names() -> dict[str, str]:
    """Brand name -> canonical generic, from ``brand_names.toml`` (validated, cited)."""
    bf = load_validated(DATA_DIR / "brand_names.toml", _BrandFile)
    return index_once(((b.name, b.generic) for b in bf.brands), "brand name {!r} listed twice")


@cache
def _load(name: str) -> DrugRecord:
    return load_drug_file(_drug_paths()[name])


def record(name: str) -> DrugRecord:
    """The validated record for ``name``, registering no source (pure).

    For calculations: cite what you use (``citations.register(q.source)`` for each
    value read), so that a result lists exactly the sources of its values.
    :func:`get_drug` also registers every source of the record, for displays of
    the whole record.

    >>> from neurodose import citations
    >>> with citations.tracking() as used:
    ...     rec = record("amitriptyline")
    >>> rec.name, sorted(used)
    ('amitriptyline', [])
    """
    hit = _RECORDS.get(name) if isinstance(name, str) else None
    if hit is not None:
        return hit
    key = resolve_name(name)
    if key in _drug_paths():
        rec = _load(key)
    else:
        from neurodose.knowledge.substances import partner_record

        rec = partner_record(key)
    if len(_RECORDS) < 20000:
        _RECORDS[name] = rec
    return rec


#: name as asked -> record (the knowledge base does not change while a process runs)
_RECORDS: dict[str, DrugRecord] = {}


def drug_names(record: str | None = None) -> list[str]:
    """Names of all drugs (``record='full'`` or ``'partner'`` to filter)."""
    names = sorted(_drug_paths())
    if record is None:
        return names
    return [n for n in names if _load(n).record == record]


def resolve_name(name: str) -> str:
    """Canonical drug name for ``name`` (case, spaces, aliases); unknown raises.

    >>> resolve_name("St John's wort")
    'st_johns_wort'
    """
    if not isinstance(name, str):
        raise UnknownDrugError(name, _drug_paths())
    key = _normalise(name)
    paths = _drug_paths()
    if key in paths:
        return key
    if key in _aliases():
        return _aliases()[key]
    from neurodose.knowledge.substances import formulary_names, resolve_formulary

    found = resolve_formulary(name)
    if found is not None and len(found) == 1:
        return resolve_name(found[0]) if found[0] != key else found[0]
    raise UnknownDrugError(name, [*paths, *_aliases(), *formulary_names()])


def get_drug(name: str) -> DrugRecord:
    """The validated record for ``name``, registering all its sources (see :func:`record`).

    Raises
    ------
    UnknownDrugError
        With the closest names, e.g. ``amitriptylin`` suggests ``amitriptyline``.
    """
    rec = record(name)
    citations.register_many(_record_sources(rec))
    return rec


def _sources_of(rec: DrugRecord) -> tuple[str, ...]:
    return tuple(sorted({item.source for _, item in rec.iter_sourced()}))


#: a record's source keys (walking every cited item of a record is most of a CDS card's cost)
_record_sources: ByObject[DrugRecord, tuple[str, ...]] = ByObject(_sources_of)


class _Drugs(Mapping[str, DrugRecord]):
    """Read-only mapping of all drugs: ``neurodose.drugs["nortriptyline"]``."""

    def __getitem__(self, name: str) -> DrugRecord:
        return get_drug(name)

    def __iter__(self) -> Iterator[str]:
        return iter(drug_names())

    def __len__(self) -> int:
        return len(drug_names())

    def __repr__(self) -> str:
        return f"<neurodose drugs: {len(self)} records>"


drugs = _Drugs()
