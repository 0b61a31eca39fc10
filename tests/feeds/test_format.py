"""Feed validation: every bad row is reported with line, field and reason; good rows survive."""

import datetime
import hashlib
import json

import pytest

from contactpoint.feeds.format import FEED_FIELDS, FeedFormatError, parse_feed

TODAY = datetime.date(2026, 11, 25)
KEY = b"k" * 32  # the content-hash key (derived from the master key in a load)


def write_csv(tmp_path, rows, header=None, name="feed.csv"):
    header = header or FEED_FIELDS
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(str(row.get(c, "")) for c in header))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good(**overrides):
    row = {
        "source_record_id": "R1",
        "given_names": "Amelia",
        "family_name": "Smith",
        "date_of_birth": "2015-03-04",
        "sex": "F",
        "postcode": "b15 2tt",
        "nhs_number": "943 476 5919",
    }
    row.update(overrides)
    return row


def test_valid_rows_are_normalised(tmp_path):
    parsed = parse_feed(write_csv(tmp_path, [good()]), TODAY, hash_key=KEY)
    assert parsed.errors == []
    values = parsed.rows[0].values
    assert values["postcode"] == "B15 2TT"
    assert values["nhs_number"] == "9434765919"
    assert parsed.rows[0].content_hash


def test_the_change_hash_is_keyed_so_it_cannot_be_tested_against_guesses(tmp_path):
    path = write_csv(tmp_path, [good()])
    [row] = parse_feed(path, TODAY, hash_key=KEY).rows
    [again] = parse_feed(path, TODAY, hash_key=KEY).rows
    [other_key] = parse_feed(path, TODAY, hash_key=b"x" * 32).rows
    plain = hashlib.sha256("\x1f".join(row.values[name] for name in FEED_FIELDS).encode()).hexdigest()
    assert row.content_hash == again.content_hash  # an unchanged record re-sent is unchanged
    assert row.content_hash not in {other_key.content_hash, plain}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("date_of_birth", "2015-02-30", "not a real date"),
        ("date_of_birth", "04/03/2015", "YYYY-MM-DD"),
        ("date_of_birth", "2027-01-01", "future"),
        ("sex", "X", "F, M or U"),
        ("postcode", "NOT A CODE", "postcode"),
        ("nhs_number", "9434765918", "check digit"),
        ("upn", "A123", "unique pupil number"),
        ("service_type", "astrology", "must be one of"),
        ("carer_email", "not-an-email", "email"),
        ("source_record_id", "", "required"),
    ],
)
def test_each_bad_field_is_reported_with_line_and_reason(tmp_path, field, value, reason):
    path = write_csv(tmp_path, [good(source_record_id="OK1"), good(**{field: value})])
    parsed = parse_feed(path, TODAY, hash_key=KEY)
    assert len(parsed.rows) == 1, "the good row still loads"
    assert parsed.rows[0].values["source_record_id"] == "OK1"
    [error] = parsed.errors
    assert error.line_number == 3
    assert error.field == field
    assert reason in error.reason


def test_repeated_source_record_id_in_one_file_is_rejected(tmp_path):
    parsed = parse_feed(write_csv(tmp_path, [good(), good(given_names="Other")]), TODAY, hash_key=KEY)
    assert [r.line_number for r in parsed.rows] == [2]
    assert "repeats the record on line 2" in parsed.errors[0].reason


def test_unknown_column_rejects_the_file(tmp_path):
    path = write_csv(tmp_path, [good()], header=[*FEED_FIELDS, "favourite_colour"])
    with pytest.raises(FeedFormatError, match="unknown column"):
        parse_feed(path, TODAY, hash_key=KEY)


def test_missing_required_column_rejects_the_file(tmp_path):
    path = write_csv(tmp_path, [good()], header=["given_names", "family_name"])
    with pytest.raises(FeedFormatError, match="source_record_id is missing"):
        parse_feed(path, TODAY, hash_key=KEY)


def test_not_utf8_rejects_the_file(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_bytes(b"source_record_id,family_name\nR1,M\xfcller\n")
    with pytest.raises(FeedFormatError, match="not UTF-8"):
        parse_feed(path, TODAY, hash_key=KEY)


def test_unknown_extension_rejects_the_file(tmp_path):
    path = tmp_path / "feed.xlsx"
    path.write_text("x")
    with pytest.raises(FeedFormatError, match="unknown feed format"):
        parse_feed(path, TODAY, hash_key=KEY)


def test_json_lines_use_the_same_fields_and_report_bad_lines(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(good()),
                "{not json",
                json.dumps({"source_record_id": "R2", "shoe_size": 9}),
                json.dumps(good(source_record_id="R3", sex="Q")),
            ]
        )
        + "\n"
    )
    parsed = parse_feed(path, TODAY, hash_key=KEY)
    assert [r.values["source_record_id"] for r in parsed.rows] == ["R1"]
    assert [(e.line_number, e.field) for e in parsed.errors] == [(2, "(row)"), (3, "shoe_size"), (4, "sex")]


def test_csv_row_with_too_many_values_is_rejected_not_misread(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("source_record_id,family_name\nR1,Smith\nR2,Jones,extra\n")
    parsed = parse_feed(path, TODAY, hash_key=KEY)
    assert [r.values["source_record_id"] for r in parsed.rows] == ["R1"]
    assert parsed.errors[0].line_number == 3
