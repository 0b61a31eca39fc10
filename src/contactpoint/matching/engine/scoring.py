"""Scoring candidate record pairs with the Splink model in an in-process DuckDB.

Two entry points:

* :func:`score_within` scores every candidate pair among one set of records (a full rebuild, or the
  records of one delta among themselves);
* :func:`score_against` scores new records against existing ones only (Splink's ``predict_between``):
  the blocking joins new x existing, so the cost grows with the number of new records and the existing
  directory is never compared with itself.

Both return one row per candidate pair: ``record_key_l``, ``record_key_r``, ``match_weight`` (log2
odds), ``match_probability``, ``match_key`` (which blocking rule found it) and, per comparison,
``gamma_<name>`` (the level, -1 when missing) and ``bf_<name>`` (its Bayes factor).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .features import FEATURE_COLUMNS, prepare_records
from .model import (
    TF_PSEUDO_RECORDS,
    comparison_levels,
    default_model,
    splink_settings_for_scoring,
    term_frequency_columns,
)

#: DuckDB may use this much memory before spilling to disk; the host has 24 GiB and other work.
DEFAULT_MEMORY_LIMIT = "8GB"


def ensure_features(records: pd.DataFrame) -> pd.DataFrame:
    """Prepared features for ``records``: passed through if already prepared, else prepared now.

    Callers that score the same existing records repeatedly (incremental loads) should prepare them
    once and pass the prepared frame.
    """
    if set(FEATURE_COLUMNS).issubset(records.columns):
        return records
    return prepare_records(records)


def open_duckdb(
    features: pd.DataFrame,
    model: dict[str, Any],
    *,
    threads: int | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    table_name: str = "records",
) -> tuple[duckdb.DuckDBPyConnection, Any, Any]:
    """A fresh in-memory DuckDB holding ``features``; returns (connection, Splink DB API, table).

    The table is registered from Arrow (no copy of the string data) and handed to Splink by name.
    """
    from splink import DuckDBAPI

    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    db_api = DuckDBAPI(con)
    sdf = _register(con, db_api, features, table_name, _columns_used(model))
    return con, db_api, sdf


def term_frequency_lookups(frames: list[pd.DataFrame], model: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Per term-frequency adjusted column, a lookup ``<column>, tf_<column>`` of value frequencies.

    Frequencies are counted over all the frames together (for an incremental load: the existing
    directory and the new records) and smoothed towards the model's average u as if
    :data:`.model.TF_PSEUDO_RECORDS` more records followed the average, so a handful of records
    scores like the average rather than as if every name in it were common.
    """
    total = sum(len(f) for f in frames)
    lookups: dict[str, pd.DataFrame] = {}
    for column, average_u in term_frequency_columns(model).items():
        chunks = [pa.array(f[column].array, from_pandas=True).cast(pa.string()) for f in frames if len(f)]
        values = pa.chunked_array(chunks or [pa.array([], pa.string())], type=pa.string())
        counts = pc.value_counts(pc.drop_null(values))
        frequency = (counts.field(1).to_numpy().astype("float64") + TF_PSEUDO_RECORDS * average_u) / (
            total + TF_PSEUDO_RECORDS
        )
        lookups[column] = pd.DataFrame({column: counts.field(0).to_pylist(), f"tf_{column}": frequency})
    return lookups


def build_linker(
    sdf: Any,
    db_api: Any,
    model: dict[str, Any],
    settings: dict[str, Any],
    frames: list[pd.DataFrame],
    term_frequencies: dict[str, pd.DataFrame] | None = None,
) -> Any:
    """A Linker over ``sdf`` using ``term_frequencies`` if given, else frequencies counted over
    ``frames`` (never Splink's own, which would count only one input table)."""
    from splink import Linker

    linker = Linker(sdf, settings, log_level=logging.WARNING)
    lookups = term_frequency_lookups(frames, model) if term_frequencies is None else term_frequencies
    for column, lookup in lookups.items():
        registered = db_api.register(lookup, table_name=f"contactpoint_tf_{column}")
        linker.table_management.register_term_frequency_lookup(registered, column)
    return linker


def _columns_used(model: dict[str, Any]) -> list[str]:
    """The feature columns the model's comparisons and blocking rules read, with the record key.

    Splink carries every input column through its intermediate tables, so the others (town, the
    source, surname token lists kept for people) would only cost time and memory.
    """
    settings = model["splink"]
    sql = " ".join(
        [rule["blocking_rule"] for rule in settings["blocking_rules_to_generate_predictions"]]
        + [lvl["sql_condition"] for c in settings["comparisons"] for lvl in c["comparison_levels"]]
    )
    used = [c for c in FEATURE_COLUMNS if re.search(rf"\b(?:{c}_[lr]|[lr]\.{c})\b", sql)]
    return ["record_key", *(c for c in used if c != "record_key")]


def _register(
    con: duckdb.DuckDBPyConnection, db_api: Any, features: pd.DataFrame, name: str, columns: list[str]
) -> Any:
    table = pa.Table.from_pandas(features.loc[:, columns], preserve_index=False)
    con.register(name, table)
    return db_api.register(name)


