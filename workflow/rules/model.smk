# The localization model: train on pseudo-queries, predict the test queries, evaluate.


rule train:
    input:
        pseudo_queries=f"{R}/pseudo_queries.parquet",
        features=per_shard(f"{R}/features/{{shard}}.parquet"),
        vocab=f"{R}/corpus/vocab.parquet",
    output:
        best=f"{R}/model/best.pt",
        vocab=f"{R}/model/vocab.json",
        log=f"{R}/model/train_log.parquet",
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCH}/train.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
        gpu=1 if config["train"]["device"].startswith("cuda") else 0,
    params:
        # frames travels too: the checkpoint records it so `psvl predict --video` samples frames alike
        cfg=sets("model", "train", "frames"),
        out=out_dir("best"),
    shell:
        # --resume continues from last.pt when a killed run left one; a fresh run ignores it.
        "psvl train --pseudo-queries {input.pseudo_queries:q} --features {input.features:q} "
        "--vocab {input.vocab:q} --out-dir {params.out:q} --resume {params.cfg} > {log:q} 2>&1"


rule predict:
    input:
        model=f"{R}/model/best.pt",
        queries=f"{R}/test_queries.parquet",
        features=per_shard(f"{R}/features/{{shard}}.parquet"),
    output:
        f"{R}/eval/predictions.parquet",
    log:
        f"{LOGS}/predict.log",
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        model=in_dir("model"),
        cfg=sets("train"),
    shell:
        "psvl predict --model {params.model:q} --test-queries {input.queries:q} "
        "--features {input.features:q} --out {output:q} {params.cfg} > {log:q} 2>&1"


rule evaluate:
    input:
        predictions=f"{R}/eval/predictions.parquet",
        annotations=f"{R}/test_queries.parquet",
        train=f"{R}/pseudo_queries.parquet",
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
    conda:
        "../../envs/psvl-cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cfg=sets("eval"),
        plots=out_dir("histogram"),
    shell:
        "psvl evaluate --pred {input.predictions:q} --gt {input.annotations:q} "
        "--train-moments {input.train:q} --out {output.metrics:q} --plots {params.plots:q} "
        "{params.cfg} > {log:q} 2>&1"
