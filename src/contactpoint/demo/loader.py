"""The demo local authority: synthetic feeds loaded through the real feed and matching path.

Nothing here writes children directly: the demo data goes through ``contactpoint.ingest`` exactly as a
real source's feeds would, so what the demo shows is what the directory would make of such feeds.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from tqdm import tqdm

from contactpoint.directory.queries import count_active_children
from contactpoint.feeds.models import SourceSystem
from contactpoint.feeds.services import add_source
from contactpoint.ingest.pipeline import load_feed
from contactpoint.orgs.models import LocalAuthority
from contactpoint.synth.generator import generate

DEMO_AUTHORITY_CODE = "E08000025"
DEMO_AUTHORITY_NAME = "Birmingham (demo)"
DEMO_SEED = 2010


def load_demo(*, children: int, out: Any) -> None:
    """On an empty directory: generate and load the demo authority, then create the demo accounts."""
    if count_active_children():
        out.write("The directory already holds children: keeping them (delete CONTACTPOINT_HOME to start again).\n")
    else:
        authority, _ = LocalAuthority.objects.get_or_create(
            code=DEMO_AUTHORITY_CODE,
            defaults={
                "name": DEMO_AUTHORITY_NAME,
                "directory_team_phone": "0121 000 0000",
                "directory_team_email": "directory.team@demo.invalid",
            },
        )
        feed_dir = settings.HOME / "demo-feeds"
        with tqdm(total=children, desc="Generating demo feeds", unit="child", file=out) as bar:
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                bar.update(n - done)
                done = n

            generate(children, DEMO_SEED, feed_dir, local_authority=authority.code, progress=advance)
            bar.update(children - done)
        sources = json.loads((feed_dir / "sources.json").read_text())["sources"]
        with tqdm(total=len(sources), desc="Loading feeds (validate, match)", unit="feed", file=out) as bar:
            for source in sources:
                if not SourceSystem.objects.filter(code=source["code"]).exists():
                    add_source(
                        code=source["code"],
                        name=source["name"],
                        trust=source["trust_level"],
                        system_actor="demo-loader",
                    )
                summary = load_feed(
                    source_code=source["code"], path=feed_dir / source["file"], mode="full", loaded_by="demo-loader"
                )
                bar.set_postfix_str(
                    f"{source['code']}: {summary.new_children} new, "
                    f"{summary.linked_to_existing} linked, {summary.sent_to_review} to review"
                )
                bar.update(1)
        out.write(f"Directory loaded: {count_active_children()} children.\n")
    from contactpoint.demo.accounts import ensure_demo_accounts

    ensure_demo_accounts(out=out, local_authority_code=DEMO_AUTHORITY_CODE, local_authority_name=DEMO_AUTHORITY_NAME)
