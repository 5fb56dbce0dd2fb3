# Object detection: a torchvision detector per shard; for the synthetic world, one trained on the world's
# own detector set (clips from another seed stream, never a workflow video).


rule train_detector:
    input:
        boxes=SOURCES.box_labels or "no-box-labels",
        classes=SOURCES.box_classes or "no-box-labels",
        videos=SOURCES.box_videos or "no-box-labels",
    output:
        model=f"{R}/detector/model.pt",
        classes=f"{R}/detector/classes.txt",
        metrics=f"{R}/eval/detector.json",
    log:
        f"{LOGS}/train_detector.log",
    benchmark:
        f"{BENCH}/train_detector.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        attempt=attempt_number,  # psvl --job: a permanent error is not retried
        runtime=60,
        mem_mb=6000,
        gpu=1 if config["detector"]["device"].startswith("cuda") else 0,
    params:
        cfg=sets("detector"),
        out=out_dir("model"),
    shell:
        # 3>&2: the console, for the one line per epoch (psvl --job)
        "psvl --job {resources.attempt} {log:q} train-detector --boxes {input.boxes:q} "
        "--classes {input.classes:q} --videos-dir {input.videos:q} --out-dir {params.out:q} "
        "--metrics {output.metrics:q} --threads {threads} {params.cfg} 3>&2 > {log:q} 2>&1"


rule detect:
    input:
        unpack(detector_inputs),
        frames=f"{R}/frames/{{shard}}.parquet",
    output:
        detections=f"{R}/detections/{{shard}}.parquet",
        failures=f"{R}/failures/detect/{{shard}}.parquet",
    log:
        f"{LOGS}/detect/{{shard}}.log",
    benchmark:
        f"{BENCH}/detect/{{shard}}.tsv"
    retries: 1
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        attempt=attempt_number,  # psvl --job: a permanent error is not retried
        runtime=120,
        mem_mb=mem_per_attempt(4000),
        gpu=1 if config["detector"]["device"].startswith("cuda") else 0,
    params:
        cfg=sets("detector"),
        detector=detector_args,
    shell:
        "psvl --job {resources.attempt} {log:q} detect --frames {input.frames:q} {params.detector} "
        "--out {output.detections:q} "
        "--failures {output.failures:q} --threads {threads} {params.cfg} 3>&2 > {log:q} 2>&1"
