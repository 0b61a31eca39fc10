"""scripts/copy_frontend_assets.py puts GOV.UK Frontend where Django serves it from."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("copy_frontend_assets", ROOT / "scripts" / "copy_frontend_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_package(tmp_path):
    source = tmp_path / "govuk"
    (source / "assets" / "fonts").mkdir(parents=True)
    (source / "assets" / "fonts" / "bold.woff2").write_bytes(b"font")
    (source / "govuk-frontend.min.css").write_text("@font-face{src:url(/assets/fonts/bold.woff2)}")
    (source / "govuk-frontend.min.js").write_text("export function initAll(){}")
    return source


def test_copies_css_js_and_assets_with_relative_urls(tmp_path):
    dest = tmp_path / "static" / "govuk"
    load_script().copy_assets(fake_package(tmp_path), dest)
    assert (dest / "govuk-frontend.min.css").read_text() == "@font-face{src:url(assets/fonts/bold.woff2)}"
    assert (dest / "govuk-frontend.min.js").exists()
    assert (dest / "assets" / "fonts" / "bold.woff2").read_bytes() == b"font"


def test_fails_clearly_without_npm_install(tmp_path, capsys):
    assert load_script().main(["--source", str(tmp_path / "missing"), "--dest", str(tmp_path / "d")]) == 1
    assert "npm ci" in capsys.readouterr().err


def test_the_package_pins_govuk_frontend():
    import json

    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["govuk-frontend"]
    assert pinned.split(".")[0] == "5" and pinned.count(".") == 2 and pinned[0].isdigit()
