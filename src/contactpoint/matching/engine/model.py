"""The Fellegi-Sunter match model: comparisons, blocking rules, priors, training and versioning.

A *model* is a plain JSON-able dict (see :func:`default_model`)::

    {
      "format": "contactpoint-match-model/1",
      "version": "cpm-1f3a...",          # content hash, recorded on every link
      "features_version": "1",
      "provenance": {...},               # how it was made (priors, or training seed and size)
      "splink": {...},                   # a complete Splink 5 settings dict with m/u probabilities
    }

The comparisons are written as explicit SQL levels over the columns made by
:func:`.features.prepare_records`, so the model JSON is self-contained and the levels are exactly the
ones reviewers see in :func:`.scoring.explain_pair`.

Exact forename and surname agreement is term-frequency adjusted (a common name counts for less; see
:data:`TF_MAX_BOOST`); name frequencies are counted by :mod:`.scoring` over the records being scored.

Every record from every source is deduplicated together (``link_type="dedupe_only"``): the source
is just a column, because two records from the same source can be the same child (a child who moved
school appears twice in the census) and records from different sources can be different children.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .features import FEATURES_VERSION

MODEL_FORMAT = "contactpoint-match-model/1"

#: Prior probability that two records picked at random are the same child. Dedupe's prior falls as
#: 1/N: with each child held by ~2.5 sources, a directory of N records has ~1.5/N matching partners
#: per record. 1e-6 is the value for about 1.5 million records, the scale at which the directory
#: runs; on smaller extracts it is conservative (it under-states match probabilities), which is the
#: safe direction. Trained models never use a larger prior than this (see :func:`train_model`).
DEFAULT_PRIOR = 1e-6

# Identifier comparisons are held fixed in training and capped: an NHS number or UPN can be wrong
# (a sibling's number keyed in), so agreement on it must never outweigh disagreement on both
# forename and date of birth. The cap leaves this margin, in bits, below that disagreement.
_IDENTIFIER_SAFETY_MARGIN_BITS = 1.0
_IDENTIFIER_COMPARISONS = ("nhs_number", "upn")

#: Exact forename and surname agreement is weighed by how common the name is (Splink's term-frequency
#: adjustment): two records that are both MUHAMMAD KHAN agree on less than two that are both
#: PERPETUA SCHOFIELD. Common names get the full penalty, but a rare name gains at most a factor of
#: TF_MAX_BOOST over the average, because in a partly loaded directory "rare" may just mean
#: "not loaded yet".
TF_MAX_BOOST = 4.0
#: Name frequencies are smoothed towards the model's average as if this many extra records had the
#: average distribution, so a small batch (or an empty directory) scores with the average u.
TF_PSEUDO_RECORDS = 20_000

@dataclass(frozen=True)
class Level:
    """One comparison level: a label for people, a SQL condition, and prior m/u probabilities."""

    label: str
    sql: str
    m: float
    u: float
    tf_column: str | None = None  # term-frequency adjusted: a common name agrees for less


@dataclass(frozen=True)
class ComparisonSpec:
    """A comparison: its output name (``gamma_<name>``), a null condition, and levels best first."""

    name: str
    description: str
    null_sql: str
    levels: tuple[Level, ...]
    fixed: bool = False  # hold m and u at the priors during training

    def __post_init__(self) -> None:
        # Each of m and u is a distribution over the non-null levels.
        for attr in ("m", "u"):
            total = sum(getattr(level, attr) for level in self.levels)
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(f"{self.name}: {attr} probabilities sum to {total}, not 1")


def _else(label: str, m: float, u: float) -> Level:
    return Level(label, "ELSE", m, u)


# The priors below are written from what is known about the fields, not fitted: u from the
# distributions of names, dates of birth and postcodes among children (e.g. a random pair shares a
# date of birth about 1 time in 6,600 for ages 0-18), m from typical data-entry error rates. They
# deliberately err towards smaller Bayes factors where fields are correlated within a household
# (surname, postcode, address line all agree for siblings), because the model multiplies them as
# if they were independent.
COMPARISONS: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        name="forename",
        description="First forename",
        null_sql="forename_l IS NULL OR forename_r IS NULL",
        levels=(
            Level("Exact match", "forename_l = forename_r", 0.88, 0.012, tf_column="forename"),
            Level(
                "Nickname or variant of the same name",
                "list_has_any(forename_canonicals_l, forename_canonicals_r)",
                0.04,
                0.001,
            ),
            Level(
                "Similar spelling (Jaro-Winkler >= 0.9)",
                "jaro_winkler_similarity(forename_l, forename_r) >= 0.9",
                0.035,
                0.003,
            ),
            Level(
                "One typing slip (Damerau-Levenshtein <= 1)",
                "damerau_levenshtein(forename_l, forename_r) <= 1",
                0.015,
                0.002,
            ),
            # Known by a middle name (MUHAMMAD EHSAN / EHSAN) or names swapped. When both records
            # carry several given names both forenames must appear in the other, so that twins
            # ZAHRA HAWA and MARIAM ZAHRA do not count as one name.
            Level(
                "Forename is another of the other record's given names",
                "(list_contains(given_name_tokens_r, forename_l)"
                " AND (given_name_count_l = 1 OR list_contains(given_name_tokens_l, forename_r)))"
                " OR (list_contains(given_name_tokens_l, forename_r)"
                " AND (given_name_count_r = 1 OR list_contains(given_name_tokens_r, forename_l)))",
                0.01,
                0.0008,
            ),
            Level(
                "Sounds alike (double metaphone)",
                "forename_dm_l = forename_dm_r OR forename_dm_l = forename_dm_alt_r"
                " OR forename_dm_alt_l = forename_dm_r",
                0.01,
                0.003,
            ),
            # Two edits apart: as often two children's names (Ava, Eve) as one mistyped name, so
            # about neutral; decide.py treats it as a conflict that a person may resolve.
            Level(
                "Two typing slips apart (Damerau-Levenshtein = 2)",
                "damerau_levenshtein(forename_l, forename_r) = 2",
                0.005,
                0.006,
            ),
            _else("Different forename", 0.005, 1 - 0.012 - 0.001 - 0.003 - 0.002 - 0.0008 - 0.003 - 0.006),
        ),
    ),
    ComparisonSpec(
        name="family_name",
        description="Family name, with hyphenated parts and former family names",
        null_sql="family_name_l IS NULL OR family_name_r IS NULL",
        levels=(
            Level("Exact match", "family_name_l = family_name_r", 0.85, 0.003, tf_column="family_name"),
            Level(
                "Shares a surname part or a former surname",
                "list_has_any(surnames_all_l, surnames_all_r)",
                0.07,
                0.0005,
            ),
            Level(
                "Similar spelling (Jaro-Winkler >= 0.9)",
                "jaro_winkler_similarity(family_name_l, family_name_r) >= 0.9",
                0.03,
                0.002,
            ),
            Level(
                "One typing slip (Damerau-Levenshtein <= 1)",
                "damerau_levenshtein(family_name_l, family_name_r) <= 1",
                0.01,
                0.001,
            ),
            Level(
                "Sounds alike (double metaphone)",
                "family_dm_l = family_dm_r OR family_dm_l = family_dm_alt_r OR family_dm_alt_l = family_dm_r",
                0.01,
                0.002,
            ),
            _else("Different family name", 0.03, 1 - 0.003 - 0.0005 - 0.002 - 0.001 - 0.002),
        ),
    ),
    ComparisonSpec(
        name="dob",
        description="Date of birth",
        null_sql="dob_l IS NULL OR dob_r IS NULL",
        levels=(
            Level("Exact match", "dob_l = dob_r", 0.93, 0.00015),
            Level(
                "Day and month transposed",
                "dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
                0.01,
                0.00001,
            ),
            Level(
                "Same year and month",
                "dob_year_l = dob_year_r AND dob_month_l = dob_month_r",
                0.02,
                0.0045,
            ),
            Level(
                "Two of year, month and day agree",
                "dob_day_l = dob_day_r AND (dob_year_l = dob_year_r OR dob_month_l = dob_month_r)",
                0.02,
                0.0047,
            ),
            # Siblings other than twins are born months apart, so a date within six weeks is a slip
            # (a neighbouring month picked from a list), not a sibling.
            Level("Within 45 days", "abs(dob_days_l - dob_days_r) <= 45", 0.005, 0.01),
            Level("Within a year", "abs(dob_days_l - dob_days_r) <= 366", 0.005, 0.09),
            _else("Different date of birth", 0.01, 1 - 0.00015 - 0.00001 - 0.0045 - 0.0047 - 0.01 - 0.09),
        ),
    ),
    ComparisonSpec(
        name="sex",
        description="Sex (U counts as unknown)",
        null_sql="sex_l IS NULL OR sex_r IS NULL",
        levels=(
            Level("Same sex", "sex_l = sex_r", 0.97, 0.5),
            _else("Different sex", 0.03, 0.5),
        ),
    ),
    ComparisonSpec(
        name="postcode",
        description="Postcode",
        null_sql="postcode_l IS NULL OR postcode_r IS NULL",
        levels=(
            Level("Exact match", "postcode_l = postcode_r", 0.75, 0.0001),
            Level("Same postcode sector", "postcode_sector_l = postcode_sector_r", 0.05, 0.0008),
            Level("Same postcode district", "postcode_district_l = postcode_district_r", 0.05, 0.003),
            _else("Different area", 0.15, 1 - 0.0001 - 0.0008 - 0.003),
        ),
    ),
    ComparisonSpec(
        name="address_line_1",
        description="First address line",
        null_sql="address_line_1_l IS NULL OR address_line_1_r IS NULL",
        levels=(
            Level("Exact match", "address_line_1_l = address_line_1_r", 0.6, 0.003),
            Level(
                "Similar (Jaro-Winkler >= 0.9)",
                "jaro_winkler_similarity(address_line_1_l, address_line_1_r) >= 0.9",
                0.08,
                0.01,
            ),
            _else("Different address", 0.32, 1 - 0.003 - 0.01),
        ),
    ),
    ComparisonSpec(
        name="nhs_number",
        description="NHS number",
        null_sql="nhs_number_l IS NULL OR nhs_number_r IS NULL",
        levels=(
            # u is not the chance of a coincidence (nil) but of a wrong number on a record; it keeps
            # the Bayes factor (2^12.9) below the penalty for a different forename and date of birth
            # (2^14.1), so a number shared with a sibling cannot link two children by itself.
            Level("Same NHS number", "nhs_number_l = nhs_number_r", 0.9, 0.00012),
            _else("Different NHS number", 0.1, 0.99988),
        ),
        fixed=True,
    ),
    ComparisonSpec(
        name="upn",
        description="Unique pupil number",
        null_sql="upn_l IS NULL OR upn_r IS NULL",
        levels=(
            Level("Same UPN", "upn_l = upn_r", 0.95, 0.00012),
            # A temporary UPN (last character a letter) is replaced by a permanent one, so only two
            # different permanent UPNs say "two pupils".
            Level(
                "Different permanent UPNs",
                "regexp_matches(upn_l, '[0-9]$') AND regexp_matches(upn_r, '[0-9]$')",
                0.02,
                0.95,
            ),
            _else("Different UPN, one temporary", 0.03, 0.04988),
        ),
        fixed=True,
    ),
)

#: Candidate pairs are those agreeing on at least one of these (each pair is scored once). Every rule
#: is an equi-join, so DuckDB hashes rather than loops. Sized on a dense synthetic million records (one
#: local authority, so far more crowded than a national directory of the same size): date of birth
#: alone would give ~75 million pairs and surname code + birth year ~27 million, so each rule pairs a
#: date part with a name code or a place; together they give ~11 million before de-duplication.
#: Coverage of the usual errors: any name error (rules 3-5), surname change (3, 5, 8), day/month
#: slips and transposition (6), a wrong year (7), any date error at the same address (9).
BLOCKING_RULES: tuple[str, ...] = (
    "l.nhs_number = r.nhs_number",
    "l.upn = r.upn",
    "l.dob = r.dob AND l.forename_dm = r.forename_dm",
    "l.dob = r.dob AND l.family_dm = r.family_dm",
    "l.dob = r.dob AND l.postcode_sector = r.postcode_sector",
    "l.forename_canonical = r.forename_canonical AND l.family_dm = r.family_dm AND l.dob_year = r.dob_year",
    "l.forename_canonical = r.forename_canonical AND l.family_dm = r.family_dm"
    " AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day",
    "l.forename_canonical = r.forename_canonical AND l.dob_year = r.dob_year"
    " AND l.postcode_sector = r.postcode_sector",
    "l.address_line_1 = r.address_line_1 AND l.postcode = r.postcode AND l.forename_initial = r.forename_initial",
)

# EM needs pairs that are mostly, but not only, matches. Each rule leaves some comparisons free.
_EM_BLOCKING_RULES: tuple[str, ...] = (
    "l.dob = r.dob",
    "l.forename = r.forename AND l.family_name = r.family_name",
)

# Rules that admit (almost) no false positives, to estimate the prior by direct counting.
_DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.forename = r.forename AND l.family_name = r.family_name AND l.dob = r.dob",
    "l.nhs_number = r.nhs_number AND l.dob = r.dob",
)
_DETERMINISTIC_RECALL = 0.8


def level_gamma(comparison: str, label: str) -> int:
    """The gamma value Splink gives the level labelled ``label`` of ``comparison`` in this engine."""
    spec = next(c for c in COMPARISONS if c.name == comparison)
    labels = [level.label for level in spec.levels]
    return len(labels) - 1 - labels.index(label)


def _comparison_dict(spec: ComparisonSpec) -> dict[str, Any]:
    levels: list[dict[str, Any]] = [
        {"sql_condition": spec.null_sql, "label_for_charts": "Missing on either record", "is_null_level": True}
    ]
    for level in spec.levels:
        entry: dict[str, Any] = {
            "sql_condition": level.sql,
            "label_for_charts": level.label,
            "m_probability": level.m,
            "u_probability": level.u,
            "fix_m_probability": spec.fixed,
            "fix_u_probability": spec.fixed,
        }
        if level.tf_column is not None:
            entry.update(
                tf_adjustment_column=level.tf_column,
                tf_adjustment_weight=1.0,
                tf_minimum_u_value=_round_sig(level.u / TF_MAX_BOOST),
            )
        levels.append(entry)
    return {
        "output_column_name": spec.name,
        "comparison_description": spec.description,
        "comparison_levels": levels,
    }


def _splink_settings() -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record_key",
        "probability_two_random_records_match": DEFAULT_PRIOR,
        # Splink 5 only keeps the gamma (level) columns along with the compared values; scoring
        # selects just the columns it returns from the result.
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": [],
        "em_convergence": 0.0001,
        "max_iterations": 25,
        "linker_uid": "contactpoint",
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in BLOCKING_RULES
        ],
        "comparisons": [_comparison_dict(spec) for spec in COMPARISONS],
    }


def _round_sig(value: float, digits: int = 6) -> float:
    """Round to significant digits so that float noise from parallel sums cannot change a model."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def model_version(model: dict[str, Any]) -> str:
    """The content hash of a model: same comparisons, features and parameters, same version."""
    payload = {
        "format": model.get("format", MODEL_FORMAT),
        "features_version": model.get("features_version", FEATURES_VERSION),
        "splink": model["splink"],
    }
    return "cpm-" + hashlib.sha256(_canonical_json(payload).encode("ascii")).hexdigest()[:16]


