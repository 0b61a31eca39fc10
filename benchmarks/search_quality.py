"""Search quality and speed on a directory built from synthetic feeds, with every identifying field sealed.

1. **Build** (once per home; skipped when already loaded): ``contactpoint.synth.generate`` writes the four
   source feeds of N children; each is loaded with ``ingest.pipeline.load_feed`` exactly as production
   does (validation, sealing, matching, golden records and the token search index). The time of each
   load is kept with the results.
2. **Queries**: for a sample of people in ``truth.csv``, the query a practitioner might type, taken from
   the person's most trusted record and then given realistic errors (one or two typos, a nickname, a
   phonetic spelling, given/family swapped, a former surname, day/month transposed, a moved-from
   postcode, a year of birth only), in fixed proportions with a fixed seed.
3. **Quality**: recall@1 and recall@10 — a hit when a child linked to one of the person's records is
   first / in the first ten — for directory search (``directory.search``, no cap or window, so that
   recall@10 is measurable).
4. **Speed**: latency p50/p95/p99 of the search alone (``search.find_matches``: token lookups, unsealing
   the candidates, scoring), of the full access-checked, audited path through the API (Django test
   client, bearer token), and throughput with 8 concurrent clients against a live gunicorn server.

The directory has one search index, the blind tokens, and no clear names (docs/search.md,
docs/decisions/0005-encrypting-the-identifying-fields.md). The pg_trgm baseline of earlier versions of
this benchmark was a trigram query over the clear index's folded names: with names sealed there is
nothing in the database it could run on, and building a clear copy just for it would measure a table
production no longer has, so it was removed. Its figures (and the clear index's) are in
docs/benchmarks.md, measured on commit 6060392, the last one with clear names.

Each run writes its figures as JSON to ``--out``; ``--compare A.json B.json ...`` prints runs side by side
(including the JSON of runs made with the old ``--index clear|tokens`` option of this script).

Usage::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_quality.py            # 100k
    CONTACTPOINT_HOME=var/search-bench-home-1m .venv/bin/python benchmarks/search_quality.py --million
    .venv/bin/python benchmarks/search_quality.py --compare var/search-bench/result-100k-sealed.json \
        other-run.json
"""

from __future__ import annotations

