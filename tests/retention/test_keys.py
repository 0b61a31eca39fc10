"""Master keys (local or Vault transit) and derived keys (contactpoint.core.keys).

The key store itself (where wrapped data keys live, and their erasure): tests/keystore.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from contactpoint.core import keys as core_keys
from contactpoint.core.keys import KeyStoreError
from contactpoint.keystore import datakeys
from retention.fake_transit import FakeVault, running_fake_transit

MASTER = base64.b64encode(b"m" * 32).decode()


@pytest.fixture
def master_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, MASTER)
    monkeypatch.delenv("CONTACTPOINT_KEY_WRAPPER", raising=False)
    return MASTER


def test_the_index_key_is_derived_from_the_master_key_and_differs_from_it(master_key: str) -> None:
    index_key = core_keys.index_key()
    assert len(index_key) == 32 and index_key == core_keys.index_key()
    assert index_key != base64.b64decode(master_key)
    assert core_keys.derived_key("something else") != index_key


def test_production_without_a_master_key_is_an_error(settings, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.delenv(core_keys.MASTER_KEY_VARIABLE, raising=False)
    settings.HOME = tmp_path
    settings.MODE = "production"
    with pytest.raises(KeyStoreError, match="no master key"):
        core_keys.load_master_key()
    settings.MODE = "test"
    key, source = core_keys.load_master_key()
    assert source == str(tmp_path / "master-key") and core_keys.load_master_key()[0] == key  # made once, then reused
    assert (tmp_path / "master-key").stat().st_mode & 0o777 == 0o600


def test_a_malformed_master_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, "not base64!")
    with pytest.raises(KeyStoreError):
        core_keys.load_master_key()


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    with running_fake_transit() as fake:
        yield fake


def test_vault_transit_wraps_and_unwraps(vault: FakeVault) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    wrapped = wrapper.wrap(b"d" * 32, context=b"child 1")
    assert wrapped.startswith(b"vault:v1:")
    assert wrapper.unwrap(wrapped, context=b"child 1") == b"d" * 32
    with pytest.raises(KeyStoreError, match="refused"):
        wrapper.unwrap(wrapped, context=b"child 2")
    with pytest.raises(KeyStoreError, match="refused"):
        core_keys.VaultTransitWrapper(address=vault.address, token="wrong").wrap(b"d" * 32, context=b"x")


def test_vault_is_chosen_by_the_environment(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPOINT_KEY_WRAPPER", "vault")
    monkeypatch.setenv("CONTACTPOINT_VAULT_ADDR", vault.address)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(KeyStoreError, match="VAULT_TOKEN"):
        core_keys.configured_wrapper()
    monkeypatch.setenv("VAULT_TOKEN", vault.token)
    assert core_keys.configured_wrapper().name == "vault:contactpoint"


# Many keys at once: transit's batch form ------------------------------------------------------------


def keys_and_contexts(count: int) -> list[tuple[bytes, bytes]]:
    return [(index.to_bytes(2, "big") * 16, f"record {index}".encode()) for index in range(count)]


@pytest.mark.django_db(databases=["default", "keys"])
def test_vault_wraps_and_unwraps_2500_record_keys_in_three_calls_each_way(vault: FakeVault) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    record_ids = list(range(1, 2501))
    created = datakeys.create_record_keys(record_ids=record_ids, wrapper=wrapper)
    assert vault.calls_to("encrypt") == [1000, 1000, 500]  # VAULT_BATCH_SIZE per call, not one call per key
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM keystore_recordkey WHERE wrapped_key LIKE 'vault:v1:%%'")
        assert cursor.fetchone()[0] == 2500

    fetched = datakeys.fetch_record_keys(record_ids=record_ids, wrapper=wrapper)
    assert vault.calls_to("decrypt") == [1000, 1000, 500]
    assert fetched == created and len(set(fetched.values())) == 2500


@pytest.mark.django_db(databases=["default", "keys"])
def test_a_record_key_moved_to_another_record_does_not_unwrap_through_vault(vault: FakeVault) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    datakeys.create_record_keys(record_ids=range(1, 1501), wrapper=wrapper)
    with connections["keys"].cursor() as cursor:  # record 1200's key copied over record 7's
        cursor.execute("UPDATE keystore_recordkey SET wrapped_key = (SELECT wrapped_key FROM keystore_recordkey "
                       "WHERE record_id = 1200) WHERE record_id = 7")
    with pytest.raises(KeyStoreError, match=r"Vault refused decrypt of item \d+ of 1500: cipher: message auth"):
        datakeys.fetch_record_keys(record_ids=range(1, 1501), wrapper=wrapper)


def test_a_wrong_context_in_a_vault_batch_names_the_item_and_not_the_key(vault: FakeVault) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    items = keys_and_contexts(2500)
    wrapped = wrapper.wrap_many(items)
    assert len(wrapped) == 2500 and all(w.startswith(b"vault:v1:") for w in wrapped)
    assert wrapper.unwrap(wrapped[1234], context=items[1234][1]) == items[1234][0]  # single and batch agree

    contexts = [context for _, context in items]
    contexts[1234] = b"record 1235"
    with pytest.raises(KeyStoreError) as refused:
        wrapper.unwrap_many(list(zip(wrapped, contexts, strict=True)))
    message = str(refused.value)
    assert message == "Vault refused decrypt of item 1234 of 2500: cipher: message authentication failed"
    key = items[1234][0]
    assert base64.b64encode(key).decode() not in message and key.hex() not in message
    assert vault.calls_to("decrypt")[-2:] == [1000, 1000]  # stopped at the failing chunk, the second

    contexts[1234], contexts[2001], contexts[2002] = b"record 1234", b"x", b"y"
    with pytest.raises(KeyStoreError, match=r"of item 2001 of 2500: .* \(and 1 more in items 2000-2499\)$"):
        wrapper.unwrap_many(list(zip(wrapped, contexts, strict=True)))


def test_vault_batch_sends_the_context_per_item(vault: FakeVault) -> None:
    """Vault ignores a top-level associated_data in batch mode: each item must carry its own."""
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    items = keys_and_contexts(3)
    wrapped = wrapper.wrap_many(items)
    for (key, context), one in zip(items, wrapped, strict=True):
        assert wrapper.unwrap(one, context=context) == key
        with pytest.raises(KeyStoreError, match="refused decrypt"):
            wrapper.unwrap(one, context=b"")


def test_vault_batch_with_a_result_missing_is_refused(vault: FakeVault) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    vault.server.drop_a_result = True
    with pytest.raises(KeyStoreError, match="answer to encrypt of items 0-999 has 999 results for 1000 items"):
        wrapper.wrap_many(keys_and_contexts(1500))
    assert wrapper.wrap_many([]) == [] and vault.calls_to("encrypt") == [1000]  # nothing to wrap: no call


def test_vault_refusing_a_whole_batch_says_why(vault: FakeVault) -> None:
    wrong = core_keys.VaultTransitWrapper(address=vault.address, token="wrong")
    with pytest.raises(KeyStoreError, match=r"Vault refused encrypt \(403\): permission denied"):
        wrong.wrap_many(keys_and_contexts(2))
    wrapper = core_keys.VaultTransitWrapper(address=vault.address, token=vault.token)
    with pytest.raises(KeyStoreError, match="item 1 is not a Vault ciphertext"):
        wrapper.unwrap_many([(b"vault:v1:AAAA", b"a"), (b"\xff\x00", b"b")])


def test_the_local_wrapper_wraps_many_and_names_the_item_that_does_not_unwrap() -> None:
    wrapper = core_keys.LocalKeyWrapper(b"m" * 32)
    items = keys_and_contexts(5)
    wrapped = wrapper.wrap_many(items)
    contexts = [context for _, context in items]
    assert wrapper.unwrap_many(list(zip(wrapped, contexts, strict=True))) == [key for key, _ in items]
    contexts[3] = b"other"
    with pytest.raises(KeyStoreError, match="^item 3 of 5: "):
        wrapper.unwrap_many(list(zip(wrapped, contexts, strict=True)))
