"""int8 on the CPU: the check train records, the choice every command makes from it, and one answer everywhere."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answers import calibrated
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.errors import ArtifactError, ConfigError
from {{ cookiecutter.package_name }}.model.artifact import (
    INT8_MODEL_FILE,
    INT8_RECORD,
    METRICS_FILE,
    load_for_inference,
    read_temperatures,
)
from {{ cookiecutter.package_name }}.model.inference import choose_precision, load_predictor
from {{ cookiecutter.package_name }}.model.int8 import Int8Model, compile_settings
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.serving.server import BackgroundServer, create_app
from {{ cookiecutter.package_name }}.tasks import task_named

from conftest import FAST, MULTI_LABEL, REGRESSION, all_scores, answer, artifact_with_int8_record, same_answers

REVIEWS = ["정말 재밌게 봤어요 강추", "시간 낭비 최악의 영화", "배우들 연기가 좋았다", "그냥 그랬음"]


def test_train_records_the_int8_check_on_the_validation_split(text_model):
    metrics = json.loads((text_model / METRICS_FILE).read_text(encoding="utf-8"))
    record = metrics[INT8_RECORD]
    if MULTI_LABEL:  # compared in micro F1; the paired decision counts (row, label) decisions
        assert record["fp32_score"] == metrics["validation"][record["metric"]]  # the fp32 pass train already made
        assert record["rows"] == record["examples"] * len(metrics["validation"]["label_names"])
        assert record["lost"] - record["won"] == round(record["drop"] * record["rows"])
        assert record["packed"] and record["rule"] and 0 <= record["agreement"] <= 1
        return
    if REGRESSION:  # the drop is in MSE, a share of the MSE of always answering the mean
        assert record["metric"] == "mse" and record["fp32_score"] == pytest.approx(metrics["validation"]["mse"])
        assert record["drop"] * metrics["validation"]["trivial"]["mse"] == pytest.approx(
            record["int8_score"] - record["fp32_score"], rel=1e-3
        )
        assert record["packed"] and record["rule"] and record["allowed"] == (record["drop"] <= record["max_drop"])
        return
    assert record["metric"] == "accuracy"  # single-label: compared in accuracy, one decision a row
    assert record["fp32_score"] == metrics["validation"]["accuracy"]  # the fp32 pass train already made
    assert set(record) >= {
        "fp32_score",
        "int8_score",
        "drop",
        "max_drop",
        "agreement",
        "allowed",
        "examples",
        "packed",
    }
    assert record["packed"]  # scratch:tiny is an ELECTRA
    assert record["examples"] > 0 and 0 <= record["agreement"] <= 1
    assert record["drop"] == pytest.approx(record["fp32_score"] - record["int8_score"])
    assert record["lost"] - record["won"] == round(record["drop"] * record["examples"])
    assert record["rule"] and record["lower_bound"] <= record["drop"] <= record["upper_bound"]
    if record["resolved"]:
        assert record["allowed"] == (record["upper_bound"] <= record["max_drop"])
    else:
        assert record["allowed"] == (record["lost"] - record["won"] <= record["allowed_rows"])


def test_auto_takes_int8_on_a_cpu_only_where_the_check_allowed_it(text_model, tmp_path):
    allowed = artifact_with_int8_record(text_model, tmp_path / "a", True)
    refused = artifact_with_int8_record(text_model, tmp_path / "r", False)
    unchecked = artifact_with_int8_record(text_model, tmp_path / "u", None)
    assert choose_precision(allowed, "auto", on_gpu=False) == ("int8", "")
    assert choose_precision(allowed, "auto", on_gpu=True) == ("fp32", "")
    precision, note = choose_precision(refused, "auto", on_gpu=False)
    assert precision == "fp32" and "int8 loses 10.00 points" in note and "more than the 0.50 allowed" in note
    assert choose_precision(unchecked, "auto", on_gpu=False)[0] == "fp32"
    with pytest.raises(ArtifactError, match="use --precision fp32"):
        choose_precision(refused, "int8", on_gpu=False)
    with pytest.raises(ConfigError, match="int8 runs on the CPU only"):
        choose_precision(allowed, "int8", on_gpu=True)
    # the handler in the container makes the same choice from the same record
    if not torch.cuda.is_available():
        assert handler.load(allowed, "auto").precision == "int8"
        assert handler.load(refused, "auto").precision == "fp32"
        assert handler.load(unchecked, "auto").precision == "fp32"
    with pytest.raises(ValueError, match="INFERENCE_PRECISION='int4'"):
        handler.load(allowed, "int4")


def test_an_explicit_int8_that_the_check_refused_is_one_clear_error(project, text_model, tmp_path, monkeypatch):
    refused = artifact_with_int8_record(text_model, tmp_path, False)
    monkeypatch.chdir(project.root)
    test_file = project.path(project.data.data_dir) / project.data.test_file
    for command in (["evaluate"], ["predict", "-o", str(tmp_path / "out.jsonl"), str(test_file)]):
        result = CliRunner().invoke(app, [*command, "--model-dir", str(refused), "--precision", "int8"])
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines()[-1].startswith("error: int8 loses 10.00 points")
        assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["evaluate", "--model-dir", str(refused), "--precision", "int4"])
    assert result.exit_code == 2 and "int4" in result.output


def test_train_writes_the_int8_model_and_an_unchecked_one_is_refused(text_model, tmp_path):
    assert (text_model / INT8_MODEL_FILE).is_file() and (text_model / INT8_MODEL_FILE).with_suffix(".bin").is_file()
    missing = artifact_with_int8_record(text_model, tmp_path, True)
    (missing / INT8_MODEL_FILE).unlink()
    assert choose_precision(missing, "auto", on_gpu=False)[0] == "fp32"
    with pytest.raises(ArtifactError, match=f"has no {INT8_MODEL_FILE}"):
        choose_precision(missing, "int8", on_gpu=False)
    if not torch.cuda.is_available():
        assert handler.load(missing, "auto").precision == "fp32"
    with pytest.raises(ValueError, match=f"{INT8_MODEL_FILE} is missing"):
        handler.load(missing, "int8")


@pytest.mark.slow
def test_a_run_without_a_validation_split_leaves_no_stale_int8_model(project, text_model):
    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.training.run import train

    config = load_config(project.source, {**FAST, "epochs": 1, "validation_ratio": 0})
    output_dir = config.path(config.train.output_dir)
    shutil.copytree(text_model, output_dir)  # an older model with its int8 files, where this run writes
    train(config)
    assert not (output_dir / INT8_MODEL_FILE).exists()
    assert INT8_RECORD not in json.loads((output_dir / METRICS_FILE).read_text(encoding="utf-8"))
    assert choose_precision(output_dir, "auto", on_gpu=False)[0] == "fp32"


def test_the_handler_and_the_package_run_int8_alike(text_model):
    served = handler.load(text_model, "int8")
    loaded = load_for_inference(text_model, torch.device("cpu"))
    network = Int8Model(text_model, loaded.model.config)
    assert served.network.compiled.get_property("INFERENCE_PRECISION_HINT") == network.compiled.get_property(
        "INFERENCE_PRECISION_HINT"
    )
    assert set(compile_settings()) == {
        "INFERENCE_PRECISION_HINT",
        "INFERENCE_NUM_THREADS",
        "NUM_STREAMS",
        "PERFORMANCE_HINT",
    }
    encoded = loaded.tokenizer(REVIEWS, padding=True, return_tensors="pt", return_token_type_ids=False)
    temperatures = read_temperatures(text_model, loaded.schema)  # served scores are calibrated
    ours = task_named(loaded.schema.task).scores(calibrated(network(**encoded).logits.numpy(), temperatures))
    theirs = np.array(all_scores(handler.predict_fn(REVIEWS, served))).reshape(ours.shape)
    np.testing.assert_allclose(theirs, ours, atol=1e-5)


def test_int8_scores_do_not_depend_on_the_batch(text_model, sample):
    """Activation scales are fixed at calibration (static int8), unlike torch's dynamic int8, and a packed text
    sees only its own tokens, whichever texts share its row."""
    served = handler.load(text_model, "int8")
    assert served.network.packed  # ELECTRA (scratch:tiny) packs
    texts = [record.text for record in sample["test"]][:40]
    together = handler.predict_fn(texts, served)
    alone = [handler.predict_fn([text], served)[0] for text in texts]
    np.testing.assert_allclose(all_scores(together), all_scores(alone), atol=1e-5)


def test_int8_agrees_with_fp32_on_the_sample(text_model, sample):
    texts = [record.text for record in sample["test"]]
    fp32 = load_predictor(text_model, "fp32", torch.device("cpu")).probabilities(texts)
    int8 = load_predictor(
        artifact_with_int8_record(text_model, text_model.parent / "agree", True), "int8"
    ).probabilities(texts)
    assert (fp32.argmax(axis=1) == int8.argmax(axis=1)).mean() >= 0.97
    assert np.abs(fp32 - int8).max() < 0.1


def test_the_local_server_serves_the_precision_it_chose(text_model, tmp_path):
    import requests

    allowed = artifact_with_int8_record(text_model, tmp_path, True)
    expected = handler.predict_fn(REVIEWS, handler.load(allowed, "int8"))
    for precision, answers in (
        ("int8", expected),
        ("fp32", handler.predict_fn(REVIEWS, handler.load(allowed, "fp32"))),
    ):
        app_ = create_app(allowed, precision=precision)
        assert app_.state.precision == precision
        with BackgroundServer(app_) as server:
            response = requests.post(f"{server.url}/invocations", json={"inputs": REVIEWS}, timeout=30)
        assert response.status_code == 200
        assert same_answers([answer(row) for row in response.json()], [answer(row) for row in answers])
        np.testing.assert_allclose(all_scores(response.json()), all_scores(answers), atol=1e-5)
