"""SageMaker Hugging Face inference handler: model_fn, input_fn, predict_fn, output_fn.

Self-contained (standard library, torch, transformers and, for int8, openvino: code/requirements.txt) but for
three siblings that import nothing of ours: model/batching.py (the micro-batches and int8's packed rows),
artifact_files.py (the file names it reads) and serving/request_rules.py (the request limits and text rules).
``deploy`` copies this file byte for byte into model.tar.gz as ``code/inference.py`` and the siblings beside it as
``code/batching.py``, ``code/artifact_files.py`` and ``code/request_rules.py`` (the toolkit puts ``code/`` on
``sys.path``); the local server imports this same file from the package. It follows the
contract of the Hugging Face inference toolkit (sagemaker-huggingface-inference-toolkit on Multi Model Server, what
the HF inference containers run):
- ``input_fn(input_data, content_type, context)``: JSON and CSV bodies arrive decoded to ``str``, other types as
  bytes; the context carries the request headers, so a bad Accept is refused before any prediction runs;
- ``output_fn(prediction, accept)`` returns the body alone: the toolkit sets the response content type itself;
- any exception becomes HTTP 400 with its message (the local server answers the same message with a more
  precise 4xx status).

Requests
  application/json       {"inputs": "text"} or {"inputs": ["t1", "t2", ...]}; for a sentence-pair model (trained
                         with data.text_pair_column) {"inputs": {"text": "...", "text_pair": "..."} } or a list of
                         such objects (the transformers pipeline's convention)
  application/jsonlines  one {"text": "..."} (or {"inputs": "..."}) per line, {"text": ..., "text_pair": ...} for a
                         pair model; an "id" is echoed back. Exactly one
                         output line per input line, in order: a blank or invalid line gets an {"error": ...} line
                         (what batch transform needs to keep its output aligned with its input)
  text/csv               one text per line (first column; a pair model reads the second text from the second
                         column, other models ignore the columns after the first), each line parsed alone:
                         exactly one output row per input line, as for JSON Lines. A blank line, or one that is not
                         valid CSV (an unclosed quote), gets its own error row and never merges with the next line,
                         so a quoted text cannot span lines. A first line equal to the text column's name
                         (data.text_column in training_config.json, e.g. ``document``) is a header: it is answered
                         with a header row (``label,score,error``; in JSON {"header": name}), never classified.
Response, per input and in input order: an object with "label" (the name), "score" (its probability) and
"scores" (the probability of every label, by name). A multi-label model (labels.json's task) answers "labels"
(the names whose sigmoid probability reaches their threshold, from thresholds.json; none may) and "scores" (every
label's own probability, by name); in CSV the labels joined by ``|`` with an empty score. Every score is
calibrated: the logits are divided by the temperatures train fitted on the validation split (calibration.json; an
artifact without the file is served as it is); a single-label answer whose score is below calibration.json's
``min_confidence`` has the label "unsure" (its score and scores kept). Accept is a list with q-values: the first
supported type wins, */* means JSON.

A pair model given a text without its second text, or a one-text model given a pair, refuses it with one message
that says what the model takes: a JSON request is refused as a whole (400), a JSON Lines or CSV line gets its
error line (the whole body, 400, when no line has the shape the model takes). Pairs are encoded as pairs:
[CLS] text [SEP] text_pair [SEP] with segment ids, truncated longest first, as training encodes them.

Text: every text (and second text) is brought to one Unicode normal form before it is checked or tokenised (NFC,
or NFKC when the model was trained on NFKC data), as the data loader does for training: decomposed Hangul (NFD,
from macOS and some web forms) otherwise becomes [UNK]. A text with no visible character (request_rules.py's
visible_text) is refused as empty.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

try:  # in the package (local server, predict, tests)
    from .. import answers, artifact_files
    from ..model import batching, ngram_scorer
    from . import request_rules
except ImportError:  # code/inference.py in the inference container: its siblings in code/ are on sys.path
    import answers  # type: ignore[no-redef]
    import artifact_files  # type: ignore[no-redef]
    import batching  # type: ignore[no-redef]
    import ngram_scorer  # type: ignore[no-redef]
    import request_rules  # type: ignore[no-redef]

# The request limits (read when they are checked: request_rules.MAX_ITEMS, MAX_TOKENS) and the text rules:
# request_rules.py, shipped beside this file
PRECISION_ENV = request_rules.PRECISION_ENV  # auto | int8 | fp32
TEXT_FORM = request_rules.TEXT_FORM
normal_text = request_rules.normal_text
text_problem = request_rules.text_problem
pair_problem = request_rules.pair_problem
LABELS_FILE = artifact_files.LABELS_FILE  # the artifact's names: artifact_files.py, shipped beside this file
TRAINING_CONFIG_FILE = artifact_files.TRAINING_CONFIG_FILE  # the config train ran with: text column, normal form
METRICS_FILE = artifact_files.METRICS_FILE
NGRAM_WEIGHTS_FILE = artifact_files.NGRAM_WEIGHTS_FILE  # the n-gram model: alone, or mixed with the transformer
INT8_MODEL_FILE = artifact_files.INT8_MODEL_FILE  # the OpenVINO int8 model train writes (model/int8.py)
PRECISIONS = artifact_files.PRECISIONS
NO_MODEL_MAX_LENGTH = artifact_files.NO_MODEL_MAX_LENGTH
JSON, CSV = "application/json", "text/csv"
JSONLINES_TYPES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")
SUPPORTED = (JSON, *JSONLINES_TYPES, CSV)
WILDCARDS = {"*/*": JSON, "application/*": JSON, "text/*": CSV}
CSV_HEADER = answers.CSV_HEADER  # the answer to a CSV body's header row


class RequestError(ValueError):
    """A client error: the message says what is wrong; ``status`` is the precise HTTP code."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(value: str | None) -> str:
    """The media type of a Content-Type or Accept entry, lower case, without parameters (``text/csv; charset=utf-8`` ->
    ``text/csv``)."""
    return (value or "").split(";")[0].strip().lower()


