"""SageMaker Hugging Face inference handler: model_fn, input_fn, predict_fn, output_fn.

This file is self-contained (standard library, torch and transformers only): ``deploy`` copies it
byte for byte into model.tar.gz as ``code/inference.py``, and the local server imports this same file.

Requests
  application/json       {"inputs": "text"} or {"inputs": ["t1", "t2", ...]}
  application/jsonlines  one {"text": "..."} (or {"inputs": "..."}) per line
  text/csv               one text per row (first column)
Response, per input and in input order: an object with "label" (the name), "score" (its probability)
and "scores" (the probability of every label, by name).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MAX_ITEMS = int(os.environ.get("MAX_ITEMS_PER_REQUEST", "1024"))
MAX_TEXT_CHARS = int(os.environ.get("MAX_TEXT_CHARS", "10000"))
MICRO_BATCH = int(os.environ.get("INFERENCE_BATCH_SIZE", "64"))
LABELS_FILE = "labels.json"  # the artifact's names (model/artifact.py); this file must stand alone
NO_MODEL_MAX_LENGTH = 100_000
JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"
CONTENT_TYPES = (JSON, JSONLINES, "application/x-jsonlines", CSV)
ACCEPT_TYPES = (JSON, JSONLINES, "application/x-jsonlines", CSV)


class RequestError(Exception):
    """A client error: the server answers ``status`` with a JSON ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _media_type(value: str | None, default: str = JSON) -> str:
    return (value or default).split(";")[0].strip().lower() or default


def model_fn(model_dir, context=None):
    model_dir = Path(model_dir)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(device).eval()
    labels_file = model_dir / LABELS_FILE
    if labels_file.is_file():
        names = json.loads(labels_file.read_text(encoding="utf-8"))["label_names"]
    else:
        names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    # the length the model was trained with (model/artifact.py's inference_max_length: the same rule)
    max_length = tokenizer.model_max_length
    if max_length >= NO_MODEL_MAX_LENGTH:
        max_length = getattr(model.config, "max_position_embeddings", 512)
    return {"model": model, "tokenizer": tokenizer, "labels": list(names), "device": device, "max_length": max_length}


def _check_texts(texts) -> list[str]:
    if not isinstance(texts, list):
        raise RequestError(400, "inputs must be a string or a list of strings")
    if not texts:
        raise RequestError(400, "inputs is an empty list")
    if len(texts) > MAX_ITEMS:
        raise RequestError(413, f"{len(texts)} inputs in one request; the limit is {MAX_ITEMS}")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(400, f"inputs[{index}] is a {type(text).__name__}, not a string")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestError(413, f"inputs[{index}] has {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    return texts


def input_fn(input_data, content_type):
    media = _media_type(content_type)
    if media not in CONTENT_TYPES:
        raise RequestError(415, f"unsupported content type {content_type!r}; use one of {', '.join(CONTENT_TYPES)}")
    if isinstance(input_data, (bytes, bytearray)):
        try:
            input_data = input_data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RequestError(400, f"request body is not valid UTF-8 (byte {error.start})") from None
    if media == JSON:
        try:
            payload = json.loads(input_data)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
        if not isinstance(payload, dict) or "inputs" not in payload:
            raise RequestError(400, 'JSON body must be an object with "inputs": a string or a list of strings')
        texts = payload["inputs"]
        return _check_texts([texts] if isinstance(texts, str) else texts)
    if media == CSV:
        rows = [row for row in csv.reader(io.StringIO(input_data)) if row]
        return _check_texts([row[0] for row in rows])
    texts = []
    for number, line in enumerate(input_data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"line {number}: invalid JSON: {error.msg}") from None
        if isinstance(item, dict):
            item = item.get("text", item.get("inputs"))
        if not isinstance(item, str):
            raise RequestError(400, f'line {number}: expected an object with a "text" string')
        texts.append(item)
    return _check_texts(texts)


@torch.inference_mode()
def predict_fn(data, model):
    """Classify texts in length-sorted micro-batches (one tokenizer call each); results in input order."""
    texts = data["inputs"] if isinstance(data, dict) else data
    texts = _check_texts([texts] if isinstance(texts, str) else texts)
    tokenizer, network, names = model["tokenizer"], model["model"], model["labels"]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[dict | None] = [None] * len(texts)
    for start in range(0, len(order), MICRO_BATCH):
        chunk = order[start : start + MICRO_BATCH]
        encoded = tokenizer(
            [texts[i] for i in chunk],
            truncation=True,
            max_length=model["max_length"],
            padding=True,
            return_tensors="pt",
            return_token_type_ids=False,
        )
        encoded = {key: value.to(model["device"]) for key, value in encoded.items()}
        probabilities = torch.softmax(network(**encoded).logits.float(), dim=-1).cpu().tolist()
        for index, probs in zip(chunk, probabilities, strict=True):
            best = max(range(len(probs)), key=probs.__getitem__)
            scores = dict(zip(names, probs, strict=True))
            results[index] = {"label": names[best], "score": probs[best], "scores": scores}
    return results


def output_fn(prediction, accept):
    media = _media_type(accept)
    if media in ("*/*", ""):
        media = JSON
    if media not in ACCEPT_TYPES:
        raise RequestError(406, f"unsupported accept type {accept!r}; use one of {', '.join(ACCEPT_TYPES)}")
    if media == JSON:
        return json.dumps(prediction, ensure_ascii=False), JSON
    if media == CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for item in prediction:
            writer.writerow([item["label"], f"{item['score']:.6f}"])
        return buffer.getvalue(), CSV
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in prediction), media


def handle(body: bytes, content_type: str | None, accept: str | None, model) -> tuple[str, str]:
    """The whole request path, in the order the container calls it; a bad Accept fails before any work."""
    accept = accept or JSON
    if _media_type(accept) not in (*ACCEPT_TYPES, "*/*"):
        raise RequestError(406, f"unsupported accept type {accept!r}; use one of {', '.join(ACCEPT_TYPES)}")
    return output_fn(predict_fn(input_fn(body, content_type), model), accept)
