"""On a CUDA GPU (skipped elsewhere): both loops train there in mixed precision, and the artifact is served
there in fp32 with the answers the CPU gives."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.serving import handler
from {{ cookiecutter.package_name }}.training.run import train as run_training
from {{ cookiecutter.package_name }}.training.runtime import resolve_precision

from conftest import all_scores, answer

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("loop", ["trainer", "torch"])
def test_both_loops_train_on_the_gpu_in_mixed_precision(project, loop):
    config = project.override({"loop": loop, "epochs": 3, "use_cpu": False})
    assert resolve_precision(config.train.precision, torch.device("cuda")) in ("bf16", "fp16")
    metrics = run_training(config)
    chance = 1 / LabelSchema.load(config.path("labels.json")).num_labels
    assert metrics["test"]["accuracy"] > chance + 0.1, metrics["test"]


def test_the_handler_serves_fp32_on_the_gpu_with_the_cpus_answers(text_model, sample):
    on_gpu = handler.load(text_model, "auto")
    assert on_gpu.precision == "fp32" and on_gpu.device.type == "cuda"
    on_cpu = dataclasses.replace(on_gpu, network=copy.deepcopy(on_gpu.network).cpu(), device=torch.device("cpu"))
    texts = [record.text for record in sample["test"][:256]]
    gpu, cpu = handler.predict_fn(texts, on_gpu), handler.predict_fn(texts, on_cpu)
    assert all_scores(gpu) == pytest.approx(all_scores(cpu), abs=1e-3)
    agreement = sum(answer(g) == answer(c) for g, c in zip(gpu, cpu, strict=True)) / len(texts)
    assert agreement >= 0.99  # a near tie may flip under the GPU's different summation order
