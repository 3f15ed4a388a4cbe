"""The n-gram model's analysis of a text and its linear outputs, from its saved arrays with NumPy and the standard
library alone: what every serving path runs (the inference container included: ``deploy`` ships this file beside
the handler as ``code/ngram_scorer.py``; it imports nothing of ours).

model/ngram.py fits the model with scikit-learn on these same analyzers (``word_ngrams``, ``char_ngrams``,
``crossed_words``), so a text gets the same features when it is fitted and when it is served; the crossed words of
sentence pairs are hashed with MurmurHash3 (x86, 32 bits, seed 0) the way scikit-learn's FeatureHasher hashes them.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WORD = re.compile(r"(?u)\b\w+\b")  # scikit-learn's default token_pattern
WHITESPACE = re.compile(r"\s+")  # a run of whitespace is one space to the character n-grams
WORD_ORDERS = (1, 2)  # word unigrams and bigrams
CHAR_ORDERS = (1, 5)  # character 1- to 5-grams
TERM_SEPARATOR = "\n"  # between the saved terms (no term holds one: WHITESPACE turns it into a space)
CROSS_FEATURES = 2**18  # hashed (first-text word, second-text word) pairs of sentence pairs
CROSS_WORDS = 64  # the distinct words of each text that enter the crossed pairs (bounds a row's work)
CROSS_JOINER = "\x00"  # between the two words of a crossed pair
SINGLE_LABEL, MULTI_LABEL = "single_label", "multi_label"  # labels.json's task names (answers.py's)


def word_ngrams(text: str) -> list[str]:
    """The word 1-2 grams of ``text`` in order (words: WORD's runs; a bigram is two words joined by a space), as
    scikit-learn's word analyzer makes them with ngram_range (1, 2) and no lowercasing."""
    words = WORD.findall(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def char_ngrams(text: str) -> list[str]:
    """The character 1-5 grams of ``text`` in order, each whitespace run first made one space (scikit-learn's
    "char" analyzer, which only joins runs of two or more)."""
    text = WHITESPACE.sub(" ", text)
    low, high = CHAR_ORDERS
    return [text[i : i + n] for n in range(low, min(high, len(text)) + 1) for i in range(len(text) - n + 1)]


def crossed_words(text: str, text_pair: str) -> list[str]:
    """Each (first-text word, second-text word) pair of a sentence pair, as one string: the first CROSS_WORDS
    distinct words of each text, joined by CROSS_JOINER."""
    first = list(dict.fromkeys(WORD.findall(text)))[:CROSS_WORDS]
    second = list(dict.fromkeys(WORD.findall(text_pair)))[:CROSS_WORDS]
    return [f"{a}{CROSS_JOINER}{b}" for a in first for b in second]


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data`` (Austin Appleby's reference), as a signed 32-bit integer: what
    scikit-learn's murmurhash3_32 returns with positive=False."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    whole = len(data) - len(data) % 4
    for (k,) in np.frombuffer(data[:whole], dtype="<u4").reshape(-1, 1).tolist():
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def hashed_column(feature: str, size: int = CROSS_FEATURES) -> int:
    """The column scikit-learn's FeatureHasher (n_features ``size``) gives ``feature``: |murmurhash3_32| mod size,
    with its rule for -2**31 (whose absolute value does not fit 32 bits)."""
    h = murmurhash3_32(feature.encode("utf-8"))
    return (2**31 - 1 - (size - 1)) % size if h == -(2**31) else abs(h) % size


@dataclass
class NgramScorer:
    """A saved n-gram model's linear outputs (model/ngram.py's NgramClassifier holds the same arrays).

    ``weights``: (targets, features); ``intercept``: (targets,); ``word_terms``/``char_terms``: the vocabularies
    in column order; ``pairs``: fitted on sentence pairs (the features NgramFeatures lists); ``task``: labels.json's
    task; ``classes``: how many label names; ``c``: the inverse regularisation it was fitted with."""

    weights: np.ndarray
    intercept: np.ndarray
    word_terms: list[str]
    char_terms: list[str]
    pairs: bool
    task: str
    classes: int
    c: float

    def __post_init__(self):
        self.word_index = {term: i for i, term in enumerate(self.word_terms)}
        offset = len(self.word_terms)
        self.char_index = {term: offset + i for i, term in enumerate(self.char_terms)}

    @classmethod
    def load(cls, path: str | Path) -> NgramScorer:
        """The model saved at ``path`` (NgramClassifier.save's .npz, read with allow_pickle=False: loading runs no
        code). Raises ValueError naming the file when it cannot be read or is not one."""
        try:
            scorer = cls.read(path)
        except (OSError, EOFError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as error:
            why = (
                "it holds pickled objects, which are never loaded" if "pickle" in str(error) else str(error) or "empty"
            )
            raise ValueError(f"{path} is not an n-gram model this project saved ({why}); train again") from None
        problem = scorer.shape_problem()
        if problem:
            raise ValueError(f"{path} is not an n-gram model this project saved ({problem}); train again")
        return scorer

    @classmethod
    def read(cls, path: str | Path) -> NgramScorer:
        """``load`` without its error message: the reading errors as NumPy raises them."""

        def unpacked(array: np.ndarray) -> list[str]:
            return array.tobytes().decode("utf-8").split(TERM_SEPARATOR) if array.size else []

        with np.load(path, allow_pickle=False) as arrays:
            pairs = bool(arrays["pairs"]) if "pairs" in arrays.files else False  # saved before pairs existed
            if "task" in arrays.files:
                task = arrays["task"].tobytes().decode("utf-8")
            else:  # written before tasks had names: multi-label or not (and before multi-label: not)
                multi = "multi_label" in arrays.files and bool(arrays["multi_label"])
                task = MULTI_LABEL if multi else SINGLE_LABEL
            return cls(
                weights=arrays["weights"],
                intercept=arrays["intercept"],
                word_terms=unpacked(arrays["word_terms"]),
                char_terms=unpacked(arrays["char_terms"]),
                pairs=pairs,
                task=task,
                classes=int(arrays["classes"]),
                c=float(arrays["c"]),
            )

    def shape_problem(self) -> str | None:
        """Why the arrays cannot be one model (None: they can): the weights must be (targets, features) for the
        vocabularies' feature count, the intercept one a target."""
        features = 3 * self.terms + 2 + CROSS_FEATURES if self.pairs else self.terms
        if self.weights.ndim != 2 or self.weights.shape[1] != features:
            return f"weights of shape {self.weights.shape} for {features:,} features"
        if self.intercept.shape != (self.weights.shape[0],):
            return f"an intercept of shape {self.intercept.shape} for {self.weights.shape[0]} targets"
        return None

    @property
    def terms(self) -> int:
        """How many word and character n-grams the model knows."""
        return len(self.word_terms) + len(self.char_terms)

    def columns(self, text: str) -> np.ndarray:
        """The sorted feature columns a text holds (its known word and character n-grams), int64."""
        found = {self.word_index.get(term) for term in word_ngrams(text)}
        found |= {self.char_index.get(term) for term in char_ngrams(text)}
        found.discard(None)
        return np.fromiter(sorted(found), dtype=np.int64, count=len(found))

    def pair_features(self, text: str, text_pair: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of a sentence pair's row: the first text's n-grams, the second's, those both hold,
        the two overlap ratios (the share of the second text's word, then character, n-grams the first holds) and
        the hashed crossed words (model/ngram.py's NgramFeatures lists the blocks)."""
        terms, words = self.terms, len(self.word_terms)
        first, second = self.columns(text), self.columns(text_pair)
        shared = np.intersect1d(first, second)
        ratios = [
            np.count_nonzero(part(shared)) / max(np.count_nonzero(part(second)), 1)
            for part in (lambda c: c < words, lambda c: c >= words)
        ]
        crossed = sorted({hashed_column(feature) for feature in crossed_words(text, text_pair)})
        columns = np.concatenate(
            [
                first,
                terms + second,
                2 * terms + shared,
                [3 * terms, 3 * terms + 1],
                3 * terms + 2 + np.asarray(crossed, dtype=np.int64),
            ]
        ).astype(np.int64)
        values = np.ones(len(columns), dtype=np.float64)
        values[len(first) + len(second) + len(shared) : len(first) + len(second) + len(shared) + 2] = ratios
        return columns, values

    def raw(self, texts: list[str], text_pairs: list[str] | None = None) -> np.ndarray:
        """The linear outputs (len(texts), targets), float64: each text's features times the weights, plus the
        intercept. Raises ValueError when pairs are given to a one-text model or missing for a pair model."""
        if (text_pairs is not None) != self.pairs:
            needed = "sentence pairs (a second text for each)" if self.pairs else "one text a row (no second text)"
            raise ValueError(f"this n-gram model was fitted on {needed}")
        weights = self.weights.astype(np.float64, copy=False)
        out = np.empty((len(texts), weights.shape[0]), dtype=np.float64)
        for row, text in enumerate(texts):
            if text_pairs is None:
                out[row] = weights[:, self.columns(text)].sum(axis=1)
            else:
                columns, values = self.pair_features(text, text_pairs[row])
                out[row] = weights[:, columns] @ values
        return out + self.intercept
