"""Compare variants of the model (config/ablations.yaml) on one base config and several seeds.

Each variant is a set of config overrides; each (variant, seed) runs the workflow into a results folder
of its own (`ROOT/VARIANT/seedN/`) with `snakemake --configfile BASE OVERLAY`, where the overlay holds
the variant's overrides, `train.seed` and `results`. Upstream artifacts (world, frames, features,
detections, proposals, corpus, pseudo-queries, test queries) are made once, in `ROOT/_upstream` (or
taken from `--upstream RESULTS`, an existing run of the same base config), and hard-linked into every
run folder (same files, same times); with `--rerun-triggers mtime`, Snakemake then reruns only train,
predict and evaluate. Variants must change only the `model`, `train`, `predict` or `eval` sections (a
change upstream would need its own upstream run: the tool refuses it). Variants that differ only in
`predict` or `eval` (and share a seed) share one trained model: the first run trains it, the others get
its files hard-linked into their `model/` folder, so Snakemake reruns only predict and evaluate.

The table: one row per (variant, seed) and, with several seeds, their mean (± standard deviation over
seeds) of R@0.5, R@0.7 and mIoU, each with the 95% bootstrap interval over queries from metrics.json
(`intervals`); then, when metrics.json has `by_vocabulary` (`in_vocabulary`, `with_unknown`: test
queries whose words the training vocabulary all knows, or not), the same rows per subset.

    python -m experiments.ablations --seeds 0 1 2                        # every variant, base config.yaml
    python -m experiments.ablations --variants psvl minilm --upstream results --seeds 0
    python -m experiments.ablations --table-only --root results/ablations # re-read the metrics files
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from experiments._workflow import REPO, run_logged, snakemake_command, write_overlay

METRICS = ("R@0.5", "R@0.7", "mIoU")
# metrics.json section -> its subsets (by_held_out: the synthetic world's captions with held-out synonyms)
SECTIONS = {
    "by_vocabulary": ("in_vocabulary", "with_unknown"),
    "by_held_out": ("corpus_words", "held_out_words"),
}
SUBSETS = tuple(name for names in SECTIONS.values() for name in names)
VARIANT_SECTIONS = {"model", "train", "predict", "eval"}
NOT_UPSTREAM = {"model", "eval", "report", "config.effective.yaml"}  # made again by each run
PREDICT_ONLY = {"predict", "eval", "results"}  # overlay keys that leave the trained model as it is


@dataclass
class Run:
    variant: str
    seed: int
    results: Path  # the run's `results` setting; its dataset folder is results / dataset name
    overlay: dict


def merge(base: dict, over: dict) -> dict:
    """`over` merged into `base` recursively (as Snakemake merges config files)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def load_variants(path: Path, names: list[str] | None = None) -> dict[str, dict]:
    """{name: overrides} from an ablations file; `names` picks (and orders) some. Refuses overrides of
    sections that shape upstream artifacts."""
    variants = (yaml.safe_load(path.read_text()) or {}).get("variants") or {}
    unknown = sorted(set(names or ()) - set(variants))
    if unknown:
        raise SystemExit(f"{path}: no variant {', '.join(unknown)}; it has {', '.join(variants)}")
    chosen = {n: variants[n] or {} for n in (names or variants)}
    for name, over in chosen.items():
        bad = sorted(set(over) - VARIANT_SECTIONS)
        if bad:
            raise SystemExit(
                f"{path}: variant {name} overrides {', '.join(bad)}; only {', '.join(sorted(VARIANT_SECTIONS))} "
                "may change (upstream artifacts are shared)"
            )
    return chosen


def plan(variants: dict[str, dict], seeds: list[int], root: Path) -> list[Run]:
    """One Run per (variant, seed): the overlay is the variant's overrides + train.seed + results."""
    runs = []
    for name, over in variants.items():
        for seed in seeds:
            results = root / name / f"seed{seed}"
            overlay = merge(over, {"train": {"seed": seed}, "results": str(results)})
            runs.append(Run(name, seed, results, overlay))
    return runs


def training_key(run: Run) -> str:
    """What the trained model depends on: the overlay without the prediction-only sections."""
    return json.dumps({k: v for k, v in run.overlay.items() if k not in PREDICT_ONLY}, sort_keys=True)


def link_upstream(src: Path, dst: Path, skip: frozenset[str] | set[str] = NOT_UPSTREAM) -> int:
    """Hard-link (else copy, keeping times) every file of folder `src` into `dst`, but for the top-level
    names in `skip` (default: the dataset folder's downstream outputs)."""
    n = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] in skip or not path.is_file():
            continue
        target = dst / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
        n += 1
    return n


def snakemake(base: Path, overlay: Path, targets: list[str], cores: int, dry_run: bool) -> list[str]:
    """The Snakemake command of one run (mtime triggers only: linked upstream files have no metadata)."""
    flags = ["--rerun-triggers", "mtime", "--rerun-incomplete", *(["-n"] if dry_run else [])]
    return snakemake_command([base, overlay], cores, *flags, *targets)


