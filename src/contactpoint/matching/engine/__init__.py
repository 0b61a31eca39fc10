"""Record linkage engine: which source records are the same child.

A plain Python package (pandas, DuckDB, Splink 5; no Django) used by the directory's matching
service. The flow::

    features = prepare_records(records)                 # normalised match features
    model = default_model()                             # or train_model(features, seed=...)
    pairs = score_within(features, model)               # candidate pairs, scored
    decision = decide(pairs, records=features)          # clusters + pairs for human review

and for a delta load against an existing directory::

    pairs = score_against(new_features, existing_features, model)
    within = score_within(new_features, model)
    result = decide_incremental(pairs, existing_clusters, new_records=new_features,
                                existing_records=existing_features, within_new_pairs=within)

Every link should record ``model["version"]``, the content hash of the model that made it.
"""

from .decide import (
    AMBIGUITY_MARGIN_BITS,
    LINK_THRESHOLD,
    REVIEW_THRESHOLD,
    Decision,
    IncrementalDecision,
    decide,
    decide_incremental,
)
from .features import FEATURE_COLUMNS, INPUT_COLUMNS, prepare_records
from .model import DEFAULT_PRIOR, default_model, model_version, train_model, validate_model
from .scoring import explain_pair, score_against, score_within, term_frequency_lookups

__all__ = [
    "AMBIGUITY_MARGIN_BITS",
    "DEFAULT_PRIOR",
    "FEATURE_COLUMNS",
    "INPUT_COLUMNS",
    "LINK_THRESHOLD",
    "REVIEW_THRESHOLD",
    "Decision",
    "IncrementalDecision",
    "decide",
    "decide_incremental",
    "default_model",
    "explain_pair",
    "model_version",
    "prepare_records",
    "score_against",
    "score_within",
    "term_frequency_lookups",
    "train_model",
    "validate_model",
]
