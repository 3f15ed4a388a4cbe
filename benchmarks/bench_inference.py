"""Inference per CPU-second, one thread in every row, side by side on one trained model: what a competent user
writes (a transformers ``pipeline``), the project's handler in fp32 and int8 (the OpenVINO model train wrote),
the bounds of each (raw forward passes over pre-tokenised, token-length-sorted batches, tokenisation not
timed), the int8 a user would otherwise reach for (torch's dynamic quantization; ONNX Runtime's, with its fp32,
when it is installed), and the local server behind the ``predict`` client.

Throughput is measured with torch pinned to one thread, after a warm-up on ``speed_texts`` reviews, over
REPEATS rounds of every path, each round on ``speed_texts`` reviews no path has seen (a server's traffic:
OpenVINO prepares kernels for each new input shape, so texts it has already classified flatter it); each
path's figure is its median. Then each serving path classifies the whole test file for its accuracy (torch
with every thread, OpenVINO with the one it was loaded with: the numbers do not depend on it).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from common import CpuTimer, pkg

BATCH = 64
PIPELINE = "`pipeline(texts, batch_size=64)`: what a competent user writes"
PIPELINE_PER_TEXT = "`pipeline`, one call per text"
HANDLER_FP32 = "handler `predict_fn`, fp32"
HANDLER_INT8 = "handler `predict_fn`, int8 (OpenVINO, NNCF static quantization: the artifact's int8/)"
OPENVINO_BOUND = "int8 bound: raw OpenVINO forward, pre-tokenised packed batches"
REPEATS = 5  # timed rounds; each path's figure is its median
PER_TEXT_TEXTS = 300  # the one-call-per-text pipeline is slow: its rate is stable after a few hundred


def token_batches(
    tokenizer, texts: list[str], max_length: int, max_padding: float | None
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list]:
    """Pre-tokenised batches of similar token length, cut and padded as the handler cuts and pads them
    (micro_batches, padded), and the order they hold the texts in."""
    batching = pkg("model.batching")
    encoded = tokenizer(texts, truncation=True, max_length=max_length, return_token_type_ids=False)["input_ids"]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = []
    for start, end in batching.micro_batches([len(encoded[i]) for i in order], max_padding):
        ids, mask = batching.padded([encoded[i] for i in order[start:end]], tokenizer.pad_token_id)
        batches.append((ids.numpy(), mask.numpy()))
    return batches, order


def packed_token_batches(tokenizer, texts: list[str], max_length: int) -> tuple[list[dict], list]:
    """Pre-tokenised batches packed as the handler packs them for a packed int8 model (packed_batches), and the
    order they hold the texts in."""
    batching = pkg("model.batching")
    encoded = tokenizer(texts, truncation=True, max_length=max_length, return_token_type_ids=False)["input_ids"]
    batches, order = [], []
    for chunk, inputs in batching.packed_batches(encoded, max_length, tokenizer.pad_token_id):
        batches.append(inputs)
        order += chunk
    return batches, order


def handler_answers(handler, served, texts: list[str]) -> list[dict]:
    """The handler's answers for ``texts``, sent in the requests a server would take (MAX_ITEMS each)."""
    answers = []
    most = pkg("serving.request_rules").MAX_ITEMS
    for start in range(0, len(texts), most):
        answers += handler.predict_fn(texts[start : start + most], served)
    return answers


def in_order(chunks: list[np.ndarray], order: list[int]) -> np.ndarray:
    logits = np.concatenate(chunks)
    restored = np.empty_like(logits)
    restored[order] = logits
    return restored


