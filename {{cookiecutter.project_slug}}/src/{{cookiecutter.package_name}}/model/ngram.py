"""The baseline model: naive-Bayes-weighted logistic regression (NBSVM-style) on word 1-2 grams and character
1-5 grams seen at least twice in the training texts. Multi-label: one-vs-rest, one regression a label, each
label's own logistic probability.

It is saved as plain arrays (one NumPy .npz, loaded with allow_pickle=False), so loading an artifact can never
run code: the weights, and each vocabulary as its terms joined by newlines (no term holds one: words are \\w+
runs and the character analyzer turns every whitespace run into one space). The analyzers, the loading and the
scoring of texts are model/ngram_scorer.py's, which every serving path runs (NumPy alone); fitting is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..answers import MULTI_LABEL, SINGLE_LABEL
from ..tasks import task_named
from .ngram_scorer import CROSS_FEATURES, TERM_SEPARATOR, NgramScorer, char_ngrams, crossed_words, word_ngrams

MIN_COUNT = 2  # an n-gram seen once cannot generalise and would only add weights
SMOOTHING = 1.0  # the "alpha" of the naive-Bayes ratios


def vectorizers(vocabularies: tuple[list[str], list[str]] | None = None) -> list:
    """The two scikit-learn CountVectorizers (binary, float32) on ngram_scorer.py's analyzers: word 1-2 grams and
    character 1-5 grams, fitted afresh (min count MIN_COUNT) or, given ``vocabularies``, with those terms fixed."""
    from sklearn.feature_extraction.text import CountVectorizer

    common = {"lowercase": False, "binary": True, "dtype": np.float32}
    words, chars = {"analyzer": word_ngrams}, {"analyzer": char_ngrams}
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
        return hstack([*first, *second, *shared, overlap, crossed_matrix(texts, text_pairs)], format="csr")

    @property
    def terms(self) -> int:
        """How many word and character n-grams the fit kept (those seen at least twice)."""
        return len(self.word_terms) + len(self.char_terms)

    @property
    def size(self) -> int:
        """How many features a row holds: the n-grams (words and characters) for one text; for pairs three blocks of
        them and the two overlap ratios."""
        return 3 * self.terms + 2 + CROSS_FEATURES if self.pairs else self.terms


def crossed_matrix(texts: Sequence[str], text_pairs: Sequence[str]):
    """The sparse (pairs, CROSS_FEATURES) binary matrix of each pair's crossed words (ngram_scorer.py's
    crossed_words), hashed with scikit-learn's FeatureHasher (nothing to fit or save; ngram_scorer.hashed_column
    gives the same columns)."""
    from sklearn.feature_extraction import FeatureHasher

    crossed = (crossed_words(text, pair) for text, pair in zip(texts, text_pairs, strict=True))
    hasher = FeatureHasher(CROSS_FEATURES, input_type="string", alternate_sign=False, dtype=np.float32)
    matrix = hasher.transform(crossed).tocsr()
    matrix.data[:] = 1.0  # presence, as the n-gram blocks
    return matrix


def log_count_ratio(x, target: np.ndarray) -> np.ndarray:
    """Naive-Bayes log-count ratios of one boolean ``target``: the log of how much more often each feature occurs
    in its rows than outside them (float32, one a feature)."""
    inside = np.asarray(x[target].sum(axis=0)).ravel() + SMOOTHING
    outside = np.asarray(x[~target].sum(axis=0)).ravel() + SMOOTHING
    return (np.log(inside / inside.sum()) - np.log(outside / outside.sum())).astype(np.float32)


@dataclass
class NgramClassifier:
    """The n-gram model of any task: one linear model a target the task defines (Task.baseline_targets), over
    NgramFeatures scaled by naive-Bayes log-count ratios where the targets are boolean (NBSVM, Wang & Manning
    2012: logistic regression a class, one for two classes; a label each for multi-label), read as the task's
    scores (answers.py's Head.linear_scores)."""

    features: NgramFeatures
    weights: np.ndarray  # (targets, features): the linear models' weights times the naive-Bayes ratios
    intercept: np.ndarray  # (targets,)
    classes: int
    c: float
    task: str = SINGLE_LABEL

    @property
    def multi_label(self) -> bool:
        """Whether it scores each label on its own (a multi-label task)."""
        return self.task == MULTI_LABEL

    @classmethod
    def fit(cls, features: NgramFeatures, x, y, classes: int, c: float, task: str | None = None) -> NgramClassifier:
        """One linear model a target of ``task`` (Task.baseline_estimator at inverse regularisation ``c``) on the
        features, scaled by their ratios for boolean targets; ``y``: the task's targets (class ids, a multi-hot
        matrix (rows, classes), scores). ``task`` None: multi-label for a 2-D ``y``, else single-label. A target
        that never varies gets a constant score (Task.baseline_constant)."""
        y = np.asarray(y)
        task = task or (MULTI_LABEL if y.ndim == 2 else SINGLE_LABEL)
        rules = task_named(task)
        weights, intercept = [], []
        for target in rules.baseline_targets(y, classes):
            boolean = target.dtype == bool
            ratio = log_count_ratio(x, target) if boolean else np.ones(x.shape[1], dtype=np.float32)
            constant = rules.baseline_constant(target)
            if constant is not None:  # nothing to separate: a constant, confident score
                weights.append(np.zeros_like(ratio))
                intercept.append(constant)
                continue
            model = rules.baseline_estimator(c)
            model.fit(x.multiply(ratio).tocsr(), target.astype(int) if boolean else target)
            weights.append(np.ravel(model.coef_) * ratio)
            intercept.append(float(np.ravel(model.intercept_)[0]))
        stacked, bias = np.vstack(weights).astype(np.float32), np.asarray(intercept, np.float32)
        return cls(features, stacked, bias, classes, c, task)

    def scaled(self, temperatures: Sequence[float]) -> NgramClassifier:
        """The same model with each target's linear output divided by its temperature (one temperature for every
        target when one is given): temperature scaling of the scores Head.linear_scores reads, folded into the
        weights. The temperatures are evaluation/calibration.py's, fitted on Head.logits_of the model's scores:
        dividing those logits by T gives the scores of the linear outputs divided by T (a softmax or sigmoid of
        them). Every serving path then serves the calibrated scores with no file of its own. Returns a new
        classifier."""
        divisor = np.broadcast_to(np.asarray(temperatures, dtype=np.float32), self.intercept.shape)
        return replace(self, weights=self.weights / divisor[:, None], intercept=self.intercept / divisor)

    def logits_features(self, x) -> np.ndarray:
        """Logits (rows, outputs), float64, whose task scores (Head.scores) are predict_proba_features': the linear
        outputs; for two classes (one logistic output z) the pair [0, z], whose softmax is [1 - sigmoid(z),
        sigmoid(z)]. What the n-gram model's temperatures are fitted on: dividing them by T is what ``scaled``
        serves."""
        raw = np.asarray(x @ self.weights.T, dtype=np.float64) + self.intercept
        if self.task == SINGLE_LABEL and raw.shape[1] == 1:
            return np.column_stack([np.zeros(len(raw)), raw[:, 0]])
        return raw

    def predict_proba_features(self, x) -> np.ndarray:
        """The task's scores (rows, outputs) of a feature matrix (Head.linear_scores: class probabilities, each
        label's own, or a score)."""
        return task_named(self.task).head.linear_scores(np.asarray(x @ self.weights.T) + self.intercept)

    @cached_property
    def scorer(self) -> NgramScorer:
        """The same model as ngram_scorer.py's NgramScorer: what scores texts here and on every serving path."""
        features = self.features
        return NgramScorer(
            self.weights,
            self.intercept,
            features.word_terms,
            features.char_terms,
            features.pairs,
            self.task,
            self.classes,
            self.c,
        )

    def predict_proba(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> np.ndarray:
        """The task's scores (len(texts), outputs) of ``texts`` (with their second texts ``text_pairs`` for a
        model fitted on sentence pairs), computed as the serving paths compute them (NgramScorer). Raises ValueError
        when pairs are given to a one-text model or the reverse."""
        raw = self.scorer.raw(list(texts), None if text_pairs is None else list(text_pairs))
        return task_named(self.task).head.linear_scores(raw)

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
            multi_label=np.asarray(self.multi_label),  # what files from before tasks had names say
            task=np.frombuffer(self.task.encode("utf-8"), dtype=np.uint8),
            word_terms=packed(self.features.word_terms),
            char_terms=packed(self.features.char_terms),
            pairs=np.asarray(self.features.pairs),
        )

    @classmethod
    def load(cls, path: Path) -> NgramClassifier:
        """The classifier saved at ``path`` (NgramScorer.load: allow_pickle=False). Raises ValueError naming the file
        when it cannot be read or is not one."""
        scorer = NgramScorer.load(path)
        features = NgramFeatures(scorer.word_terms, scorer.char_terms, scorer.pairs)
        return cls(features, scorer.weights, scorer.intercept, scorer.classes, scorer.c, scorer.task)