def _output_sql(physical_name: str, model: dict[str, Any]) -> str:
    names = [c["output_column_name"] for c in model["splink"]["comparisons"]]
    gammas = ", ".join(f"gamma_{n}" for n in names)
    # Splink 5 reports per-comparison match weights (log2 Bayes factors), with any term-frequency
    # adjustment separate; reviewers want one factor per field.
    tf_names = set(term_frequency_columns(model)) & set(names)
    factors = ", ".join(
        f"pow(2.0, mw_{n} + coalesce(mw_tf_adj_{n}, 0)) AS bf_{n}" if n in tf_names else f"pow(2.0, mw_{n}) AS bf_{n}"
        for n in names
    )
    return (
        "SELECT record_key_l, record_key_r, match_weight, match_probability, match_key, "  # noqa: S608
        f"{gammas}, {factors} FROM {physical_name} ORDER BY record_key_l, record_key_r"
    )


def score_within(
    records_df: pd.DataFrame,
    model: dict[str, Any] | None = None,
    *,
    min_match_probability: float | None = None,
    term_frequencies: dict[str, pd.DataFrame] | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Score all candidate pairs among ``records_df`` (raw records or prepared features).

    ``model`` defaults to :func:`.model.default_model`. Pairs below ``min_match_probability`` are
    dropped inside DuckDB (use it on large runs: most candidate pairs are clear non-matches). Each
    pair appears once, with ``record_key_l < record_key_r``. Name frequencies for the exact-name
    levels are counted over ``records_df`` unless ``term_frequencies`` (from
    :func:`term_frequency_lookups` over the whole directory) is given.
    """
    model = default_model() if model is None else model
    features = ensure_features(records_df)
    con, db_api, sdf = open_duckdb(features, model, threads=threads)
    try:
        linker = build_linker(
            sdf, db_api, model, splink_settings_for_scoring(model), [features], term_frequencies
        )
        predictions = linker.inference.predict(
            threshold_match_probability=min_match_probability, warning_mode="never"
        )
        return con.sql(_output_sql(predictions.physical_name, model)).df()
    finally:
        con.close()


def score_against(
    new_df: pd.DataFrame,
    existing_df: pd.DataFrame,
    model: dict[str, Any] | None = None,
    *,
    min_match_probability: float | None = None,
    term_frequencies: dict[str, pd.DataFrame] | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Score new records against existing ones: pairs new x existing only.

    ``record_key_l`` is always the new record and ``record_key_r`` the existing one. Pairs among the
    new records are not included (use :func:`score_within` on the new records for those), nor, by
    construction, pairs among the existing records. Record keys must not be shared between the two
    sets: a re-sent record replaces its old version, so drop the old version from ``existing_df``.

    Name frequencies are counted over new and existing records together. If ``existing_df`` is only
    a pre-selected set of candidates, names shared with the new records look commoner than they are,
    which lowers scores (the safe direction, at some cost in recall); pass ``term_frequencies``
    computed once over the whole directory with :func:`term_frequency_lookups` to avoid that.
    """
    model = default_model() if model is None else model
    new = ensure_features(new_df)
    existing = ensure_features(existing_df)
    if new["record_key"].isin(existing["record_key"]).any():
        raise ValueError("a record key is in both new and existing records")
    con, db_api, existing_sdf = open_duckdb(existing, model, threads=threads, table_name="existing_records")
    try:
        new_sdf = _register(con, db_api, new, "new_records", _columns_used(model))
        linker = build_linker(
            existing_sdf, db_api, model, splink_settings_for_scoring(model), [existing, new], term_frequencies
        )
        predictions = linker.inference.predict_between(
            new_sdf,
            existing_sdf,
            threshold_match_probability=min_match_probability,
            warning_mode="never",
        )
        pairs = con.sql(_output_sql(predictions.physical_name, model)).df()
    finally:
        con.close()
    return _orient(pairs, new["record_key"])


def _orient(pairs: pd.DataFrame, left_keys: pd.Series) -> pd.DataFrame:
    """Swap sides where needed so that ``record_key_l`` is in ``left_keys``."""
    swap = ~pairs["record_key_l"].isin(left_keys)
    if swap.any():
        pairs.loc[swap, ["record_key_l", "record_key_r"]] = pairs.loc[
            swap, ["record_key_r", "record_key_l"]
        ].to_numpy()
    return pairs


def explain_pair(row: Mapping[str, Any] | pd.Series, model: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Why a pair scored as it did, one entry per compared field, for the human review screen.

    ``row`` is one row of :func:`score_within` / :func:`score_against` output. Each entry has
    ``field``, ``level_label`` (e.g. "Day and month transposed"), ``bayes_factor`` (how many times more
    likely this agreement is for the same child than for two different children) and
    ``match_weight_contribution`` (its log2, which adds up with the prior to ``match_weight``). Labels
    come from ``model`` (default: the default model, which has the same levels as any trained one).
    """
    labels = comparison_levels(default_model() if model is None else model)
    explanation: list[dict[str, Any]] = []
    for field, levels in labels.items():
        gamma = int(row[f"gamma_{field}"])
        factor = float(row[f"bf_{field}"])
        explanation.append(
            {
                "field": field,
                "level_label": levels.get(gamma, f"level {gamma}"),
                "bayes_factor": factor,
                "match_weight_contribution": math.log2(factor) if factor > 0 else -math.inf,
            }
        )
    return explanation
