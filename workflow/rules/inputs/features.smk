# Input functions of the rules in features.smk (a trained detector's backbone; the head's class scores),
# used there only.


def features_inputs(wildcards):
    """The trained detector checkpoint when the features come from its backbone."""
    return {"detector": f"{R}/detector/model.pt"} if features_use_detector() else {}


def features_args(wildcards, input):
    """Config sections for `psvl features`; `weights: trained` becomes the detector checkpoint's path."""
    args = sets("features", "frames")
    if features_use_detector():
        args += f" --set features.weights={shlex.quote(input.detector)}"
    return args


def features_class_scores():
    """The features job's class_scores output (features.class_scores), or none."""
    if not config["features"]["class_scores"]:
        return {}
    return {"class_scores": f"{R}/class_scores/{{shard}}.parquet"}


def class_scores_arg(wildcards, output):
    """`--class-scores PATH` when the job writes the head's class scores."""
    path = getattr(output, "class_scores", None)
    return f"--class-scores {shlex.quote(path)}" if path else ""
