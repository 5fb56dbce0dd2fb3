"""The package's shape: no import cycles (in-function imports included, so a lazy import cannot hide
one), imports only downwards through the layers, no module over 350 lines, and no stage module left at
the package root."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest
from repo_paths import REPO

PKG = REPO / "psvl"
ROOT_MODULES = {"__init__", "cli", "config", "docs"}
MAX_LINES = 350

# The areas of psvl (psvl.<area>[.<module>]) in layers, bottom to top. A module may import its own area
# and any area of a lower layer; never a peer of its own layer nor a higher one, so each layer can be read,
# tested and changed knowing only the layers below it.
LAYERS: list[set[str]] = [
    {"psvl"},  # the package root: __version__
    {"core"},  # artifacts, spans, errors, bootstrap, registry, ...: imports no other area
    {"datasets"},  # the dataset registry and annotation formats (the Snakefile reads them at parse time)
    # config: below every stage area, which reads its defaults from the schema through it (one place for
    # a default); above datasets, because validation asks the dataset registry which keys a kind needs.
    {"config"},
    {"frames", "synth", "language", "detection"},
    # detector backbones come from detection; standins: stand-in features and detections made from
    # Charades' action timelines (the timelines benchmark), whose classes the tagger reads
    {"features", "standins"},
    {"proposals"},  # TEP clusters the segment features
    # localization: predict reads frames, features and the tagger. evaluation scores prediction files
    # against annotations, for any model: it needs neither the model nor torch, and the model not it.
    {"localization", "evaluation"},
    {"commands", "docs"},  # one module per `psvl <stage>`; docs: `python -m psvl.docs README.md`
    {"cli"},
]
# (importer, imported) pairs that break the order and are known.
UPWARD_EXCEPTIONS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """psvl modules that `path` imports anywhere in its body (a package import counts as its __init__)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                ).strip(".")
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            if t in known:
                found.add(t)
    found.discard(name)
    return found


def import_graph() -> nx.DiGraph:
    mods = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    for name, path in mods.items():
        for target in _imports(path, name, set(mods)):
            # importing psvl.a.b runs psvl.a's __init__ too, but an __init__ with a docstring only
            # adds no edge worth a cycle; edges go to the module named.
            graph.add_edge(name, target)
    return graph


def test_the_package_has_no_import_cycle():
    cycles = [c for c in nx.simple_cycles(import_graph()) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles[:5]}"


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(area: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if area in layer)


def test_every_area_has_a_layer():
    areas = {_area(m) for m in _modules()}
    placed = set().union(*LAYERS)
    assert areas <= placed, f"areas without a layer in LAYERS: {sorted(areas - placed)}"
    assert placed <= areas, f"LAYERS names areas that do not exist: {sorted(placed - areas)}"


def test_no_module_imports_a_peer_or_higher_layer():
    graph = import_graph()
    wrong = []
    for importer, imported in sorted(graph.edges):
        low, high = _area(importer), _area(imported)
        if low != high and _layer(low) <= _layer(high) and (importer, imported) not in UPWARD_EXCEPTIONS:
            wrong.append(
                f"{importer} imports {imported} ({low}: layer {_layer(low)}, {high}: layer {_layer(high)})"
            )
    assert wrong == [], "imports against the layer order (LAYERS):\n" + "\n".join(wrong)


def test_every_layer_exception_is_still_needed():
    stale = UPWARD_EXCEPTIONS - set(import_graph().edges)
    assert not stale, f"these imports are gone: delete them from UPWARD_EXCEPTIONS: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_over_the_line_budget(name):
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines (budget {MAX_LINES}); split it by concern"


def test_only_the_entry_points_live_at_the_package_root():
    root = {p.stem for p in PKG.glob("*.py")}
    assert root == ROOT_MODULES, f"modules at psvl/ root: {sorted(root - ROOT_MODULES)} belong in an area"
