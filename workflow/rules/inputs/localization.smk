# Input functions of the rules in localization.smk (the model's features and vocabulary), used there only.


def features_files():
    """What the model reads per segment: the visual features, or the object channels
    (model.visual_input: objects); on the release path, PSVL's features folder."""
    if SOURCES.from_release:
        return [SOURCES.features]
    folder = model_input_folder(config["model"]["visual_input"])
    return per_shard(f"{R}/{folder}/{{shard}}.parquet")


def features_flag(wildcards, input):
    """`--features SHARD...` or, on the release path, `--features-dir PATH`."""
    flag = "--features-dir" if SOURCES.from_release else "--features"
    return f"{flag} {' '.join(shlex.quote(p) for p in input.features)}"


def corpus_vocab_inputs(wildcards):
    """The corpus statistics whose verbs and nouns join the vocabulary, where there is a corpus."""
    return {"vocab": f"{R}/corpus/vocab.parquet"} if SOURCES.corpus else {}


def corpus_vocab_args(wildcards, input):
    return f"--vocab {shlex.quote(input.vocab)}" if "vocab" in input.keys() else ""
