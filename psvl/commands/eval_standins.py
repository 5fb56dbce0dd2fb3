"""`psvl eval-standins --timelines charades.json --pseudo-labels PSVL.json --detections D... --pseudo-queries PQ
--out eval/standins.json`: the stand-ins against their calibration targets, printed as a table.

- per-frame mAP of the stand-in class scores on the Charades test videos (psvl.standins.frame_map), inside
  config.standins.map_band (published I3D figures);
- the detections' calibration rates against PSVL's released nouns (psvl.standins.detection_rates, each
  within its relative band), on the released pseudo-moments of the videos the detections cover;
- our pseudo-moments' statistics beside the release's (psvl.standins.moments).
"""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import concat_tables, read_frame, write_json

log = logging.getLogger("psvl.eval_standins")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timelines", required=True, help="charades.json (the action timelines)")
    parser.add_argument("--pseudo-labels", required=True, help="PSVL's released pseudo-label JSON")
    parser.add_argument("--detections", nargs="+", required=True, help="detections/{shard}.parquet files")
    parser.add_argument("--pseudo-queries", help="pseudo_queries.parquet: its moments beside the release's")
    parser.add_argument("--out", required=True, help="eval/standins.json to write")
    add_config_arguments(parser)


def frame_map(timelines, classes, st: dict) -> dict:
    """Per-frame mAP of the class scores on the Charades `testing` videos with actions (the first
    standins.max_videos of them, sorted, when set), and whether it is inside the band."""
    from psvl.standins.features import class_scores
    from psvl.standins.frame_map import per_frame_map

    ids = sorted(v for v, tl in timelines.items() if tl.subset == "testing" and tl.actions)
    ids = ids[: st["max_videos"]] if st["max_videos"] else ids
    chosen = {v: timelines[v] for v in ids}
    kw = {"quality": st["quality"], "segment_s": st["segment_seconds"], "seed": st["seed"]}
    scores = {v: class_scores(tl, classes, **kw) for v, tl in chosen.items()}
    value = per_frame_map(chosen, scores, st["segment_seconds"])
    lo, hi = st["map_band"]
    return {"value": value, "band": [lo, hi], "passed": bool(lo <= value <= hi), "videos": len(chosen)}


def table(report: dict) -> str:
    """The printed summary: one line per figure with its target and whether it passed."""
    m = report["frame_map"]
    lines = [f"{'figure':38s} {'stand-in':>9s} {'target':>13s}  ok"]
    lines.append(
        f"{'per-frame mAP (Charades test)':38s} {m['value']:9.4f} {m['band'][0]:6.2f}-{m['band'][1]:.2f}  {_ok(m['passed'])}"
    )
    rates = report["detection_rates"]
    for name, f in rates["figures"].items():
        target = f"{f['release']:.3f}±{100 * rates['tolerance']:.0f}%"
        lines.append(f"{name[:38]:38s} {f['standin']:9.4f} {target:>13s}  {_ok(f['passed'])}")
    if "ours" in report["pseudo_moments"]:
        ours, rel = report["pseudo_moments"]["ours"], report["pseudo_moments"]["release"]
        for key in (
            "relative_length_mean",
            "relative_length_min",
            "relative_length_max",
            "per_video",
            "start_at_0",
        ):
            lines.append(
                f"{'pseudo-moments ' + key:38s} {ours.get(key, float('nan')):9.3f} {rel[key]:13.3f}  (release)"
            )
    return "\n".join(lines)


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


def run(args: argparse.Namespace) -> int:
    from psvl.datasets.psvl_json import read_pseudo_queries
    from psvl.standins.classes import read_classes
    from psvl.standins.detection_rates import detection_rates
    from psvl.standins.moments import moment_stats
    from psvl.standins.timelines import read_timelines

    st = load_config(args)["standins"]
    if not st["classes"]:
        raise SystemExit("psvl eval-standins: config.standins.classes: the Charades classes file is not set")
    timelines = read_timelines(args.timelines)
    classes = read_classes(st["classes"])
    detections = concat_tables("detections", args.detections).to_pandas()
    videos = set(detections["video_id"])
    report = {
        "label": "stand-in features and detections from Charades action timelines; not the paper's I3D setting",
        "frame_map": frame_map(timelines, classes, st),
        "detection_rates": detection_rates(args.pseudo_labels, detections, timelines, classes, videos=videos),
    }
    release = read_pseudo_queries(args.pseudo_labels)
    report["pseudo_moments"] = {"release": moment_stats(release)}
    if args.pseudo_queries:
        ours = read_frame(
            args.pseudo_queries, "pseudo_queries", columns=["video_id", "start_s", "end_s", "duration_s"]
        )
        report["pseudo_moments"]["ours"] = moment_stats(ours)
    report["passed"] = bool(report["frame_map"]["passed"] and report["detection_rates"]["passed"])
    write_json(report, args.out)
    print(table(report))
    return 0
