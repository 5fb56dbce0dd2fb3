# Evaluation and the run report: R@IoU and mIoU with baselines, per-stage counts, the stage diagram,
# training curves and the metrics table.
# `snakemake --report report.html` collects every output wrapped in report() with its caption.


include: "inputs/evaluation.smk"


rule evaluate:
    input:
        predictions=f"{R}/eval/predictions.parquet",
        annotations=f"{R}/test_queries.parquet",
        train=pseudo_queries_file(),
        reference=reference_file(),
        model=f"{R}/model/best.pt",
        trained_words=f"{R}/model/trained_words.json",  # what --vocab reads, beside best.pt
    output:
        metrics=f"{R}/eval/metrics.json",
        histogram=report(
            f"{R}/eval/plots/iou_histogram.png",
            caption="../report/iou_histogram.rst",
            category="Evaluation",
        ),
        moments=report(
            f"{R}/eval/plots/moments.png",
            caption="../report/moments.rst",
            category="Evaluation",
        ),
    log:
        f"{LOGS}/evaluate.log",
    benchmark:
        f"{BENCH}/evaluate.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cfg=sets("eval"),
        plots=out_dir("histogram"),
        truth=truth_args(),  # the synthetic world's events: metrics split by held-out words
        reference_source=reference_source(),
    shell:
        "psvl evaluate --pred {input.predictions:q} --gt {input.annotations:q} "
        "--train-moments {input.train:q} --reference {input.reference:q} "
        "--reference-source {params.reference_source} "
        "--vocab {input.model:q} --out {output.metrics:q} "
        "--plots {params.plots:q} {params.truth} "
        "{params.cfg} > {log:q} 2>&1"


# Inputs are every artifact `psvl stats` counts, so stats.json never depends on which jobs happened to
# have finished when it ran.
rule stats:
    input:
        manifest=f"{R}/manifest.parquet",
        frames=frames_files(),
        features=per_shard(f"{R}/features/{{shard}}.parquet"),
        detections=per_shard(f"{R}/detections/{{shard}}.parquet"),
        proposals=per_shard(f"{R}/proposals/{{shard}}.parquet"),
        vocab=f"{R}/corpus/vocab.parquet",
        pseudo_queries=f"{R}/pseudo_queries.parquet",
        train_log=f"{R}/model/train_log.parquet",
        test_queries=f"{R}/test_queries.parquet" if has_annotations() else [],
    output:
        report(
            f"{R}/eval/stats.json",
            caption="../report/stats.rst",
            category="Run",
        ),
    log:
        f"{LOGS}/stats.log",
    benchmark:
        f"{BENCH}/stats.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        results=in_dir("manifest"),
    shell:
        "psvl stats --results {params.results:q} --out {output:q} > {log:q} 2>&1"


rule plot_run:
    input:
        stats=f"{R}/eval/stats.json",
    output:
        stages=report(
            f"{R}/report/stages.png",
            caption="../report/stages.rst",
            category="Run",
        ),
    log:
        f"{LOGS}/plot_run.log",
    benchmark:
        f"{BENCH}/plot_run.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        out=out_dir("stages"),
    shell:
        "psvl plot --out-dir {params.out:q} --stats {input.stats:q} > {log:q} 2>&1"


# Its own rule: the release path has training curves but no per-stage counts.
rule plot_training:
    input:
        train_log=f"{R}/model/train_log.parquet",
    output:
        curves=report(
            f"{R}/report/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/plot_training.log",
    benchmark:
        f"{BENCH}/plot_training.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        out=out_dir("curves"),
    shell:
        "psvl plot --out-dir {params.out:q} --train-log {input.train_log:q} > {log:q} 2>&1"


rule plot_metrics:
    input:
        f"{R}/eval/metrics.json",
    output:
        report(
            f"{R}/report/metrics_table.png",
            caption="../report/metrics_table.rst",
            category="Evaluation",
        ),
    log:
        f"{LOGS}/plot_metrics.log",
    benchmark:
        f"{BENCH}/plot_metrics.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        out=out_dir(0),
    shell:
        "psvl plot --out-dir {params.out:q} --metrics {input:q} > {log:q} 2>&1"


rule effective_config:
    output:
        report(
            f"{R}/config.effective.yaml",
            caption="../report/config.rst",
            category="Run",
        ),
    log:
        f"{LOGS}/effective_config.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        cfg=sets(*config),  # every setting: a changed one rewrites the file
    shell:
        "psvl config --out {output:q} {params.cfg} > {log:q} 2>&1"
