"""Deterministic synthetic population generator: children, households and noisy source-system feeds.

Plain Python (standard library only, no Django) so it can run anywhere, including benchmarks and tests
without a database::

    from pathlib import Path
    from contactpoint.synth import generate

    summary = generate(10_000, seed=7, out_dir=Path("var/synth"))

writes ``nhs_demographics.csv``, ``child_benefit.csv``, ``school_census.csv``, ``social_care.csv`` (the
feed format of docs/feeds.md), ``truth.csv`` (which person each record is about) and ``sources.json``.
"""

from .generator import FEED_COLUMNS, REFERENCE_DATE, SOURCES, TRUTH_COLUMNS, SourceSpec, SynthSummary, generate

__all__ = [
    "FEED_COLUMNS",
    "REFERENCE_DATE",
    "SOURCES",
    "TRUTH_COLUMNS",
    "SourceSpec",
    "SynthSummary",
    "generate",
]
