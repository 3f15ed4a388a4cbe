"""SageMaker Hugging Face inference handler: model_fn, input_fn, predict_fn, output_fn.

Self-contained (standard library, torch, transformers and, for int8, openvino: code/requirements.txt):
``deploy`` copies this file byte for byte into model.tar.gz as ``code/inference.py``, and the local server
imports this same file. It follows the contract of
the Hugging Face inference toolkit (sagemaker-huggingface-inference-toolkit on Multi Model Server, what the HF
inference containers run):
- ``input_fn(input_data, content_type, context)``: JSON and CSV bodies arrive decoded to ``str``, other types as
  bytes; the context carries the request headers, so a bad Accept is refused before any prediction runs;
- ``output_fn(prediction, accept)`` returns the body alone: the toolkit sets the response content type itself;
- any exception becomes HTTP 400 with its message (the local server answers the same message with a more
  precise 4xx status).

Requests
  application/json       {"inputs": "text"} or {"inputs": ["t1", "t2", ...]}
  application/jsonlines  one {"text": "..."} (or {"inputs": "..."}) per line; an "id" is echoed back. Exactly one
                         output line per input line, in order: a blank or invalid line gets an {"error": ...} line
                         (what batch transform needs to keep its output aligned with its input)
  text/csv               one text per line (first column), each line parsed alone: exactly one output row per
                         input line, as for JSON Lines. A blank line, or one that is not valid CSV (an unclosed
                         quote), gets its own error row and never merges with the next line, so a quoted text
                         cannot span lines. A first line equal to the text column's name (data.text_column in
                         training_config.json, e.g. ``document``) is a header: it is answered with a header row
                         (``label,score,error``; in JSON {"header": name}), never classified.
Response, per input and in input order: an object with "label" (the name), "score" (its probability) and
"scores" (the probability of every label, by name). Accept is a list with q-values: the first supported type
wins, */* means JSON.

Text: every text is brought to one Unicode normal form before it is checked or tokenised (NFC, or NFKC when the
model was trained on NFKC data), as the data loader does for training: decomposed Hangul (NFD, from macOS and
some web forms) otherwise becomes [UNK]. A text with no visible character (visible_text) is refused as empty.
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import torch
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

# Request limits, defined here only: the local server and the predict client read them from this file (the client
# parses these three literals without importing it: no torch for a client of an endpoint)
DEFAULT_MAX_ITEMS = 1024  # texts per real-time request
DEFAULT_MAX_TEXT_CHARS = 10_000  # characters per text, counted in NFC
MAX_BODY_BYTES = 6_291_456  # SageMaker's real-time payload limit: 6 MB
# Tokens per real-time request (after truncation): 1,024 texts of 128 tokens. The time this bounds on the
# default instance is in the README (SageMaker answers a real-time invocation within 60 s or not at all).
DEFAULT_MAX_TOKENS = 131_072
ITEMS_LIMIT_ENV = "MAX_ITEMS_PER_REQUEST"  # deploy sets it to 0 (no limit) for batch transform models
TOKENS_LIMIT_ENV = "MAX_TOKENS_PER_REQUEST"  # likewise
PRECISION_ENV = "INFERENCE_PRECISION"  # auto | int8 | fp32; deploy sets it from the instance type
MAX_ITEMS = int(os.environ.get(ITEMS_LIMIT_ENV, str(DEFAULT_MAX_ITEMS)))
MAX_TEXT_CHARS = int(os.environ.get("MAX_TEXT_CHARS", str(DEFAULT_MAX_TEXT_CHARS)))
MAX_TOKENS = int(os.environ.get(TOKENS_LIMIT_ENV, str(DEFAULT_MAX_TOKENS)))
MICRO_BATCH = int(os.environ.get("INFERENCE_BATCH_SIZE", "64"))
# fp32 on a CPU: a micro-batch stops growing where padding would pass this share of its real tokens (even sorted
# by length, a request's long texts spread widely): 14% more reviews per CPU-second on new 1,024-review requests.
# A GPU keeps whole batches: there the bound made the handler 23% slower (an H200). So does an int8 model that
# cannot pack (below): OpenVINO prepares kernels for each new input shape, and varying row counts cost it 5%.
CPU_MAX_PADDING = float(os.environ.get("INFERENCE_MAX_PADDING", "0.1"))
# int8 packs several texts into each row (model/int8.py's PackedClassifier: each text sees only its own tokens),
# so almost no slot is padding, in rows of a few fixed widths: OpenVINO prepares kernels for each new input shape.
# Texts up to PACK_WIDTH tokens share rows that wide, longer ones rows twice as wide, and so on up to max_length;
# a micro-batch holds about PACK_TOKENS slots. On new 1,024-review requests: 16% faster than whole 64-row batches.
PACK_WIDTH = 64
PACK_TOKENS = 2048
PACKED_INPUTS = ("input_ids", "segment_ids", "first_tokens")
LABELS_FILE = "labels.json"  # the artifact's names (model/artifact.py); this file must stand alone
TRAINING_CONFIG_FILE = "training_config.json"  # the config train ran with: data.text_column, data.normalize
METRICS_FILE = "metrics.json"
INT8_MODEL_FILE = "int8/model.xml"  # the OpenVINO int8 model train writes (model/int8.py)
PRECISIONS = ("auto", "int8", "fp32")
NO_MODEL_MAX_LENGTH = 100_000
JSON, CSV = "application/json", "text/csv"
JSONLINES_TYPES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")
SUPPORTED = (JSON, *JSONLINES_TYPES, CSV)
WILDCARDS = {"*/*": JSON, "application/*": JSON, "text/*": CSV}
CSV_HEADER = ("label", "score", "error")  # the answer to a CSV body's header row
TEXT_FORM = "NFC"  # what input_fn checks texts in; predict_fn then applies the model's own form (NFC or NFKC)
# Unicode general categories of characters that show nothing: separators (Zs space, Zl, Zp) and "other" (Cc
# control, Cf format such as U+200B and U+FEFF, Cs surrogate, Co private use, Cn unassigned)
INVISIBLE_CATEGORIES = ("Z", "C")
# letters (Lo) that render as blank space: the Hangul fillers, a common way to type an "empty" Korean message
HANGUL_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


class RequestError(ValueError):
    """A client error: the message says what is wrong; ``status`` is the precise HTTP code."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(value: str | None) -> str:
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
        self.packed = takes_packed_rows(self.compiled)

    def __call__(self, **inputs: torch.Tensor) -> SimpleNamespace:
        request = self.compiled.create_infer_request()  # one per call: server threads may classify at once
        logits = request.infer({name: tensor.numpy() for name, tensor in inputs.items()})[0]
        return SimpleNamespace(logits=torch.from_numpy(logits.copy()))


