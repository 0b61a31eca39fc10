"""Tests of the record linkage engine (plain pytest: no Django, no database).

Run with ``PYTHONPATH=src python -m pytest tests/matching -q -p no:django``.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pandas as pd
import pytest

from contactpoint.core.forenames import NICKNAME_GROUPS
from contactpoint.matching.engine import (
    LINK_THRESHOLD,
    REVIEW_THRESHOLD,
    decide,
    decide_incremental,
    default_model,
    explain_pair,
    model_version,
    prepare_records,
    score_against,
    score_within,
    train_model,
    validate_model,
)

# Valid (modulus 11) NHS numbers from the 999 test range.
NHS_A = "9990000018"
NHS_B = "9990000026"
NHS_C = "9990000034"

_keys = itertools.count(1)


def child(**fields: Any) -> dict[str, Any]:
    """One source record; unspecified fields are those of a fixed example child."""
    record = {
        "record_key": next(_keys),
        "source": "nhs_demographics",
        "given_names": "William James",
        "family_name": "Thompson",
        "former_family_names": None,
        "date_of_birth": "2014-03-09",
        "sex": "M",
        "address_line_1": "14 Elm Grove",
        "town": "Birmingham",
        "postcode": "B13 9AH",
        "nhs_number": None,
        "upn": None,
    }
    record.update(fields)
    return record


def frame(*records: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(records))


def pair_probability(a: dict[str, Any], b: dict[str, Any], model: dict[str, Any] | None = None) -> float:
    """Probability the model gives the pair (0.0 if blocking never compares them)."""
    pairs = score_within(frame(a, b), model)
    return float(pairs["match_probability"].iloc[0]) if len(pairs) else 0.0


def linked(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether the default model and decision rules put the two records in one child."""
    records = prepare_records(frame(a, b))
    decision = decide(score_within(records), records=records)
    clusters = decision.clusters.set_index("record_key")["cluster_key"]
    return bool(clusters[a["record_key"]] == clusters[b["record_key"]])


def noisy_sample(children: int = 60, first_key: int = 100_000) -> pd.DataFrame:
    """A small population with two or three noisy records per child; the same for the same arguments."""
    forenames = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Leo", "Freya"]
    surnames = ["Smith", "Khan", "Jones", "Patel", "Brown", "Taylor", "Wilson", "Ahmed"]
    rows = []
    for i in range(children):
        base = child(
            given_names=forenames[i % len(forenames)],
            family_name=surnames[(i * 3) % len(surnames)],
            date_of_birth=f"{2008 + i % 15}-{1 + i % 12:02d}-{1 + (i * 7) % 28:02d}",
            sex="F" if i % 2 else "M",
            address_line_1=f"{1 + i} Station Road",
            postcode=f"B{1 + i % 30} {1 + i % 9}AB",
        )
        rows.append(base)
        rows.append({**base, "record_key": next(_keys), "source": "child_benefit", "postcode": None})
        if i % 2:
            typo = base["given_names"][:-1] + "e"
            rows.append({**base, "record_key": next(_keys), "source": "school_census", "given_names": typo})
    sample = frame(*rows)
    sample["record_key"] = range(first_key, first_key + len(sample))
    return sample


# --------------------------------------------------------------------------------------------------
# features


def test_prepare_records_normalises_names_dates_postcodes_and_identifiers() -> None:
    features = prepare_records(
        frame(
            child(
                given_names="  Zoë Mary-Jane ",
                family_name="O'Neill-Smith",
                former_family_names="Jones; van der Berg",
                date_of_birth="2012-03-15",
                sex="f",
                postcode="b13  9ah",
                address_line_1="12, Oak Rd.",
                nhs_number="999 000 0018",
                upn=" a12345678901b",
            ),
            child(given_names="", family_name=None, date_of_birth="2012-02-30", postcode="nonsense",
                  nhs_number="9990000019", upn="X"),
        )
    )
    first, second = features.iloc[0], features.iloc[1]
    assert first["forename"] == "ZOE"
    assert set(first["given_name_tokens"]) >= {"ZOE", "MARYJANE", "MARY", "JANE"}
    assert first["family_name"] == "ONEILLSMITH"
    assert set(first["surname_tokens"]) >= {"ONEILL", "SMITH"}
    assert list(first["former_family_names"]) == ["JONES", "VANDERBERG"]
    assert "BERG" in set(first["surnames_all"]) and "VAN" not in set(first["surnames_all"])
    assert (first["dob"], first["dob_year"], first["dob_month"], first["dob_day"]) == ("2012-03-15", 2012, 3, 15)
    assert first["sex"] == "F"
    assert (first["postcode"], first["postcode_sector"], first["postcode_district"]) == ("B13 9AH", "B13 9", "B13")
    assert first["address_line_1"] == "12 OAK ROAD"
    assert first["nhs_number"] == NHS_A
    assert first["upn"] == "A12345678901B"
    assert first["forename_dm"] and first["family_dm"] and first["family_soundex"]
    # Blank, impossible or malformed values are missing, never evidence.
    for column in ("forename", "family_name", "dob", "dob_days", "postcode", "nhs_number", "upn"):
        assert pd.isna(second[column]), column


