"""The baseline model: naive-Bayes-weighted logistic regression (NBSVM-style) on word 1-2 grams and character
1-5 grams seen at least twice in the training texts. Multi-label: one-vs-rest, one regression a label, each
label's own logistic probability.

It is saved as plain arrays (one NumPy .npz, loaded with allow_pickle=False), so loading an artifact can never
run code: the weights, and each vocabulary as its terms joined by newlines (no term holds one: words are \\w+
runs and the character analyzer turns every whitespace run into one space).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_COUNT = 2  # an n-gram seen once cannot generalise and would only add weights
SMOOTHING = 1.0  # the "alpha" of the naive-Bayes ratios
TERM_SEPARATOR = "\n"


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
    """Binary presence of each known word 1-2 gram and character 1-5 gram: one sparse row a text."""

    word_terms: list[str]
    char_terms: list[str]

    @classmethod
    def fit(cls, texts: Sequence[str]) -> tuple[NgramFeatures, object]:
        """The vocabularies of ``texts``, and their feature matrix."""
        from scipy.sparse import hstack

        words, chars = vectorizers()
        parts = []
        for vectorizer in (words, chars):
            try:
                parts.append(vectorizer.fit_transform(texts))
            except ValueError:  # no n-gram of this kind occurs twice (a tiny file): keep every one seen
                vectorizer.set_params(min_df=1)
                parts.append(vectorizer.fit_transform(texts))
        matrix = hstack(parts, format="csr")
        return cls(list(words.get_feature_names_out()), list(chars.get_feature_names_out())), matrix

    def transform(self, texts: Sequence[str]):
        """The sparse (texts, features) CSR matrix of ``texts``: word n-grams, then character n-grams."""
        from scipy.sparse import hstack

        words, chars = vectorizers((self.word_terms, self.char_terms))
        return hstack([words.transform(texts), chars.transform(texts)], format="csr")

    @property
    def size(self) -> int:
        """How many n-grams the features hold (words and characters)."""
        return len(self.word_terms) + len(self.char_terms)


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

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (len(texts), classes) of ``texts``."""
        return self.predict_proba_features(self.features.transform(texts))

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
        )

    @classmethod
    def load(cls, path: Path) -> NgramClassifier:
        """The classifier saved at ``path`` (read with allow_pickle=False)."""

        def unpacked(array: np.ndarray) -> list[str]:
            return array.tobytes().decode("utf-8").split(TERM_SEPARATOR) if array.size else []

        with np.load(path, allow_pickle=False) as arrays:
            features = NgramFeatures(unpacked(arrays["word_terms"]), unpacked(arrays["char_terms"]))
            multi_label = bool(arrays["multi_label"]) if "multi_label" in arrays.files else False  # older files: no
            weights, intercept, classes = arrays["weights"], arrays["intercept"], int(arrays["classes"])
            return cls(features, weights, intercept, classes, float(arrays["c"]), multi_label)
