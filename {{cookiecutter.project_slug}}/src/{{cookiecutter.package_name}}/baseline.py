"""TF-IDF character n-grams + logistic regression: the number any fine-tuned model must beat."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .config import Config
from .data import Splits
from .labels import LabelSchema
from .metrics import classification_metrics, classification_report, metric_line


def run_baseline(config: Config, schema: LabelSchema, splits: Splits, out_dir: str | Path,
                 max_features: int = 200_000) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from .plots import plot_confusion_matrix

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True,
                                 max_features=max_features)
    features = vectorizer.fit_transform([r.text for r in splits.train])
    classifier = LogisticRegression(max_iter=1000, C=2.0)
    classifier.fit(features, [r.label for r in splits.train])
    fit_seconds = time.perf_counter() - started
    results: dict = {"fit_seconds": round(fit_seconds, 2), "train_examples": len(splits.train)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, records in (("validation", splits.validation), ("test", splits.test)):
        if not records:
            continue
        predicted = classifier.predict(vectorizer.transform([r.text for r in records]))
        metrics = classification_metrics([r.label for r in records], predicted.tolist(), schema.names)
        results[split] = metrics
        print(metric_line(metrics, prefix=f"baseline_{split}_"), flush=True)
        plot_confusion_matrix(metrics["confusion_matrix"], list(schema.names),
                              out_dir / f"confusion_matrix_{split}.png", title=f"baseline {split}")
    final = results.get("test") or results.get("validation")
    if final:
        report = classification_report(final)
        print(report, flush=True)
        (out_dir / "report.txt").write_text(report + "\n", encoding="utf-8")
    (out_dir / "metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"baseline written to {out_dir} (fit {fit_seconds:.1f}s)", flush=True)
    return results