def test_nicknames_map_to_canonical_forename_by_sex() -> None:
    features = prepare_records(
        frame(
            child(given_names="Bill"),
            child(given_names="Alfie"),
            child(given_names="Katie", sex="F"),
            child(given_names="Liz", sex="F"),
            child(given_names="Tom"),
            child(given_names="Alex", sex="F"),
            child(given_names="Alex", sex="M"),
        )
    )
    assert features["forename_canonical"].tolist() == [
        "WILLIAM", "ALFRED", "CATHERINE", "ELIZABETH", "THOMAS", "ALEXANDRA", "ALEXANDER",
    ]
    assert "ALEXANDER" not in set(features["forename_canonicals"].iloc[5])


def test_nickname_table_is_well_formed() -> None:
    variants = sum(len(group[2]) for group in NICKNAME_GROUPS)
    assert variants >= 60
    for canonical, sex, names in NICKNAME_GROUPS:
        assert sex in {"M", "F", "U"}
        assert all(name.isascii() and name.isupper() and name.isalpha() for name in (canonical, *names))


def test_muhammad_prefix_compares_the_called_name() -> None:
    features = prepare_records(frame(child(given_names="Muhammad Hamza"), child(given_names="Mohammed")))
    assert features["forename"].tolist() == ["HAMZA", "MOHAMMED"]
    assert "MUHAMMAD" in set(features["given_name_tokens"].iloc[0])


# --------------------------------------------------------------------------------------------------
# model


def test_default_model_is_complete_json_with_content_version() -> None:
    model = default_model()
    validate_model(model)
    assert json.loads(json.dumps(model)) == model
    assert model["version"] == model_version(model) and model["version"].startswith("cpm-")
    assert default_model()["version"] == model["version"]
    for comparison in model["splink"]["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert 0 < level["m_probability"] <= 1 and 0 < level["u_probability"] <= 1
    edited = json.loads(json.dumps(model))
    edited["splink"]["probability_two_random_records_match"] = 0.5
    with pytest.raises(ValueError):
        validate_model(edited)


def _weight(model: dict[str, Any], comparison: str, label: str) -> float:
    for c in model["splink"]["comparisons"]:
        if c["output_column_name"] == comparison:
            for level in c["comparison_levels"]:
                if level["label_for_charts"] == label:
                    return math.log2(level["m_probability"] / level["u_probability"])
    raise KeyError(label)


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    """One trained model for the tests that only inspect it (training takes a few seconds)."""
    return train_model(noisy_sample(), seed=42)


@pytest.mark.parametrize("which", ["default", "trained"])
def test_identifier_agreement_cannot_outweigh_forename_and_dob_disagreement(
    which: str, trained: dict[str, Any]
) -> None:
    model = default_model() if which == "default" else trained
    disagreement = _weight(model, "forename", "Different forename") + _weight(
        model, "dob", "Different date of birth"
    )
    assert _weight(model, "nhs_number", "Same NHS number") < -disagreement
    assert _weight(model, "upn", "Same UPN") < -disagreement


def test_train_model_is_deterministic_for_a_seed(trained: dict[str, Any]) -> None:
    first = trained
    # The same records in another row order must give the same model, to the last digit.
    second = train_model(noisy_sample().sample(frac=1.0, random_state=3), seed=42)
    assert first == second
    assert first["provenance"]["seed"] == 42
    validate_model(first)
    assert first["splink"]["probability_two_random_records_match"] <= default_model()["splink"][
        "probability_two_random_records_match"
    ]


# --------------------------------------------------------------------------------------------------
# scoring


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"given_names": "Bill"}, "nickname"),
        ({"given_names": "Wiliam James"}, "forename typo"),
        ({"family_name": "Thomson"}, "surname typo"),
        ({"date_of_birth": "2014-09-03"}, "day and month transposed"),
        ({"family_name": "Patel", "former_family_names": "Thompson"}, "surname change with former name"),
        ({"family_name": "Thompson-Patel"}, "double-barrelled surname"),
        ({"given_names": "JAMES", "sex": "M"}, "known by middle name"),
        ({"postcode": "B14 7QX", "address_line_1": "3 New Street"}, "moved house"),
    ],
)
def test_true_variants_score_above_link_threshold_and_link(change: dict[str, Any], label: str) -> None:
    original = child(nhs_number=None)
    variant = child(source="school_census", **change)
    assert pair_probability(original, variant) >= LINK_THRESHOLD, label
    assert linked(original, variant), label


