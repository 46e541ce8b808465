"""Prints the requirements of pyproject.toml's base and of the extras named, one a line, for
`pip install -r` (the Docker stages install dependencies before the code, layer by layer).

    python infra/scripts/requirements.py service > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str], base: bool = True) -> list[str]:
    """The base requirements (unless `base` is false) and each extra's, without the project's
    own extras that one extra names (`fm-tailor[...]`)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found: list[str] = list(project["dependencies"]) if base else []
    for extra in extras:
        for requirement in project["optional-dependencies"][extra]:
            if not requirement.startswith(f"{project['name']}[") and requirement not in found:
                found.append(requirement)
    return found


if __name__ == "__main__":
    names = [name for name in sys.argv[1:] if name != "--no-base"]
    print("\n".join(requirements(Path("pyproject.toml"), names, "--no-base" not in sys.argv)))
