"""The baseline model: naive-Bayes-weighted logistic regression (NBSVM-style) on word 1-2 grams and character
1-5 grams seen at least twice in the training texts. Multi-label: one-vs-rest, one regression a label, each
label's own logistic probability.

It is saved as plain arrays (one NumPy .npz, loaded with allow_pickle=False), so loading an artifact can never
run code: the weights, and each vocabulary as its terms joined by newlines (no term holds one: words are \\w+
runs and the character analyzer turns every whitespace run into one space).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_COUNT = 2  # an n-gram seen once cannot generalise and would only add weights
SMOOTHING = 1.0  # the "alpha" of the naive-Bayes ratios
TERM_SEPARATOR = "\n"
CROSS_FEATURES = 2**18  # hashed (first-text word, second-text word) pairs of sentence pairs
CROSS_WORDS = 64  # the distinct words of each text that enter the crossed pairs (bounds a row's work)
WORD = re.compile(r"(?u)\b\w+\b")


def vectorizers(vocabularies: tuple[list[str], list[str]] | None = None) -> list:
    """The two scikit-learn CountVectorizers (binary, float32, case kept): word 1-2 grams and character 1-5 grams,
    fitted afresh (min count MIN_COUNT) or, given ``vocabularies``, with those terms fixed."""
    from sklearn.feature_extraction.text import CountVectorizer

    common = {"lowercase": False, "binary": True, "dtype": np.float32}
    words = {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"}
    chars = {"analyzer": "char", "ngram_range": (1, 5)}
    if vocabularies is None:
        return [
            CountVectorizer(min_df=MIN_COUNT, **words, **common),
            CountVectorizer(min_df=MIN_COUNT, **chars, **common),
        ]
    return [
        CountVectorizer(vocabulary={term: index for index, term in enumerate(terms)}, **options, **common)
        for terms, options in zip(vocabularies, (words, chars), strict=True)
    ]


@dataclass
class NgramFeatures:
    """Binary presence of each known word 1-2 gram and character 1-5 gram: one sparse row a text.

    Sentence pairs (``pairs``): one row a pair holds the first text's block, the second text's block (the same
    vocabularies), the n-grams both texts hold (their elementwise product: which n-grams are shared), two overlap
    ratios (the share of the second text's word and character n-grams that the first text holds) and
    CROSS_FEATURES hashed crossed words (each first-text word with each second-text word: "최고" in the review with
    "부정적인" in the claim). A bag of n-grams of the two texts joined cannot tell which text holds an n-gram,
    whether they share it, nor which words meet across them: these can.
    """

    word_terms: list[str]
    char_terms: list[str]
    pairs: bool = False

    @classmethod
    def fit(cls, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> tuple[NgramFeatures, object]:
        """The vocabularies of ``texts`` (and of ``text_pairs``, the second texts of sentence pairs), and their
        sparse feature matrix (rows: texts or pairs)."""
        from scipy.sparse import hstack

        words, chars = vectorizers()
        corpus = list(texts) + list(text_pairs or [])
        parts = []
        for vectorizer in (words, chars):
            try:
                parts.append(vectorizer.fit_transform(corpus))
            except ValueError:  # no n-gram of this kind occurs twice (a tiny file): keep every one seen
                vectorizer.set_params(min_df=1)
                parts.append(vectorizer.fit_transform(corpus))
        features = cls(list(words.get_feature_names_out()), list(chars.get_feature_names_out()), text_pairs is not None)
        if text_pairs is not None:
            return features, features.transform(texts, text_pairs)
        return features, hstack(parts, format="csr")

    def transform(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None):
        """The sparse (rows, features) CSR matrix of ``texts``: word n-grams, then character n-grams; for pairs
        (``text_pairs``, required when the features were fitted on pairs) the blocks the class docstring lists.
        Raises ValueError when pairs are given to one-text features or missing for pair features."""
        from scipy.sparse import csr_matrix, hstack

        if (text_pairs is not None) != self.pairs:
            needed = "sentence pairs (a second text for each)" if self.pairs else "one text a row (no second text)"
            raise ValueError(f"this baseline was fitted on {needed}")
        words, chars = vectorizers((self.word_terms, self.char_terms))
        first = [words.transform(texts), chars.transform(texts)]
        if text_pairs is None:
            return hstack(first, format="csr")
        second = [words.transform(text_pairs), chars.transform(text_pairs)]
        shared = [a.multiply(b).tocsr() for a, b in zip(first, second, strict=True)]
        ratios = [
            np.asarray(both.sum(axis=1)).ravel() / np.maximum(np.asarray(b.sum(axis=1)).ravel(), 1)
            for both, b in zip(shared, second, strict=True)
        ]
        overlap = csr_matrix(np.column_stack(ratios).astype(np.float32))
        return hstack([*first, *second, *shared, overlap, crossed_words(texts, text_pairs)], format="csr")

    @property
    def size(self) -> int:
        """How many features a row holds: the n-grams (words and characters) for one text; for pairs three blocks of
        them and the two overlap ratios."""
        terms = len(self.word_terms) + len(self.char_terms)
        return 3 * terms + 2 + CROSS_FEATURES if self.pairs else terms


def crossed_words(texts: Sequence[str], text_pairs: Sequence[str]):
    """The sparse (pairs, CROSS_FEATURES) binary matrix of each pair's (first-text word, second-text word) pairs,
    hashed (scikit-learn's FeatureHasher: nothing to fit or save); the first CROSS_WORDS distinct words of each
    text."""
    from sklearn.feature_extraction import FeatureHasher

    def words(text: str) -> list[str]:
        return list(dict.fromkeys(WORD.findall(text)))[:CROSS_WORDS]

    crossed = (
        [f"{a}\x00{b}" for a in words(text) for b in words(pair)] for text, pair in zip(texts, text_pairs, strict=True)
    )
    hasher = FeatureHasher(CROSS_FEATURES, input_type="string", alternate_sign=False, dtype=np.float32)
    matrix = hasher.transform(crossed).tocsr()
    matrix.data[:] = 1.0  # presence, as the n-gram blocks
    return matrix


def targets(y: np.ndarray, classes: int) -> list[np.ndarray]:
    """The boolean target of each regression: one per class (one-vs-rest; one for two classes: class 1), or for
    a multi-hot ``y`` (rows, classes) one per label."""
    if y.ndim == 2:
        return [y[:, label] > 0 for label in range(classes)]
    return [y == label for label in range(classes)] if classes > 2 else [y == 1]


def log_count_ratios(x, y: np.ndarray, classes: int) -> np.ndarray:
    """One row per class (one-vs-rest; multi-hot ``y``: per label): log of how much more often each feature occurs
    in the class than outside."""
    ratios = []
    for target in targets(y, classes):
        inside = np.asarray(x[target].sum(axis=0)).ravel() + SMOOTHING
        outside = np.asarray(x[~target].sum(axis=0)).ravel() + SMOOTHING
        ratios.append(np.log(inside / inside.sum()) - np.log(outside / outside.sum()))
    return np.vstack(ratios).astype(np.float32)


@dataclass
class NgramClassifier:
    """NBSVM-style logistic regression over NgramFeatures (Wang & Manning 2012: weights times naive-Bayes log-count
    ratios): one weight row for two classes, one per class otherwise; multi-label (``multi_label``) one per label,
    each read as its own probability."""

    features: NgramFeatures
    weights: np.ndarray  # (1 or classes, features): logistic-regression weights times the naive-Bayes ratios
    intercept: np.ndarray  # (1 or classes,)
    classes: int
    c: float
    multi_label: bool = False

    @classmethod
    def fit(cls, features: NgramFeatures, x, y, classes: int, c: float) -> NgramClassifier:
        """One logistic regression per class (one for two classes) on the features scaled by their ratios; ``y``:
        class ids, or a multi-hot matrix (rows, classes) for multi-label (one regression a label; a label that is
        always or never there gets a constant score)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        weights, intercept = [], []
        for target, ratio in zip(targets(y, classes), log_count_ratios(x, y, classes), strict=True):
            if target.all() or not target.any():  # nothing to separate: a constant, confident score
                weights.append(np.zeros_like(ratio))
                intercept.append(10.0 if target.all() else -10.0)
                continue
            model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
            model.fit(x.multiply(ratio).tocsr(), target.astype(int))
            weights.append(model.coef_[0] * ratio)
            intercept.append(model.intercept_[0])
        stacked, bias = np.vstack(weights).astype(np.float32), np.asarray(intercept, np.float32)
        return cls(features, stacked, bias, classes, c, multi_label=y.ndim == 2)

    def predict_proba_features(self, x) -> np.ndarray:
        """Class probabilities (rows, classes) of a feature matrix: the logistic function for two classes, a softmax
        otherwise."""
        scores = np.asarray(x @ self.weights.T) + self.intercept
        if self.multi_label:  # each label's own probability
            return 1 / (1 + np.exp(-np.clip(scores, -500, 500)))
        if self.classes == 2:  # one logistic score: P(class 1)
            positive = 1 / (1 + np.exp(-scores[:, 0]))
            return np.column_stack([1 - positive, positive])
        shifted = scores - scores.max(axis=1, keepdims=True)  # one-vs-rest scores, normalised
        exponent = np.exp(shifted)
        return exponent / exponent.sum(axis=1, keepdims=True)

    def predict_proba(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> np.ndarray:
        """Class probabilities (len(texts), classes) of ``texts`` (with their second texts ``text_pairs`` for a
        baseline fitted on sentence pairs). Raises ValueError when pairs are given to a one-text baseline or the
        reverse."""
        return self.predict_proba_features(self.features.transform(texts, text_pairs))

    def save(self, path: Path) -> None:
        """Write the classifier to ``path`` as plain arrays (np.savez_compressed; the terms as UTF-8 bytes): no
        pickle."""

        def packed(terms: list[str]) -> np.ndarray:
            return np.frombuffer(TERM_SEPARATOR.join(terms).encode("utf-8"), dtype=np.uint8)

        np.savez_compressed(
            path,
            weights=self.weights,
            intercept=self.intercept,
            classes=np.asarray(self.classes),
            c=np.asarray(self.c),
            multi_label=np.asarray(self.multi_label),
            word_terms=packed(self.features.word_terms),
            char_terms=packed(self.features.char_terms),
            pairs=np.asarray(self.features.pairs),
        )

    @classmethod
    def load(cls, path: Path) -> NgramClassifier:
        """The classifier saved at ``path`` (read with allow_pickle=False)."""

        def unpacked(array: np.ndarray) -> list[str]:
            return array.tobytes().decode("utf-8").split(TERM_SEPARATOR) if array.size else []

        with np.load(path, allow_pickle=False) as arrays:
            pairs = bool(arrays["pairs"]) if "pairs" in arrays.files else False  # saved before pairs existed
            features = NgramFeatures(unpacked(arrays["word_terms"]), unpacked(arrays["char_terms"]), pairs)
            multi_label = bool(arrays["multi_label"]) if "multi_label" in arrays.files else False  # older files: no
            weights, intercept, classes = arrays["weights"], arrays["intercept"], int(arrays["classes"])
            return cls(features, weights, intercept, classes, float(arrays["c"]), multi_label)
