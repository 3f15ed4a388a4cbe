"""TF-IDF character n-grams + logistic regression: the number any fine-tuned model must beat."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import Config
from ..data.dataset import Splits
from ..data.labels import LabelSchema
from ..model.artifact import METRICS_FILE, RESULTS_DIR, write_json
from .metrics import classification_report, metric_line, score
from .reports import write_results


def run_baseline(
    config: Config, schema: LabelSchema, splits: Splits, out_dir: str | Path, max_features: int = 200_000
) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=max_features
    )
    features = vectorizer.fit_transform([r.text for r in splits.train])
    classifier = LogisticRegression(max_iter=1000, C=2.0)
    classifier.fit(features, [r.label for r in splits.train])
    fit_seconds = time.perf_counter() - started
    results: dict = {"fit_seconds": round(fit_seconds, 2), "train_examples": len(splits.train)}
    if "test" in splits.reports:
        results["test_file"] = splits.reports["test"].file  # evaluate compares models on this same file
    out_dir = Path(out_dir)
    for split, records in (("validation", splits.validation), ("test", splits.test)):
        if not records:
            continue
        probabilities = classifier.predict_proba(vectorizer.transform([r.text for r in records]))
        metrics = score([r.label for r in records], probabilities.argmax(axis=1).tolist(), schema.names)
        results[split] = metrics
        print(metric_line(metrics, prefix=f"baseline_{split}_"), flush=True)
    final = "test" if "test" in results else "validation"
    if final in results:
        print(classification_report(results[final]), flush=True)
        records = splits.test if final == "test" else splits.validation
        probabilities = classifier.predict_proba(vectorizer.transform([r.text for r in records]))
        write_results(
            out_dir / RESULTS_DIR,
            results[final],
            schema,
            title=f"baseline, {final}",
            records=records,
            probabilities=probabilities,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / METRICS_FILE, results)
    print(f"baseline written to {out_dir} (fit {fit_seconds:.1f}s)", flush=True)
    return results
