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
from collections.abc import Mapping

from neurodose.advice.data import review
from neurodose.advice.plans import Plan, Step, schedule_text
from neurodose.findings import Finding
from neurodose.knowledge import record
from neurodose.safety.engine import drug_tags

__all__ = ["patient_plan_text", "reading_grade"]


def _date(d: object) -> str:
    return f"{d:%A %d %B %Y}"


def _step_line(plan: Plan, s: Step) -> str:
    name = record(s.drug).display_name
    if s.daily_mg == 0 and s.note == "stop":
        return f"- From {_date(s.date)}: stop {name}."
    if s.daily_mg == 0:
        return f"- From {_date(s.date)}: {name}: {s.units}."
    extra = " Only if your doctor agrees and you feel well on it." if s.optional else ""
    each = " each time" if s.regimen and s.regimen.events[0].n_doses > 1 else ""
    take = s.units if s.units.startswith("uneven") else f"{s.units}{each}"
    return f"- From {_date(s.date)}: {name} {schedule_text(s, plan.unit)} ({take}).{extra}"


def _expect_lines(tags: Mapping[str, bool]) -> list[str]:
    """What to expect: when relief comes, and the side effects of the start."""
    if "tca" in tags:
        lines = [
            "You may sleep better in the first days. That often comes first.",
            "Pain relief builds up slowly. It can take 4 to 6 weeks.",
        ]
    elif "topical" in tags:
        lines = [
            "The patch works on the skin where it hurts.",
            "It does not spread through your body much, so side effects are mostly on the skin.",
        ]
    else:
        lines = [
            "Some people notice less pain in the first weeks.",
            "Give it time. The full effect can take several weeks.",
        ]
    resp = review("response_fraction").point
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
    return lines


def _important_lines(plan: Plan, tags: Mapping[str, bool]) -> list[str]:
    """Never stopping suddenly, and when to call the doctor or get help."""
    lines: list[str] = []
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
    urgent = {
        "serotonergic": "Get help at once if you feel very restless, shaky, sweaty, with a fast "
        "heart beat or a high temperature.",
        "tca": "Get help at once if you faint or your heart beats fast or unevenly.",
        "gabapentinoid": "Get help at once if you are very sleepy or find it hard to breathe.",
    }
    lines += [text for tag, text in urgent.items() if tag in tags]
    return lines


def patient_plan_text(plan: Plan, findings: tuple[Finding, ...] = ()) -> str:
    """The patient's version of ``plan`` (Markdown-free plain text)."""
    drug = plan.drugs[-1]
    rec = record(drug)
    tags = drug_tags(rec)
    name = rec.display_name
    lines: list[str] = [f"Your plan for {name}", ""]
    lines.append("This medicine is for nerve pain. It can make the pain smaller.")
    lines.append("It is not a cure. Many people still have some pain.")
    lines.append("")
    lines.append("How to take it")
    if plan.kind == "taper":
        lines.append(f"You are slowly coming off {name}. Lower the dose on each date below.")
    lines += [_step_line(plan, s) for s in plan.steps]
    lines += ["", "What to expect", *_expect_lines(tags), "", "Check-ups"]
    for r in plan.reviews:
        first = r.text.split(":")[0].lower()
        lines.append(f"- {_date(r.date)}: check-up with your doctor ({first}).")
    lines += ["", "Important", *_important_lines(plan, tags)]
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
