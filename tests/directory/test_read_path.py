"""Child data is read only through contactpoint.directory.queries: nothing outside the directory app
touches the child models' managers directly (so shielding and the access policy can't be bypassed)."""

from __future__ import annotations

import ast
from pathlib import Path

import contactpoint

SRC = Path(contactpoint.__file__).parent
GUARDED_MODELS = {"Child", "Involvement", "Carer", "ChildName", "ChildAddress", "SearchName", "SearchToken"}
# Modules outside directory that may touch a guarded model, each with why. Keep this list short.
ALLOWED: dict[str, str] = {
    "matching/corrections.py": "record linkage: merges and splits children (writes under the matching "
    "review permission; shows nothing)",
}


def direct_uses(path: Path, root: Path = SRC.parent) -> list[str]:
    """``Model.objects`` / ``Model._default_manager`` uses of a guarded model in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"objects", "_default_manager", "_base_manager"}
            and isinstance(node.value, ast.Name)
            and node.value.id in GUARDED_MODELS
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_only_the_directory_app_touches_child_models_directly():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("directory/") or relative in ALLOWED:
            continue
        offenders += direct_uses(path)
    assert offenders == [], "read children through contactpoint.directory.queries:\n" + "\n".join(offenders)


def test_the_check_would_catch_a_bypass(tmp_path):
    bad = tmp_path / "view.py"
    bad.write_text("from contactpoint.directory.models import Child\nrows = Child.objects.filter(postcode='B1 1AA')\n")
    assert direct_uses(bad, tmp_path) == ["view.py:2: Child.objects"]