def test_surname_change_and_move_link_with_nhs_number() -> None:
    original = child(nhs_number=NHS_A)
    variant = child(source="social_care", family_name="Patel", postcode="B14 7QX", address_line_1="3 New Street",
                    nhs_number=NHS_A)
    assert pair_probability(original, variant) >= LINK_THRESHOLD
    assert linked(original, variant)


def test_twins_do_not_link() -> None:
    twin_a = child(given_names="Oliver", nhs_number=None)
    twin_b = child(given_names="Harry", source="child_benefit", nhs_number=None)
    assert not linked(twin_a, twin_b)
    # Boy/girl twins with similar names, and twins who differ only by a middle name after Muhammad.
    assert not linked(child(given_names="Zain"), child(given_names="Zainab", sex="F", source="child_benefit"))
    assert not linked(
        child(given_names="Muhammad Hamza"), child(given_names="Mohammed Louie", source="child_benefit")
    )


def test_twins_are_not_chained_through_an_ambiguous_record() -> None:
    # FREDDIE is a short form of both ALFRED and FREDERICK, so the third record agrees with each
    # twin; it may join one of them, but must not put both twins in one child.
    twin_a = child(given_names="Alfred", nhs_number=NHS_A)
    twin_b = child(given_names="Frederick", nhs_number=NHS_B, source="school_census")
    bridge = child(given_names="Freddie", nhs_number=None, source="social_care")
    records = prepare_records(frame(twin_a, twin_b, bridge))
    pairs = score_within(records)
    bridged = pairs[pairs["record_key_r"] == bridge["record_key"]]
    assert len(bridged) == 2 and (bridged["match_probability"] >= LINK_THRESHOLD).all()
    decision = decide(pairs, records=records)
    clusters = decision.clusters.set_index("record_key")["cluster_key"]
    assert clusters[twin_a["record_key"]] != clusters[twin_b["record_key"]]
    assert "would_chain" in set(decision.review["reason"])


def test_wrong_shared_nhs_number_does_not_link() -> None:
    # A sibling's NHS number keyed onto this child's record: same number, different name and dob.
    child_record = child(given_names="Amelia", sex="F", date_of_birth="2016-05-02", nhs_number=NHS_C)
    sibling = child(given_names="Jacob", date_of_birth="2012-11-20", nhs_number=NHS_C, source="school_census")
    assert not linked(child_record, sibling)
    # Even with nothing else in common the number alone stays well below the link threshold.
    stranger = child(given_names="Jacob", family_name="Okafor", date_of_birth="2012-11-20", nhs_number=NHS_C,
                     postcode="M1 1AE", address_line_1="2 Mill Lane", source="school_census")
    assert pair_probability(child_record, stranger) < REVIEW_THRESHOLD


def test_score_within_output_columns_and_explanation() -> None:
    a, b = child(), child(given_names="Bill", source="child_benefit")
    pairs = score_within(frame(a, b))
    assert list(pairs.columns[:5]) == ["record_key_l", "record_key_r", "match_weight", "match_probability", "match_key"]
    names = [c["output_column_name"] for c in default_model()["splink"]["comparisons"]]
    for name in names:
        assert f"gamma_{name}" in pairs.columns and f"bf_{name}" in pairs.columns
    row = pairs.iloc[0]
    assert row["record_key_l"] < row["record_key_r"]
    explanation = explain_pair(row)
    assert [e["field"] for e in explanation] == names
    forename = explanation[0]
    assert forename["level_label"] == "Nickname or variant of the same name"
    assert forename["bayes_factor"] > 1 and forename["match_weight_contribution"] == pytest.approx(
        math.log2(forename["bayes_factor"])
    )
    # The contributions add up, with the prior, to the pair's match weight.
    prior = default_model()["splink"]["probability_two_random_records_match"]
    prior_weight = math.log2(prior / (1 - prior))
    total = sum(e["match_weight_contribution"] for e in explanation) + prior_weight
    assert total == pytest.approx(row["match_weight"])


