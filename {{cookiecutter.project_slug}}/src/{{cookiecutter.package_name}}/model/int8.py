"""int8 on the CPU through OpenVINO: after training, the model is converted (``openvino.convert_model``) and
quantized by NNCF (int8 weights and activations, attention included, calibrated on training rows), and the
result is saved in the artifact's ``int8/`` folder. Where the architecture allows it (checked on the calibration
rows), the saved model takes several texts packed into each row (PackedClassifier), so almost no work goes
into padding. ``make bench`` measured it against torch's dynamic int8 and ONNX Runtime's (benchmarks/RESULTS.md).

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

from .. import logs
from ..tasks import task_of_problem_type
from .artifact import INT8_DIR, INT8_MODEL_FILE
from .batching import PAIR_INPUT, packed, packed_batches, takes_packed_rows, takes_pairs
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


def padded_calibration(
    rows: list[list[int]], batch_size: int, pad_token_id: int, types: list[list[int]] | None = None
) -> list[dict[str, np.ndarray]]:
    """input_ids and attention_mask (and token_type_ids with ``types``: sentence pairs) for token-id rows, sorted
    by length, cut into batches of ``batch_size`` and padded per batch (the training collator's padding), as the
    numpy arrays OpenVINO's calibration takes (the handler's batches are model/batching.py's padded_batches)."""
    collate = DynamicPaddingCollator(pad_token_id)
    items = [{"input_ids": ids} | ({PAIR_INPUT: types[k]} if types is not None else {}) for k, ids in enumerate(rows)]
    items = sorted(items, key=lambda item: len(item["input_ids"]))
    batches = []
    for start in range(0, len(items), batch_size):
        batch = collate(items[start : start + batch_size])
        batches.append({name: tensor.numpy() for name, tensor in batch.items()})
    return batches


class FourDimensionalMask(torch.nn.Module):
    """The classifier with its padding mask expanded to (batch, 1, 1, length) before the call: transformers 5.5
    (a SageMaker container's) cannot trace its own mask builder (a traced length turns into a tensor), and every
    5.x takes a 4-D mask as it is."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Logits (batch, num_labels) of ``input_ids`` (batch, length) with ``attention_mask`` (batch, length) given to
        the model as a boolean (batch, 1, 1, length) mask, which OpenVINO's converter traces without the masking code
        transformers runs; ``token_type_ids`` (batch, length): the segment ids of sentence pairs (None: one text)."""
        mask = attention_mask[:, None, None, :].bool()
        return self.model(input_ids=input_ids, attention_mask=mask, token_type_ids=token_type_ids).logits


class PackedClassifier(torch.nn.Module):
    """The classifier over texts packed side by side in each row (model/batching.py's ``packed``): a text's
    tokens see only its own (a block-diagonal mask), count positions from its own start, and its first token's
    state goes to the classification head, which gives one row of logits per text. For heads that read the first
    token of what they are given (ELECTRA's, the default and scratch models'); packing_matches checks it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, segment_ids, first_tokens, token_type_ids=None):
        """Logits (texts, num_labels), one row per text in row order, of packed rows: ``input_ids`` and ``segment_ids``
        (rows, width; segment 0 is padding), ``first_tokens`` (texts,): each text's first position in the flattened
        (rows * width) batch (model/batching.py's ``packed``); ``token_type_ids`` (rows, width): for sentence pairs,
        each token's segment within its own pair (0 first text, 1 second; None: one text a row)."""
        same = segment_ids[:, :, None] == segment_ids[:, None, :]
        # padding attends to every real token, so no row of the softmax is empty
        mask = (same | (segment_ids == 0)[:, :, None]) & (segment_ids > 0)[:, None, :]
        steps = torch.arange(segment_ids.shape[1], device=segment_ids.device)
        # counted in float: OpenVINO 2026.4 miscounts the same sum of booleans for some batch shapes
        positions = (same.float() * (steps[None, :] <= steps[:, None]).float()).sum(-1).long() - 1
        hidden = self.model.base_model(
            input_ids=input_ids,
            attention_mask=mask[:, None],
            position_ids=positions,
            # the default reads a buffer traced at the example's size: zeros of the batch's shape for one text
            token_type_ids=torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids,
        )
        states = hidden.last_hidden_state
        firsts = states.reshape(-1, states.shape[-1])[first_tokens]
        return self.model.classifier(firsts[:, None, :])


def alone_logits(model, rows: list[list[int]], chunk: list[int], types: list[list[int]] | None) -> torch.Tensor:
    """``model``'s logits (len(chunk), num_labels) of ``rows[k]`` for each k in ``chunk``, each alone and unpadded
    (with its segment ids ``types[k]`` for sentence pairs)."""
    return torch.cat(
        [
            model(
                input_ids=torch.tensor([rows[k]]),
                token_type_ids=None if types is None else torch.tensor([types[k]]),
            ).logits
            for k in chunk
        ]
    )


def packing_matches(model, rows: list[list[int]], pad_token_id: int, types: list[list[int]] | None = None) -> bool:
    """Whether PackedClassifier gives ``model``'s own logits for ``rows`` (each text alone, unpadded; ``types``:
    their segment ids for sentence pairs)."""
    try:
        with torch.no_grad():
            chunk, inputs = next(packed_batches(rows, max(map(len, rows)), pad_token_id, types))
            together = PackedClassifier(model)(**inputs)
            alone = alone_logits(model, rows, chunk, types)
    except Exception:  # an architecture PackedClassifier does not fit: the unpacked export serves it
        return False
    return together.shape == alone.shape and torch.allclose(together, alone, atol=1e-4)


def packed_calibration(
    rows: list[list[int]], pad_token_id: int, types: list[list[int]] | None = None
) -> list[dict[str, np.ndarray]]:
    """The calibration rows (with their segment ids ``types``, for sentence pairs) in the packed micro-batches the
    handler sends."""
    return [
        {name: tensor.numpy() for name, tensor in inputs.items()}
        for _, inputs in packed_batches(rows, max(map(len, rows)), pad_token_id, types)
    ]


def converted_matches(
    converted,
    network: torch.nn.Module,
    calibration: list[dict[str, np.ndarray]],
    rows: list[list[int]],
    pad_token_id: int,
    types: list[list[int]] | None = None,
) -> bool:
    """Whether OpenVINO's conversion of ``network`` (fp32, before quantizing) gives torch's logits on batches of
    other shapes than the one it was traced with: the ``calibration`` batches and one of ``rows`` per row (with
    their segment ids ``types``, for sentence pairs)."""
    import openvino

    compiled = openvino.Core().compile_model(converted, "CPU", compile_settings())
    one_per_row = [[ids] for ids in rows[:64]]
    kinds = None if types is None else [[row] for row in types[:64]]
    probes = [*calibration]
    width = max(map(len, rows[:64]))
    probes.append({k: v.numpy() for k, v in packed(one_per_row, width, pad_token_id, kinds).items()})
    for probe in probes:
        with torch.no_grad():
            expected = network(**{name: torch.from_numpy(array) for name, array in probe.items()}).numpy()
        if not np.allclose(compiled.create_infer_request().infer(probe)[0], expected, atol=1e-3):
            return False
    return True


@contextmanager
def telemetry_off() -> Iterator[None]:
    """Within the block, the environment that keeps NNCF and OpenVINO from sending usage data (TELEMETRY_OFF); the
    previous values come back afterwards."""
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


def export_int8(
    model, calibration_rows: list[list[int]], pad_token_id: int, model_dir: Path, types: list[list[int]] | None = None
) -> Path:
    """Convert and quantize ``model`` (a copy on the CPU: training goes on untouched) into ``model_dir/int8``;
    ``types``: the calibration rows' segment ids, for sentence pairs (the saved model then takes them as
    token_type_ids). Returns the saved model's path."""
    with telemetry_off():
        return _export_int8(model, calibration_rows, pad_token_id, model_dir, types)


def _export_int8(
    model, calibration_rows: list[list[int]], pad_token_id: int, model_dir: Path, types: list[list[int]] | None
) -> Path:
    import nncf
    import openvino

    logging.getLogger("nncf").setLevel(logging.WARNING)
    rows = calibration_rows[:CALIBRATION_ROWS]
    types = None if types is None else types[:CALIBRATION_ROWS]
    cpu_model = copy.deepcopy(getattr(model, "module", model)).to("cpu").float().eval()
    converted = None
    if packing_matches(cpu_model, rows, pad_token_id, types):
        network, calibration = PackedClassifier(cpu_model), packed_calibration(rows, pad_token_id, types)
        converted = convert(network, calibration[0])
        if not converted_matches(converted, network, calibration, rows, pad_token_id, types):
            converted = None
    if converted is None:  # one padded text per row, as the model was trained
        calibration = padded_calibration(rows, CALIBRATION_BATCH, pad_token_id, types)
        converted = convert(FourDimensionalMask(cpu_model), calibration[0])
    with warnings.catch_warnings(), bars_as_logs_say():
        warnings.simplefilter("ignore")  # NNCF and OpenVINO warnings that are not the user's to act on
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


@contextmanager
def bars_as_logs_say() -> Iterator[None]:
    """NNCF's progress bars (rich, on its shared console) only where logs.bars() draws bars: a terminal or
    --verbose. Written into a log file or a pipe, each bar is a block of lines the commands' own stage lines say."""
    import rich

    console = rich.get_console()
    quiet, console.quiet = console.quiet, not logs.bars()
    try:
        yield
    finally:
        console.quiet = quiet


def convert(network: torch.nn.Module, example: dict[str, np.ndarray]):
    """OpenVINO's conversion of ``network`` (fp32), traced with ``example`` (input name -> array); tracing warnings are
    silenced."""
    import openvino

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing warnings about shape-dependent branches in transformers
        return openvino.convert_model(network, example_input={k: torch.from_numpy(v) for k, v in example.items()})


def remove_int8(model_dir: Path) -> None:
    """A stale int8 model must never serve newer weights."""
    shutil.rmtree(Path(model_dir) / INT8_DIR, ignore_errors=True)


class Int8Model(torch.nn.Module):
    """The saved OpenVINO int8 model behind the interface of a transformers classifier (``model(**batch)``
    gives ``.logits`` and, with labels, ``.loss``), so predict_logits and evaluate treat it like any model. A
    packed model gets the batch's texts packed as the handler packs them."""

    def __init__(self, model_dir: Path, config):
        super().__init__()
        import openvino

        self.config = config
        self.task = task_of_problem_type(getattr(config, "problem_type", None))  # its loss
        self.compiled = openvino.Core().compile_model(str(Path(model_dir) / INT8_MODEL_FILE), "CPU", compile_settings())
        self.packed = takes_packed_rows(self.compiled)
        self.pairs = takes_pairs(self.compiled)  # exported for sentence pairs: it takes their segment ids

    def forward(self, input_ids, attention_mask, labels=None, token_type_ids=None, **_):
        """Logits (batch, num_labels) on the CPU, and the task's ``loss`` (Task.loss) when ``labels`` are given, of
        ``input_ids`` and ``attention_mask`` (batch, length) and, for a sentence-pair model, ``token_type_ids``
        (batch, length); a packed model gets each row's real tokens packed (model/batching.py) and its logits put
        back in batch order. Raises ValueError when a pair model gets no segment ids."""
        if self.pairs and token_type_ids is None:
            raise ValueError("this int8 model classifies sentence pairs: it needs token_type_ids")
        request = self.compiled.create_infer_request()  # one per call: several threads may classify at once
        input_ids, attention_mask = input_ids.cpu(), attention_mask.cpu()
        types = token_type_ids.cpu() if self.pairs else None
        if self.packed:
            masks = [mask.bool() for mask in attention_mask]
            rows = [ids[mask].tolist() for ids, mask in zip(input_ids, masks, strict=True)]
            kinds = None if types is None else [row[mask].tolist() for row, mask in zip(types, masks, strict=True)]
            logits = torch.empty((len(rows), self.config.num_labels))
            for chunk, inputs in packed_batches(rows, input_ids.shape[1], self.config.pad_token_id or 0, kinds):
                arrays = {name: tensor.numpy() for name, tensor in inputs.items()}
                logits[chunk] = torch.from_numpy(request.infer(arrays)[0].copy())
        else:
            inputs = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
            if types is not None:
                inputs[PAIR_INPUT] = types.numpy()
            logits = torch.from_numpy(request.infer(inputs)[0].copy())
        loss = self.task.loss(logits, labels.cpu()) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
