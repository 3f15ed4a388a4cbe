"""How a task's model outputs become answers, on every path that serves them: the task names, the model config's
``problem_type`` of each, its scores (softmax, a sigmoid a label, or the raw output), its decision and the answer's
shape in JSON and in CSV. Defined here once.

Standard library at import (numpy is imported where scores are computed) and importing nothing of ours but the
artifact's file names, so ``deploy`` ships it beside the handler as ``code/answers.py`` (the Hugging Face inference
toolkit puts ``code/`` on ``sys.path``); the package's tasks (``tasks/``), the handler, ``predict`` and the client
import the same heads. A task the package adds registers its head here (``register_head``) and is then served.
"""

from __future__ import annotations

import json
from pathlib import Path

try:  # in the package
    from .artifact_files import (
        CALIBRATION_FILE,
        ENSEMBLE_FILE,
        LABELS_FILE,
        MODEL_CONFIG_FILE,
        NGRAM_WEIGHTS_FILE,
        THRESHOLDS_FILE,
    )
except ImportError:  # code/answers.py in the inference container: artifact_files.py is its sibling in code/
    from artifact_files import (  # type: ignore[no-redef]
        CALIBRATION_FILE,
        ENSEMBLE_FILE,
        LABELS_FILE,
        MODEL_CONFIG_FILE,
        NGRAM_WEIGHTS_FILE,
        THRESHOLDS_FILE,
    )

SINGLE_LABEL, MULTI_LABEL, REGRESSION = "single_label", "multi_label", "regression"  # labels.json's task
UNSURE = "unsure"  # the label of an answer below calibration.json's min_confidence (abstention)
DEFAULT_THRESHOLD = 0.5  # a label's decision threshold until one is tuned on the validation split
LABEL_JOINER = "|"  # multi-label answers in CSV and tables: between the names of one text's labels
CSV_HEADER = ("label", "score", "error")  # the answer to a CSV body's header row
TRANSFORMER, NGRAM, ENSEMBLE = "transformer", "ngram", "ensemble"  # what train ships (ensemble.json's shipped)
MAX_LABELS = 200  # label names a schema may have (cookiecutter.json's _max_labels: the hook's limit)


class Head:
    """One task's serving rules. ``name``: labels.json's task; ``problem_type``: transformers'
    ``PretrainedConfig.problem_type`` (the loss it picks); ``thresholded``: decided at per-label thresholds
    (thresholds.json); ``abstains``: answers UNSURE below calibration.json's min_confidence (Head.abstain)."""

    name = ""
    problem_type = ""
    thresholded = False
    abstains = False

    def output_size(self, names: list[str]) -> int:
        """The model's outputs a text (its ``num_labels``): one a label name."""
        return len(names)

    def names_problem(self, names: list[str]) -> str | None:
        """Why ``names`` cannot be this task's label names (None: they can): classes need at least two and at most
        MAX_LABELS."""
        if len(names) > MAX_LABELS:
            return f"{len(names)} labels; this template supports at most {MAX_LABELS}"
        return None if len(names) >= 2 else f"a label schema needs at least two labels, got {list(names)}"

    def scores(self, logits):
        """Scores of ``logits`` (numpy, shape ``(rows, outputs)``) as float64, same shape."""
        raise NotImplementedError

    def linear_scores(self, raw):
        """Scores of the n-gram model's linear outputs (numpy, shape ``(rows, targets)``; model/ngram_scorer.py), as
        of logits: float64, (rows, outputs)."""
        return self.scores(raw)

    def logits_of(self, scores):
        """Logits whose ``scores`` are these (numpy (rows, outputs)): what the logit-based checks (int8's) take for
        mixed scores. The outputs as they are by default."""
        import numpy as np

        return np.asarray(scores, dtype=np.float64)

    def temperature_count(self, outputs: int) -> int:
        """How many temperatures calibrate this task's scores (calibration.json; ``outputs``: the model's outputs
        a text): none by default, the scores served as they are."""
        return 0

    def abstain(self, answer: dict, min_confidence: float) -> dict:
        """``answer`` as served when its confidence is below ``min_confidence``: as it is by default (the task
        never abstains)."""
        return answer

    def answer(self, scores: list[float], names: list[str], thresholds: list[float] | None = None) -> dict:
        """One text's answer from its ``scores`` (one a model output)."""
        raise NotImplementedError

    def answers_with(self, answer: dict) -> bool:
        """Whether ``answer`` has this task's shape (``output_fn`` writes a CSV row by it)."""
        return "label" in answer

    def csv_row(self, answer: dict) -> list[str]:
        """``answer`` as a CSV row under CSV_HEADER (label, score; the error column stays empty)."""
        return [answer["label"], f"{answer['score']:.6f}"]

    def table_cells(self, answer: dict) -> tuple[str, str]:
        """``answer``'s label and score cells in predict's output tables: its CSV row's by default."""
        label, score = self.csv_row(answer)
        return label, score

    def truth_fields(self, label, names: list[str]) -> dict:
        """A labelled row's true answer beside the prediction in predict's JSON Lines (``label``: as kept)."""
        return {"true_label": names[label]}

    def value(self, answer: dict):
        """The answer itself, as predict scores it: the label's name."""
        return answer["label"]

    def kept_value(self, row: dict):
        """``value`` of a row predict wrote before (a JSON Lines row, or a table's cells), when it resumes."""
        return row.get("label", "")