def test_common_surnames_count_for_less_than_rare_ones() -> None:
    crowd = [
        child(given_names=f"Name{i}", family_name="Khan", date_of_birth=f"20{10 + i % 9}-0{1 + i % 9}-1{i % 9}")
        for i in range(300)
    ]
    common = [child(family_name="Khan", source=s) for s in ("nhs_demographics", "child_benefit")]
    rare = [child(family_name="Schofield", given_names="Perpetua", sex="F", source=s)
            for s in ("nhs_demographics", "child_benefit")]
    pairs = score_within(frame(*crowd, *common, *rare)).set_index(["record_key_l", "record_key_r"])
    common_bf = pairs.loc[(common[0]["record_key"], common[1]["record_key"]), "bf_family_name"]
    rare_bf = pairs.loc[(rare[0]["record_key"], rare[1]["record_key"]), "bf_family_name"]
    assert common_bf < rare_bf
    # A rare name gains at most TF_MAX_BOOST over the average exact-match factor.
    assert rare_bf <= 4.0 * _bayes_factor(default_model(), "family_name", "Exact match") * 1.0001


def _bayes_factor(model: dict[str, Any], comparison: str, label: str) -> float:
    return float(2 ** _weight(model, comparison, label))


def test_score_against_never_returns_existing_pairs() -> None:
    existing = noisy_sample(40, first_key=200_000)
    new = frame(
        child(given_names="Bill"),  # the default child, again
        child(given_names="Oliver", family_name="Smith", date_of_birth="2008-01-01", postcode="B1 1AB"),
        child(given_names="Nobody", family_name="Else", date_of_birth="2020-12-12", postcode="M1 1AE"),
    )
    existing_features = prepare_records(existing)
    pairs = score_against(new, existing_features)
    new_keys = set(new["record_key"])
    existing_keys = set(existing["record_key"])
    assert len(pairs) > 0
    assert set(pairs["record_key_l"]) <= new_keys
    assert set(pairs["record_key_r"]) <= existing_keys
    within_existing = score_within(existing_features)
    assert len(within_existing) > 0  # the existing records do have pairs among themselves...
    assert not pairs["record_key_r"].isin(new_keys).any()  # ...but none are returned here
    with pytest.raises(ValueError):
        score_against(existing.iloc[:2], existing_features)


# --------------------------------------------------------------------------------------------------
# decisions


def test_decide_clusters_noisy_sample_without_false_links() -> None:
    sample = noisy_sample(60)
    features = prepare_records(sample)
    decision = decide(score_within(features), records=features)
    clusters = decision.clusters.merge(sample[["record_key", "date_of_birth", "given_names"]], on="record_key")
    # Every cluster is one child (one date of birth in this sample), and most children are whole.
    assert (clusters.groupby("cluster_key")["date_of_birth"].nunique() == 1).all()
    assert clusters["cluster_key"].nunique() <= 70
    review_columns = {"record_key_l", "record_key_r", "match_probability", "match_weight", "reason"}
    assert set(decision.review.columns) == review_columns


def test_pairs_between_thresholds_go_to_review() -> None:
    pairs = score_within(frame(child(), child(source="child_benefit")))
    pairs["match_probability"] = (LINK_THRESHOLD + REVIEW_THRESHOLD) / 2
    decision = decide(pairs)
    assert decision.clusters["cluster_key"].nunique() == 2
    assert decision.review["reason"].tolist() == ["uncertain"]
    with pytest.raises(ValueError):
        decide(pairs, link_threshold=0.5, review_threshold=0.9)


def test_decide_incremental_joins_existing_child_or_makes_new_one() -> None:
    existing = frame(
        child(given_names="William", nhs_number=NHS_A),
        child(given_names="Oliver", family_name="Khan", date_of_birth="2010-06-01", postcode="B8 1AA"),
    )
    existing_features = prepare_records(existing)
    existing_clusters = pd.DataFrame({"record_key": existing["record_key"], "cluster_key": ["C-1", "C-2"]})
    new = frame(
        child(given_names="Bill", source="school_census"),  # William again
        child(given_names="Harry", source="school_census"),  # William's twin: a new child
        child(given_names="Harry", source="social_care", postcode="B13 9AH"),  # the twin, again
    )
    new_features = prepare_records(new)
    result = decide_incremental(
        score_against(new_features, existing_features),
        existing_clusters,
        new_records=new_features,
        existing_records=existing_features,
        within_new_pairs=score_within(new_features),
    )
    outcome = result.assignments.set_index("record_key")
    bill, harry, harry_again = new["record_key"]
    assert outcome.loc[bill, "cluster_key"] == "C-1"
    assert outcome.loc[bill, "matched_record_key"] == existing["record_key"].iloc[0]
    assert outcome.loc[harry, "outcome"] == "new" and pd.isna(outcome.loc[harry, "cluster_key"])
    assert outcome.loc[harry, "new_cluster_key"] == outcome.loc[harry_again, "new_cluster_key"]
