# The Charades timelines benchmark (dataset.name charades_timelines[_release], docs/standins.md): no video
# is read. The split job writes the dev/test queries, train moments and corpus; a `standins` job per shard
# writes the features and detections every later stage reads, from the videos' action timelines.

# Only the timelines kind makes features and detections here; every other kind decodes videos.
if SOURCES.timelines:

    ruleorder: standins > features
    ruleorder: standins > detect

else:

    ruleorder: features > standins
    ruleorder: detect > standins


rule standins_split:
    input:
        train=DATASET["train_annotations"] or [],
        test=DATASET["annotations"] or [],
        pseudo_labels=DATASET["pseudo_labels"] or [],
    output:
        train=f"{R}/standins/train.txt",
        dev=f"{R}/standins/dev.txt",
        test=f"{R}/standins/test.txt",
        corpus=f"{R}/standins/corpus.txt",
        pseudo_labels=f"{R}/standins/pseudo_labels.json",
        counts=f"{R}/standins/split.json",
    log:
        f"{LOGS}/standins_split.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cfg=sets("standins"),
        out=out_dir("train"),
    shell:
        "psvl standins --split-out {params.out:q} --train {input.train:q} --test {input.test:q} "
        "--pseudo-labels {input.pseudo_labels:q} {params.cfg} > {log:q} 2>&1"


rule standins:
    input:
        manifest=f"{SHARD_LISTS}/{{shard}}.tsv",  # this shard's videos only
        timelines=SOURCES.timelines or [],
    output:
        features=f"{R}/features/{{shard}}.parquet",
        detections=f"{R}/detections/{{shard}}.parquet",
        class_scores=f"{R}/class_scores/{{shard}}.parquet",
        failures=f"{R}/failures/standins/{{shard}}.parquet",
    log:
        f"{LOGS}/standins/{{shard}}.log",
    benchmark:
        f"{BENCH}/standins/{{shard}}.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 1
    resources:
        attempt=attempt_number,  # psvl --job: its console line
        runtime=30,
        mem_mb=4000,
    params:
        cfg=sets("standins"),
    shell:
        "psvl --job {resources.attempt} {log:q} standins --manifest {input.manifest:q} "
        "--timelines {input.timelines:q} --features {output.features:q} "
        "--detections {output.detections:q} --class-scores {output.class_scores:q} "
        "--failures {output.failures:q} {params.cfg} 3>&2 > {log:q} 2>&1"


# The stand-ins against their calibration targets: per-frame mAP of the class scores on the Charades test
# videos, and the detections' rates against PSVL's released nouns (on the train videos' pseudo-moments);
# plus our pseudo-moments' statistics beside the release's.
rule eval_standins:
    input:
        timelines=SOURCES.timelines or [],
        pseudo_labels=DATASET["pseudo_labels"] or [],
        detections=per_shard(f"{R}/detections/{{shard}}.parquet"),
        pseudo_queries=f"{R}/pseudo_queries.parquet",
    output:
        f"{R}/eval/standins.json",
    log:
        f"{LOGS}/eval_standins.log",
    benchmark:
        f"{BENCH}/eval_standins.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 1
    resources:
        runtime=20,
        mem_mb=4000,
    params:
        cfg=sets("standins"),
    shell:
        "psvl eval-standins --timelines {input.timelines:q} --pseudo-labels {input.pseudo_labels:q} "
        "--detections {input.detections:q} --pseudo-queries {input.pseudo_queries:q} "
        "--out {output:q} {params.cfg} > {log:q} 2>&1"
