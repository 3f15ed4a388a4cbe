"""Inference throughput: the handler's batched, length-sorted path vs one text per call through a
transformers pipeline; and end to end through the local server with the concurrent client."""

from __future__ import annotations

from pathlib import Path

from common import Timer, pkg

PIPELINE_TEXTS = 300


def save_model(folder: Path, texts: list[str], source: str = "scratch:small", max_length: int = 128) -> Path:
    schema = pkg("data.labels").LabelSchema(("negative", "positive"))
    tokenizer, model = pkg("model.sources").build_scratch(source, texts, schema, max_length)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    schema.save(folder / "labels.json")
    return folder


def run(model_dir: Path, texts: list[str]) -> dict:
    import torch
    from transformers import pipeline

    client, Record, handler = pkg("serving.client"), pkg("data.report").Record, pkg("serving.handler")
    LocalTarget, RuntimeTarget, predict_records = client.LocalTarget, client.RuntimeTarget, client.predict_records
    BackgroundServer, create_app = pkg("serving.server").BackgroundServer, pkg("serving.server").create_app

    loaded = handler.model_fn(str(model_dir))
    handler.predict_fn(texts[:64], loaded)  # warm up
    with Timer() as batched:
        for start in range(0, len(texts), handler.MAX_ITEMS):  # as many requests as the server would take
            handler.predict_fn(texts[start : start + handler.MAX_ITEMS], loaded)

    classifier = pipeline("text-classification", model=str(model_dir), device=-1, truncation=True, max_length=128)
    sample = texts[:PIPELINE_TEXTS]
    classifier(sample[0])
    with Timer() as per_text, torch.inference_mode():
        for text in sample:
            classifier(text)

    records = [Record(text, None, n) for n, text in enumerate(texts, 1)]
    with Timer() as in_process:
        predict_records(records, LocalTarget(model_dir), Path("/dev/null"), 64, 1, None)

    with BackgroundServer(create_app(model_dir)) as server:
        target = RuntimeTarget("bench", url=server.url, concurrency=4)
        with Timer() as served:
            summary = predict_records(records, target, Path("/dev/null"), 64, 4, None)
    assert summary.failed == 0
    return {
        "texts": len(texts),
        "batched_per_s": len(texts) / batched.seconds,
        "pipeline_per_s": len(sample) / per_text.seconds,
        "client_in_process_per_s": len(texts) / in_process.seconds,
        "client_server_per_s": len(texts) / served.seconds,
    }
