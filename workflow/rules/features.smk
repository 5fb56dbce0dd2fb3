# Visual features: one vector per temporal segment (2D backbones on frames, 3D models on clips,
# or an import of precomputed features).


rule features:
    input:
        unpack(features_inputs),
        manifest=f"{SHARD_LISTS}/{{shard}}.tsv",  # this shard's videos only
        frames=f"{R}/frames/{{shard}}.parquet",
    output:
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
