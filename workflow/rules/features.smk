# Visual features: one vector per temporal segment (2D backbones on frames, 3D models on clips,
# or an import of precomputed features).


include: "inputs/features.smk"


rule features:
    input:
        unpack(features_inputs),
        manifest=f"{SHARD_LISTS}/{{shard}}.tsv",  # this shard's videos only
        frames=f"{R}/frames/{{shard}}.parquet",
    output:
        **features_class_scores(),  # features.class_scores: the head's per-segment class scores
        features=f"{R}/features/{{shard}}.parquet",
        failures=f"{R}/failures/features/{{shard}}.parquet",
    log:
        f"{LOGS}/features/{{shard}}.log",
    benchmark:
        f"{BENCH}/features/{{shard}}.tsv"
    retries: 1
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        attempt=attempt_number,  # psvl --job: a permanent error is not retried
        runtime=120,
        mem_mb=mem_per_attempt(4000),
        gpu=1 if config["features"]["device"].startswith("cuda") else 0,
    params:
        cfg=features_args,
    shell:
        "psvl --job {resources.attempt} {log:q} features "
        "--manifest {input.manifest:q} --shard {wildcards.shard} "
        "--frames {input.frames:q} --out {output.features:q} --failures {output.failures:q} "
        "--threads {threads} {params.cfg} 3>&2 > {log:q} 2>&1"


# model.visual_input: objects. Per segment of the features, each detector class's best score and box
# motion (psvl/features/objects.py); only train and predict read these, TEP keeps the visual features.
rule object_features:
    input:
        unpack(detector_inputs),
        features=f"{R}/features/{{shard}}.parquet",
        detections=f"{R}/detections/{{shard}}.parquet",
    output:
        f"{R}/object_features/{{shard}}.parquet",
    log:
        f"{LOGS}/object_features/{{shard}}.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        cfg=sets("detector"),
        detector=detector_args,
    shell:
        "psvl object-features --features {input.features:q} --detections {input.detections:q} "
        "{params.detector} --out {output:q} {params.cfg} > {log:q} 2>&1"