def negotiate(accept: str | None) -> str:
    """The response type for an Accept header: highest q first, then header order; */* means JSON."""
    if not accept or not accept.strip():
        return JSON
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media.lower()))
    for _, _, media in sorted(ranked):
        if media in SUPPORTED:
            return media
        if media in WILDCARDS:
            return WILDCARDS[media]
    raise RequestError(406, f"unsupported accept type {accept[:100]!r}; use one of {', '.join(SUPPORTED)}")


class Int8Network:
    """The OpenVINO int8 model train wrote, called like the transformers model (``.logits``), with the settings
    model/int8.py's compile_settings gives (this file must stand alone; a test checks they agree): int8 where
    quantized, fp32 elsewhere, torch's thread count. ``packed``: it takes texts packed into rows (PACKED_INPUTS)
    rather than one padded text per row (input_ids, attention_mask)."""

    def __init__(self, model_dir: Path):
        import openvino

        settings = {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        }
        self.compiled = openvino.Core().compile_model(str(model_dir / INT8_MODEL_FILE), "CPU", settings)
        self.packed = batching.takes_packed_rows(self.compiled)
        self.pairs = batching.takes_pairs(self.compiled)  # exported for sentence pairs: it takes their segment ids

    def __call__(self, **inputs: torch.Tensor) -> SimpleNamespace:
        request = self.compiled.create_infer_request()  # one per call: server threads may classify at once
        logits = request.infer({name: tensor.numpy() for name, tensor in inputs.items()})[0]
        return SimpleNamespace(logits=torch.from_numpy(logits.copy()))