def takes_packed_rows(compiled) -> bool:
    """Whether a compiled OpenVINO model takes PACKED_INPUTS (model/int8.py's PackedClassifier), not one padded
    text per row."""
    return {name for port in compiled.inputs for name in port.get_names()} >= set(PACKED_INPUTS)


def model_fn(model_dir, context=None):
    return load(model_dir, os.environ.get(PRECISION_ENV, "auto"))


def int8_allowed(model_dir: Path) -> bool:
    """Whether the int8 check train recorded in metrics.json passed (model/artifact.py's int8_verdict)."""
    metrics_file = model_dir / METRICS_FILE
    if not metrics_file.is_file():
        return False
    record = json.loads(metrics_file.read_text(encoding="utf-8")).get("int8")
    return bool(record and record.get("allowed")) and (model_dir / INT8_MODEL_FILE).is_file()


def load(model_dir, precision: str = "auto"):
    """The model ready to classify. auto: fp32 on a GPU; on a CPU int8 when train's check allowed it, else fp32."""
    model_dir = Path(model_dir)
    if precision not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV}={precision!r}; use one of {', '.join(PRECISIONS)}")
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
    labels_file = model_dir / LABELS_FILE
    if labels_file.is_file():
        names = json.loads(labels_file.read_text(encoding="utf-8"))["label_names"]
    else:
        names = [config.id2label[i] for i in range(config.num_labels)]
    text_column, form = training_data_settings(model_dir)
    # the length the model was trained with (model/artifact.py's inference_max_length: the same rule)
    max_length = tokenizer.model_max_length
    if max_length >= NO_MODEL_MAX_LENGTH:
        max_length = getattr(config, "max_position_embeddings", 512)
    return {
        "model": model,
        "tokenizer": tokenizer,
        "encode": encoder(tokenizer, max_length),
        "labels": [normal_text(name) for name in names],
        "text_column": text_column,
        "form": form,
        "device": device,
        "max_length": max_length,
        "precision": precision,
    }


