"""Deprecated alias of :mod:`neurodose.case.nonmem` (no function is defined here)."""

from neurodose.case.nonmem import COLUMNS, read_csv, read_csv_text, to_csv, write_csv

__all__ = ["COLUMNS", "read_csv", "read_csv_text", "to_csv", "write_csv"]
