"""Retention, erasure and decommissioning: how a child's record ends, and how the whole directory ends.

Public surface: :mod:`.services` (``run_retention``, ``erase_child``), :mod:`.decommission`
(``decommission``), :mod:`.keys` (per-child data keys, envelope encryption). See docs/retention.md.
"""
