# The localization model: train on pseudo-queries, predict the test queries. Inputs: the workflow's
# pseudo-queries (pseudo_queries_file, common.smk) and feature shards, or on the release path PSVL's JSON
# and precomputed features (read lazily by `psvl train/predict --features-dir`).


include: "inputs/localization.smk"


rule train:
    input:
        unpack(corpus_vocab_inputs),
        pseudo_queries=pseudo_queries_file(),
        features=features_files(),
    output:
        best=f"{R}/model/best.pt",
        vocab=f"{R}/model/vocab.json",
        trained_words=f"{R}/model/trained_words.json",
        log=f"{R}/model/train_log.parquet",
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCH}/train.tsv"
    conda:
        "../../envs/psvl-cpu.yaml"
    threads: 2
    resources:
        attempt=attempt_number,  # psvl --job: its epoch lines on the console
        runtime=240,
        mem_mb=8000,
        gpu=1 if config["train"]["device"].startswith("cuda") else 0,
    params:
        # frames travels too: the checkpoint records it so `psvl predict --video` samples frames alike
        cfg=sets("model", "train", "frames"),
        out=out_dir("best"),
        features=features_flag,
        vocab=corpus_vocab_args,
    shell:
        # --resume continues from last.pt when a killed run left one; a finished last.pt (a forced or
        # changed rerun) is not resumed: every epoch runs again.
        "psvl --job {resources.attempt} {log:q} train --pseudo-queries {input.pseudo_queries:q} "
        "{params.features} {params.vocab} --out-dir {params.out:q} --resume {params.cfg} 3>&2 > {log:q} 2>&1"


# predict.localizer picks what writes the predictions: the trained model (the paper), or class grounding
# over the class_scores the stand-ins write (psvl ground: no model; docs/evaluation.md).
if config["predict"]["localizer"] == "class_scores":

    rule predict:
        input:
            queries=f"{R}/test_queries.parquet",
            class_scores=per_shard(f"{R}/class_scores/{{shard}}.parquet"),
        output:
            f"{R}/eval/predictions.parquet",
        log:
            f"{LOGS}/predict.log",
        benchmark:
            f"{BENCH}/predict.tsv"
        conda:
            "../../envs/psvl-cpu.yaml"
        resources:
            runtime=30,
            mem_mb=4000,
        params:
            cfg=sets("class_grounding"),
        shell:
            "psvl ground --class-scores {input.class_scores:q} --test-queries {input.queries:q} "
            "--out {output:q} {params.cfg} > {log:q} 2>&1"

else:

    rule predict:
        input:
            model=f"{R}/model/best.pt",
            queries=f"{R}/test_queries.parquet",
            features=features_files(),
        output:
            f"{R}/eval/predictions.parquet",
        log:
            f"{LOGS}/predict.log",
        benchmark:
            f"{BENCH}/predict.tsv"
        conda:
            "../../envs/psvl-cpu.yaml"
        threads: config["predict"]["threads"]
        resources:
            runtime=30,
            mem_mb=4000,
            gpu=1 if config["predict"]["device"].startswith("cuda") else 0,
        params:
            model=in_dir("model"),
            cfg=sets("predict", "features"),
            features=features_flag,
        shell:
            "psvl predict --model {params.model:q} --test-queries {input.queries:q} "
            "{params.features} --out {output:q} {params.cfg} > {log:q} 2>&1"
