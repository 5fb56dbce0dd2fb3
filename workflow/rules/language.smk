# Language side: corpus noun-verb statistics, pseudo-query composition, test-query simplification.


include: "inputs/language.smk"


rule corpus:
    input:
        corpus_file(),
    output:
        vocab=f"{R}/corpus/vocab.parquet",
        cooccurrence=f"{R}/corpus/cooccurrence.parquet",
        summary=f"{R}/corpus/summary.json",
        plot=report(
            f"{R}/corpus/top_verbs.png",
            caption="../report/top_verbs.rst",
            category="Language",
        ),
    log:
        f"{LOGS}/corpus.log",
    benchmark:
        f"{BENCH}/corpus.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        runtime=60,
        mem_mb=4000,
    params:
        cfg=sets("corpus"),
        out=out_dir("vocab"),
    shell:
        "psvl corpus --corpus {input:q} --out-dir {params.out:q} --threads {threads} "
        "{params.cfg} > {log:q} 2>&1"


rule pseudo_queries:
    input:
        manifest=f"{R}/manifest.parquet",
        proposals=per_shard(f"{R}/proposals/{{shard}}.parquet"),
        detections=per_shard(f"{R}/detections/{{shard}}.parquet"),
        features=per_shard(f"{R}/features/{{shard}}.parquet"),
        cooccurrence=f"{R}/corpus/cooccurrence.parquet",
    output:
        f"{R}/pseudo_queries.parquet",
    log:
        f"{LOGS}/pseudo_queries.log",
    benchmark:
        f"{BENCH}/pseudo_queries.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        attempt=attempt_number,  # psvl --job: its console line, and no pseudo-queries stops here in one line
        runtime=30,
        mem_mb=4000,
    params:
        cfg=sets("pseudo_queries"),
    shell:
        "psvl --job {resources.attempt} {log:q} pseudo-queries --manifest {input.manifest:q} "
        "--proposals {input.proposals:q} --detections {input.detections:q} --features {input.features:q} "
        "--cooccurrence {input.cooccurrence:q} --out {output:q} {params.cfg} 3>&2 > {log:q} 2>&1"


rule eval_pseudo_queries:
    input:
        pseudo_queries=f"{R}/pseudo_queries.parquet",
        annotations=f"{R}/annotations.parquet",
    output:
        f"{R}/eval/pseudo_queries.json",
    log:
        f"{LOGS}/eval_pseudo_queries.log",
    benchmark:
        f"{BENCH}/eval_pseudo_queries.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        truth=truth_args(),
        cfg=sets("corpus"),
    shell:
        "psvl eval-pseudo-queries --pseudo-queries {input.pseudo_queries:q} "
        "--annotations {input.annotations:q} {params.truth} --out {output:q} {params.cfg} > {log:q} 2>&1"


rule test_queries:
    input:
        test_queries_input(),
    output:
        f"{R}/test_queries.parquet",
    log:
        f"{LOGS}/test_queries.log",
    benchmark:
        f"{BENCH}/test_queries.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        cfg=sets("corpus"),
        split=test_queries_args(),
    shell:
        "psvl test-queries --annotations {input:q} {params.split} --out {output:q} {params.cfg} > {log:q} 2>&1"
