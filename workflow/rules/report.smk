# Per-stage counts for the run report.


rule stats:
    input:
        manifest=f"{R}/manifest.parquet",
        frames=per_shard(f"{R}/frames/{{shard}}.parquet"),
        detections=per_shard(f"{R}/detections/{{shard}}.parquet"),
        proposals=per_shard(f"{R}/proposals/{{shard}}.parquet"),
        pseudo_queries=f"{R}/pseudo_queries.parquet",
    output:
        f"{R}/eval/stats.json",
    log:
        f"{LOGS}/stats.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        results=in_dir("manifest"),
    shell:
        "psvl stats --results {params.results:q} --out {output:q} > {log:q} 2>&1"
