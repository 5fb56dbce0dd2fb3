import re

from psvl import docs
from psvl.cli import COMMANDS


def test_readme_tables_match_the_schemas(repo_root):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    assert docs.render(text) == text, "README tables are stale: run `python -m psvl.docs README.md`"


def test_readme_has_exactly_two_setup_commands(repo_root):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, re.DOTALL)
    assert [b.strip() for b in blocks] == [
        "pip install -e . && snakemake --cores 2",
        "pip install -e '.[test]' && python -m pytest",
    ]


def test_ci_runs_the_readme_test_command(repo_root):
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q --disable-pip-version-check -e '.[test]'" in ci
    assert "python3 -m pytest" in ci


def test_every_stage_command_is_documented_in_the_readme(repo_root):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        if name in {"convert", "export-psvl", "eval-proposals", "eval-pseudo-queries", "plot", "stats"}:
            continue
        assert f"psvl {name}" in text, name