def cell(values: list[float], bands: list[list[float] | None]) -> str:
    """`0.587 [0.46, 0.72]` for one seed; `0.571 ± 0.020` (mean ± sd over seeds) for several."""
    if not values:
        return "-"
    if len(values) == 1:
        band = bands[0]
        return f"{values[0]:.3f}" + (f" [{band[0]:.2f}, {band[1]:.2f}]" if band else "")
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def rows_of(metrics: dict) -> dict[str, dict]:
    """{subset: its metrics} of one metrics.json: `all`, then the by_vocabulary / by_held_out subsets it has."""
    out = {"all": metrics}
    for section, names in SECTIONS.items():
        for name in names:
            sub = (metrics.get(section) or {}).get(name)
            if sub:
                out[name] = sub
    return out


def table(runs: list[Run], dataset: str) -> tuple[str, list[dict]]:
    """(Markdown table, records) of the runs' metrics.json files; missing files are skipped."""
    records = []
    for run in runs:
        path = run.results / dataset / "eval" / "metrics.json"
        if path.exists():
            for subset, m in rows_of(json.loads(path.read_text())).items():
                records.append({"variant": run.variant, "seed": run.seed, "subset": subset, "metrics": m})
    lines = [
        "| variant | subset | seeds | n | " + " | ".join(METRICS) + " |",
        "|---" * (4 + len(METRICS)) + "|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["variant"], r["subset"]), []).append(r)
    order = {s: i for i, s in enumerate(("all", *SUBSETS))}
    for (variant, subset), rs in sorted(
        groups.items(), key=lambda kv: (order[kv[0][1]], kv[1][0]["variant"] != "psvl")
    ):
        seeds = ",".join(str(r["seed"]) for r in rs)
        n = rs[0]["metrics"].get("n_queries", rs[0]["metrics"].get("n", "?"))  # subsets say `n`
        cells = [
            cell(
                [r["metrics"][k] for r in rs if k in r["metrics"]],
                [(r["metrics"].get("intervals") or {}).get(k) for r in rs],
            )
            for k in METRICS
        ]
        lines.append(f"| {variant} | {subset} | {seeds} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines), records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, default=REPO / "config.yaml", help="the base config (config.yaml)")
    ap.add_argument("--ablations", type=Path, default=REPO / "config" / "ablations.yaml")
    ap.add_argument("--variants", nargs="+", help="names in the ablations file (default: all, in its order)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0], help="train.seed values (default 0)")
    ap.add_argument("--root", type=Path, default=REPO / "results" / "ablations", help="run folders go here")
    ap.add_argument("--upstream", type=Path, help="an existing `results` folder of the base config to reuse")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--dry-run", action="store_true", help="link, then only `snakemake -n` each run")
    ap.add_argument("--table-only", action="store_true", help="run nothing: print the table of existing runs")
    args = ap.parse_args(argv)

    base_cfg = merge(
        yaml.safe_load((REPO / "config.yaml").read_text()) or {}, yaml.safe_load(args.base.read_text()) or {}
    )
    dataset = (base_cfg.get("dataset") or {}).get("name", "synthetic")
    root = args.root.resolve()
    runs = plan(load_variants(args.ablations, args.variants), args.seeds, root)
    if not args.table_only:
        upstream = (args.upstream or root / "_upstream").resolve()
        if args.upstream is None:
            overlay = write_overlay(root / "_upstream.yaml", {"results": str(upstream)})
            targets = [
                str(upstream / dataset / f) for f in ("pseudo_queries.parquet", "test_queries.parquet")
            ]
            run_logged(
                snakemake(args.base, overlay, targets, args.cores, args.dry_run), root / "_upstream.log", REPO
            )
        trained: dict[str, Path] = {}  # training key -> the model folder of the run that trained it
        for run in runs:
            linked = link_upstream(upstream / dataset, run.results / dataset)
            model = run.results / dataset / "model"
            shared = trained.setdefault(training_key(run), model)
            if shared != model and not args.dry_run:
                link_upstream(shared, model, skip=set())
                print(f"== {run.variant} seed {run.seed}: predicts with the model of {shared}", flush=True)
            overlay = write_overlay(run.results / "overlay.yaml", run.overlay)
            target = str(run.results / dataset / "eval" / "metrics.json")
            print(
                f"== {run.variant} seed {run.seed}: {linked} upstream files linked -> {run.results}",
                flush=True,
            )
            started = time.time()
            run_logged(
                snakemake(args.base, overlay, [target], args.cores, args.dry_run),
                run.results / "snakemake.log",
                REPO,
            )
            for stage in ("train", "predict", "evaluate"):  # the workflow's logs/ is shared by every run
                log = REPO / "logs" / dataset / f"{stage}.log"
                if not args.dry_run and log.exists() and log.stat().st_mtime >= started:  # rerun now
                    shutil.copy2(log, run.results / f"{stage}.log")
    text, records = table(runs, dataset)
    print(text)
    if records:
        (root / "table.md").write_text(text + "\n")
        (root / "table.json").write_text(json.dumps(records, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
