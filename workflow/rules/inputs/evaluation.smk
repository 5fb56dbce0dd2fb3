# Input functions of the rules in evaluation.smk, used there only.


# fixed_window's window is chosen on the dataset's train annotations (the train rows of annotations.parquet)
# where it has them, otherwise on the training pseudo-labels; metrics.json names which.
def reference_source():
    return "train_annotations" if SOURCES.train else "pseudo_labels"


def reference_file():
    return f"{R}/annotations.parquet" if SOURCES.train else pseudo_queries_file()


def frames_files():
    """The frame shards `psvl stats` counts: none where no video is read (the timelines kind)."""
    return [] if SOURCES.timelines else per_shard(f"{R}/frames/{{shard}}.parquet")
