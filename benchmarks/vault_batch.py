"""Benchmark: wrapping and unwrapping N data keys with the Vault transit wrapper, one key per call vs batches.

    .venv/bin/python benchmarks/vault_batch.py [--keys 100000] [--single-keys N]

Runs against the in-process fake of transit (tests/retention/fake_transit.py: a single-threaded HTTP
server on 127.0.0.1, AES-GCM in Python), so it measures our side — JSON, base64, HTTP round trips and
the number of calls — not Vault's: a real Vault adds its own work per item, and the network adds a
round trip per call. ``--single-keys`` times the one-call-per-key path on fewer keys when N is too slow.
No database is needed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from contactpoint.core.keys import VAULT_BATCH_SIZE, VaultTransitWrapper  # noqa: E402
from retention.fake_transit import running_fake_transit  # noqa: E402


def timed(label: str, keys: int, calls: list[tuple[str, int]], run: Callable[[], None]) -> float:
    """Run, print and return the wall time, with the HTTP calls it made."""
    calls_before = len(calls)
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    made = len(calls) - calls_before
    print(f"  {label:<26} {keys:>9,} keys  {seconds:8.2f} s  {keys / seconds:>10,.0f} keys/s  {made:>9,} HTTP calls")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--single-keys", type=int, default=None, help="keys for the one-call-per-key path")
    args = parser.parse_args()
    single_keys = args.single_keys or args.keys
    items = [(os.urandom(32), f"contactpoint source record key v1:{n}".encode()) for n in range(args.keys)]

    with running_fake_transit() as vault:
        wrapper = VaultTransitWrapper(address=vault.address, token=vault.token)
        print(f"Vault transit wrapper against the in-process fake ({os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}), batch size {VAULT_BATCH_SIZE:,}")

        print("batch (wrap_many / unwrap_many):")
        wrapped: list[bytes] = []
        contexts = [context for _, context in items]

        def wrap_batch() -> None:
            wrapped.extend(wrapper.wrap_many(items))

        def unwrap_batch() -> None:
            assert wrapper.unwrap_many(list(zip(wrapped, contexts, strict=True))) == [key for key, _ in items]

        batch = timed("wrap", args.keys, vault.calls, wrap_batch)
        batch += timed("unwrap", args.keys, vault.calls, unwrap_batch)

        print("one key per call (wrap / unwrap):")
        some = items[:single_keys]
        one_by_one: list[bytes] = []

        def wrap_single() -> None:
            one_by_one.extend(wrapper.wrap(key, context=context) for key, context in some)

        def unwrap_single() -> None:
            unwrapped = [wrapper.unwrap(w, context=context) for w, (_, context) in zip(one_by_one, some, strict=True)]
            assert unwrapped == [key for key, _ in some]

        single = timed("wrap", single_keys, vault.calls, wrap_single)
        single += timed("unwrap", single_keys, vault.calls, unwrap_single)

    per_key_batch, per_key_single = batch / args.keys, single / single_keys
    print(f"wrap + unwrap per key: batch {per_key_batch * 1e6:.1f} µs, one per call {per_key_single * 1e6:.1f} µs "
          f"({per_key_single / per_key_batch:.0f}× as long); for {args.keys:,} keys: batch {batch:.1f} s, "
          f"one per call {per_key_single * args.keys:.1f} s{'' if single_keys == args.keys else ' (extrapolated)'}")
    print(f"peak RSS (this process, the fake server's thread included): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
