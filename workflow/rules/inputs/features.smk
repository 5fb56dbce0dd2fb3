# Input functions of the rules in features.smk (a trained detector's backbone), used there only.


def features_inputs(wildcards):
    """The trained detector checkpoint when the features come from its backbone."""
    return {"detector": f"{R}/detector/model.pt"} if features_use_detector() else {}


def features_args(wildcards, input):
    """Config sections for `psvl features`; `weights: trained` becomes the detector checkpoint's path."""
    args = sets("features", "frames")
    if features_use_detector():
        args += f" --set features.weights={shlex.quote(input.detector)}"
    return args
