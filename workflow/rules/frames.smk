# Frames: PyAV decodes each video of a shard sequentially, samples at frames.fps, stores JPEGs.


rule frames:
    input:
        manifest=f"{SHARD_LISTS}/{{shard}}.tsv",  # this shard's videos only
    output:
        frames=f"{R}/frames/{{shard}}.parquet",
        failures=f"{R}/failures/frames/{{shard}}.parquet",
    log:
        f"{LOGS}/frames/{{shard}}.log",
    benchmark:
        f"{BENCH}/frames/{{shard}}.tsv"
    retries: 1
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 1
    resources:
        attempt=attempt_number,  # psvl --job: a permanent error is not retried
        runtime=60,
        mem_mb=mem_per_attempt(2000),
    params:
        cfg=sets("frames"),
    shell:
        "psvl --job {resources.attempt} {log:q} frames "
        "--manifest {input.manifest:q} --shard {wildcards.shard} "
        "--out {output.frames:q} --failures {output.failures:q} {params.cfg} 3>&2 > {log:q} 2>&1"
