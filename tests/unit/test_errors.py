"""The exception tree: classes, messages naming field/value/allowed, close matches."""

from __future__ import annotations

import pytest

from neurodose import errors
from neurodose.errors import (
    DesignError,
    EstimationError,
    GenotypeError,
    InputError,
    KnowledgeBaseError,
    NeurodoseError,
    PatientError,
    RegimenError,
    SafetyRuleError,
    SolverError,
    UnitError,
    UnknownDrugError,
    UnknownNameError,
    UnknownSourceError,
    close_matches,
)

DRUGS = ["amitriptyline", "nortriptyline", "duloxetine", "venlafaxine", "pregabalin"]


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (KnowledgeBaseError, (NeurodoseError,)),
        (UnknownNameError, (KnowledgeBaseError, KeyError)),
        (UnknownDrugError, (UnknownNameError, KnowledgeBaseError, KeyError)),
        (UnknownSourceError, (UnknownNameError, KnowledgeBaseError, KeyError)),
        (UnitError, (NeurodoseError, ValueError)),
        (InputError, (NeurodoseError, ValueError)),
        (RegimenError, (InputError, ValueError)),
        (PatientError, (InputError, ValueError)),
        (DesignError, (InputError, ValueError)),
        (GenotypeError, (NeurodoseError, ValueError)),
        (SolverError, (NeurodoseError,)),
        (EstimationError, (NeurodoseError,)),
        (SafetyRuleError, (NeurodoseError,)),
    ],
)
def test_tree(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base), f"{cls.__name__} should subclass {base.__name__}"


def test_every_public_error_is_in_the_tree() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, NeurodoseError), name


def test_unknown_drug_suggests_close_matches() -> None:
    err = UnknownDrugError("amitriptylin", DRUGS)
    assert err.field == "drug"
    assert err.name == "amitriptylin"
    assert err.suggestions[0] == "amitriptyline"
    msg = str(err)
    assert "'amitriptylin'" in msg
    assert "did you mean" in msg and "'amitriptyline'" in msg


def test_unknown_name_without_close_match_lists_allowed() -> None:
    err = UnknownNameError("condition", "zzz", ["glaucoma", "heart_block"])
    assert err.suggestions == []
    msg = str(err)
    assert msg.startswith("unknown condition 'zzz'")
    assert "allowed: glaucoma, heart_block" in msg


def test_unknown_name_truncates_long_allowed_lists() -> None:
    err = UnknownNameError("allele", "qqq", [f"*{i}" for i in range(40)])
    assert str(err).endswith(" ...")


def test_key_error_message_is_not_quoted() -> None:
    # KeyError.__str__ repr-quotes its argument; ours must read as plain text
    err = UnknownSourceError("finerup2015", ["finnerup2015"])
    assert str(err).startswith("unknown source 'finerup2015'")
    with pytest.raises(KeyError):
        raise err


def test_input_error_names_field_value_and_allowed() -> None:
    err = PatientError("age", -3, "0 < age <= 120 years")
    assert (err.field, err.value, err.allowed) == ("age", -3, "0 < age <= 120 years")
    assert str(err) == "age: -3 is not allowed; expected 0 < age <= 120 years"
    with pytest.raises(ValueError, match="age: -3"):
        raise err


def test_close_matches_is_case_insensitive_and_keeps_spelling() -> None:
    assert close_matches("NORTRIPTYLIN", DRUGS)[0] == "nortriptyline"
    assert close_matches("Duloxetin", ["Duloxetine"]) == ["Duloxetine"]
    assert close_matches("xyz", DRUGS) == []
    assert len(close_matches("tline", DRUGS * 2, n=2)) <= 2


def test_bare_error_str() -> None:
    assert str(SolverError()) == "SolverError"
    assert str(SolverError("diverged at t = 3 h")) == "diverged at t = 3 h"
