# psvl: zero-shot natural language video localization (PSVL) as a workflow.
# Stages: synth/annotations/manifest -> frames -> features, detect -> proposals, corpus
#         -> pseudo_queries, test_queries -> train -> predict -> evaluate -> report.
from psvl.config import ConfigError, validate
from psvl.core.failures import summary as failure_summary
from psvl.datasets.registry import reads_videos
from psvl.detection.detectors import check_backend


configfile: "config.yaml"


# Fill defaults and name any bad key before a job runs; then check the detector can work at all (where
# the dataset reads videos: the release path trains on precomputed features).
try:
    config.update(validate(config))
    if reads_videos(config):
        check_backend(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/frames.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/detection.smk"
include: "workflow/rules/standins.smk"
include: "workflow/rules/proposals.smk"
include: "workflow/rules/language.smk"
include: "workflow/rules/localization.smk"
include: "workflow/rules/evaluation.smk"


rule all:
    default_target: True
    input:
        final_targets,


# A closing summary of every bad video, by stage and reason (the per-video rows are in failures/).
onsuccess:
    if os.path.isdir(f"{R}/failures"):
        print(failure_summary(R))