@dataclass
class LoadedModel:
    """A model ready to classify, as ``load`` (and ``model_fn``) return it.

    ``network``: the transformers classifier or an ``Int8Network`` (None when no transformer is served: an n-gram
    model alone); called with a batch (model/batching.py) it returns ``.logits`` of shape ``(texts, len(labels))``.
    ``ngram``: the n-gram model (model/ngram_scorer.py; None without one), its scores mixed with the transformer's
    at ``transformer_weight`` (answers.mixed; ensemble.json). ``encode``: texts -> token ids, truncated to
    ``max_length`` tokens. ``labels``: class names by id (NFC). ``text_column``/``form``: the training data's text
    column (a CSV header row names it) and Unicode form. ``lock``: held around each micro-batch's forward pass
    (the local server sets a fair lock; alone it is a no-op). ``pair_column``: the training data's second-text
    column for a sentence-pair model (None: one text); ``encode_pairs``: (texts, second texts) -> (token ids,
    segment ids), each truncated together to ``max_length`` tokens, longest first."""

    network: Any
    tokenizer: Any
    encode: Callable[[list[str]], list[list[int]]] | None
    labels: list[str]
    text_column: str | None
    form: str
    device: torch.device
    max_length: int
    precision: str
    lock: AbstractContextManager = field(default_factory=nullcontext)
    thresholds: list[float] | None = None  # a thresholded task's decision threshold a label (multi-label)
    temperatures: list[float] | None = None  # calibration.json's: scores are of the logits divided by them
    min_confidence: float = 0.0  # calibration.json's: a single-label answer below it is "unsure" (Head.abstain)
    head: answers.Head = field(default_factory=lambda: answers.head_for(answers.SINGLE_LABEL))
    pair_column: str | None = None
    encode_pairs: Callable[[list[str], list[str]], tuple[list[list[int]], list[list[int]]]] | None = None
    ngram: Any = None  # model/ngram_scorer.py's NgramScorer
    transformer_weight: float = 1.0

    def batches(self, tokens: list[list[int]], types: list[list[int]] | None = None):
        """(indices into ``tokens``, batch tensors) in the micro-batches this model classifies fastest
        (model/batching.py's batches_for); ``types``: the segment ids of sentence pairs (None: one text)."""
        return batching.batches_for(
            tokens,
            packed_rows=getattr(self.network, "packed", False),
            max_length=self.max_length,
            pad_token_id=self.tokenizer.pad_token_id,
            cpu_fp32=self.device.type == "cpu" and self.precision == "fp32",
            types=types,
        )


def model_fn(model_dir, context=None) -> LoadedModel:
    """The toolkit's loading hook: ``load`` at the precision the INFERENCE_PRECISION variable names (auto)."""
    return load(model_dir, os.environ.get(PRECISION_ENV, "auto"))


def int8_allowed(model_dir: Path) -> bool:
    """Whether the int8 check train recorded in metrics.json passed (model/artifact.py's int8_verdict)."""
    metrics_file = model_dir / METRICS_FILE
    if not metrics_file.is_file():
        return False
    record = json.loads(metrics_file.read_text(encoding="utf-8")).get(artifact_files.INT8_RECORD)
    return bool(record and record.get("allowed")) and (model_dir / INT8_MODEL_FILE).is_file()