class SingleLabelHead(Head):
    """Exactly one class a text: a softmax over the classes, the most probable one answered."""

    name, problem_type, abstains = SINGLE_LABEL, "single_label_classification", True

    def scores(self, logits):
        """Row-wise softmax of ``logits`` (rows, classes), max-shifted for stability, float64; same shape."""
        import numpy as np

        shifted = np.asarray(logits, dtype=np.float64)
        exponent = np.exp(shifted - shifted.max(axis=1, keepdims=True))
        return exponent / exponent.sum(axis=1, keepdims=True)

    def linear_scores(self, raw):
        """Class probabilities of the n-gram model's outputs: for two classes its one logistic score is P(class 1)
        (one regression, not one a class); a softmax of its one-vs-rest scores otherwise."""
        import numpy as np

        raw = np.asarray(raw, dtype=np.float64)
        if raw.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-np.clip(raw[:, 0], -500, 500)))
            return np.column_stack([1 - positive, positive])
        return self.scores(raw)

    def logits_of(self, scores):
        """The log-probabilities (probabilities clipped at 1e-12): their softmax is ``scores`` again."""
        import numpy as np

        return np.log(np.clip(np.asarray(scores, dtype=np.float64), 1e-12, 1.0))

    def temperature_count(self, outputs: int) -> int:
        """One temperature, shared by every class (it keeps the most probable class)."""
        return 1

    def abstain(self, answer: dict, min_confidence: float) -> dict:
        """``answer`` with the label UNSURE when its probability (``score``) is below ``min_confidence``, its score
        and every class's kept; as it is otherwise."""
        return {**answer, "label": UNSURE} if answer["score"] < min_confidence else answer

    def answer(self, scores: list[float], names: list[str], thresholds: list[float] | None = None) -> dict:
        """``{"label": the most probable name, "score": its probability, "scores": every name's}``."""
        best = max(range(len(scores)), key=scores.__getitem__)
        return {"label": names[best], "score": scores[best], "scores": dict(zip(names, scores, strict=True))}


class MultiLabelHead(Head):
    """Any number of labels a text: a sigmoid a label, each decided at its own threshold."""

    name, problem_type, thresholded = MULTI_LABEL, "multi_label_classification", True

    def scores(self, logits):
        """Element-wise logistic function of ``logits`` (each label's own probability), float64; same shape."""
        import numpy as np

        return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -500, 500)))

    def logits_of(self, scores):
        """Each probability's log-odds (clipped 1e-12 from 0 and 1): their logistic function is ``scores`` again."""
        import numpy as np

        p = np.clip(np.asarray(scores, dtype=np.float64), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def temperature_count(self, outputs: int) -> int:
        """One temperature a label: each label's probability is calibrated on its own."""
        return outputs

    def answer(self, scores: list[float], names: list[str], thresholds: list[float] | None = None) -> dict:
        """``{"labels": the names whose probability reaches their threshold (none may), "scores": every name's}``;
        DEFAULT_THRESHOLD for each label without ``thresholds``."""
        limits = thresholds or [DEFAULT_THRESHOLD] * len(names)
        chosen = [name for name, p, t in zip(names, scores, limits, strict=True) if p >= t]
        return {"labels": chosen, "scores": dict(zip(names, scores, strict=True))}

    def answers_with(self, answer: dict) -> bool:
        """Whether ``answer`` names its labels (``labels``)."""
        return "labels" in answer

    def csv_row(self, answer: dict) -> list[str]:
        """The names joined by LABEL_JOINER, no single score."""
        return [LABEL_JOINER.join(answer["labels"]), ""]

    def table_cells(self, answer: dict) -> tuple[str, str]:
        """The names joined by LABEL_JOINER (empty: no label), and their probabilities joined likewise."""
        scores = LABEL_JOINER.join(f"{answer['scores'][name]:.6f}" for name in answer["labels"])
        return LABEL_JOINER.join(answer["labels"]), scores

    def truth_fields(self, label, names: list[str]) -> dict:
        """Every true label's name (``label``: a tuple of class ids)."""
        return {"true_labels": [names[i] for i in label]}

    def value(self, answer: dict) -> tuple[str, ...]:
        """The names given (possibly none), as a tuple."""
        return tuple(answer["labels"])

    def kept_value(self, row: dict):
        """A JSON Lines row's ``labels`` as a tuple, or a table's label cell (the names joined by LABEL_JOINER)."""
        return tuple(row["labels"]) if isinstance(row.get("labels"), list) else row.get("label", "")


class RegressionHead(Head):
    """A number a text (a score: similarity, a rating): the model's one output, answered as it is."""

    name, problem_type = REGRESSION, "regression"

    def output_size(self, names: list[str]) -> int:
        """One output: the score."""
        return 1

    def names_problem(self, names: list[str]) -> str | None:
        """A score has one name: what it measures (e.g. similarity)."""
        if len(names) == 1:
            return None
        return f"a regression task has one label name, what its score measures (e.g. similarity), got {list(names)}"

    def scores(self, logits):
        """The outputs as they are, float64, shape (rows, 1)."""
        import numpy as np

        return np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)

    def answer(self, scores: list[float], names: list[str], thresholds: list[float] | None = None) -> dict:
        """``{"score": the predicted number}``."""
        return {"score": float(scores[0])}

    def answers_with(self, answer: dict) -> bool:
        """Whether ``answer`` holds a score and no label."""
        return "score" in answer and "label" not in answer and "labels" not in answer

    def csv_row(self, answer: dict) -> list[str]:
        """An empty label cell and the score."""
        return ["", f"{answer['score']:.6f}"]

    def truth_fields(self, label, names: list[str]) -> dict:
        """The true score (``true_score``)."""
        return {"true_score": label}

    def value(self, answer: dict) -> float:
        """The predicted score."""
        return float(answer["score"])

    def kept_value(self, row: dict):
        """The score of a JSON Lines row or a table's score cell (None when it is not a number)."""
        try:
            return float(row["score"])
        except (KeyError, TypeError, ValueError):
            return None


