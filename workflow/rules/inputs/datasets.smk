# Input functions of the rules in datasets.smk (shard lists and the annotations), used there only.


def shard_digest(wildcards):
    return PLAN.digest(wildcards.shard)


def shards_inputs(wildcards):
    """A generated world's videos folder (its shard lists follow the world); a user's folder is no
    input: its listing is in the digest, so touching the folder reruns nothing, and the job reads the
    run's plan (SHARD_PLAN), not the folder. The timelines kind has no video files (its listing is in
    the digest too)."""
    return (
        {"videos": videos_dir()} if SOURCES.generated and not SOURCES.timelines else {}
    )


def annotation_args():
    """Arguments of `psvl annotations` for this dataset (test files, optional train and durations)."""
    flags = ("--test", "--train", "--durations")
    return " ".join(
        f"{flag} {' '.join(shlex.quote(p) for p in paths)}"
        for flag, paths in zip(flags, annotation_files())
        if paths
    )


def annotation_files():
    """([test...], [train], [durations]) annotation paths of this dataset; empty where it has none."""
    return tuple(
        [p] if isinstance(p, str) else list(p or [])
        for p in (SOURCES.test, SOURCES.train, SOURCES.durations)
    )


def annotation_inputs(wildcards):
    return [path for paths in annotation_files() for path in paths]
