"""Plain-language plan for the patient, generated from the same plan and findings.

Short sentences and everyday words (aimed at about school-leaving reading level;
:func:`reading_grade` gives the Flesch-Kincaid grade so tests can keep it there).
Covers what to expect and when, that the medicine is not a cure, side effects that
often fade, never stopping suddenly, and when to call the doctor.

>>> import datetime as dt
>>> from neurodose.advice.plans import titration_plan
>>> text = patient_plan_text(titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5)))
>>> "Do not stop" in text
True
"""

from __future__ import annotations

import re

from neurodose.advice.data import review
from neurodose.advice.plans import Plan, schedule_text
from neurodose.findings import Finding
from neurodose.knowledge import record
from neurodose.safety.engine import drug_tags

__all__ = ["patient_plan_text", "reading_grade"]


def _date(d: object) -> str:
    return f"{d:%A %d %B %Y}"


def patient_plan_text(plan: Plan, findings: tuple[Finding, ...] = ()) -> str:
    """The patient's version of ``plan`` (Markdown-free plain text)."""
    drug = plan.drugs[-1]
    rec = record(drug)
    tags = drug_tags(rec)
    name = rec.display_name
    resp = review("response_fraction").point
    lines: list[str] = [f"Your plan for {name}", ""]
    lines.append("This medicine is for nerve pain. It can make the pain smaller.")
    lines.append("It is not a cure. Many people still have some pain.")
    lines.append("")
    lines.append("How to take it")
    if plan.kind == "taper":
        lines.append(f"You are slowly coming off {name}. Lower the dose on each date below.")
    for s in plan.steps:
        if s.daily_mg == 0 and s.note == "stop":
            lines.append(f"- From {_date(s.date)}: stop {record(s.drug).display_name}.")
            continue
        if s.daily_mg == 0:
            lines.append(f"- From {_date(s.date)}: {record(s.drug).display_name}: {s.units}.")
            continue
        extra = " Only if your doctor agrees and you feel well on it." if s.optional else ""
        each = " each time" if s.regimen and s.regimen.events[0].n_doses > 1 else ""
        take = s.units if s.units.startswith("uneven") else f"{s.units}{each}"
        lines.append(
            f"- From {_date(s.date)}: {record(s.drug).display_name} "
            f"{schedule_text(s, plan.unit)} ({take}).{extra}"
        )
    lines.append("")
    lines.append("What to expect")
    if "tca" in tags:
        lines.append("You may sleep better in the first days. That often comes first.")
        lines.append("Pain relief builds up slowly. It can take 4 to 6 weeks.")
    elif "topical" in tags:
        lines.append("The patch works on the skin where it hurts.")
        lines.append(
            "It does not spread through your body much, so side effects are mostly on the skin."
        )
    else:
        lines.append("Some people notice less pain in the first weeks.")
        lines.append("Give it time. The full effect can take several weeks.")
    lines.append(
        f"We will call it a success if your pain drops by about a third ({resp:.0%}) or more."
    )
    if "topical" not in tags:
        lines.append("Side effects are common at the start.")
        if "sedating" in tags or "tca" in tags or "gabapentinoid" in tags:
            lines.append("You may feel sleepy, dizzy or have a dry mouth.")
        if "snri" in tags:
            lines.append("You may feel sick (nausea) for the first days.")
        lines.append("These often fade after a week or two.")
        lines.append("Do not drive if you feel sleepy. Go easy on alcohol.")
    lines.append("")
    lines.append("Check-ups")
    for r in plan.reviews:
        first = r.text.split(":")[0].lower()
        lines.append(f"- {_date(r.date)}: check-up with your doctor ({first}).")
    lines.append("")
    lines.append("Important")
    if plan.kind != "taper" and "topical" not in tags:
        lines.append("Do not stop this medicine suddenly. Stopping fast can make you feel unwell.")
        lines.append("If you want to stop, ask your doctor. They will lower the dose slowly.")
    elif plan.kind == "taper":
        lines.append("Do not stop all at once. Go down step by step.")
        lines.append(
            "If you feel unwell after a step, go back to the last dose and call your doctor."
        )
    lines.append("Call your doctor soon if:")
    lines.append("- the side effects are hard to live with, or")
    lines.append("- your mood gets worse, or you have thoughts of harming yourself.")
    if "serotonergic" in tags:
        lines.append(
            "Get help at once if you feel very restless, shaky, sweaty, with a fast heart beat "
            "or a high temperature."
        )
    if "tca" in tags:
        lines.append("Get help at once if you faint or your heart beats fast or unevenly.")
    if "gabapentinoid" in tags:
        lines.append("Get help at once if you are very sleepy or find it hard to breathe.")
    serious = [f for f in findings if f.severity in ("contraindicated", "avoid")]
    if serious:
        lines.append("")
        lines.append("Your doctor has been told about:")
        for f in serious[:5]:
            lines.append(f"- {f.title}.")
    lines.append("")
    lines.append("This plan is a guide. Always follow what your doctor tells you.")
    return "\n".join(lines) + "\n"


_VOWELS = re.compile(r"[aeiouy]+")


def _syllables(word: str) -> int:
    w = word.lower().strip(".,;:!?()'\"-")
    if not w:
        return 0
    n = len(_VOWELS.findall(w))
    if w.endswith("e") and n > 1 and not w.endswith("le"):
        n -= 1
    return max(1, n)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text`` (rough syllable counting).

    >>> reading_grade("The cat sat on the mat. It was warm.") < 3
    True
    """
    sentences = [s for s in re.split(r"[.!?\n]+", text) if re.search(r"[A-Za-z]", s)]
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    if not sentences or not words:
        return 0.0
    syl = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / len(sentences) + 11.8 * syl / len(words) - 15.59
