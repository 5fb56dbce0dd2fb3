"""Object detection: the detector registry, the `detect` stage and `train-detector` (rules in workflow/rules/detection.smk, config section `detection`)."""
