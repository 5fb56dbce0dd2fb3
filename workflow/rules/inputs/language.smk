# Input functions of the rules in language.smk, used there only.


def corpus_file():
    return SOURCES.corpus or []


def test_queries_input():
    """The evaluated queries: the test split of annotations.parquet, or the kind's own file (the
    timelines kind: dev or test, config.standins.split)."""
    return SOURCES.queries or f"{R}/annotations.parquet"


def test_queries_args():
    """`--split` of `psvl test-queries`: every row of the kind's own queries file (with its durations)."""
    if SOURCES.queries:
        return f"--split all --durations {shlex.quote(SOURCES.durations)}"
    return "--split test"