def _wrap(splink_settings: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    model = {
        "format": MODEL_FORMAT,
        "features_version": FEATURES_VERSION,
        "provenance": provenance,
        "splink": splink_settings,
    }
    model["version"] = model_version(model)
    return model


def default_model() -> dict[str, Any]:
    """The untrained model: every m and u written in code, so matching works on an empty directory.

    Returns a complete model dict (see the module docstring) whose ``version`` is a content hash.
    """
    return _wrap(_splink_settings(), {"method": "priors"})


def validate_model(model: dict[str, Any]) -> None:
    """Raise ``ValueError`` if ``model`` is not a model of this engine or its version does not match."""
    if model.get("format") != MODEL_FORMAT:
        raise ValueError(f"not a {MODEL_FORMAT} model")
    if model.get("features_version") != FEATURES_VERSION:
        raise ValueError(
            f"model built on features v{model.get('features_version')}, engine has v{FEATURES_VERSION}"
        )
    if model.get("version") != model_version(model):
        raise ValueError("model version does not match its content (edited after it was made?)")


def comparison_levels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """``{comparison name: {gamma value: level label}}`` as Splink numbers them.

    Splink gives the null level -1 and counts the other levels down from ``n-1`` (best) to 0 (else).
    """
    result: dict[str, dict[int, str]] = {}
    for comparison in model["splink"]["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lvl for lvl in levels if not lvl.get("is_null_level")]
        labels = {-1: next((lvl["label_for_charts"] for lvl in levels if lvl.get("is_null_level")), "Missing")}
        for position, level in enumerate(non_null):
            labels[len(non_null) - 1 - position] = level["label_for_charts"]
        result[comparison["output_column_name"]] = labels
    return result


def _level_weight(level: dict[str, Any]) -> float:
    return math.log2(level["m_probability"] / level["u_probability"])


def _cap_identifier_weights(settings: dict[str, Any]) -> None:
    """Keep identifier agreement below the combined forename + date-of-birth disagreement (in place)."""
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}

    def else_weight(name: str) -> float:
        levels = [lvl for lvl in by_name[name]["comparison_levels"] if lvl["sql_condition"] == "ELSE"]
        return _level_weight(levels[0])

    budget = -(else_weight("forename") + else_weight("dob")) - _IDENTIFIER_SAFETY_MARGIN_BITS
    for name in _IDENTIFIER_COMPARISONS:
        for level in by_name[name]["comparison_levels"]:
            if level.get("is_null_level") or level["sql_condition"] == "ELSE":
                continue
            if _level_weight(level) > budget:
                level["u_probability"] = level["m_probability"] / 2**budget


def term_frequency_columns(model: dict[str, Any]) -> dict[str, float]:
    """``{column: average u of its exact-match level}`` for the term-frequency adjusted columns."""
    result: dict[str, float] = {}
    for comparison in model["splink"]["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("tf_adjustment_column"):
                result[level["tf_adjustment_column"]] = float(level["u_probability"])
    return result


def train_model(
    records_df: pd.DataFrame,
    seed: int = 1,
    *,
    max_pairs_u: float = 5e6,
    max_pairs_em: float = 2e6,
) -> dict[str, Any]:
    """Fit m and u probabilities to a set of records without labels, starting from the priors.

    ``records_df`` is raw records (as for :func:`.features.prepare_records`) or prepared features.
    u probabilities come from random sampling of record pairs (``max_pairs_u`` pairs, seeded), m
    probabilities from expectation maximisation on pairs blocked by date of birth and then by full
    name (each rule leaves the other fields free to be estimated). The NHS number and UPN levels stay
    at their priors and are capped (see :data:`DEFAULT_PRIOR` and the module notes).

    The prior is estimated by counting near-certain matches but is never set above
    :data:`DEFAULT_PRIOR`: a model trained on a small extract must not become more eager to link.

    Deterministic for a given ``seed`` and input: sampling is hash-based, DuckDB runs single-threaded
    here, and parameters are rounded to 6 significant digits.
    """
    from .scoring import build_linker, ensure_features, open_duckdb

    features = ensure_features(records_df)
    if len(features) < 2:
        raise ValueError("need at least two records to train")
    settings = _splink_settings()
    con, db_api, sdf = open_duckdb(features, {"splink": settings}, threads=1)
    try:
        linker = build_linker(sdf, db_api, {"splink": settings}, settings, [features])
        estimated_prior: float | None
        try:
            linker.training.estimate_probability_two_random_records_match(
                list(_DETERMINISTIC_RULES), recall=_DETERMINISTIC_RECALL
            )
            estimated_prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"])
        except ValueError:
            # Too few records for the counting estimate to be consistent; keep the default.
            estimated_prior = None
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed)
        for rule in _EM_BLOCKING_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True, max_pairs=max_pairs_em
            )
        trained = linker.misc.save_model_to_json()
    finally:
        con.close()

    prior = DEFAULT_PRIOR if estimated_prior is None else min(estimated_prior, DEFAULT_PRIOR)
    splink_settings = _splink_settings()
    splink_settings["probability_two_random_records_match"] = _round_sig(prior)
    # Copy over only the parameters: the structure stays exactly ours.
    trained_levels = {c["output_column_name"]: c["comparison_levels"] for c in trained["comparisons"]}
    for comparison in splink_settings["comparisons"]:
        for ours, theirs in zip(
            comparison["comparison_levels"], trained_levels[comparison["output_column_name"]], strict=True
        ):
            if ours.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                value = theirs.get(key)
                if value is not None and value > 0:
                    ours[key] = _round_sig(float(value))
    for comparison in splink_settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if "tf_minimum_u_value" in level:
                level["tf_minimum_u_value"] = level["u_probability"] / TF_MAX_BOOST
    _cap_identifier_weights(splink_settings)
    for comparison in splink_settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability", "tf_minimum_u_value"):
                if key in level:
                    level[key] = _round_sig(level[key])
    provenance = {
        "method": "unsupervised",
        "seed": seed,
        "records": len(features),
        "estimated_probability_two_random_records_match": (
            None if estimated_prior is None else _round_sig(estimated_prior)
        ),
    }
    return _wrap(splink_settings, provenance)


def splink_settings_for_scoring(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of the model's Splink settings, checked, for building a Linker."""
    validate_model(model)
    return copy.deepcopy(model["splink"])
