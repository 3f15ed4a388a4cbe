"""Training: both loops on real reviews, the artifact, resume after a kill, torchrun, SageMaker contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from {{ cookiecutter.package_name }}.labels import LabelSchema
from {{ cookiecutter.package_name }}.train import main, run_training

PACKAGE = "{{ cookiecutter.package_name }}"
SRC = Path(__file__).resolve().parent.parent / "src"
ARTIFACT_FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "labels.json",
                  "metrics.json", "training_config.json", "history.json", "README.md"}


def subprocess_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("loop", ["trainer", "torch"])
def test_loop_trains_on_real_reviews_and_beats_chance(project, loop):
    config = project.override({"loop": loop, "epochs": 3})
    started = time.perf_counter()
    metrics = run_training(config)
    assert time.perf_counter() - started < 120
    schema = LabelSchema.load(config.path("labels.json"))
    chance = 1 / schema.num_labels
    assert metrics["test"]["num_examples"] >= 900
    assert metrics["test"]["accuracy"] > chance + 0.1, metrics["test"]
    artifact = config.path(config.train.output_dir)
    assert ARTIFACT_FILES <= {p.name for p in artifact.iterdir()}
    history = json.loads((artifact / "history.json").read_text(encoding="utf-8"))
    losses = [h["loss"] for h in history if "loss" in h and "step" in h]
    assert len(losses) >= 6
    assert sum(losses[-3:]) < sum(losses[:3])  # the last logged windows beat the first ones
    assert any("eval_accuracy" in h for h in history)


def test_accumulation_and_early_stopping(project, capsys):
    config = project.override({"loop": "torch", "epochs": 6, "max_rows": 300, "gradient_accumulation_steps": 2,
                               "early_stopping_patience": 1, "learning_rate": 1e-9})
    metrics = run_training(config)
    out = capsys.readouterr().out
    assert "early stopping: no improvement in 1 epoch(s)" in out
    assert out.count("epoch=") == 2  # stopped after the second epoch, not the sixth
    assert metrics["validation"]["num_examples"] == 30


def test_artifact_loads_with_auto_classes_and_speaks_label_names(trained_model):
    schema = LabelSchema.load(trained_model / "labels.json")
    tokenizer = AutoTokenizer.from_pretrained(trained_model)
    model = AutoModelForSequenceClassification.from_pretrained(trained_model).eval()
    assert model.config.id2label == schema.id2label
    encoded = tokenizer(["정말 최고의 영화", "시간 아까운 쓰레기"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        predicted = model(**encoded).logits.argmax(dim=-1).tolist()
    assert all(model.config.id2label[p] in schema.names for p in predicted)
    assert (trained_model / "README.md").read_text(encoding="utf-8").startswith("# Model card")
    used = json.loads((trained_model / "training_config.json").read_text(encoding="utf-8"))
    assert used["model"]["model"] == "scratch:tiny" and used["train"]["loop"] == "torch"


def test_both_loops_write_the_same_artifact_layout(project, trained_model):
    config = project.override({"loop": "trainer", "max_steps": 3, "max_rows": 200})
    run_training(config)
    trainer_files = {p.name for p in config.path(config.train.output_dir).iterdir()}
    torch_files = {p.name for p in trained_model.iterdir() if p.is_file()}
    assert trainer_files == torch_files


def launch_training(project_root: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", f"{PACKAGE}.train", "--config", str(project_root / "config.yaml"),
               "--model", "scratch:tiny", "--tracking", "false", "--use_cpu", "true", *args]
    return subprocess.Popen(command, cwd=project_root, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, encoding="utf-8", start_new_session=True)


@pytest.mark.parametrize(("loop", "checkpoint_glob"),
                         [("torch", "torch-loop-last.pt"), ("trainer", "checkpoint-*/trainer_state.json")])
def test_a_killed_run_resumes_from_its_checkpoint(project, loop, checkpoint_glob):
    root = project.root
    args = ("--loop", loop, "--max_steps", "120", "--save_steps", "5", "--max_rows", "400", "--batch_size", "8")
    first = launch_training(root, *args)
    checkpoints = root / "artifacts" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob(checkpoint_glob)):
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint appeared within 120 s"
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # a hard stop, as a spot interruption is
    first.wait(timeout=30)
    assert not (root / "artifacts" / "model" / "model.safetensors").exists()
    second = launch_training(root, *args)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    resumed = re.search(r"resuming from checkpoint (\S+)(?: at step (\d+))?", output)
    assert resumed, output
    step = resumed.group(2) or re.search(r"checkpoint-(\d+)$", resumed.group(1)).group(1)
    assert 0 < int(step) < 120
    assert (root / "artifacts" / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("loop", ["torch", "trainer"])
def test_torchrun_two_processes_on_cpu(project, loop):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    command = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", f"{PACKAGE}.train",
               "--config", str(project.root / "config.yaml"), "--model", "scratch:tiny", "--tracking", "false",
               "--use_cpu", "true", "--loop", loop, "--max_steps", "6", "--max_rows", "300", "--batch_size", "8"]
    result = subprocess.run(command, cwd=project.root, env=subprocess_env(), capture_output=True, text=True,
                            encoding="utf-8", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project.root / "artifacts" / "model" / "model.safetensors").is_file()
    assert result.stdout.count("model artifact written") == 1  # only rank 0 writes


def test_sagemaker_training_contract(project, tmp_path, monkeypatch):
    channels = {name: tmp_path / "channels" / name for name in ("train", "test")}
    for name, folder in channels.items():
        folder.mkdir(parents=True)
        source = getattr(project.data, f"{name}_file")
        shutil.copy(project.path(project.data.data_dir) / source, folder / source)
    env = {"SM_MODEL_DIR": tmp_path / "model", "SM_OUTPUT_DATA_DIR": tmp_path / "output",
           "SM_CHANNEL_TRAIN": channels["train"], "SM_CHANNEL_TEST": channels["test"], "SM_NUM_GPUS": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    code = main(["--config", str(project.root / "config.yaml"), "--model", "scratch:tiny", "--epochs", "1",
                 "--tracking", "false", "--use_cpu", "true", "--group_by_length", "false",
                 "--checkpoint_dir", str(tmp_path / "checkpoints"), "--max_rows", "300"])
    assert code == 0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert {"confusion_matrix_test.png", "learning_curves.png", "metrics.json"} <= {
        p.name for p in (tmp_path / "output").iterdir()}
    used = json.loads((tmp_path / "model" / "training_config.json").read_text(encoding="utf-8"))
    assert used["train"]["group_by_length"] is False  # "--group_by_length false" really is False


def test_training_entry_point_never_imports_the_sagemaker_sdk():
    probe = (f"import sys, {PACKAGE}.train, {PACKAGE}.loop, {PACKAGE}.trainer_path, {PACKAGE}.serving.handler; "
             "bad = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')); "
             "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", probe], env=subprocess_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_data_stops_training_with_file_and_line(project, capsys):
    train_file = project.path(project.data.data_dir) / project.data.train_file
    with open(train_file, "ab") as handle:
        handle.write(b"\xff broken\n")
    code = main(["--config", str(project.root / "config.yaml"), "--model", "scratch:tiny", "--tracking", "false"])
    assert code == 1
    assert f"{train_file}:" in capsys.readouterr().err


def test_mlflow_tracking_records_params_and_metrics(project, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"file:{tmp_path / 'mlruns'}"
    config = project.override({"tracking": True, "tracking_uri": uri, "experiment_name": "tests",
                               "max_rows": 300, "epochs": 1, "loop": "torch"})
    run_training(config)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tests")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["loop"] == "torch"
    assert {"eval_accuracy", "test_accuracy", "loss"} <= set(runs[0].data.metrics)