HEADS: dict[str, Head] = {}
"""Task name -> its head, every task this project serves."""


def register_head(head: Head) -> Head:
    """Add ``head`` under its name (replacing one of that name: a test's toy task); returns it."""
    HEADS[head.name] = head
    return head


for _head in (SingleLabelHead(), MultiLabelHead(), RegressionHead()):
    register_head(_head)


def head_for(task: str) -> Head:
    """The head of task ``task``. Raises ValueError naming the known tasks for an unknown one."""
    if task not in HEADS:
        raise ValueError(f"task {task!r} is unknown; use one of {', '.join(HEADS)}")
    return HEADS[task]


def head_of_problem_type(problem_type: str | None) -> Head:
    """The head of the task whose model config names ``problem_type``: the first registered (single-label for None
    or a type no task names: transformers' default)."""
    found = [head for head in HEADS.values() if head.problem_type == problem_type]
    return found[0] if found else HEADS[SINGLE_LABEL]


def head_of(answer: dict) -> Head:
    """The head whose answers have ``answer``'s shape (Head.answers_with), the latest registered first: a task
    registered later may answer in a shape an earlier one's rule would take too. Raises ValueError when none does."""
    for head in reversed(HEADS.values()):
        if head.answers_with(answer):
            return head
    raise ValueError(f"no task answers with the keys {sorted(answer)}")


def read_thresholds(model_dir: str | Path, names: list[str], head: Head) -> list[float] | None:
    """A thresholded task's decision thresholds in class-id order, from ``model_dir``'s thresholds.json
    (DEFAULT_THRESHOLD for a label it does not name, or for every label without the file); None for other tasks.
    Raises ValueError naming the file when it is not a thresholds file."""
    if not head.thresholded:
        return None
    path = Path(model_dir) / THRESHOLDS_FILE
    if not path.is_file():
        return [DEFAULT_THRESHOLD] * len(names)
    try:
        by_name = json.loads(path.read_text(encoding="utf-8"))["thresholds"]
        return [float(by_name.get(name, DEFAULT_THRESHOLD)) for name in names]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a thresholds file ({error}); train again") from None


def thresholds_content(names: list[str], thresholds: list[float]) -> dict:
    """What thresholds.json holds: each label's decision threshold by name."""
    by_name = {name: float(t) for name, t in zip(names, thresholds, strict=True)}
    return {"thresholds": by_name}


def read_temperatures(model_dir: str | Path, outputs: int, head: Head) -> list[float] | None:
    """The temperatures that calibrate ``head``'s scores, from ``model_dir``'s calibration.json (``outputs``: the
    model's outputs a text); None for an artifact without the file (written before calibration: its scores are served
    as they always were) or a task that is not calibrated. Raises ValueError naming the file when it does not hold
    the task's count of positive, finite temperatures."""
    count = head.temperature_count(outputs)
    path = Path(model_dir) / CALIBRATION_FILE
    if not count or not path.is_file():
        return None
    try:
        values = [float(t) for t in json.loads(path.read_text(encoding="utf-8"))["temperatures"]]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a calibration file ({error}); train again") from None
    if len(values) != count or not all(0 < t < float("inf") for t in values):
        raise ValueError(f"{path} holds {values}, not {count} positive temperature(s); train again")
    return values


