"""experiments.tune_class_grounding / grounding_quality: the grid parser and the dev-only guard."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.tune_class_grounding import dev_queries, parse_grid
from psvl.core.artifacts import write_table


def test_the_grid_takes_class_grounding_keys_only():
    assert parse_grid(["min_frac=0.1,0.2", "length_exponent=0"]) == {
        "min_frac": [0.1, 0.2],
        "length_exponent": [0.0],
    }
    with pytest.raises(SystemExit, match="KEY=V1,V2"):
        parse_grid(["num_segments=32"])


@pytest.mark.parametrize(
    "source, allowed", [("results/x/standins/dev.txt", True), ("results/x/standins/test.txt", False)]
)
def test_only_the_dev_queries_are_read(tmp_path, source, allowed):
    row = {"query_id": ["q"], "video_id": ["v"], "sentence": ["s"], "start_s": [0.0], "end_s": [1.0]}
    table = pd.DataFrame({**row, "duration_s": [2.0], "tokens": [["open"]]})
    write_table("test_queries", table, tmp_path / "test_queries.parquet", "test", shaping={"source": source})
    if allowed:
        assert dev_queries(tmp_path)["query_id"].tolist() == ["q"]
    else:
        with pytest.raises(SystemExit, match="tune on the dev split only"):
            dev_queries(tmp_path)