def visible_text(text: str) -> bool:
    """Whether ``text`` holds a visible character: one whose Unicode general category is a letter, mark, number,
    punctuation or symbol (not Z*, separators, nor C*, control/format/surrogate/private/unassigned), other than
    the Hangul fillers (HANGUL_FILLERS, letters that render blank). A text without one is refused as empty:
    whitespace, zero-width spaces (U+200B), BOMs (U+FEFF) and control characters only."""
    return any(
        unicodedata.category(character)[0] not in INVISIBLE_CATEGORIES and character not in HANGUL_FILLERS
        for character in text
    )


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


def text_problem(text) -> str | None:
    """Why ``text`` cannot be classified ("is ..." / "has ..."), or None. Length counts characters in NFC."""
    if not isinstance(text, str):
        return f"is a {type(text).__name__}, not a string"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"is not valid text (unpaired surrogate {text[error.start]!r} at character {error.start})"
    if not visible_text(text):
        return "is empty"
    length = len(unicodedata.normalize(TEXT_FORM, text)) if len(text) > MAX_TEXT_CHARS else len(text)
    if length > MAX_TEXT_CHARS:
        return f"has {length} characters; the limit is {MAX_TEXT_CHARS}"
    return None


def normal_text(text: str, form: str = TEXT_FORM) -> str:
    """``text`` in Unicode normal ``form`` (NFC unless the model was trained on NFKC text)."""
    return text if unicodedata.is_normalized(form, text) else unicodedata.normalize(form, text)


def _check_count(count: int) -> None:
    if MAX_ITEMS and count > MAX_ITEMS:
        raise RequestError(413, f"{count} inputs in one request; the limit is {MAX_ITEMS}")


def _check_tokens(tokens: list[list[int]]) -> None:
    """A request's work is its texts times their tokens: bound it (MAX_TOKENS), so that one request that fits
    finishes well inside SageMaker's 60 s."""
    total = sum(map(len, tokens))
    if MAX_TOKENS and total > MAX_TOKENS:
        raise RequestError(413, f"{total} tokens in one request; the limit is {MAX_TOKENS}: send fewer texts")


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
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list):
        raise RequestError(400, "inputs must be a string or a list of strings")
    if not texts:
        raise RequestError(400, "inputs is an empty list")
    _check_count(len(texts))
    for index, text in enumerate(texts):
        problem = text_problem(text)
        if problem:
            status = 413 if problem.startswith("has ") else 400
            raise RequestError(status, f"inputs[{index}] {problem}")
    return {"inputs": [normal_text(text) for text in texts]}


def _jsonlines_request(body: str) -> dict:
    lines = body_lines(body)
    _check_count(len(lines))
    texts, errors, ids = [], [], []
    for number, line in enumerate(lines, start=1):
        text, error, row_id = None, None, None
        try:
            item = json.loads(line) if line.strip() else None
        except (ValueError, RecursionError) as problem:
            item, error = None, f"line {number}: invalid JSON ({str(problem)[:100]})"
        if isinstance(item, dict):
            row_id = item.get("id")
            text = item.get("text", item.get("inputs"))
        elif isinstance(item, str):
            text = item
        if error is None:
            if text is None:
                problem = "is empty" if not line.strip() else 'is not an object with a "text" string'
            else:
                problem = text_problem(text)
            if problem:
                error, text = f"line {number} {problem}", None
        texts.append(None if text is None else normal_text(text))
        errors.append(error)
        ids.append(row_id)
    return {"inputs": texts, "errors": errors, "ids": ids}


def body_lines(body: str) -> list[str]:
    """The lines of a JSON Lines or CSV body as batch transform splits it: at "\n" (a "\r" before it is part of
    the line end); the newline that ends the last line does not start another."""
    lines = [line.removesuffix("\r") for line in body.split("\n")]
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise RequestError(400, "request body is empty")
    return lines


def csv_text(line: str) -> str:
    """The first field of one CSV line; csv.Error when the line is not valid CSV on its own (an unclosed quote)."""
    row = next(csv.reader([line], strict=True), [])
    return row[0] if row else ""


