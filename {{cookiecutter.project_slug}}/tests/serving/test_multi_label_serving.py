"""Multi-label models end to end: the handler's answers (labels over their thresholds, every label's score), one
output line per input line, the thresholds saved in the artifact and used by every prediction path, and, in a
multi-label project, a trained model that beats the trivial answer on rows it never saw.

The handler tests build a small untrained multi-label artifact of their own: they run in every project."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.artifact_files import THRESHOLDS_FILE
from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.metric_registry import MICRO_F1
from {{ cookiecutter.package_name }}.model.artifact import read_thresholds, save_artifact
from {{ cookiecutter.package_name }}.model.inference import load_predictor
from {{ cookiecutter.package_name }}.model.sources import build_scratch
from {{ cookiecutter.package_name }}.serving import handler

from conftest import PROJECT_ROOT

SCHEMA = LabelSchema(("욕설", "여성", "남성"), "name", "multi_label")
TEXTS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"] * 3
PROJECT_SCHEMA = LabelSchema.load(PROJECT_ROOT / "labels.json")


def write_thresholds(model_dir, value: float, schema: LabelSchema = SCHEMA) -> None:
    """Set every label's threshold in ``model_dir``'s thresholds.json to ``value``."""
    by_name = {name: value for name in schema.names}
    (model_dir / THRESHOLDS_FILE).write_text(json.dumps({"thresholds": by_name}), encoding="utf-8")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """An untrained scratch:tiny multi-label classifier saved as train saves one, thresholds 0.4, 0.5, 0.6."""
    torch.manual_seed(0)
    tokenizer, model = build_scratch("scratch:tiny", TEXTS * 5, SCHEMA, 32)
    assert model.config.problem_type == "multi_label_classification"
    folder = tmp_path_factory.mktemp("multi") / "model"
    data_settings = {"text_column": "text", "normalize": "nfc"}
    config_used = {"data": data_settings}
    save_artifact(folder, model, tokenizer, SCHEMA, {}, config_used, [], thresholds=[0.4, 0.5, 0.6])
    return folder


def test_the_artifact_keeps_its_thresholds_and_the_handler_reads_them(artifact):
    assert json.loads((artifact / THRESHOLDS_FILE).read_text(encoding="utf-8")) == {
        "thresholds": {"욕설": 0.4, "여성": 0.5, "남성": 0.6}
    }
    assert read_thresholds(artifact, SCHEMA) == [0.4, 0.5, 0.6]
    assert handler.load(artifact, "fp32").thresholds == [0.4, 0.5, 0.6]


def test_the_handler_answers_the_labels_over_their_thresholds_and_every_score(artifact):
    loaded = handler.load(artifact, "fp32")
    answers = handler.predict_fn(TEXTS, loaded)
    assert len(answers) == len(TEXTS)
    for answer in answers:
        assert set(answer) == {"labels", "scores"} and list(answer["scores"]) == list(SCHEMA.names)
        assert all(0 < p < 1 for p in answer["scores"].values())  # sigmoids: they need not sum to 1
        chosen = [n for n, t in zip(SCHEMA.names, [0.4, 0.5, 0.6], strict=True) if answer["scores"][n] >= t]
        assert answer["labels"] == chosen
    predictor = load_predictor(artifact, "fp32", torch.device("cpu"))  # evaluate's and predict's path agrees
    probabilities = predictor.probabilities(TEXTS)
    assert np.allclose(probabilities, [[a["scores"][n] for n in SCHEMA.names] for a in answers], atol=1e-5)
    assert predictor.answers(probabilities) == [
        tuple(SCHEMA.names.index(n) for n in answer["labels"]) for answer in answers
    ]


def test_thresholds_decide_every_label_or_none(artifact, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    write_thresholds(copy, 0.0)
    assert all(a["labels"] == list(SCHEMA.names) for a in handler.predict_fn(TEXTS, handler.load(copy, "fp32")))
    write_thresholds(copy, 1.01)
    nothing = handler.predict_fn(TEXTS, handler.load(copy, "fp32"))
    assert all(a["labels"] == [] for a in nothing)  # a text may have no label
    (copy / THRESHOLDS_FILE).unlink()
    assert handler.load(copy, "fp32").thresholds == [0.5, 0.5, 0.5]  # without the file: 0.5 each


def test_one_output_line_per_input_line_in_json_lines_and_csv(artifact):
    loaded = handler.load(artifact, "fp32")
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in TEXTS[:3]) + "\n"
    answers = handler.predict_fn(handler.input_fn(body.encode("utf-8"), "application/jsonlines"), loaded)
    lines = handler.output_fn(answers, "application/jsonlines").splitlines()
    assert len(lines) == 4 and "error" in json.loads(lines[3])
    assert [json.loads(line)["labels"] for line in lines[:3]] == [a["labels"] for a in answers[:3]]
    rows = handler.output_fn(answers, "text/csv").splitlines()
    assert len(rows) == 4
    assert [row.split(",")[0] for row in rows[:3]] == ["|".join(a["labels"]) for a in answers[:3]]


@pytest.mark.skipif(not PROJECT_SCHEMA.multi_label, reason=f"this project's task is {PROJECT_SCHEMA.task}")
def test_the_trained_model_beats_the_trivial_answer_on_rows_it_never_saw(trained_model):
    """train scored the test file (rows it never trained on) at the thresholds it tuned on the validation split."""
    metrics = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    assert test[MICRO_F1] > 0.3  # predicting no label scores 0
    assert test[MICRO_F1] > test["trivial"]["f1"] or test["trivial"]["f1"] == 0.0
    assert test["predicted_without_label"] < test["num_examples"]
    thresholds = read_thresholds(trained_model, PROJECT_SCHEMA)
    assert len(thresholds) == PROJECT_SCHEMA.num_labels and all(0 < t < 1 for t in thresholds)
    assert metrics["int8"]["metric"] == MICRO_F1


@pytest.mark.skipif(not PROJECT_SCHEMA.multi_label, reason=f"this project's task is {PROJECT_SCHEMA.task}")
def test_evaluate_decides_at_the_artifacts_thresholds(trained_model, project, tmp_path, monkeypatch):
    from {{ cookiecutter.package_name }}.evaluation.evaluate import evaluate_model

    monkeypatch.chdir(project.root)
    copy = tmp_path / "model"
    shutil.copytree(trained_model, copy)
    test_file = project.path(project.data.data_dir) / project.data.test_file
    first = evaluate_model(project, copy, test_file, out_dir=tmp_path / "a", precision="fp32")
    trained = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))["test"]
    assert first[MICRO_F1] == pytest.approx(trained[MICRO_F1], abs=0.01)  # train scored the same file
    write_thresholds(copy, 1.01, PROJECT_SCHEMA)
    none = evaluate_model(project, copy, test_file, out_dir=tmp_path / "b", precision="fp32")
    assert none["predicted_without_label"] == none["num_examples"] and none[MICRO_F1] == 0.0
    assert (tmp_path / "b" / "label_f1.png").is_file() and (tmp_path / "b" / "errors.tsv").is_file()


def test_predict_writes_multi_label_answers_in_tables_and_json_lines():
    from {{ cookiecutter.package_name }}.data.report import Record
    from {{ cookiecutter.package_name }}.serving.client import answered_label, kept_answer
    from {{ cookiecutter.package_name }}.serving.output import output_row

    record = Record("욕하지 마", (0, 1), 7, "r7")
    scores = {"욕설": 0.9, "여성": 0.2, "남성": 0.55}
    prediction = {"labels": ["욕설", "남성"], "scores": scores}
    row = output_row(record, prediction, "", SCHEMA.names, table=True)
    assert row == {"line": 7, "id": "r7", "label": "욕설|남성", "score": "0.900000|0.550000", "text": "욕하지 마"}
    assert answered_label(kept_answer(row), SCHEMA) == (0, 2)  # a resumed table row: the joined names split again
    empty = output_row(record, {"labels": [], "scores": prediction["scores"]}, "", SCHEMA.names, table=True)
    assert empty["label"] == "" and answered_label(kept_answer(empty), SCHEMA) == ()
    line = output_row(record, prediction, "", SCHEMA.names, table=False)
    assert line["labels"] == ["욕설", "남성"] and line["true_labels"] == ["욕설", "여성"]
    assert answered_label(kept_answer(line), SCHEMA) == (0, 2) and answered_label(("없음",), SCHEMA) is None
