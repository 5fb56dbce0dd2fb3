# Object detection: a torchvision detector (trained on the synthetic box labels by default) per shard.


rule train_detector:
    input:
        boxes=f"{WORLD}/boxes.parquet",
        classes=f"{WORLD}/classes.txt",
        videos=f"{WORLD}/videos",
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
        runtime=60,
        mem_mb=6000,
        gpu=1 if config["detector"]["device"].startswith("cuda") else 0,
    params:
        cfg=sets("detector"),
        out=out_dir("model"),
    shell:
        "psvl train-detector --boxes {input.boxes:q} --classes {input.classes:q} "
        "--videos-dir {input.videos:q} --out-dir {params.out:q} --metrics {output.metrics:q} "
        "--threads {threads} {params.cfg} > {log:q} 2>&1"


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
