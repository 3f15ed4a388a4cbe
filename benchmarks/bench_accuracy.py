"""Accuracy on NSMC: the n-gram baseline (NB-weighted logistic regression), and scratch:small trained offline."""

from __future__ import annotations

from pathlib import Path

from common import BUILD, CpuTimer, pkg


def nsmc_config(project: Path, train: Path, test: Path, **overrides):
    return pkg("config").load_config(
        project / "config.yaml",
        {"data_dir": str(train.parent), "train_file": train.name, "test_file": test.name, "mlflow": False, **overrides},
    )


def baseline(project: Path, train: Path, test: Path) -> dict:
    dataset = pkg("data.dataset")
    config = nsmc_config(project, train, test)
    schema = dataset.load_schema(config)
    splits = dataset.load_splits(config, schema, train, test)
    with CpuTimer() as timer:
        results = pkg("evaluation.baseline").run_baseline(config, schema, splits, BUILD / "baseline")
    return {
        "accuracy": results["test"]["accuracy"],
        "macro_f1": results["test"]["macro_f1"],
        "fit_seconds": timer.seconds,
        "fit_cpu_seconds": timer.cpu_seconds,
        "c": results["c"],
        "validation_score_by_c": results.get("validation_score_by_c", {}),
        "features": results["features"],
        "train_examples": results["train_examples"],
        "test_examples": results["test"]["num_examples"],
        "artifact": str(BUILD / "baseline"),
    }


def scratch_small(
    project: Path, train: Path, test: Path, max_rows: int, epochs: float, ship: str = "transformer"
) -> dict:
    """`train` with scratch:small on NSMC: by default the transformer ships (its figures and int8 paths are what is
    measured); ``ship="auto"`` lets train choose as users get it, and ``ensemble`` in the result says what shipped."""
    import shutil

    for folder in ("scratch-small", "scratch-small-ckpt"):  # a fresh run, never a resumed one
        shutil.rmtree(BUILD / folder, ignore_errors=True)
    config = nsmc_config(
        project,
        train,
        test,
        base_model="scratch:small",
        ship=ship,
        loop="torch",
        max_rows=max_rows,
        epochs=epochs,
        batch_size=64,
        eval_batch_size=256,
        logging_steps=200,
        use_cpu=False,
        output_dir=str(BUILD / "scratch-small"),
        checkpoint_dir=str(BUILD / "scratch-small-ckpt"),
    )
    with CpuTimer() as timer:
        metrics = pkg("training.run").train(config)
    return {
        "model_dir": str(BUILD / "scratch-small"),
        "cpu_seconds": timer.cpu_seconds,
        "int8_check": metrics.get("int8"),
        "ensemble": metrics.get("ensemble"),
        "accuracy": metrics["test"]["accuracy"],
        "macro_f1": metrics["test"]["macro_f1"],
        "train_seconds": metrics["train_seconds"],
        "train_examples": metrics["train_examples"],
        "epochs": epochs,
        "test_examples": metrics["test"]["num_examples"],
    }


def baseline_with_morphemes(train_records, test_records, c: float) -> dict | None:
    """The baseline plus Korean morpheme 1-2 grams from kiwipiepy (when installed), at the baseline's C: does
    the extra install earn its size? None when kiwipiepy is not installed."""
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        return None
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import CountVectorizer

    ngram = pkg("model.ngram")
    kiwi = Kiwi(num_workers=1)

    def morphemes(records) -> list[str]:
        analysed = kiwi.tokenize([record.text for record in records])
        return [" ".join(f"{token.form}/{token.tag}" for token in tokens) for tokens in analysed]

    with CpuTimer() as timer:
        train_morphemes, test_morphemes = morphemes(train_records), morphemes(test_records)
        features, x = ngram.NgramFeatures.fit([record.text for record in train_records])
        vectorizer = CountVectorizer(
            token_pattern=r"\S+", ngram_range=(1, 2), min_df=ngram.MIN_COUNT, lowercase=False, binary=True
        )
        x = hstack([x, vectorizer.fit_transform(train_morphemes).astype(np.float32)], format="csr")
        labels = np.asarray([record.label for record in train_records])
        classifier = ngram.NgramClassifier.fit(features, x, labels, 2, c)
        test_x = hstack(
            [features.transform([r.text for r in test_records]), vectorizer.transform(test_morphemes)], format="csr"
        )
        predicted = classifier.predict_proba_features(test_x).argmax(axis=1)
    accuracy = float((predicted == np.asarray([record.label for record in test_records])).mean())
    import importlib.metadata

    installed = sum(
        file.size or 0
        for name in ("kiwipiepy", "kiwipiepy_model")
        for file in importlib.metadata.distribution(name).files or []
    )
    return {
        "accuracy": accuracy,
        "cpu_seconds": timer.cpu_seconds,
        "version": importlib.metadata.version("kiwipiepy"),
        "installed_mb": installed / 1e6,
    }
