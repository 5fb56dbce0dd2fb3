# Input functions of the rules in evaluation.smk, used there only.


# fixed_window's window is chosen on the dataset's train annotations (the train rows of annotations.parquet)
# where it has them, otherwise on the training pseudo-labels; metrics.json names which.
def reference_source():
    return "train_annotations" if SOURCES.train else "pseudo_labels"


def reference_file():
    return f"{R}/annotations.parquet" if SOURCES.train else pseudo_queries_file()