def _csv_request(body: str) -> dict:
    lines = body_lines(body)
    _check_count(len(lines))
    texts, errors = [], []
    for number, line in enumerate(lines, start=1):
        try:
            text = csv_text(line)
        except csv.Error as error:
            texts.append(None)
            errors.append(f"row {number} is not valid CSV ({error})")
            continue
        problem = text_problem(text)
        texts.append(None if problem else normal_text(text))
        errors.append(f"row {number} {problem}" if problem else None)
    return {"inputs": texts, "errors": errors, "first_row": texts[0]}


def request_accept(context) -> str | None:
    """The Accept header of the request the toolkit's context describes (None outside the container)."""
    try:
        properties = context.request_processor[0].get_request_properties()
    except (AttributeError, IndexError, TypeError):
        return None
    return properties.get("Accept") or properties.get("accept")


def input_fn(input_data, content_type, context=None):
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


def prediction(probabilities: list[float], names: list[str]) -> dict:
    """One text's answer: the most probable label's name, its probability, and every label's."""
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return {"label": names[best], "score": probabilities[best], "scores": dict(zip(names, probabilities, strict=True))}


def encoder(tokenizer, max_length: int):
    """texts -> token ids truncated to ``max_length``, as ``tokenizer(texts, truncation=True)`` gives them: a fast
    tokenizer's own Rust encoder, called directly (the Python wrapper costs about a tenth of int8's time per
    text; a test checks the ids are the same), else the tokenizer itself."""
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


