"""Sealing a row: it opens only under its owner's key, as its own table's and owner's row, unchanged."""

from __future__ import annotations

import pytest

from contactpoint.core.keys import KeyStoreError
from contactpoint.core.sealing import RowDigester, open_sealed, seal

KEY, OTHER_KEY = b"\x01" * 32, b"\x02" * 32
FIELDS = {"given_names": "Zoë", "family_name": "Quillbramble", "carer": {"phone": "07700 900461"}}


def test_a_sealed_row_opens_to_exactly_what_was_sealed_and_holds_none_of_it_in_clear() -> None:
    blob = seal(KEY, FIELDS, table="directory_child", owner_id=7)
    assert open_sealed(KEY, blob, table="directory_child", owner_id=7) == FIELDS
    assert b"Quillbramble" not in blob and "Zoë".encode() not in blob and b"07700" not in blob
    assert seal(KEY, FIELDS, table="directory_child", owner_id=7) != blob  # a fresh nonce every time


@pytest.mark.parametrize(("key", "table", "owner"), [
    (OTHER_KEY, "directory_child", 7),  # another child's key
    (KEY, "directory_child", 8),  # moved to another child's row
    (KEY, "feeds_sourcerecord", 7),  # moved to another table
])
def test_a_sealed_row_opens_under_no_other_key_table_or_owner(key: bytes, table: str, owner: int) -> None:
    blob = seal(KEY, FIELDS, table="directory_child", owner_id=7)
    with pytest.raises(KeyStoreError, match="does not open"):
        open_sealed(key, blob, table=table, owner_id=owner)


def test_a_tampered_blob_does_not_open() -> None:
    blob = bytearray(seal(KEY, FIELDS, table="directory_child", owner_id=7))
    blob[-1] ^= 1
    with pytest.raises(KeyStoreError):
        open_sealed(KEY, bytes(blob), table="directory_child", owner_id=7)


def test_digests_are_equal_for_equal_rows_of_one_owner_and_keyed() -> None:
    digester = RowDigester(b"d" * 32)
    names = {"kind": "former", "given_names": "Zoë", "family_name": "Quillbramble"}
    one = digester.digest(names, table="directory_childname", owner_id=7)
    assert one == digester.digest(dict(reversed(list(names.items()))), table="directory_childname", owner_id=7)
    assert one != digester.digest({**names, "kind": "current"}, table="directory_childname", owner_id=7)
    assert one != digester.digest(names, table="directory_childname", owner_id=8)  # another child's
    assert one != RowDigester(b"e" * 32).digest(names, table="directory_childname", owner_id=7)  # another key
