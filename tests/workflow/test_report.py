"""The run report: `snakemake --report report.html` builds on the tiny run, holds every output the rules
wrap in report(), its figures are real pictures, and it renders in headless Chromium (not blank)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from workflow_helpers import REPO, RESULTS, reference_run, run_snakemake, skip_unless_stages

pytestmark = pytest.mark.slow

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)


def _report_outputs() -> list[str]:
    """Paths (under results/{dataset}/) of every output a rule wraps in report(), read from the rules."""
    text = "".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    return sorted(set(re.findall(r'report\(\s*f"\{R\}/([^"]+)"', text)))


def _image_spread(png: bytes) -> tuple[float, int]:
    """(pixel standard deviation, number of distinct colours) of a PNG: a blank image has ~0 and 1."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return float(img.std()), len(np.unique(img.reshape(-1, 3), axis=0))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path]:
    skip_unless_stages(pytest)
    run = reference_run(tmp_path_factory)
    html = run / "report.html"
    run_snakemake(run, extra=["--report", str(html)], log_name="report.log")
    return run, html


def test_report_holds_every_report_output_and_its_figures_are_not_blank(report):
    run, html = report
    text = html.read_text(errors="replace")
    wanted = _report_outputs()
    assert len(wanted) >= 5  # stage diagram, counts, training curves, metrics table, moments, ...
    missing = [p for p in wanted if Path(p).name not in text]
    assert missing == [], f"report lacks {missing}"
    for rel in wanted:
        if rel.endswith(".png"):
            spread, colours = _image_spread((run / RESULTS / rel).read_bytes())
            assert spread > 5 and colours > 8, f"{rel} looks blank (std {spread:.1f}, {colours} colours)"
    # The figures travel inside the HTML (one file to mail around), as base64 data.
    for rel in wanted:
        if rel.endswith(".png"):
            assert base64.b64encode((run / RESULTS / rel).read_bytes())[:400].decode() in text, (
                f"{rel} not embedded"
            )


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: `apt-get install -y chromium` (Debian) to render")
def test_report_renders_in_headless_chromium_as_a_non_blank_page(report, tmp_path):
    _, html = report
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["timeout", "-k", "5", "120", CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--hide-scrollbars",
             "--window-size=1280,1600", "--virtual-time-budget=15000", f"--screenshot={shot}",
             html.resolve().as_uri()],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert shot.is_file(), "chromium wrote no screenshot"
    spread, colours = _image_spread(shot.read_bytes())
    assert spread > 5 and colours > 16, f"report renders blank (std {spread:.1f}, {colours} colours)"