def load(model_dir, precision: str = "auto") -> LoadedModel:
    """The model in ``model_dir`` ready to classify: its transformer, its n-gram model, or both mixed (ensemble.json's
    weight: answers.read_transformer_weight). auto: fp32 on a GPU; on a CPU int8 when train's check allowed it, else
    fp32. Raises ValueError for an unknown precision, int8 without the int8 model, or a side file (thresholds,
    calibration, ensemble) that does not hold what train writes."""
    model_dir = Path(model_dir)
    if precision not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV}={precision!r}; use one of {', '.join(PRECISIONS)}")
    weight = answers.read_transformer_weight(model_dir)
    ngram = ngram_scorer.NgramScorer.load(model_dir / NGRAM_WEIGHTS_FILE) if weight < 1 else None
    if weight == 0:
        return ngram_model(model_dir, ngram)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if precision == "auto":
        precision = "int8" if device.type == "cpu" and int8_allowed(model_dir) else "fp32"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    if precision == "int8":
        if not (model_dir / INT8_MODEL_FILE).is_file():
            raise ValueError(f"{PRECISION_ENV}=int8 but {INT8_MODEL_FILE} is missing; train writes it: use fp32")
        device = torch.device("cpu")  # OpenVINO's CPU plugin
        model = Int8Network(model_dir)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(device).eval()
    names, thresholds, head = label_settings(model_dir, config)
    check_outputs(model_dir, names, head, config.num_labels, ngram)
    text_column, form = training_data_settings(model_dir)
    pair_column = training_pair_column(model_dir)
    # the length the model was trained with (model/artifact.py's inference_max_length: the same rule)
    max_length = tokenizer.model_max_length
    if max_length >= NO_MODEL_MAX_LENGTH:
        max_length = getattr(config, "max_position_embeddings", 512)
    return LoadedModel(
        network=model,
        tokenizer=tokenizer,
        encode=encoder(tokenizer, max_length),
        labels=[normal_text(name) for name in names],
        text_column=text_column,
        form=form,
        device=device,
        max_length=max_length,
        precision=precision,
        thresholds=thresholds,
        temperatures=answers.read_temperatures(model_dir, config.num_labels, head),
        min_confidence=answers.read_min_confidence(model_dir),
        head=head,
        pair_column=pair_column,
        encode_pairs=pair_encoder(tokenizer, max_length) if pair_column else None,
        ngram=ngram,
        transformer_weight=weight,
    )


def ngram_model(model_dir: Path, ngram) -> LoadedModel:
    """An n-gram model served alone (``ngram``: its NgramScorer): labels.json's names and task, the training data's
    columns and form, thresholds and the abstention cut-off as for a transformer; no tokenizer, no network."""
    names, thresholds, head = label_settings(model_dir, None)
    check_outputs(model_dir, names, head, None, ngram)
    text_column, form = training_data_settings(model_dir)
    pair_column = training_pair_column(model_dir) or ("text_pair" if ngram.pairs else None)
    return LoadedModel(
        network=None,
        tokenizer=None,
        encode=None,
        labels=[normal_text(name) for name in names],
        text_column=text_column,
        form=form,
        device=torch.device("cpu"),
        max_length=0,
        precision="fp32",
        thresholds=thresholds,
        min_confidence=answers.read_min_confidence(model_dir),
        head=head,
        pair_column=pair_column,
        ngram=ngram,
        transformer_weight=0.0,
    )


def check_outputs(model_dir: Path, names: list[str], head, num_labels: int | None, ngram) -> None:
    """Raise ValueError naming labels.json when its label names do not fit the model's outputs
    (answers.outputs_problem: the transformer's ``num_labels``, the n-gram model's classes)."""
    problem = answers.outputs_problem(model_dir, names, head, num_labels, None if ngram is None else ngram.classes)
    if problem:
        raise ValueError(problem)


def label_settings(model_dir: Path, config) -> tuple[list[str], list[float] | None, answers.Head]:
    """(label names by class id, decision thresholds, the task's head): labels.json's names (else the model
    ``config``'s id2label; None for an n-gram model, which always has labels.json) and task (else the one whose
    problem_type the config names; single-label without either), and a thresholded task's thresholds
    (answers.read_thresholds), else None."""
    labels_file = model_dir / LABELS_FILE
    content = json.loads(labels_file.read_text(encoding="utf-8")) if labels_file.is_file() else {}
    names = content.get("label_names") or [config.id2label[i] for i in range(config.num_labels)]
    if content:
        head = answers.head_for(content.get("task") or answers.SINGLE_LABEL)
    else:  # a model folder without labels.json: its config's problem_type says the task
        head = answers.head_of_problem_type(getattr(config, "problem_type", None))
    return names, answers.read_thresholds(model_dir, names, head), head