def padded(rows: list[list[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids and attention_mask for token-id rows, right-padded to the longest."""
    lengths = torch.tensor([len(ids) for ids in rows])
    attention_mask = torch.arange(int(lengths.max())) < lengths[:, None]
    input_ids = torch.full(attention_mask.shape, pad_token_id, dtype=torch.long)
    input_ids[attention_mask] = torch.tensor([token for ids in rows for token in ids], dtype=torch.long)
    return input_ids, attention_mask.long()


def micro_batches(lengths: list[int], max_padding: float | None) -> list[tuple[int, int]]:
    """(start, end) spans of ascending ``lengths``: at most MICRO_BATCH rows each and, unless ``max_padding`` is
    None, padded to the longest at most ``max_padding`` more tokens than the rows hold (a single row always makes
    a batch)."""
    bound = float("inf") if max_padding is None else 1 + max_padding
    spans, start = [], 0
    while start < len(lengths):
        end, tokens = start + 1, lengths[start]
        while (
            end < len(lengths)
            and end - start < MICRO_BATCH
            and (end - start + 1) * lengths[end] <= bound * (tokens + lengths[end])
        ):
            tokens += lengths[end]
            end += 1
        spans.append((start, end))
        start = end
    return spans


def pack_widths(max_length: int) -> list[int]:
    """The row widths int8 packs texts into: PACK_WIDTH, doubled while shorter than max_length, then max_length."""
    widths, width = [], PACK_WIDTH
    while width < max_length:
        widths.append(width)
        width *= 2
    return [*widths, max_length]


def pack(lengths: list[int], width: int) -> list[list[int]]:
    """Rows of indices into ``lengths`` (each at most ``width``) whose lengths add up to at most ``width``: best fit,
    longest first, which leaves a few percent of the slots empty."""
    rows: list[list[int]] = []
    free_rows: list[list[int]] = [[] for _ in range(width + 1)]  # free slots -> rows with that many free
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        length = lengths[index]
        free = next((f for f in range(length, width + 1) if free_rows[f]), None)
        if free is None:
            row, free = len(rows), width
            rows.append([])
        else:
            row = free_rows[free].pop()
        rows[row].append(index)
        free_rows[free - length].append(row)
    return rows


def packed(rows: list[list[list[int]]], width: int, pad_token_id: int) -> dict[str, torch.Tensor]:
    """PACKED_INPUTS for rows of token-id lists: the ids side by side, each text's segment number (1, 2, ...;
    0 is padding), and where each text starts in the flattened batch, in row order. A batch of one row is cut
    to the tokens it holds."""
    if len(rows) == 1:
        width = sum(len(ids) for ids in rows[0])
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    segment_ids = torch.zeros((len(rows), width), dtype=torch.long)
    first_tokens = []
    for row, texts in enumerate(rows):
        start = 0
        for segment, ids in enumerate(texts, start=1):
            input_ids[row, start : start + len(ids)] = torch.tensor(ids, dtype=torch.long)
            segment_ids[row, start : start + len(ids)] = segment
            first_tokens.append(row * width + start)
            start += len(ids)
    return {"input_ids": input_ids, "segment_ids": segment_ids, "first_tokens": torch.tensor(first_tokens)}


def packed_batches(tokens: list[list[int]], max_length: int, pad_token_id: int):
    """(indices into ``tokens``, PACKED_INPUTS) per micro-batch: texts packed into rows of pack_widths."""
    shorter = 0
    for width in pack_widths(max(max_length, max(map(len, tokens)))):
        group = [k for k, ids in enumerate(tokens) if shorter < len(ids) <= width]
        shorter = width
        rows = [[group[i] for i in row] for row in pack([len(tokens[k]) for k in group], width)]
        per_batch = max(1, PACK_TOKENS // width)
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
            yield (
                [k for row in batch for k in row],
                packed([[tokens[k] for k in row] for row in batch], width, pad_token_id),
            )


def padded_batches(tokens: list[list[int]], max_padding: float | None, pad_token_id: int):
    """(indices into ``tokens``, input_ids and attention_mask) per micro-batch of similar length (micro_batches)."""
    order = sorted(range(len(tokens)), key=lambda k: len(tokens[k]))
    for start, end in micro_batches([len(tokens[k]) for k in order], max_padding):
        chunk = order[start:end]
        input_ids, attention_mask = padded([tokens[k] for k in chunk], pad_token_id)
        yield chunk, {"input_ids": input_ids, "attention_mask": attention_mask}


def batches_for(model: dict, tokens: list[list[int]]):
    """How ``model`` classifies ``tokens`` fastest: packed rows for a packed int8 model; else one text per row,
    with the padding bound for fp32 on a CPU (CPU_MAX_PADDING) and whole batches elsewhere."""
    pad_token_id = model["tokenizer"].pad_token_id
    if getattr(model["model"], "packed", False):
        return packed_batches(tokens, model["max_length"], pad_token_id)
    cpu_fp32 = model["device"].type == "cpu" and model["precision"] == "fp32"
    return padded_batches(tokens, CPU_MAX_PADDING if cpu_fp32 else None, pad_token_id)


@torch.inference_mode()
def predict_fn(data, model):
    """Tokenise once, then classify in micro-batches with little padding (batches_for); results in input order.

    ``data`` is what input_fn returns, or a plain list of texts. Items input_fn marked as errors stay errors.
    When the model dict holds a ``lock`` (the local server), it is held per micro-batch, not per request, so a
    small request is not stuck behind a large one.
    """
    if isinstance(data, (str, list)):
        data = {"inputs": [data] if isinstance(data, str) else data}
    texts = data["inputs"]
    errors = data.get("errors") or [None] * len(texts)
    ids = data.get("ids") or [None] * len(texts)
    network, names, device = model["model"], model["labels"], model["device"]
    results: list[dict] = [{"error": error} for error in errors]
    header = data.get("first_row")
    if header is not None and header == model.get("text_column"):  # a CSV header row: answered, not classified
        errors, results[0] = [True, *errors[1:]], {"header": header}
    valid = [i for i, text in enumerate(texts) if errors[i] is None]
    if valid:
        form = model.get("form", TEXT_FORM)
        tokens = model["encode"]([normal_text(texts[i], form) for i in valid])
        _check_tokens(tokens)
        for chunk, inputs in batches_for(model, tokens):
            with model.get("lock") or nullcontext():
                logits = network(**{name: tensor.to(device) for name, tensor in inputs.items()}).logits
                probabilities = torch.softmax(logits.float(), dim=-1).cpu().tolist()
            for k, probs in zip(chunk, probabilities, strict=True):
                results[valid[k]] = prediction(probs, names)
    for index, row_id in enumerate(ids):
        if row_id is not None:
            results[index] = {"id": row_id, **results[index]}
    return results


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
                writer.writerow([item["label"], f"{item['score']:.6f}"])
        return buffer.getvalue()
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in prediction)


def handle(body: bytes, content_type: str | None, accept: str | None, model) -> tuple[str, str]:
    """The whole request path as the container runs it, for the local server: (body, media type)."""
    media = negotiate(accept)  # a bad Accept fails before any work, as in the container
    return output_fn(predict_fn(input_fn(body, content_type), model), accept), media
