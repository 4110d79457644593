"""What the CDS Hooks services keep in the database (shared by all server processes).

* ``cds_jti``: each accepted token's ``(iss, jti)`` until it expires (replay cache);
* ``cds_card``: each issued card's uuid, service and rule id (to count feedback per rule);
* ``cds_feedback``: each feedback item (card uuid, outcome, override reason, time).

Nothing else is stored: no JWT, no FHIR access token, no patient data.
The tables are created on first use (``create_all``) on the same database as the
clinic (SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

__all__ = ["CdsStore"]

metadata = MetaData()

jti_table = Table(
    "cds_jti",
    metadata,
    Column("iss", String(400), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("exp", DateTime(timezone=True), nullable=False, index=True),
)
card_table = Table(
    "cds_card",
    metadata,
    Column("uuid", String(64), primary_key=True),
    Column("service", String(100), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("indicator", String(16), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)
feedback_table = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("card", String(64), nullable=False, index=True),
    Column("rule", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("override_code", String(200)),
    Column("override_display", Text),
    Column("user_comment", Text),
    Column("accepted_suggestions", Text),
    Column("outcome_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CdsStore:
    """Replay cache, issued cards and feedback on a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, checkfirst=True)
        self._n = 0

    def remember_jti(self, iss: str, jti: str, exp: dt.datetime) -> bool:
        """Record ``(iss, jti)``; False when it was seen before (a replay)."""
        self._n += 1
        try:
            with self.engine.begin() as c:
                if self._n % 200 == 0:  # purge expired entries now and then
                    c.execute(delete(jti_table).where(jti_table.c.exp < _now()))
                c.execute(insert(jti_table).values(iss=iss, jti=jti, exp=exp))
        except IntegrityError:
            return False
        return True

    def record_cards(self, service: str, cards: Iterable[tuple[str, str, str]]) -> None:
        """Record issued cards as ``(uuid, rule id, indicator)``."""
        rows = [
            {"uuid": u, "service": service, "rule": r, "indicator": i, "issued_at": _now()}
            for u, r, i in cards
        ]
        if rows:
            with self.engine.begin() as c:
                c.execute(insert(card_table), rows)

    def card_rule(self, uuid: str) -> tuple[str, str] | None:
        """``(service, rule id)`` of an issued card, or None."""
        with self.engine.connect() as c:
            row = c.execute(
                select(card_table.c.service, card_table.c.rule).where(card_table.c.uuid == uuid)
            ).first()
        return (str(row[0]), str(row[1])) if row else None

    def add_feedback(self, rows: list[dict[str, Any]]) -> None:
        """Store feedback items (already validated)."""
        for r in rows:
            r["received_at"] = _now()
        with self.engine.begin() as c:
            c.execute(insert(feedback_table), rows)

    def feedback_counts(self) -> list[dict[str, Any]]:
        """Per rule: cards issued, accepted, overridden (most overridden first)."""
        with self.engine.connect() as c:
            issued: dict[Any, Any] = dict(
                c.execute(select(card_table.c.rule, func.count()).group_by(card_table.c.rule)).all()
            )
            fb = c.execute(
                select(feedback_table.c.rule, feedback_table.c.outcome, func.count()).group_by(
                    feedback_table.c.rule, feedback_table.c.outcome
                )
            ).all()
        out: dict[str, dict[str, Any]] = {}
        for rule, n in issued.items():
            out[str(rule)] = {"rule": str(rule), "issued": int(n), "accepted": 0, "overridden": 0}
        for rule, outcome, n in fb:
            d = out.setdefault(
                str(rule), {"rule": str(rule), "issued": 0, "accepted": 0, "overridden": 0}
            )
            d[str(outcome)] = int(n)
        return sorted(out.values(), key=lambda d: (-d["overridden"], -d["issued"], d["rule"]))

    def recent_feedback(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest feedback items (newest first)."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(feedback_table).order_by(feedback_table.c.id.desc()).limit(limit)
            ).mappings()
            return [
                {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
                for r in rows
            ]
