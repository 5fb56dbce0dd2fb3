# Temporal event proposals (k-means over contextualized features) and their recall.


include: "inputs/proposals.smk"


rule proposals:
    input:
        manifest=f"{SHARD_LISTS}/{{shard}}.tsv",  # this shard's videos only
        features=f"{R}/features/{{shard}}.parquet",
    output:
        f"{R}/proposals/{{shard}}.parquet",
    log:
        f"{LOGS}/proposals/{{shard}}.log",
    benchmark:
        f"{BENCH}/proposals/{{shard}}.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 1
    resources:
        attempt=attempt_number,  # psvl --job: its console line
        runtime=60,
        mem_mb=2000,
    params:
        cfg=sets("proposals"),
    shell:
        "psvl --job {resources.attempt} {log:q} proposals --features {input.features:q} "
        "--manifest {input.manifest:q} "
        "--out {output:q} --workers {threads} {params.cfg} 3>&2 > {log:q} 2>&1"


rule eval_proposals:
    input:
        proposals=per_shard(f"{R}/proposals/{{shard}}.parquet"),
        features=per_shard(f"{R}/features/{{shard}}.parquet"),  # segment times of the time_only baseline
        annotations=proposal_truth(),
    output:
        f"{R}/eval/proposals.json",
    log:
        f"{LOGS}/eval_proposals.log",
    benchmark:
        f"{BENCH}/eval_proposals.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cfg=sets("proposals"),
    shell:
        "psvl eval-proposals --proposals {input.proposals:q} --features {input.features:q} "
        "--annotations {input.annotations:q} --out {output:q} {params.cfg} > {log:q} 2>&1"