class Paths:
    """Every way of classifying ``texts`` with the model in ``model_dir``: name -> function(texts) -> label ids."""

    def __init__(self, model_dir: Path, max_length: int):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

        handler = pkg("serving.handler")
        self.handler, self.model_dir, self.max_length = handler, model_dir, max_length
        self.names = list(pkg("data.labels").LabelSchema.load(model_dir / "labels.json").names)
        self.served = {precision: handler.load(model_dir, precision) for precision in ("fp32", "int8")}
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.fp32 = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch >= 2.10 announces torch.ao's future removal
            self.torch_int8 = torch.ao.quantization.quantize_dynamic(self.fp32, {torch.nn.Linear}, dtype=torch.qint8)
        self.pipeline = pipeline(
            "text-classification", model=str(model_dir), device=-1, truncation=True, max_length=max_length
        )
        self.onnx = self.onnx_sessions()
        self.servers: list = []

    def label_ids(self, answers: list[dict]) -> np.ndarray:
        return np.array([self.names.index(answer["label"]) for answer in answers])

    def pipeline_batched(self, texts):
        return self.label_ids(self.pipeline(texts, batch_size=BATCH))

    def pipeline_per_text(self, texts):
        return self.label_ids([self.pipeline(text)[0] for text in texts])

    def handler_path(self, precision: str):
        return lambda texts: self.label_ids(handler_answers(self.handler, self.served[precision], texts))

    def torch_bound(self, model):
        def run(texts, batches=None):
            batches, order = batches or token_batches(self.tokenizer, texts, self.max_length, None)
            with torch.inference_mode():
                chunks = [
                    model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.numpy()
                    for ids, mask in batches
                ]
            return in_order(chunks, order).argmax(axis=1)

        return run

    def openvino_batches(self, texts: list[str]):
        """Pre-tokenised batches as the int8 handler sends them: packed rows, or whole padded batches for a model
        that cannot pack."""
        if self.served["int8"].network.packed:
            return packed_token_batches(self.tokenizer, texts, self.max_length)
        return token_batches(self.tokenizer, texts, self.max_length, None)

    def openvino_bound(self):
        network = self.served["int8"].network
        if not network.packed:
            return self.torch_bound(network)

        def run(texts, batches=None):
            batches, order = batches or self.openvino_batches(texts)
            chunks = [network(**inputs).logits.numpy() for inputs in batches]
            return in_order(chunks, order).argmax(axis=1)

        return run

    def onnx_sessions(self) -> dict:
        """ONNX Runtime fp32 and dynamic int8 (torch.onnx.export + onnxruntime.quantization: optimum-onnx does
        not support transformers 5), or {} when onnxruntime is not installed."""
        try:
            import onnxruntime
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError:
            return {}
        folder = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
        sample = self.tokenizer(["예문 두 개", "하나"], padding=True, return_tensors="pt", return_token_type_ids=False)
        axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                self.fp32,
                (sample["input_ids"], sample["attention_mask"]),
                folder / "fp32.onnx",
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={**axes, "logits": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
            quantize_dynamic(folder / "fp32.onnx", folder / "int8.onnx", weight_type=QuantType.QInt8)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        return {
            precision: onnxruntime.InferenceSession(
                str(folder / f"{precision}.onnx"), options, providers=["CPUExecutionProvider"]
            )
            for precision in ("fp32", "int8")
        }

    def onnx_bound(self, precision: str):
        session = self.onnx[precision]

        def run(texts, batches=None):
            batches, order = batches or token_batches(self.tokenizer, texts, self.max_length, None)
            chunks = [session.run(None, {"input_ids": ids, "attention_mask": mask})[0] for ids, mask in batches]
            return in_order(chunks, order).argmax(axis=1)

        return run

    def server_path(self, precision: str):
        """The local server (in a thread of this process) and the predict client; both start untimed."""
        server = pkg("serving.server")
        client, Record = pkg("serving.client"), pkg("data.report").Record
        running = server.BackgroundServer(server.create_app(self.model_dir, precision=precision)).__enter__()
        self.servers.append(running)
        target = client.RuntimeTarget("bench", url=running.url, concurrency=4)

        def run(texts):
            records = [Record(text, None, n) for n, text in enumerate(texts, 1)]
            with tempfile.TemporaryDirectory() as scratch:
                output = Path(scratch) / "out.jsonl"
                request = client.PredictRequest(output=output, batch_size=BATCH, concurrency=4)
                summary = client.predict_records(records, target, request, None, show_progress=False)
                assert not summary.failed
                answers = [json.loads(line) for line in output.read_text("utf-8").splitlines()]
            return self.label_ids(answers)

        return run

    def close(self) -> None:
        for running in self.servers:
            running.__exit__(None, None, None)


def run(model_dir: Path, texts: list[str], labels: list[int], speed_texts: int, max_length: int = 128) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # OpenVINO takes torch's thread count when the int8 model loads: one, as timed
    paths = Paths(model_dir, max_length)
    rows = {
        PIPELINE: (paths.pipeline_batched, True),
        PIPELINE_PER_TEXT: (paths.pipeline_per_text, False),
        HANDLER_FP32: (paths.handler_path("fp32"), True),
        "fp32 bound: raw forward, pre-tokenised sorted batches": (paths.torch_bound(paths.fp32), False),
        HANDLER_INT8: (paths.handler_path("int8"), True),
        OPENVINO_BOUND: (paths.openvino_bound(), False),
        "torch dynamic int8 bound (`quantize_dynamic`), pre-tokenised sorted batches": (
            paths.torch_bound(paths.torch_int8),
            True,
        ),
        "local server + `predict` client (HTTP, 4 in flight), fp32": (paths.server_path("fp32"), False),
        "local server + `predict` client (HTTP, 4 in flight), int8": (paths.server_path("int8"), True),
    }
    if paths.onnx:
        rows["ONNX Runtime fp32 bound, pre-tokenised sorted batches"] = (paths.onnx_bound("fp32"), True)
        rows["ONNX Runtime dynamic int8 bound, pre-tokenised sorted batches"] = (paths.onnx_bound("int8"), True)
    size = min(speed_texts, len(texts) // (REPEATS + 1))
    warm, *rounds = (texts[start : start + size] for start in range(0, (REPEATS + 1) * size, size))
    results: dict = {"texts": size, "accuracy_texts": len(texts), "threads": 1, "repeats": REPEATS, "paths": {}}
    counts = {name: min(PER_TEXT_TEXTS, size) if name == PIPELINE_PER_TEXT else size for name in rows}
    for name, (classify, _) in rows.items():
        classify(warm[: counts[name]])  # every path gets the same warm-up
    rates: dict = {name: [] for name in rows}
    cpu_padding = pkg("model.batching").CPU_MAX_PADDING
    for speed in rounds:  # rounds over every path: a slow spell of this shared machine hits them alike
        for name, (classify, _) in rows.items():
            count = counts[name]
            batches = None
            if name == OPENVINO_BOUND:  # the bounds do not pay for tokenising; they batch as their handler would
                batches = paths.openvino_batches(speed[:count])
            elif "bound" in name:
                batches = token_batches(paths.tokenizer, speed[:count], max_length, cpu_padding)
            with CpuTimer() as timer:
                classify(speed[:count]) if batches is None else classify(speed[:count], batches)
            rates[name].append((count / timer.cpu_seconds, count / timer.seconds))
    for name, measured in rates.items():
        results["paths"][name] = {
            "per_cpu_s": float(np.median([cpu for cpu, _ in measured])),
            "per_s": float(np.median([wall for _, wall in measured])),
            "per_cpu_s_each": [round(cpu, 1) for cpu, _ in measured],
            "texts": counts[name],
        }
        each = ", ".join(f"{cpu:.0f}" for cpu, _ in measured)
        print(f"  {name}: {results['paths'][name]['per_cpu_s']:.0f} reviews / CPU-s (median of {each})", flush=True)
    torch.set_num_threads(threads)
    for name, (classify, scored) in rows.items():
        if scored:
            predicted = classify(texts)
            results["paths"][name]["accuracy"] = float((predicted == np.asarray(labels)).mean())
            print(f"  {name}: accuracy {results['paths'][name]['accuracy']:.4f} on {len(texts)}", flush=True)
    paths.close()
    return results
