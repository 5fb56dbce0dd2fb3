# Input functions of the rules in features.smk (a trained detector's backbone; the head's class scores),
# used there only.


def features_inputs(wildcards):
    """The trained detector checkpoint when the features come from its backbone."""
    return {"detector": f"{R}/detector/model.pt"} if features_use_detector() else {}


def features_args(wildcards, input, output):
    """Config sections for `psvl features`; `weights: trained` becomes the detector checkpoint's path.
    features.class_scores (UNREAD in common.smk) is passed, with --class-scores, only when true, so a run
    that leaves it off passes what it passed before the key existed and reruns no features job.
    """
    args = sets("features", "frames")
    if features_use_detector():
        args += f" --set features.weights={shlex.quote(input.detector)}"
    if config["features"]["class_scores"]:
        args += f" --set features.class_scores=true --class-scores {shlex.quote(output.class_scores)}"
    return args


def features_class_scores():
    """The features job's class_scores output (features.class_scores), or none."""
    if not config["features"]["class_scores"]:
        return {}
    return {"class_scores": f"{R}/class_scores/{{shard}}.parquet"}
