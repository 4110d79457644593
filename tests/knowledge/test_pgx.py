"""PGx tables and lookups: worked examples of pk_pgx_ddi.md §2.1 and CPIC grid cells."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurodose import citations
from neurodose.errors import GenotypeError, InputError, KnowledgeBaseError, UnknownNameError
from neurodose.knowledge import pgx

# §2.1 worked examples (DERIVED in the evidence from the allele values and 2020 bins)
WORKED = [
    ("*4/*4", 0.0, "PM"),
    ("*4/*10", 0.25, "IM"),
    ("*10/*10", 0.5, "IM"),
    ("*1/*4", 1.0, "IM"),
    ("*1/*10", 1.25, "NM"),
    ("*1/*41", 1.5, "NM"),
    ("*1/*1", 2.0, "NM"),
    ("*1x2/*1", 3.0, "UM"),
]


@pytest.mark.parametrize(("diplotype", "score", "phenotype"), WORKED)
def test_cyp2d6_worked_examples(diplotype: str, score: float, phenotype: str) -> None:
    assert pgx.activity_score("CYP2D6", diplotype) == score
    assert pgx.phenotype_from_score("CYP2D6", score) == phenotype
    call = pgx.parse_genotype("CYP2D6", diplotype)
    assert (call.activity_score, call.phenotype, call.version) == (score, phenotype, "2020")
    assert "caudle2020" in call.sources


def test_diplotype_order_and_gene_prefix_do_not_matter() -> None:
    assert pgx.activity_score("CYP2D6", "*41/*1x2") == pgx.activity_score("cyp2d6", "*1x2/*41")
    assert pgx.activity_score("CYP2D6", "CYP2D6*1/*4") == 1.0
    with pytest.raises(GenotypeError, match="CYP2C19"):
        pgx.activity_score("CYP2D6", "CYP2C19*1/*2")


@pytest.mark.parametrize(
    ("allele", "value"), [("*1", 1.0), ("*2", 1.0), ("*41", 0.5), ("*10", 0.25), ("*5", 0.0)]
)
def test_allele_activity(allele: str, value: float) -> None:
    assert pgx.allele_activity("CYP2D6", allele) == value


def test_duplications_multiply_by_copy_number() -> None:
    assert pgx.allele_activity("CYP2D6", "*1x2") == 2.0
    assert pgx.allele_activity("CYP2D6", "*4x2") == 0.0
    assert pgx.allele_activity("CYP2D6", "*41x3") == 1.5
    assert pgx.allele_activity("CYP2D6", "*4xN") == 0.0
    with pytest.raises(GenotypeError, match="copy number"):
        pgx.allele_activity("CYP2D6", "*2xN")


def test_xn_resolved_only_when_the_phenotype_cannot_change() -> None:
    call = pgx.parse_genotype("CYP2D6", "*2xN/*1")
    assert call.phenotype == "UM" and call.score_is_lower_bound and call.activity_score == 3.0
    with pytest.raises(GenotypeError, match="copy number"):
        pgx.parse_genotype("CYP2D6", "*41xN/*4")  # 1.0 (IM) with 2 copies, 1.5 (NM) with 3
    with pytest.raises(GenotypeError, match="copy number"):
        pgx.activity_score("CYP2D6", "*2xN/*1")
    assert pgx.parse_genotype("CYP2D6", "*4xN/*1").phenotype == "IM"


def test_unknown_allele_names_it_and_lists_alleles() -> None:
    with pytest.raises(GenotypeError) as exc:
        pgx.allele_activity("CYP2D6", "*99")
    msg = str(exc.value)
    assert "'*99'" in msg and "*41" in msg and "*10" in msg
    with pytest.raises(GenotypeError, match="did you mean"):
        pgx.activity_score("CYP2D6", "*1/*411")


@pytest.mark.parametrize("bad", ["*1", "*1-*4", "1/4", "*1/*4/*2", "", "*1/"])
def test_malformed_diplotypes(bad: str) -> None:
    with pytest.raises(GenotypeError):
        pgx.activity_score("CYP2D6", bad)


def test_unknown_gene_is_an_unknown_name() -> None:
    with pytest.raises(UnknownNameError, match="CYP2D6"):
        pgx.parse_genotype("CYP2D7", "*1/*1")
    with pytest.raises(KeyError):
        pgx.activity_score("CYP3A4", "*1/*1")


def test_2016_bins_are_a_named_version() -> None:
    assert pgx.phenotype_from_score("CYP2D6", 1.0, version="2016") == "NM"
    assert pgx.phenotype_from_score("CYP2D6", 1.0, version="2020") == "IM"
    assert pgx.phenotype_from_score("CYP2D6", 0.5, version="2016") == "IM"
    assert pgx.phenotype_from_score("CYP2D6", 2.25, version="2016") == "UM"
    assert pgx.phenotype_from_score("CYP2D6", 2.25, version="2020") == "NM"
    with pytest.raises(GenotypeError, match="no CYP2D6 phenotype bin"):
        pgx.phenotype_from_score("CYP2D6", 0.25, version="2016")
    with pytest.raises(GenotypeError, match="version"):
        pgx.phenotype_from_score("CYP2D6", 1.0, version="2019")


@pytest.mark.parametrize("bad", [-0.5, 7.0, float("nan"), float("inf")])
def test_activity_score_out_of_range(bad: float) -> None:
    with pytest.raises(GenotypeError, match="out of range"):
        pgx.phenotype_from_score("CYP2D6", bad)
    with pytest.raises(GenotypeError):
        pgx.parse_genotype("CYP2D6", bad)


def test_score_between_bins_is_an_error() -> None:
    with pytest.raises(GenotypeError, match="no CYP2D6 phenotype bin"):
        pgx.phenotype_from_score("CYP2D6", 1.1)


@pytest.mark.parametrize(
    ("value", "phenotype"),
    [
        ("PM", "PM"),
        ("pm", "PM"),
        ("poor metabolizer", "PM"),
        ("Poor", "PM"),
        ("intermediate metaboliser", "IM"),
        ("normal", "NM"),
        ("ultrarapid", "UM"),
        ("Ultra-rapid metabolizer", "UM"),
        (0, "PM"),
        (1.5, "NM"),
        ("2.5", "UM"),
    ],
)
def test_parse_cyp2d6_values(value: object, phenotype: str) -> None:
    assert pgx.parse_genotype("CYP2D6", value).phenotype == phenotype


def test_rm_is_cyp2c19_only() -> None:
    assert pgx.parse_genotype("CYP2C19", "RM").phenotype == "RM"
    assert pgx.parse_genotype("CYP2C19", "rapid metabolizer").phenotype == "RM"
    with pytest.raises(GenotypeError, match="not a CYP2D6 phenotype"):
        pgx.parse_genotype("CYP2D6", "RM")


def test_unknown_phenotype_word_suggests() -> None:
    with pytest.raises(UnknownNameError, match="poor"):
        pgx.parse_genotype("CYP2D6", "pooor")
    with pytest.raises(GenotypeError):
        pgx.parse_genotype("CYP2D6", True)
    with pytest.raises(GenotypeError):
        pgx.parse_genotype("CYP2D6", ["*1", "*4"])


@pytest.mark.parametrize(
    ("diplotype", "phenotype"),
    [
        ("*17/*17", "UM"),
        ("*1/*17", "RM"),
        ("*17/*1", "RM"),
        ("*1/*1", "NM"),
        ("*1/*2", "IM"),
        ("*1/*3", "IM"),
        ("*2/*17", "IM"),
        ("*2/*2", "PM"),
        ("*2/*3", "PM"),
        ("*3/*3", "PM"),
        ("CYP2C19*2/*8", "PM"),
    ],
)
def test_cyp2c19_diplotypes(diplotype: str, phenotype: str) -> None:
    call = pgx.parse_genotype("CYP2C19", diplotype)
    assert call.phenotype == phenotype
    assert call.activity_score is None and call.version == "CPIC"


def test_cyp2c19_has_no_activity_score() -> None:
    with pytest.raises(GenotypeError, match="no activity score"):
        pgx.activity_score("CYP2C19", "*1/*2")
    with pytest.raises(GenotypeError, match="no activity score"):
        pgx.phenotype_from_score("CYP2C19", 1.0)
    with pytest.raises(GenotypeError, match="no activity score"):
        pgx.parse_genotype("CYP2C19", 1.0)
    with pytest.raises(GenotypeError, match="no activity values"):
        pgx.allele_activity("CYP2C19", "*1")
    with pytest.raises(GenotypeError, match="duplication"):
        pgx.parse_genotype("CYP2C19", "*1x2/*1")
    with pytest.raises(GenotypeError, match=r"\*17"):
        pgx.parse_genotype("CYP2C19", "*1/*99")


def test_genotype_call_is_frozen() -> None:
    call = pgx.parse_genotype("CYP2D6", "*1/*1")
    with pytest.raises(Exception, match="frozen"):
        call.phenotype = "PM"  # type: ignore[misc]


def test_frequencies_are_cited_ranges() -> None:
    f = {q.phenotype: q for q in pgx.phenotype_frequencies("CYP2C19")}
    assert (f["RM"].low, f["RM"].high) == (0.021, 0.271)
    d = [q for q in pgx.phenotype_frequencies("CYP2D6") if q.source == "nbk425164"]
    assert {q.phenotype: (q.low, q.high) for q in d}["NM"] == (0.72, 0.88)


# ---- CPIC 2016 TCA ----
CPIC_2D6 = [
    ("UM", "strong", None),
    ("NM", "strong", 1.0),
    ("IM", "moderate", 0.75),
    ("PM", "strong", 0.5),
]


@pytest.mark.parametrize(("phenotype", "strength", "factor"), CPIC_2D6)
@pytest.mark.parametrize("drug", ["amitriptyline", "nortriptyline"])
def test_cpic_cyp2d6(drug: str, phenotype: str, strength: str, factor: float | None) -> None:
    r = pgx.cpic_tca_recommendation(drug, cyp2d6=phenotype)
    assert r.strength == strength
    assert (r.dose_factor.value if r.dose_factor else None) == factor
    assert "hicks2017_cpic_tca" in r.sources and "neuropathic" in r.caveat


def test_cpic_cyp2d6_other_tca_has_no_strength() -> None:
    r = pgx.cpic_tca_recommendation("desipramine", cyp2d6="*4/*4")
    assert r.strength == "not_given" and r.dose_factor is not None
    assert r.dose_factor.value == 0.5


@pytest.mark.parametrize(
    ("phenotype", "strength", "factor"),
    [
        ("UM", "optional", None),
        ("RM", "optional", None),
        ("NM", "strong", 1.0),
        ("IM", "strong", 1.0),
        ("PM", "moderate", 0.5),
    ],
)
def test_cpic_cyp2c19_tertiary(phenotype: str, strength: str, factor: float | None) -> None:
    r = pgx.cpic_tca_recommendation("amitriptyline", cyp2c19=phenotype)
    assert r.strength == strength
    assert (r.dose_factor.value if r.dose_factor else None) == factor


GRID = [
    # (cyp2c19, cyp2d6, strength, factor)
    ("UM", "UM", "optional", None),
    ("RM", "NM", "optional", None),
    ("RM", "PM", "optional", None),
    ("NM", "UM", "strong", None),
    ("NM", "NM", "strong", 1.0),
    ("NM", "IM", "moderate", 0.75),
    ("NM", "PM", "strong", 0.5),
    ("IM", "UM", "optional", None),
    ("IM", "NM", "strong", 1.0),
    ("IM", "IM", "optional", 0.75),
    ("IM", "PM", "optional", 0.5),
    ("PM", "UM", "optional", None),
    ("PM", "NM", "moderate", 0.5),
    ("PM", "IM", "optional", None),
    ("PM", "PM", "optional", None),
]


@pytest.mark.parametrize(("c19", "d6", "strength", "factor"), GRID)
def test_cpic_amitriptyline_grid(c19: str, d6: str, strength: str, factor: float | None) -> None:
    r = pgx.cpic_tca_recommendation("Amitriptyline", cyp2d6=d6, cyp2c19=c19)
    assert r.strength == strength
    assert (r.dose_factor.value if r.dose_factor else None) == factor
    assert r.phenotypes == {"CYP2D6": d6, "CYP2C19": c19}


def test_cpic_grid_from_diplotypes_registers_sources() -> None:
    with citations.tracking() as used:
        r = pgx.cpic_tca_recommendation("amitriptyline", cyp2d6="*1/*41", cyp2c19="*2/*3")
    assert r.text.startswith("Avoid") and r.dose_factor and r.dose_factor.value == 0.5
    assert {"hicks2017_cpic_tca", "caudle2020", "cpic_allele_functionality"} <= used


def test_cpic_errors() -> None:
    with pytest.raises(UnknownNameError, match="amitriptyline"):
        pgx.cpic_tca_recommendation("amitriptylin", cyp2d6="PM")
    with pytest.raises(UnknownNameError):
        pgx.cpic_tca_recommendation("duloxetine", cyp2d6="PM")
    with pytest.raises(InputError, match="at least one"):
        pgx.cpic_tca_recommendation("amitriptyline")
    with pytest.raises(InputError, match="CYP2C19"):
        pgx.cpic_tca_recommendation("nortriptyline", cyp2c19="PM")
    with pytest.raises(InputError, match="one gene at a time"):
        pgx.cpic_tca_recommendation("imipramine", cyp2d6="PM", cyp2c19="PM")


# ---- DPWG ----
@pytest.mark.parametrize(
    ("drug", "phenotype", "value"),
    [
        ("amitriptyline", "PM", 0.6),
        ("amitriptyline", "IM", 0.75),
        ("amitriptyline", "UM", 1.6),
        ("nortriptyline", "PM", 0.4),
        ("nortriptyline", "IM", 0.6),
        ("nortriptyline", "UM", 1.7),
    ],
)
def test_dpwg_factors(drug: str, phenotype: str, value: float) -> None:
    q = pgx.dpwg_dose_factor(drug, "CYP2D6", phenotype)
    assert q is not None and q.value == value and q.unit == "1"
    assert q.source == "dpwg_tca" and "UNVERIFIED" in (q.note or "")


def test_dpwg_no_factor_cells() -> None:
    assert pgx.dpwg_dose_factor("amitriptyline", "CYP2D6", "NM") is None
    assert pgx.dpwg_dose_factor("amitriptyline", "CYP2C19", "PM") is None
    assert pgx.dpwg_dose_factor("imipramine", "CYP2C19", "PM") is None
    assert pgx.dpwg_table().citation_verified is False
    with pytest.raises(UnknownNameError):
        pgx.dpwg_dose_factor("duloxetine", "CYP2D6", "PM")
    with pytest.raises(GenotypeError):
        pgx.dpwg_dose_factor("amitriptyline", "CYP2D6", "RM")


# ---- loader strictness ----
def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copy(pgx.PGX_DIR / name, dst)
    return dst


def test_gene_file_without_source_fails(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cyp2d6.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace('source = "caudle2020"\n', "", 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="source"):
        pgx.load_gene_file(p)


def test_gene_file_unknown_source_fails(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cyp2d6.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace('"caudle2020"', '"caudle2021"', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="caudle2021"):
        pgx.load_gene_file(p)


def test_gene_file_overlapping_bins_fail(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cyp2d6.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("low = 1.25\nhigh = 2.25", "low = 1.0\nhigh = 2.25"), "utf-8")
    with pytest.raises(KnowledgeBaseError, match="overlap"):
        pgx.load_gene_file(p)


def test_gene_file_duplicate_allele_fails(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cyp2d6.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace('allele = "*2"', 'allele = "*1"'), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="twice"):
        pgx.load_gene_file(p)


def test_cpic_grid_must_be_complete(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cpic_tca.toml")
    text = p.read_text(encoding="utf-8")
    cut = text.rindex("[[combined.cells]]")
    p.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="every CYP2C19 x CYP2D6 cell"):
        pgx.load_cpic_file(p)


def test_dpwg_cell_given_twice_fails(tmp_path: Path) -> None:
    p = _copy(tmp_path, "dpwg_tca.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(
        text.replace('phenotype = "IM"\nvalue = 0.75', 'phenotype = "PM"\nvalue = 0.75'), "utf-8"
    )
    with pytest.raises(KnowledgeBaseError, match="given twice"):
        pgx.load_dpwg_file(p)


def test_dose_factor_above_one_in_cpic_fails(tmp_path: Path) -> None:
    p = _copy(tmp_path, "cpic_tca.toml")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("dose_factor = 0.75", "dose_factor = 7.5", 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="dose_factor"):
        pgx.load_cpic_file(p)