def calibrated(logits, temperatures: list[float] | None):
    """``logits`` (rows, outputs) divided by ``temperatures`` (temperature scaling: one shared by every output, or
    one an output), float64; ``logits`` as they are without temperatures. Scores of the result are the calibrated
    scores."""
    if not temperatures:
        return logits
    import numpy as np

    return np.asarray(logits, dtype=np.float64) / np.asarray(temperatures, dtype=np.float64)


def read_min_confidence(model_dir: str | Path) -> float:
    """The calibrated probability below which answers are UNSURE (Head.abstain), from ``model_dir``'s
    calibration.json; 0.0 (never) without the file or the key. Raises ValueError naming the file when it is not a
    number from 0 to 1."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return 0.0
    try:
        value = float(json.loads(path.read_text(encoding="utf-8")).get("min_confidence", 0.0))
    except (ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a calibration file ({error}); train again") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{path}: min_confidence {value} is not a probability (0 to 1)")
    return value


def calibration_content(temperatures: list[float], min_confidence: float = 0.0) -> dict:
    """What calibration.json holds: the temperatures (one shared by every class, or one a label in class-id order),
    fitted on the validation split, and the calibrated probability below which answers are UNSURE (0.0: never)."""
    content = {"method": "temperature scaling", "temperatures": [float(t) for t in temperatures]}
    return content | {"min_confidence": float(min_confidence)}


def read_transformer_weight(model_dir: str | Path) -> float:
    """The transformer's weight in the served scores (``weight * transformer + (1 - weight) * n-gram``, mixed):
    1.0 for a transformer alone (no n-gram model, or no ensemble.json), 0.0 for an n-gram model alone (no
    transformer config), else ensemble.json's ``transformer_weight``. Raises ValueError naming the file when it is
    not a number from 0 to 1, disagrees with its ``shipped``, or names an n-gram model whose weights are missing."""
    model_dir = Path(model_dir)
    if not (model_dir / NGRAM_WEIGHTS_FILE).is_file():
        if (model_dir / ENSEMBLE_FILE).is_file():  # train shipped the n-gram model, alone or mixed: never drop it
            raise ValueError(f"{model_dir / ENSEMBLE_FILE} names an n-gram model, but {NGRAM_WEIGHTS_FILE} is missing")
        return 1.0
    if not (model_dir / MODEL_CONFIG_FILE).is_file():
        return 0.0
    path = model_dir / ENSEMBLE_FILE
    if not path.is_file():
        return 1.0
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        value = float(content["transformer_weight"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not an ensemble file ({error}); train again") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{path}: transformer_weight {value} is not a weight from 0 to 1")
    shipped = shipped_name(value)
    if content.get("shipped", shipped) != shipped:
        raise ValueError(f"{path}: transformer_weight {value} is not what shipped {content['shipped']!r} means")
    return value


def shipped_name(weight: float) -> str:
    """What ensemble.json's ``shipped`` says for the transformer's ``weight``: transformer (1), ngram (0) or
    ensemble."""
    return TRANSFORMER if weight == 1 else NGRAM if weight == 0 else ENSEMBLE


def mixed(transformer, ngram, weight: float):
    """The served scores: ``weight * transformer + (1 - weight) * ngram`` (each (rows, outputs) scores of the
    task: probabilities, or regression scores), float64; either alone when the other is None."""
    import numpy as np

    if ngram is None:
        return np.asarray(transformer, dtype=np.float64)
    if transformer is None:
        return np.asarray(ngram, dtype=np.float64)
    return weight * np.asarray(transformer, dtype=np.float64) + (1.0 - weight) * np.asarray(ngram, dtype=np.float64)


def outputs_problem(
    model_dir: str | Path, names: list[str], head: Head, num_labels: int | None, ngram_classes: int | None
) -> str | None:
    """Why labels.json's ``names`` do not fit the model's outputs (the transformer's ``num_labels``, the n-gram
    model's ``ngram_classes``; None for a part the artifact does not serve), or None: an answer would pair names
    and scores wrongly."""
    found = [] if num_labels is None else [(num_labels, head.output_size(names), "the transformer's outputs")]
    if ngram_classes is not None:
        found.append((ngram_classes, len(names), f"{NGRAM_WEIGHTS_FILE}'s classes"))
    for has, needs, what in found:
        if has != needs:
            return (
                f"{Path(model_dir) / LABELS_FILE} names {len(names)} label(s), which do not fit {what} ({has}); "
                f"keep the {LABELS_FILE} train wrote beside the model"
            )
    return None