import argparse
import csv
import datetime
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("CONTACTPOINT_HOME", str(ROOT / "var" / "search-bench-home"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")

SOURCE_ORDER = ("nhs_demographics", "child_benefit", "school_census", "social_care")
TRUST = {"nhs_demographics": 9, "child_benefit": 8, "school_census": 7, "social_care": 6}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# Build ------------------------------------------------------------------------------------------------


def build(
    children: int, seed: int, feeds_dir: Path, sources: tuple[str, ...] = SOURCE_ORDER
) -> dict[str, float]:
    """Generate (if needed) and load the feeds; skipped for sources already loaded from the same file.

    Returns the seconds each load took (``load_feed``, sources loaded by this call only)."""
    from django.core.management import call_command

    from contactpoint.feeds.format import file_sha256
    from contactpoint.feeds.models import FeedBatch, SourceSystem
    from contactpoint.feeds.services import add_source
    from contactpoint.ingest.pipeline import load_feed
    from contactpoint.orgs.models import LocalAuthority
    from contactpoint.synth.generator import generate

    call_command("migrate", verbosity=0)
    if not (feeds_dir / "truth.csv").exists():
        say(f"generating {children:,} children into {feeds_dir}")
        generate(children, seed, feeds_dir)
    manifest = json.loads((feeds_dir / "sources.json").read_text())
    seconds: dict[str, float] = {}
    LocalAuthority.objects.get_or_create(
        code=manifest["local_authority"],
        defaults={"name": "Benchmark area", "directory_team_phone": "0121 000 0000",
                  "directory_team_email": "directory-team@example.org"},
    )
    for code in sources:
        path = feeds_dir / f"{code}.csv"
        if not SourceSystem.objects.filter(code=code).exists():
            add_source(code=code, name=code.replace("_", " "), trust=TRUST[code])
        if FeedBatch.objects.filter(source__code=code, file_sha256=file_sha256(path), status="loaded").exists():
            say(f"{code}: already loaded")
            continue
        started = time.perf_counter()
        summary = load_feed(source_code=code, path=path, mode="full", progress=lambda m: say(f"  {m}"))
        seconds[code] = round(time.perf_counter() - started, 1)
        say(f"{code}: {summary.accepted:,} records, {summary.new_children:,} new children in {seconds[code]:.0f}s")
    from django.db import connection

    with connection.cursor() as cursor:
        # VACUUM also merges the GIN index's pending list (a fresh bulk load leaves one).
        cursor.execute("VACUUM ANALYZE directory_searchtoken")
        cursor.execute("ANALYZE")
    return seconds


# Queries ----------------------------------------------------------------------------------------------

# What a practitioner types, and how often, as (kind, weight). Every kind is one realistic error (or none).
KINDS = (
    ("exact", 15), ("typo_family", 10), ("typo_given", 5), ("two_typos", 5), ("phonetic", 6), ("nickname", 10),
    ("swapped", 4), ("former_surname", 5), ("transposed_dob", 5), ("moved_postcode", 5),
    ("family_postcode", 10), ("year_and_given", 10), ("family_dob", 10),
)


@dataclass
class Query:
    kind: str
    person: str
    criteria: dict[str, str]
    targets: set[str] = field(default_factory=set)  # contactpoint ids of the person's children


def make_queries(feeds_dir: Path, count: int, seed: int, sources: tuple[str, ...] = SOURCE_ORDER) -> list[Query]:
    """Queries from truth: each person's most trusted record, with one kind of realistic error."""
    from django.db import connection

    from contactpoint.synth.noise import nickname, phonetic_variant, transpose_day_month, typo

    rng = random.Random(seed)
    records: dict[str, list[dict[str, str]]] = defaultdict(list)  # person -> records, most trusted first
    truth: dict[tuple[str, str], str] = {}
    with (feeds_dir / "truth.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[(row["source"], row["source_record_id"])] = row["person_id"]
    for code in sources:  # what the directory was built from, most trusted first
        with (feeds_dir / f"{code}.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                records[truth[(code, row["source_record_id"])]].append({**row, "source": code})
    children: dict[str, set[str]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.code, r.source_record_id, c.contactpoint_id FROM feeds_sourcerecord r "
            "JOIN feeds_sourcesystem s ON s.id = r.source_id JOIN directory_child c ON c.id = r.child_id "
            "WHERE c.status = 'active'"
        )
        for code, srid, cpid in cursor.fetchall():
            person = truth.get((code, srid))  # None for records a benchmark made (search_scale's namesakes)
            if person is not None:
                children[person].add(cpid)

    people = sorted(p for p in records if children.get(p) and records[p][0]["date_of_birth"])
    kinds, weights = zip(*KINDS, strict=True)
    queries = []
    for person in rng.sample(people, min(count, len(people))):
        best = records[person][0]
        given = best["given_names"].split(" ")[0].title()
        family = best["family_name"].title()
        dob = best["date_of_birth"]
        kind = rng.choices(kinds, weights)[0]
        criteria = {"given_name": given, "family_name": family, "date_of_birth": dob}
        if kind == "typo_family":
            criteria["family_name"] = typo(rng, family)
        elif kind == "typo_given":
            criteria["given_name"] = typo(rng, given)
        elif kind == "two_typos":
            criteria["family_name"] = typo(rng, typo(rng, family))
        elif kind == "phonetic":
            family_variant = phonetic_variant(rng, family)
            if family_variant:
                criteria["family_name"] = family_variant
            else:
                criteria["given_name"] = phonetic_variant(rng, given) or given
        elif kind == "nickname":
            criteria["given_name"] = nickname(rng, given) or given
        elif kind == "swapped":
            criteria["given_name"], criteria["family_name"] = family, given
        elif kind == "former_surname":
            formers = [f for r in records[person] for f in r["former_family_names"].split(";") if f.strip()]
            formers += [r["family_name"].title() for r in records[person] if r["family_name"].title() != family]
            if formers:
                criteria["family_name"] = rng.choice(formers).strip().title()
        elif kind == "transposed_dob":
            swapped = transpose_day_month(datetime.date.fromisoformat(dob))
            if swapped:
                criteria["date_of_birth"] = swapped.isoformat()
        elif kind in ("moved_postcode", "family_postcode"):
            postcodes = [r["postcode"] for r in records[person] if r["postcode"]]
            if not postcodes:
                continue
            others = [p for p in postcodes if p.replace(" ", "").upper() != postcodes[0].replace(" ", "").upper()]
            postcode = rng.choice(others) if kind == "moved_postcode" and others else postcodes[0]
            criteria = {"family_name": family, "postcode": postcode}
        elif kind == "year_and_given":
            criteria["date_of_birth"] = dob[:4]
        elif kind == "family_dob":
            criteria.pop("given_name")
        queries.append(Query(kind=kind, person=person, criteria=criteria, targets=children[person]))
    return queries


# Quality ----------------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def measure_quality(queries: list[Query]) -> dict[str, Any]:
    from contactpoint.directory import search
    from contactpoint.directory.search import SearchCriteria

    rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    timings: list[float] = []
    shown_hits = too_many = 0
    for query in queries:
        parsed = search.parse_criteria(SearchCriteria(**query.criteria))
        started = time.perf_counter()
        matches = search.find_matches(parsed)
        timings.append(time.perf_counter() - started)
        ranked = [m.candidate.contactpoint_id for m in matches]
        selection = search.select(matches)
        too_many += selection.too_many
        shown_hits += bool({m.candidate.contactpoint_id for m in selection.matches} & query.targets)
        for bucket in (query.kind, "all"):
            rows[bucket]["search@1"].append(int(bool(set(ranked[:1]) & query.targets)))
            rows[bucket]["search@10"].append(int(bool(set(ranked[:10]) & query.targets)))
    table = {kind: {k: sum(v) / len(v) for k, v in metrics.items()} | {"n": len(metrics["search@1"])}
             for kind, metrics in rows.items()}
    return {
        "table": table,
        "shown_recall": shown_hits / len(queries),
        "too_many_share": too_many / len(queries),
        "latency_search": percentiles(timings),
    }


# Through the API ----------------------------------------------------------------------------------------


def bench_account() -> str:
    """A practitioner with a bearer token in the benchmark's directory."""
    from contactpoint.access import services
    from contactpoint.access.models import User
    from contactpoint.orgs.models import Organisation

    organisation = Organisation.objects.filter(code="BENCH").first() or services.add_organisation(
        actor="benchmark", code="BENCH", name="Benchmark practice", local_authority_code="E08000025"
    )
    user = User.objects.filter(username="bench-practitioner").first() or services.create_user(
        actor="benchmark", username="bench-practitioner", role="practitioner", organisation=organisation,
        checks_valid_until=datetime.date.today() + datetime.timedelta(days=30),
    ).user
    return services.create_api_token(actor="benchmark", user=user, ttl_seconds=3600).secret


def measure_api(queries: list[Query], token: str) -> dict[str, float]:
    from django.test import Client

    client = Client()
    for query in queries[:20]:  # warm up: imports, connection, caches
        client.get("/api/v1/search", query.criteria, HTTP_AUTHORIZATION=f"Bearer {token}")
    samples = []
    for query in queries:
        started = time.perf_counter()
        response = client.get("/api/v1/search", query.criteria, HTTP_AUTHORIZATION=f"Bearer {token}")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
    return percentiles(samples)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_throughput(
    queries: list[Query], token: str, *, clients: int, seconds: float, workers: int
) -> dict[str, Any]:
    """Requests per second and latency with ``clients`` concurrent clients against a live gunicorn."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "contactpoint.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        samples: list[float] = []
        errors = [0]
        lock = threading.Lock()

        def run(offset: int, until: float, record: bool) -> None:
            i = offset
            while time.perf_counter() < until:
                query = queries[i % len(queries)]
                i += clients
                started = time.perf_counter()
                # A connection per request: gunicorn's sync workers close it after each response.
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", "/api/v1/search?" + urlencode(query.criteria),
                                   headers={"Authorization": f"Bearer {token}"})
                response = connection.getresponse()
                response.read()
                connection.close()
                elapsed = time.perf_counter() - started
                if record:
                    with lock:
                        samples.append(elapsed)
                        errors[0] += response.status != 200

        def phase(length: float, record: bool) -> float:
            until = time.perf_counter() + length
            threads = [threading.Thread(target=run, args=(n, until, record)) for n in range(clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return time.perf_counter() - started

        phase(max(5.0, seconds / 4), record=False)  # every worker started, connected and warm
        elapsed = phase(seconds, record=True)
        return {"rps": len(samples) / elapsed, "errors": errors[0], "requests": len(samples), **percentiles(samples)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def report(
    result: dict[str, Any], children: int, loaded: int, api: dict[str, float], load: dict[str, Any],
    build_seconds: dict[str, float],
) -> str:
    lines = [f"Directory: {loaded:,} active children from {children:,} synthetic people; "
             f"{sum(v['n'] for k, v in result['table'].items() if k != 'all'):,} queries.", "",
             "| query kind | n | recall@1 | recall@10 |", "|---|---:|---:|---:|"]
    for kind in [k for k, _ in KINDS] + ["all"]:
        row = result["table"].get(kind)
        if row:
            lines.append(f"| {kind} | {row['n']} | {row['search@1']:.3f} | {row['search@10']:.3f} |")
    s = result["latency_search"]
    lines += [
        "",
        f"Shown to the user (threshold, window and cap applied): the right child listed for "
        f"{result['shown_recall']:.3f} of queries; 'too many matches' for {result['too_many_share']:.3f}.",
        "",
        "| latency (ms) | p50 | p95 | p99 |", "|---|---:|---:|---:|",
        f"| search alone (find_matches: tokens, unsealing, scoring) | {s['p50']:.1f} | {s['p95']:.1f} | "
        f"{s['p99']:.1f} |",
        f"| through the API (test client, token, policy, audit) | {api['p50']:.1f} | {api['p95']:.1f} | "
        f"{api['p99']:.1f} |",
        f"| API under load ({load['clients']} clients, gunicorn {load['workers']} workers) | {load['p50']:.1f} | "
        f"{load['p95']:.1f} | {load['p99']:.1f} |",
        "",
        f"Throughput: {load['rps']:.0f} searches/s with {load['clients']} concurrent clients "
        f"({load['requests']:,} requests, {load['errors']} errors).",
    ]
    if build_seconds:
        loads = ", ".join(f"{code} {seconds:.0f} s" for code, seconds in build_seconds.items())
        lines += ["", f"Feed loads (load_feed): {loads}; {sum(build_seconds.values()):.0f} s in all."]
    return "\n".join(lines)


# The tables of the search index and of what search unseals, with their indexes.
SIZED_TABLES = ("directory_searchtoken", "directory_child", "directory_childname", "directory_childaddress",
                "feeds_sourcerecord")


def index_sizes() -> dict[str, int]:
    """Bytes of each table search reads, with its indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT t, pg_total_relation_size(t::regclass) FROM unnest(%s::text[]) AS t",
                       [list(SIZED_TABLES)])
        return dict(cursor.fetchall())


def compare(paths: list[Path]) -> str:
    """Two or more runs' JSON side by side: recall per query kind, latency, sizes, load average.

    Runs are named by their ``index`` (``sealed`` for this version; ``clear`` or ``tokens`` in the JSON of
    runs made before names were sealed)."""
    runs = [json.loads(path.read_text()) for path in paths]
    names = [run["index"] for run in runs]
    header = " | ".join(f"{name} @1 | {name} @10" for name in names)
    lines = [f"| query kind | n | {header} |", "|---|---:|" + "---:|" * (2 * len(runs))]
    for kind in [k for k, _ in KINDS] + ["all"]:
        rows = [run["quality"]["table"].get(kind) for run in runs]
        if all(rows):
            cells = " | ".join(f"{row['search@1']:.3f} | {row['search@10']:.3f}" for row in rows)
            lines.append(f"| {kind} | {rows[0]['n']} | {cells} |")
    lines += ["", "| latency, ms | index | p50 | p95 | p99 |", "|---|---|---:|---:|---:|"]
    for label, pick in (("search alone (find_matches)", lambda r: r["quality"]["latency_search"]),
                        ("through the API (test client)", lambda r: r["api"]),
                        ("API, 8 clients, gunicorn", lambda r: r["load"])):
        for run in runs:
            p = pick(run)
            lines.append(f"| {label} | {run['index']} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} |")
    lines += ["", "| index | shown recall | too many | searches/s (8 clients) | feed loads, s | table sizes, MB | "
              "load average |", "|---|---:|---:|---:|---:|---|---|"]
    for run in runs:
        sizes = ", ".join(f"{t.removeprefix('directory_')} {b / 1e6:.0f}" for t, b in run["sizes"].items() if b)
        build = run.get("build_seconds") or {}
        loads = f"{sum(build.values()):.0f}" if build else "n/a"
        lines.append(f"| {run['index']} | {run['quality']['shown_recall']:.3f} | "
                     f"{run['quality']['too_many_share']:.3f} | {run['load']['rps']:.0f} | {loads} | {sizes} | "
                     f"{run['load_average'][0]} → {run['load_average'][1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 children (slow to build)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--api-queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the throughput run")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--feeds", type=Path, default=None, help="where the synthetic feeds are (or go)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--sources", default=",".join(SOURCE_ORDER),
                        help="feeds to build the directory from (comma-separated, most trusted first)")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "search-bench", help="where results go")
    parser.add_argument("--compare", type=Path, nargs="+", help="print these result JSON files side by side")
    args = parser.parse_args()
    if args.compare:
        print(compare(args.compare))
        return
    index = "sealed"  # the token index over sealed rows: the only kind there is now
    children = 1_000_000 if args.million else args.children
    feeds_dir = args.feeds or ROOT / "var" / "search-bench" / f"feeds-{children // 1000}k"

    import django

    django.setup()
    sources = tuple(code for code in SOURCE_ORDER if code in args.sources.split(","))
    build_seconds = build(children, args.seed, feeds_dir, sources)
    if args.build_only:
        return
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM directory_child WHERE status = 'active'")
        loaded = cursor.fetchone()[0]
    load_before = os.getloadavg()[0]
    say(f"{loaded:,} active children, sealed; making {args.queries} queries (load average {load_before:.2f})")
    queries = make_queries(feeds_dir, args.queries, args.seed, sources)
    say("measuring quality and search latency")
    quality = measure_quality(queries)
    token = bench_account()
    say("measuring latency through the API")
    api = measure_api(queries[: args.api_queries], token)
    say(f"measuring throughput with {args.clients} clients")
    load = measure_throughput(queries, token, clients=args.clients, seconds=args.seconds, workers=args.workers)
    load |= {"clients": args.clients, "workers": args.workers}
    load_after = os.getloadavg()[0]
    text = (report(quality, children, loaded, api, load, build_seconds) + f"\n\nFeeds loaded: {', '.join(sources)}; "
            f"sealed rows, token index; load average {load_before:.2f} before, {load_after:.2f} after.")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"result-{children // 1000}k-{index}.md"
    out.write_text(text + "\n", encoding="utf-8")
    result = {"index": index, "children": children, "loaded": loaded, "quality": quality, "api": api, "load": load,
              "build_seconds": build_seconds,
              "sizes": index_sizes(), "load_average": [round(load_before, 2), round(load_after, 2)],
              "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    say(f"written to {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
