"""Copy GOV.UK Frontend's compiled CSS, JavaScript, fonts and images from node_modules to where Django
serves static files from (src/contactpoint/web/assets/govuk/, git-ignored). Run by scripts/setup.

The compiled stylesheet points at fonts and images under ``/assets/``; we serve them next to the
stylesheet under ``/static/govuk/assets/``, so those URLs are rewritten to be relative.

    python scripts/copy_frontend_assets.py [--source node_modules/govuk-frontend/dist/govuk] [--dest DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
DEST = ROOT / "src" / "contactpoint" / "web" / "assets" / "govuk"
FILES = [
    "govuk-frontend.min.css",
    "govuk-frontend.min.css.map",
    "govuk-frontend.min.js",
    "govuk-frontend.min.js.map",
]


def copy_assets(source: Path, dest: Path) -> list[Path]:
    """Copy the files GOV.UK pages need from ``source`` to ``dest`` (replacing what was there)."""
    if not (source / "govuk-frontend.min.css").is_file():
        raise FileNotFoundError(f"GOV.UK Frontend is not installed at {source}: run 'npm ci' first")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copied = []
    for name in FILES:
        if (source / name).is_file():
            copied.append(Path(shutil.copy2(source / name, dest / name)))
    css = dest / "govuk-frontend.min.css"
    css.write_text(css.read_text(encoding="utf-8").replace("url(/assets/", "url(assets/"), encoding="utf-8")
    shutil.copytree(source / "assets", dest / "assets")
    copied.append(dest / "assets")
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--dest", type=Path, default=DEST)
    args = parser.parse_args(argv)
    try:
        copy_assets(args.source, args.dest)
    except FileNotFoundError as error:
        print(f"copy_frontend_assets: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
