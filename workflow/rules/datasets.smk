# Inputs: the synthetic world (synthetic dataset only), the annotations table and the manifest.


include: "inputs/datasets.smk"


rule synth:
    output:
        videos=directory(f"{WORLD}/videos"),
        corpus=f"{WORLD}/corpus.txt",
        test=f"{WORLD}/test.txt",
        train=f"{WORLD}/train.txt",
        durations=f"{WORLD}/durations.csv",
        boxes=f"{WORLD}/boxes.parquet",
        classes=f"{WORLD}/classes.txt",
        events=f"{WORLD}/events.parquet",
        stats=f"{WORLD}/stats.json",
        detector_videos=directory(f"{WORLD}/detector/videos"),
        detector_boxes=f"{WORLD}/detector/boxes.parquet",
    log:
        f"{LOGS}/synth.log",
    benchmark:
        f"{BENCH}/synth.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        cfg=sets("synthetic"),
        out=out_dir("corpus"),
    shell:
        "psvl synth --out {params.out:q} {params.cfg} > {log:q} 2>&1"


rule annotations:
    input:
        annotation_inputs,
    output:
        f"{R}/annotations.parquet",
    log:
        f"{LOGS}/annotations.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        args=annotation_args(),
    shell:
        "psvl annotations {params.args} --out {output:q} > {log:q} 2>&1"


rule shards:
    input:
        unpack(shards_inputs),
    output:
        f"{SHARD_LISTS}/{{shard}}.tsv",
    log:
        f"{LOGS}/shards/{{shard}}.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        digest=shard_digest,  # changes exactly when this shard's videos do: the rerun trigger
        plan=SHARD_PLAN,  # written at parse time: the job lists no folder
    shell:
        "psvl shards --plan {params.plan:q} --shard {wildcards.shard} --digest {params.digest} "
        "--out {output:q} > {log:q} 2>&1"


rule manifest:
    input:
        annotations=f"{R}/annotations.parquet",
        lists=per_shard(f"{SHARD_LISTS}/{{shard}}.tsv"),
    output:
        f"{R}/manifest.parquet",
    log:
        f"{LOGS}/manifest.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        videos=videos_dir(),
        glob=DATASET["video_glob"],
        shard_size=config["shard_size"],
        record=SHARD_RECORD,
    shell:
        "psvl manifest --videos-dir {params.videos:q} --glob {params.glob:q} "
        "--shard-lists {input.lists:q} --record {params.record:q} --annotations {input.annotations:q} "
        "--shard-size {params.shard_size} --out {output:q} > {log:q} 2>&1"