def training_data_settings(model_dir: Path) -> tuple[str | None, str]:
    """(the text column's name, the Unicode form) train read its data with, from training_config.json:
    (None, NFC) without one. NFKC only when the data was NFKC; "none" still gets NFC (the scratch tokenizer's)."""
    path = model_dir / TRAINING_CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get("data") or {}
    except (OSError, ValueError, AttributeError):
        return None, TEXT_FORM
    column = data.get("text_column")
    form = "NFKC" if str(data.get("normalize", "")).lower() == "nfkc" else TEXT_FORM
    return (normal_text(column) if isinstance(column, str) and column else None), form


def training_pair_column(model_dir: Path) -> str | None:
    """The second-text column train read (data.text_pair_column in training_config.json): the model classifies
    sentence pairs. None for a one-text model, or without the file."""
    path = model_dir / TRAINING_CONFIG_FILE
    try:
        column = (json.loads(path.read_text(encoding="utf-8")).get("data") or {}).get("text_pair_column")
    except (OSError, ValueError, AttributeError):
        return None
    return normal_text(column) if isinstance(column, str) and column.strip() else None


def _check_count(count: int) -> None:
    limit = request_rules.MAX_ITEMS
    if limit and count > limit:
        raise RequestError(413, f"{count} inputs in one request; the limit is {limit}")


def _check_tokens(tokens: list[list[int]]) -> None:
    """A request's work is its texts times their tokens: bound it (request_rules.MAX_TOKENS), so that one request
    that fits finishes well inside SageMaker's 60 s."""
    total, limit = sum(map(len, tokens)), request_rules.MAX_TOKENS
    if limit and total > limit:
        raise RequestError(413, f"{total} tokens in one request; the limit is {limit}: send fewer texts")


