"""Link quality on a small synthetic population with known truth, through the real feed path; links
export; retraining the model."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from contactpoint.audit.models import AuditEvent
from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.services import add_source
from contactpoint.ingest.pipeline import load_feed
from contactpoint.matching.exports import export_links
from contactpoint.matching.models import MatchModel
from contactpoint.matching.services import active_model
from contactpoint.matching.training import train_and_activate
from contactpoint.synth.generator import generate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def pairs(counter):
    return sum(n * (n - 1) // 2 for n in counter.values())


@pytest.fixture
def loaded(tmp_path):
    feeds = tmp_path / "feeds"
    generate(150, 20261125, feeds)
    sources = json.loads((feeds / "sources.json").read_text())["sources"]
    for source in sources:
        add_source(code=source["code"], name=source["name"], trust=source["trust_level"], system_actor="test")
        load_feed(source_code=source["code"], path=feeds / source["file"], mode="full")
    return feeds


def test_links_on_synthetic_truth_export_and_retraining(loaded, tmp_path):
    """One load, several checks: loading a synthetic population is the slow part."""
    check_links_are_precise_and_find_most_pairs(loaded, tmp_path)
    check_every_link_records_the_model_version_and_score()
    check_retraining_stores_and_activates_a_new_versioned_model()


def check_links_are_precise_and_find_most_pairs(loaded, tmp_path):
    with (loaded / "truth.csv").open(newline="") as handle:
        truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(handle)}
    out = tmp_path / "links.csv"
    count = export_links(path=out, system_actor="test")
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["source", "source_record_id", "contactpoint_id"]
    assert count == len(rows) == SourceRecord.objects.filter(retired_at__isnull=True).count()
    linked = {(r["source"], r["source_record_id"]): r["contactpoint_id"] for r in rows}
    keys = [k for k in linked if k in truth]
    both = pairs(Counter((linked[k], truth[k]) for k in keys))
    precision = both / pairs(Counter(linked[k] for k in keys))
    recall = both / pairs(Counter(truth[k] for k in keys))
    # False merges are the worse error: precision must be near perfect; recall good.
    assert precision >= 0.995, precision
    assert recall >= 0.85, recall
    assert AuditEvent.objects.filter(action="export:links:export").exists()


def check_every_link_records_the_model_version_and_score():
    version = active_model().version
    automatic = SourceRecord.objects.filter(link_method="automatic")
    assert automatic.exists()
    assert not automatic.exclude(link_model_version=version).exists()
    assert not automatic.filter(link_score__isnull=True).exists()


def check_retraining_stores_and_activates_a_new_versioned_model():
    default = active_model()
    trained = train_and_activate(seed=7, system_actor="test", min_records=200)
    assert trained.version != default.version
    assert trained.is_active and MatchModel.objects.filter(is_active=True).count() == 1
    assert trained.trained_on_records == SourceRecord.objects.filter(retired_at__isnull=True).count()
    # Training is deterministic for a seed.
    assert train_and_activate(seed=7, system_actor="test", min_records=200).version == trained.version
    # Existing links keep the version that made them.
    assert SourceRecord.objects.filter(link_model_version=default.version).exists()
