"""int8 on the CPU through OpenVINO: after training, the model is converted (``openvino.convert_model``) and
quantized by NNCF (int8 weights and activations, attention included, calibrated on training rows), and the
result is saved in the artifact's ``int8/`` folder. ``make bench`` measured it against torch's dynamic int8 and
ONNX Runtime's (benchmarks/RESULTS.md).

serving/handler.py loads the same files with the same settings (it must stand alone in the container); a test
checks that the two give the same numbers. Activation scales are fixed at calibration, so a text's scores do not
depend on the other texts in its batch.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from .artifact import INT8_DIR, INT8_MODEL_FILE
from .features import DynamicPaddingCollator

CALIBRATION_ROWS = 300  # the first training rows, on which NNCF measures activation ranges
CALIBRATION_BATCH = 16
# NNCF and OpenVINO's converter send usage data to Google Analytics (from a forked process) unless they believe
# they run in CI; NNCF reads its variable once, at import
TELEMETRY_OFF = {"NNCF_CI": "1", "CI": "true"}


def compile_settings() -> dict:
    """OpenVINO CPU settings: int8 where quantized and fp32 elsewhere on every CPU (no bf16 where the CPU has
    it), so the accuracy train checked holds wherever it is served; torch's thread count."""
    return {
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": torch.get_num_threads(),
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
    }


def padded_batches(rows: list[list[int]], batch_size: int, pad_token_id: int) -> list[dict[str, np.ndarray]]:
    """input_ids and attention_mask for token-id rows, sorted by length and padded per batch (the training
    collator's padding), as the numpy arrays OpenVINO takes."""
    collate, rows = DynamicPaddingCollator(pad_token_id), sorted(rows, key=len)
    batches = []
    for start in range(0, len(rows), batch_size):
        batch = collate([{"input_ids": ids} for ids in rows[start : start + batch_size]])
        batches.append({name: tensor.numpy() for name, tensor in batch.items()})
    return batches


class FourDimensionalMask(torch.nn.Module):
    """The classifier with its padding mask expanded to (batch, 1, 1, length) before the call: transformers 5.5
    (a SageMaker container's) cannot trace its own mask builder (a traced length turns into a tensor), and every
    5.x takes a 4-D mask as it is."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask[:, None, None, :].bool()).logits


@contextmanager
def telemetry_off() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in TELEMETRY_OFF}
    os.environ.update(TELEMETRY_OFF)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def export_int8(model, calibration_rows: list[list[int]], pad_token_id: int, model_dir: Path) -> Path:
    """Convert and quantize ``model`` (a copy on the CPU: training goes on untouched) into ``model_dir/int8``."""
    with telemetry_off():
        return _export_int8(model, calibration_rows, pad_token_id, model_dir)


def _export_int8(model, calibration_rows: list[list[int]], pad_token_id: int, model_dir: Path) -> Path:
    import nncf
    import openvino

    logging.getLogger("nncf").setLevel(logging.WARNING)
    calibration = padded_batches(calibration_rows[:CALIBRATION_ROWS], CALIBRATION_BATCH, pad_token_id)
    cpu_model = copy.deepcopy(getattr(model, "module", model)).to("cpu").float().eval()
    example = {name: torch.from_numpy(array) for name, array in calibration[0].items()}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing warnings about shape-dependent branches in transformers
        converted = openvino.convert_model(FourDimensionalMask(cpu_model), example_input=example)
        quantized = nncf.quantize(
            converted,
            nncf.Dataset(calibration),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(calibration),
        )
    destination = Path(model_dir) / INT8_MODEL_FILE
    destination.parent.mkdir(parents=True, exist_ok=True)
    openvino.save_model(quantized, destination, compress_to_fp16=False)  # writes model.bin beside it
    return destination


def remove_int8(model_dir: Path) -> None:
    """A stale int8 model must never serve newer weights."""
    shutil.rmtree(Path(model_dir) / INT8_DIR, ignore_errors=True)


class Int8Model(torch.nn.Module):
    """The saved OpenVINO int8 model behind the interface of a transformers classifier (``model(**batch)``
    gives ``.logits`` and, with labels, ``.loss``), so predict_logits and evaluate treat it like any model."""

    def __init__(self, model_dir: Path, config):
        super().__init__()
        import openvino

        self.config = config
        self.compiled = openvino.Core().compile_model(str(Path(model_dir) / INT8_MODEL_FILE), "CPU", compile_settings())

    def forward(self, input_ids, attention_mask, labels=None, **_):
        request = self.compiled.create_infer_request()  # one per call: several threads may classify at once
        inputs = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        logits = torch.from_numpy(request.infer(inputs)[0].copy())
        loss = torch.nn.functional.cross_entropy(logits, labels.cpu()) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
