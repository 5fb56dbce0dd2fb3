# Input functions of the rules in language.smk, used there only.


def corpus_file():
    return SOURCES.corpus or []
