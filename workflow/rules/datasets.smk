# Inputs: the synthetic world (synthetic dataset only), the annotations table and the manifest.


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


rule manifest:
    input:
        annotations=f"{R}/annotations.parquet",
        videos=videos_dir(),
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
        glob=DATASET["video_glob"],
        shard_size=config["shard_size"],
    shell:
        "psvl manifest --videos-dir {input.videos:q} --glob {params.glob:q} "
        "--annotations {input.annotations:q} --shard-size {params.shard_size} "
        "--out {output:q} > {log:q} 2>&1"
