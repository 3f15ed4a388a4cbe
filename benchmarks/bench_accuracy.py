"""Accuracy on NSMC: the TF-IDF baseline, and scratch:small trained offline within a time budget."""

from __future__ import annotations

from pathlib import Path

from common import BUILD, pkg


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
    results = pkg("evaluation.baseline").run_baseline(config, schema, splits, BUILD / "baseline")
    return {
        "accuracy": results["test"]["accuracy"],
        "macro_f1": results["test"]["macro_f1"],
        "fit_seconds": results["fit_seconds"],
        "train_examples": results["train_examples"],
        "test_examples": results["test"]["num_examples"],
    }


def scratch_small(project: Path, train: Path, test: Path, max_rows: int, epochs: float) -> dict:
    import shutil

    for folder in ("scratch-small", "scratch-small-ckpt"):  # a fresh run, never a resumed one
        shutil.rmtree(BUILD / folder, ignore_errors=True)
    config = nsmc_config(
        project,
        train,
        test,
        base_model="scratch:small",
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
    metrics = pkg("training.run").train(config)
    return {
        "accuracy": metrics["test"]["accuracy"],
        "macro_f1": metrics["test"]["macro_f1"],
        "train_seconds": metrics["train_seconds"],
        "train_examples": metrics["train_examples"],
        "epochs": epochs,
        "test_examples": metrics["test"]["num_examples"],
    }