def _json_request(body: str) -> dict:
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        raise RequestError(400, f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise RequestError(400, "invalid JSON: nested too deeply") from None
    except ValueError as error:  # a number past Python's digit limit
        raise RequestError(400, f"invalid JSON: {error}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise RequestError(400, 'JSON body must be an object with "inputs": a string or a list of strings')
    texts = payload["inputs"]
    texts = [texts] if isinstance(texts, (str, dict)) else texts
    if not isinstance(texts, list):
        raise RequestError(400, "inputs must be a string or a list of strings")
    if not texts:
        raise RequestError(400, "inputs is an empty list")
    _check_count(len(texts))
    firsts, pairs = [], []
    for index, item in enumerate(texts):
        text, pair, problem = split_item(item)
        if problem:
            status = 413 if problem.startswith("has ") else 400
            raise RequestError(status, f"inputs[{index}] {problem}")
        firsts.append(normal_text(text))
        pairs.append(None if pair is None else normal_text(pair))
    return {"inputs": firsts, "pairs": pairs, "whole": True}


def split_item(item) -> tuple[str | None, str | None, str | None]:
    """(text, second text or None, problem or None) of one request item: a string, or an object with a "text"
    (or "inputs") string and, for sentence pairs, a "text_pair" string."""
    if isinstance(item, dict):
        text, pair = item.get("text", item.get("inputs")), item.get("text_pair")
        if text is None:
            return None, None, 'is not an object with a "text" string'
    else:
        text, pair = item, None
    problem = text_problem(text)
    if problem is None and pair is not None:
        problem = pair_problem(pair)
    return (None, None, problem) if problem else (text, pair, None)


def _jsonlines_request(body: str) -> dict:
    lines = body_lines(body)
    _check_count(len(lines))
    texts, pairs, errors, ids = [], [], [], []
    for number, line in enumerate(lines, start=1):
        text, pair, error, row_id = None, None, None, None
        try:
            item = json.loads(line) if line.strip() else None
        except (ValueError, RecursionError) as problem:
            item, error = None, f"line {number}: invalid JSON ({str(problem)[:100]})"
        if isinstance(item, dict):
            row_id = item.get("id")
            inner = item.get("inputs")
            item = inner if isinstance(inner, dict) and "text" not in item else item
        if error is None:
            if isinstance(item, (dict, str)):
                text, pair, problem = split_item(item)
            else:
                problem = "is empty" if not line.strip() else 'is not an object with a "text" string'
            if problem:
                error, text, pair = f"line {number} {problem}", None, None
        texts.append(None if text is None else normal_text(text))
        pairs.append(None if pair is None else normal_text(pair))
        errors.append(error)
        ids.append(row_id)
    return {"inputs": texts, "pairs": pairs, "errors": errors, "ids": ids}


def body_lines(body: str) -> list[str]:
    """The lines of a JSON Lines or CSV body as batch transform splits it: at "\n" (a "\r" before it is part of
    the line end); the newline that ends the last line does not start another."""
    lines = [line.removesuffix("\r") for line in body.split("\n")]
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise RequestError(400, "request body is empty")
    return lines


def csv_fields(line: str) -> tuple[str, str | None]:
    """The first field of one CSV line and its second (None when it has one field): a text and, for a pair model,
    its second text; csv.Error when the line is not valid CSV on its own (an unclosed quote)."""
    row = next(csv.reader([line], strict=True), [])
    return (row[0] if row else ""), (row[1] if len(row) > 1 else None)


def _csv_request(body: str) -> dict:
    lines = body_lines(body)
    _check_count(len(lines))
    texts, pairs, errors = [], [], []
    for number, line in enumerate(lines, start=1):
        try:
            text, pair = csv_fields(line)
        except csv.Error as error:
            texts.append(None)
            pairs.append(None)
            errors.append(f"row {number} is not valid CSV ({error})")
            continue
        problem = text_problem(text)
        texts.append(None if problem else normal_text(text))
        pairs.append(None if problem or pair is None or text_problem(pair) else normal_text(pair))
        errors.append(f"row {number} {problem}" if problem else None)
    # a one-text model reads the first column only: a second column is a second text for a pair model alone
    return {"inputs": texts, "pairs": pairs, "errors": errors, "first_row": texts[0], "columns": True}


def request_accept(context) -> str | None:
    """The Accept header of the request the toolkit's context describes (None outside the container)."""
    try:
        properties = context.request_processor[0].get_request_properties()
    except (AttributeError, IndexError, TypeError):
        return None
    return properties.get("Accept") or properties.get("accept")


def input_fn(input_data, content_type, context=None):
    """The request body as {"inputs": texts, "errors", "ids", "first_row"} for predict_fn: JSON, JSON Lines or CSV by
    ``content_type`` (``str`` or bytes; a BOM is stripped); with the toolkit's ``context``, a bad Accept is refused
    first. Raises RequestError (415 unsupported type, 400 bad body, 413 too many texts or characters)."""
    if context is not None:
        negotiate(request_accept(context))  # refuse a bad Accept before any work
    media = media_type(content_type) or JSON
    if media not in SUPPORTED:
        raise RequestError(415, f"unsupported content type {content_type!r}; use one of {', '.join(SUPPORTED)}")
    if isinstance(input_data, (bytes, bytearray)):
        try:
            input_data = bytes(input_data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(400, f"request body is not valid UTF-8 (byte {error.start})") from None
    body = input_data.removeprefix("\ufeff")  # a UTF-8 BOM (the toolkit decodes JSON and CSV without removing it)
    if media == JSON:
        return _json_request(body)
    if media == CSV:
        return _csv_request(body)
    return _jsonlines_request(body)


def encoder(tokenizer, max_length: int):
    """texts -> token ids truncated to ``max_length``, as ``tokenizer(texts, truncation=True)`` gives them: a fast
    tokenizer's own Rust encoder, called directly (the Python wrapper's cost: benchmarks/RESULTS-batching.md; a
    test checks the ids are the same), else the tokenizer itself. Returns a function of a list of texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or tokenizer.truncation_side != "right":
        return lambda texts: tokenizer(
            texts,
            truncation=True,
            max_length=max_length,
            return_token_type_ids=False,
            return_attention_mask=False,
        )["input_ids"]
    fast = Tokenizer.from_str(backend.to_str())  # a copy: the tokenizer's own settings stay as they are
    fast.no_padding()
    fast.enable_truncation(max_length)
    encode = getattr(fast, "encode_batch_fast", fast.encode_batch)  # tokenizers >= 0.20: no character offsets
    return lambda texts: [encoding.ids for encoding in encode(texts)]


def pair_encoder(tokenizer, max_length: int):
    """(texts, second texts) -> (token ids, segment ids) of each pair ([CLS] text [SEP] text_pair [SEP]), truncated
    to ``max_length`` tokens longest first, as training's ``tokenizer(texts, text_pairs,
    truncation="longest_first")`` gives them: through the fast tokenizer's Rust encoder where there is one (as
    ``encoder``), else the tokenizer itself. Returns a function of two lists of texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or tokenizer.truncation_side != "right":

        def encode_slow(texts, pairs):
            encoded = tokenizer(
                texts, pairs, truncation="longest_first", max_length=max_length, return_attention_mask=False
            )
            return encoded["input_ids"], encoded["token_type_ids"]

        return encode_slow
    fast = Tokenizer.from_str(backend.to_str())
    fast.no_padding()
    fast.enable_truncation(max_length, strategy="longest_first")
    encode = getattr(fast, "encode_batch_fast", fast.encode_batch)

    def encode_fast(texts, pairs):
        encodings = encode(list(zip(texts, pairs, strict=True)))
        return [e.ids for e in encodings], [e.type_ids for e in encodings]

    return encode_fast


def shape_problems(data: dict, model: LoadedModel) -> list[str | None]:
    """Per item, why its shape does not fit ``model`` (a pair model given no second text, a one-text model given
    one), or None. Raises RequestError (400) for a JSON request with such an item, and for a JSON Lines or CSV body
    in which no readable line fits, so that a whole body of the wrong shape gets one message."""
    texts, errors = data["inputs"], data.get("errors") or [None] * len(data["inputs"])
    pairs = data.get("pairs") or [None] * len(texts)
    if model.pair_column:
        wrong = (
            'has no second text: this model classifies sentence pairs ({"text": ..., "text_pair": ...}; in CSV a '
            f"second column, {model.pair_column!r} in training)"
        )
    else:
        wrong = "has a text_pair: this model classifies one text (send the text alone)"
    if data.get("columns") and not model.pair_column:
        pairs = [None] * len(texts)  # CSV: a one-text model reads the first column only
    problems = [
        None if errors[i] is not None or (pairs[i] is not None) == bool(model.pair_column) else wrong
        for i in range(len(texts))
    ]
    if data.get("whole") and any(problems):
        raise RequestError(400, f"inputs[{problems.index(wrong)}] {wrong}")
    readable = [i for i in range(len(texts)) if errors[i] is None]
    if readable and len(readable) == len(texts) and all(problems):
        raise RequestError(400, f"the request {wrong}")
    return problems


@torch.inference_mode()
def predict_fn(data, model: LoadedModel) -> list[dict]:
    """Tokenise once, then classify in micro-batches with little padding (LoadedModel.batches); one answer per
    text, in input order (``prediction``'s dict, or {"error": message}, or {"header": name} for a CSV header row;
    with its "id" when the request gave one).

    ``data`` is what input_fn returns, or a plain list of texts (or of pairs {"text": ..., "text_pair": ...}).
    Items input_fn marked as errors stay errors; items of the wrong shape for the model (shape_problems) become
    errors, or a RequestError (400) for a JSON request or a body with no item of the right shape.
    The model's ``lock`` is held per micro-batch, not per request, so a small request is not stuck behind a
    large one. Raises RequestError (413) when the texts hold more tokens than a request may.
    """
    if isinstance(data, (str, dict, list)) and not (isinstance(data, dict) and "inputs" in data):
        items = data if isinstance(data, list) else [data]  # texts, or pairs {"text": ..., "text_pair": ...}
        data = {
            "inputs": [item.get("text") if isinstance(item, dict) else item for item in items],
            "pairs": [item.get("text_pair") if isinstance(item, dict) else None for item in items],
        }
    texts = data["inputs"]
    errors = list(data.get("errors") or [None] * len(texts))
    ids = data.get("ids") or [None] * len(texts)
    names = model.labels
    results: list[dict] = [{"error": error} for error in errors]
    header = data.get("first_row")
    if header is not None and header == model.text_column:  # a CSV header row: answered, not classified
        errors, results[0] = [True, *errors[1:]], {"header": header}
    where = "row" if data.get("columns") else "line"
    for index, problem in enumerate(shape_problems({**data, "errors": errors}, model)):
        if problem:
            errors[index] = results[index]["error"] = f"{where} {index + 1} {problem}"
    valid = [i for i, text in enumerate(texts) if errors[i] is None]
    if valid:
        for k, row in enumerate(item_scores(data, valid, model).tolist()):
            answer = model.head.answer(row, names, model.thresholds)
            results[valid[k]] = model.head.abstain(answer, model.min_confidence) if model.min_confidence else answer
    for index, row_id in enumerate(ids):
        if row_id is not None:
            results[index] = {"id": row_id, **results[index]}
    return results


def item_scores(data: dict, valid: list[int], model: LoadedModel):
    """The task's scores (len(valid), outputs) of the ``valid`` items of ``data`` (input_fn's) in the model's normal
    form: the transformer's (calibrated, in micro-batches, the model's ``lock`` held for each) and the n-gram
    model's, mixed at the model's weight (answers.mixed); numpy float64. Raises RequestError (413) when the texts
    hold more tokens than a request may."""
    texts = [normal_text(data["inputs"][i], model.form) for i in valid]
    pairs = [normal_text(data["pairs"][i], model.form) for i in valid] if model.pair_column else None
    transformer = ngram = None
    if model.network is not None:
        tokens, types = model.encode_pairs(texts, pairs) if pairs is not None else (model.encode(texts), None)
        _check_tokens(tokens)
        transformer = [None] * len(texts)
        for chunk, inputs in model.batches(tokens, types):
            with model.lock:
                logits = model.network(**{name: tensor.to(model.device) for name, tensor in inputs.items()}).logits
            raw = logits.float().cpu().numpy()
            for k, row in zip(chunk, model.head.scores(answers.calibrated(raw, model.temperatures)), strict=True):
                transformer[k] = row  # the task's scores (answers.py), calibrated
    if model.ngram is not None:
        ngram = model.head.linear_scores(model.ngram.raw(texts, pairs))
    return answers.mixed(transformer, ngram, model.transformer_weight)


def output_fn(prediction, accept):
    """The response body in the negotiated type (the container sets the content type from Accept itself)."""
    media = negotiate(accept)
    if media == JSON:
        return json.dumps(prediction, ensure_ascii=False)
    if media == CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for item in prediction:
            if "header" in item:
                writer.writerow(CSV_HEADER)
            elif "error" in item:
                writer.writerow(["", "", item["error"]])
            else:
                writer.writerow(answers.head_of(item).csv_row(item))
        return buffer.getvalue()
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in prediction)


def handle(body: bytes, content_type: str | None, accept: str | None, model) -> tuple[str, str]:
    """The whole request path as the container runs it, for the local server: (body, media type)."""
    media = negotiate(accept)  # a bad Accept fails before any work, as in the container
    return output_fn(predict_fn(input_fn(body, content_type), model), accept), media
