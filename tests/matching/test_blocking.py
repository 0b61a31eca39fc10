"""Blocking keys in the database: a delta's candidates are the records the engine's rules could pair.

Each test would fail if the rule it names were broken: keys not kept in step with the records,
candidates not narrowed (or narrowed past a rule), keys not keyed, frequencies counted over the
candidates instead of the directory.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import pytest
from django.db import connection

from contactpoint.core import keys as core_keys
from contactpoint.directory.identity import read_source_identities
from contactpoint.feeds.models import SourceRecord
from contactpoint.ingest.pipeline import load_feed
from contactpoint.matching import blocking, engine
from contactpoint.matching.engine.model import BLOCKING_RULES
from contactpoint.matching.models import BlockingKeys
from directory.builders import child_row, load_children, write_feed

pytestmark = pytest.mark.django_db


def record(srid: str, source: str = "nhs_demographics") -> SourceRecord:
    return SourceRecord.objects.get(source__code=source, source_record_id=srid)


def stored_keys(srid: str, source: str = "nhs_demographics") -> dict[str, int | None]:
    row = BlockingKeys.objects.filter(record=record(srid, source)).values(*blocking.KEY_COLUMNS).first()
    assert row is not None, f"{srid} has no blocking keys"
    return row


def features(*rows: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{**{k: v for k, v in row.items() if k != "source_record_id"}, "record_key": i} for i, row in enumerate(rows)]
    )
    return engine.prepare_records(frame)


def test_every_rule_of_the_engine_has_a_column_and_no_column_is_left_over() -> None:
    assert set(blocking.RULE_COLUMNS) == set(BLOCKING_RULES)
    assert set(blocking.TF_COLUMNS) == set(engine.model.term_frequency_columns(engine.default_model()))
    model_columns = {f.column for f in BlockingKeys._meta.get_fields()} - {"record_id"}
    assert model_columns == set(blocking.KEY_COLUMNS)


def test_keys_are_stored_for_each_loaded_record_and_agree_with_a_recomputation(tmp_path: Path) -> None:
    load_children(tmp_path, [child_row("A1"), child_row("B1", given_names="Ian", family_name="Brook",
                                                         date_of_birth="2012-02-02", nhs_number="")])
    a, b = stored_keys("A1"), stored_keys("B1")
    assert all(a[c] is not None for c in ("dob_forename_dm", "dob_family_dm", "forename_family_dm_year"))
    assert b["nhs_number"] is None  # no NHS number: the rule can't pair it
    assert a["dob_forename_dm"] != b["dob_forename_dm"]
    rows = read_source_identities(record_ids=[record("A1").pk])
    recomputed = blocking.compute_keys(engine.prepare_records(pd.DataFrame(rows)))
    assert {c: int(recomputed[c][0]) if pd.notna(recomputed[c][0]) else None for c in blocking.KEY_COLUMNS} == a
    # rebuild_all_keys (the migration and `matching rebuild-keys`) gives the same keys.
    assert blocking.rebuild_all_keys() == 2
    assert stored_keys("A1") == a and stored_keys("B1") == b


def test_a_changed_record_is_rekeyed_and_a_retired_one_loses_its_keys(tmp_path: Path) -> None:
    load_children(tmp_path, [child_row("A1"), child_row("B1", given_names="Ian", family_name="Brook")], mode="full")
    before = stored_keys("A1")
    feed = write_feed(tmp_path / "second.csv", [child_row("A1", family_name="Okafor-Smith")])
    load_feed(source_code="nhs_demographics", path=feed, mode="full", force=True)
    after = stored_keys("A1")
    assert after["dob_family_dm"] != before["dob_family_dm"]  # the surname code changed with the name
    assert after["dob_forename_dm"] == before["dob_forename_dm"]
    assert not BlockingKeys.objects.filter(record=record("B1")).exists()  # retired by the full feed


def test_tokens_are_keyed_by_the_master_key(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = features(child_row("A1"))
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, base64.b64encode(b"a" * 32).decode())
    first = blocking.compute_keys(frame)
    assert blocking.compute_keys(frame)["dob_family_dm"][0] == first["dob_family_dm"][0]
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, base64.b64encode(b"b" * 32).decode())
    second = blocking.compute_keys(frame)
    assert all(first[c][0] != second[c][0] for c in ("dob_family_dm", "tf_family_name", "address_postcode_initial"))


def test_a_rule_needs_all_its_values_and_rules_never_share_tokens() -> None:
    frame = features(child_row("A1", postcode="", address_line_1=""), child_row("B1"))
    keys = blocking.compute_keys(frame)
    assert pd.isna(keys["dob_postcode_sector"][0]) and pd.notna(keys["dob_postcode_sector"][1])
    values = [int(keys[c][1]) for c in blocking.KEY_COLUMNS if pd.notna(keys[c][1])]
    assert len(values) == len(set(values))


def test_delta_candidates_are_those_a_rule_pairs_plus_their_childrens_other_records(tmp_path: Path) -> None:
    load_children(tmp_path, [
        child_row("SAME", given_names="Amelia", family_name="Okafor", date_of_birth="2015-03-04"),
        # Another child's record of the same person from a second source: must come with its child.
        child_row("OTHER", given_names="Xanthe", family_name="Quill", date_of_birth="2009-11-30",
                  postcode="N1 9GU", address_line_1="1 Upper Street"),
    ])
    load_children(tmp_path, [child_row("SAME-SCHOOL", given_names="Amelia", family_name="Okafor",
                                       date_of_birth="2015-03-04")], source_code="school_census")
    new = features(child_row("NEW", given_names="Amilia", family_name="Okafor", date_of_birth="2015-03-04",
                             postcode="", address_line_1=""))
    new["record_key"] = -1
    found = set(blocking.candidate_record_ids(blocking.compute_keys(new)))
    same, school, other = record("SAME").pk, record("SAME-SCHOOL", "school_census").pk, record("OTHER").pk
    assert {same, school} <= found  # the same date of birth and surname code (rule 4)
    assert other not in found  # shares no rule: not read, not prepared, not scored


def test_a_candidate_childs_unkeyed_record_still_comes_with_it(tmp_path: Path) -> None:
    load_children(tmp_path, [child_row("SAME"), child_row("TWIN", given_names="Zed", family_name="Zephyr",
                                                           date_of_birth="2001-01-01", postcode="N1 9GU")])
    # Make TWIN a second record of SAME's child whose own keys share nothing with the new record.
    SourceRecord.objects.filter(pk=record("TWIN").pk).update(child=record("SAME").child)
    new = features(child_row("NEW"))
    new["record_key"] = -1
    assert record("TWIN").pk in set(blocking.candidate_record_ids(blocking.compute_keys(new)))


def test_name_frequencies_are_counted_over_the_whole_directory_not_the_candidates(tmp_path: Path) -> None:
    rows = [child_row(f"S{i}", given_names="Noah", family_name="Smith",
                      date_of_birth=f"201{i % 4}-0{1 + i % 9}-1{i % 10}", postcode="N1 9GU",
                      address_line_1=f"{i} Upper Street") for i in range(30)]
    assert len(load_children(tmp_path, rows)) == 30
    new = features(child_row("NEW", given_names="Noah", family_name="Smith", date_of_birth="2016-01-01"))
    new["record_key"] = -1
    assert blocking.candidate_record_ids(blocking.compute_keys(new)) == []  # none of the 30 is a candidate
    lookups = blocking.directory_term_frequencies(new, None, engine.default_model())
    smith = lookups["family_name"].set_index("family_name")["tf_family_name"]["SMITH"]
    alone = engine.term_frequency_lookups([new], engine.default_model())["family_name"]
    assert smith > float(alone.set_index("family_name")["tf_family_name"]["SMITH"])  # 31 Smiths, not 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BlockingKeys._meta.db_table}")
        total = cursor.fetchone()[0] + 1
    average_u = engine.model.term_frequency_columns(engine.default_model())["family_name"]
    pseudo = engine.model.TF_PSEUDO_RECORDS
    assert smith == pytest.approx((31 + pseudo * average_u) / (total + pseudo))


def test_an_initial_load_gets_the_frequencies_it_had_before(tmp_path: Path) -> None:
    frame = features(child_row("A"), child_row("B", family_name="Smith"), child_row("C", family_name="Smith"))
    ours = blocking.directory_term_frequencies(frame, None, engine.default_model())
    theirs = engine.term_frequency_lookups([frame], engine.default_model())
    for column, lookup in theirs.items():
        merged = lookup.merge(ours[column], on=column, suffixes=("", "_ours"))
        assert len(merged) == len(lookup)
        assert merged[f"tf_{column}"].tolist() == pytest.approx(merged[f"tf_{column}_ours"].tolist())


def test_the_rebuild_keys_command_rekeys_every_current_record(tmp_path: Path) -> None:
    import io

    from django.core.management import call_command

    load_children(tmp_path, [child_row("A1"), child_row("B1", given_names="Ian", family_name="Brook")])
    before = stored_keys("A1")
    BlockingKeys.objects.all().delete()
    out = io.StringIO()
    call_command("matching", "rebuild-keys", stdout=out)
    assert "2 current source records" in out.getvalue()
    assert stored_keys("A1") == before


@pytest.mark.slow
def test_every_pair_splinks_own_blocking_finds_is_among_the_candidates(tmp_path: Path) -> None:
    """The oracle: Splink, blocking the new records against the *whole* directory with the engine's rules,
    pairs them only with existing records that the stored tokens also find."""
    import csv
    import datetime
    import json

    from django.db import transaction

    from contactpoint.feeds.services import add_source
    from contactpoint.synth.generator import generate

    feeds = tmp_path / "feeds"
    generate(600, 20261125, feeds)
    sources = {s["code"]: s for s in json.loads((feeds / "sources.json").read_text())["sources"]}
    first = sources["nhs_demographics"]
    add_source(code=first["code"], name=first["name"], trust=first["trust_level"], system_actor="test")
    load_feed(source_code=first["code"], path=feeds / first["file"], mode="full")
    existing = engine.prepare_records(pd.DataFrame(read_source_identities()))

    with (feeds / sources["child_benefit"]["file"]).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = ("given_names", "family_name", "former_family_names", "sex", "address_line_1", "town", "postcode",
               "nhs_number", "upn")
    new = engine.prepare_records(pd.DataFrame([
        {**{c: row.get(c, "") for c in columns}, "source": "child_benefit", "record_key": -(i + 1),
         "date_of_birth": datetime.date.fromisoformat(row["date_of_birth"]) if row["date_of_birth"] else None}
        for i, row in enumerate(rows)
    ]))
    with transaction.atomic():
        candidates = set(blocking.candidate_record_ids(blocking.compute_keys(new)))
    paired = set(engine.score_against(new, existing, engine.default_model())["record_key_r"].astype(int))
    assert len(paired) > 100  # the oracle has something to say
    assert paired <= candidates, f"{len(paired - candidates)} records Splink pairs are not candidates"
    assert len(candidates) < 0.9 * len(existing)  # and the tokens still narrow the directory


def test_a_feed_without_the_master_key_is_refused_before_anything_changes(settings, monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    from contactpoint.feeds.models import FeedBatch
    from contactpoint.ingest.pipeline import FeedLoadError
    from directory.builders import source

    source()
    monkeypatch.delenv(core_keys.MASTER_KEY_VARIABLE, raising=False)
    settings.HOME = tmp_path  # no master-key file here
    settings.MODE = "production"  # where a missing key is an error, never generated
    feed = write_feed(tmp_path / "feed.csv", [child_row("A1")])
    with pytest.raises(FeedLoadError, match="master key"):
        load_feed(source_code="nhs_demographics", path=feed)
    assert not FeedBatch.objects.exists() and not SourceRecord.objects.exists()
    assert not (tmp_path / "master-key").exists()
