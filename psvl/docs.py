"""Keep the README's generated tables (config reference, artifact schemas) equal to the code.

`python -m psvl.docs README.md` rewrites them; a test fails when they drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from psvl import config
from psvl.core import artifacts

TABLES = {"CONFIG": config.reference_markdown, "ARTIFACTS": artifacts.reference_markdown}


def render(text: str) -> str:
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
        table = make()
        text = pattern.sub(lambda m, table=table: m.group(1) + table + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
