"""What `train` ships on real, human-labelled Korean sets, against the project's own n-gram baseline, side by side.

Each set is a baked project whose data/raw holds the set's files; the arms are the project's own commands:
`baseline`, then `train` (model.ship auto: the transformer, the n-gram model fitted on the training split, or their
mix, whichever scores best on the validation split). For each set the table gives the test file's figure of the
trivial answer, the baseline, the transformer, the n-gram model of the mix and what shipped (with its weight), the
paired count of flipped answers of what shipped against the baseline (evaluation/paired.py, max_drop 0: "not
worse" unless the flips say so), the expected calibration error of what ships before and after temperature
scaling, and the speed of what ships (the handler, as served) against transformers' pipeline() on the same test texts.

Sets (real labels only; those whose files are missing are skipped):
  hate      Korean HateSpeech (kocohub/korean-hate-speech, CC BY-SA 4.0): 3 classes, train.tsv -> dev.tsv
  nsmc      NSMC, a seeded subset (--nsmc-train rows, --nsmc-test rows; both 0: all of it, kept as nsmc-all): binary
  ratings5  real 1-5 star movie ratings from NSMC's raw crawl (benchmarks/ratings_data.py builds it): 5 classes
  bias      the HateSpeech comments' social-bias label (none / gender / others): 3 classes, train.tsv -> dev.tsv
  chatbot   songys/Chatbot_data's questions, 3 intents (real_sets_data.py builds its 80/20 split)
  unsmile   Smilegate's UnSmile hate speech, 10 labels (multi-label), train -> valid (real_sets_data.py)
  xnli      KorNLI's XNLI pairs, 3 classes: trained on its 2,490 dev pairs, tested on its 5,010 test pairs
  korsts    KorSTS sentence pairs scored 0-5 (regression), train -> test (real_sets_data.py)

    python benchmarks/bench_real_sets.py --sets hate,nsmc --model scratch:small [--epochs 0] [--nsmc-train 20000]
    python benchmarks/bench_real_sets.py --table      # RESULTS-real-sets.md from results-real-sets.json

Every result is kept in benchmarks/results-real-sets.json (one entry a set and model, replaced when rerun); an
entry's "stale" says which change of what ships came after it (the table shows it) until it is rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench_class_weights import HATE_ANSWERS, HATE_DIR
from bench_sts import ANSWERS as STS_ANSWERS

from common import BUILD, NSMC_DIR, CpuTimer, bake, machine, project_module

HERE = Path(__file__).resolve().parent
RATINGS_DIR = HERE / ".data" / "ratings5"
EXTRA_DIR = HERE / ".data"  # real_sets_data.py writes chatbot/, unsmile/, xnli/, korsts/ here
HATE_UNLABELED = EXTRA_DIR / "hate-unlabeled" / "unlabeled_comments_5.txt"  # pretrain's extra texts, when there
UNSMILE_LABELS = [
    "여성/가족",
    "남성",
    "성소수자",
    "인종/국적",
    "연령",
    "지역",
    "종교",
    "기타 혐오",
    "악플/욕설",
    "clean",
]
RESULTS = HERE / "results-real-sets.json"
SEED = 13
SPEED_TEXTS = 1000
SETS = {
    "hate": {
        "answers": {key: value for key, value in HATE_ANSWERS.items() if key != "base_model"},
        "files": {"train.tsv": HATE_DIR / "train.tsv", "dev.tsv": HATE_DIR / "dev.tsv"},
        "unlabeled": HATE_UNLABELED,
    },
    "nsmc": {
        "answers": {"project_name": "NSMC Subset"},
        "files": {
            "ratings_train.txt": NSMC_DIR / "ratings_train.txt",
            "ratings_test.txt": NSMC_DIR / "ratings_test.txt",
        },
    },
    "ratings5": {
        "answers": {
            "project_name": "Movie Stars",
            "data_format": "tsv",
            "text_column": "document",
            "label_column": "label",
            "id_column": "",
            "label_names": "1,2,3,4,5",
            "label_encoding": "name",
            "train_file": "train.tsv",
            "test_file": "test.tsv",
        },
        "files": {"train.tsv": RATINGS_DIR / "train.tsv", "test.tsv": RATINGS_DIR / "test.tsv"},
    },
    "bias": {
        "answers": {
            **{key: value for key, value in HATE_ANSWERS.items() if key != "base_model"},
            "project_name": "Social Bias",
            "label_column": "bias",
            "label_names": "none,gender,others",
        },
        "files": {"train.tsv": HATE_DIR / "train.tsv", "dev.tsv": HATE_DIR / "dev.tsv"},
        "unlabeled": HATE_UNLABELED,
    },
    "chatbot": {
        "answers": {
            "project_name": "Chatbot Intents",
            "data_format": "csv",
            "text_column": "Q",
            "label_column": "label",
            "id_column": "",
            "label_names": "일상,이별,사랑",
            "label_encoding": "index",
            "train_file": "train.csv",
            "test_file": "test.csv",
        },
        "files": {name: EXTRA_DIR / "chatbot" / name for name in ("train.csv", "test.csv")},
    },
    "unsmile": {
        "answers": {
            "project_name": "Unsmile",
            "dataset_name": "unsmile",
            "data_format": "tsv",
            "text_column": "문장",
            "label_column": "",
            "id_column": "",
            "task": "multi_label",
            "label_names": ",".join(UNSMILE_LABELS),
            "label_encoding": "name",
            "train_file": "unsmile_train.tsv",
            "test_file": "unsmile_valid.tsv",
        },
        "files": {name: EXTRA_DIR / "unsmile" / name for name in ("unsmile_train.tsv", "unsmile_valid.tsv")},
    },
    "xnli": {
        "answers": {
            "project_name": "Korean NLI",
            "dataset_name": "kornli",
            "data_format": "tsv",
            "text_column": "sentence1",
            "text_pair_column": "sentence2",
            "label_column": "gold_label",
            "id_column": "",
            "label_names": "entailment,neutral,contradiction",
            "label_encoding": "name",
            "train_file": "train.tsv",
            "test_file": "test.tsv",
        },
        "files": {name: EXTRA_DIR / "xnli" / name for name in ("train.tsv", "test.tsv")},
    },
    "korsts": {
        "answers": {**STS_ANSWERS, "train_file": "train.tsv", "test_file": "test.tsv"},
        "files": {name: EXTRA_DIR / "korsts" / name for name in ("train.tsv", "test.tsv")},
    },
}


def seeded_subset(source: Path, target: Path, rows: int) -> int:
    """``rows`` seeded lines of a TSV (its header kept) written to ``target``; all of them when ``rows`` is 0.
    Returns how many were written."""
    lines = source.read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    if rows and rows < len(body):
        body = random.Random(SEED).sample(body, rows)
    target.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    return len(body)


def entry_name(name: str, sizes: dict[str, int]) -> str:
    """The set's name in results-real-sets.json and build/: NSMC whole (no subset) is ``nsmc-all``."""
    return f"{name}-all" if name == "nsmc" and not any(sizes.values()) else name


def project_for(name: str, model: str, sizes: dict[str, int], folder: Path | None = None) -> Path:
    """The set's project, baked fresh with ``model`` as its base model into ``folder`` (build/bench/real-<set> by
    default), the set's files in data/raw/ (NSMC: seeded subsets of ``sizes``' rows by file)."""
    spec = SETS[name]
    folder = folder or BUILD / f"real-{entry_name(name, sizes)}"
    project = bake(folder, {**spec["answers"], "base_model": model}, overwrite=True)
    for file_name, source in spec["files"].items():
        seeded_subset(source, project / "data" / "raw" / file_name, sizes.get(file_name, 0))
    return project


def run_command(project: Path, command: str, sets: list[str]) -> tuple[str, float]:
    """The project's own CLI command with ``--set`` overrides: (its output, wall seconds). Exits on failure."""
    package = next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").is_file())
    arguments = [sys.executable, "-m", package, command, *(a for s in sets for a in ("--set", s))]
    env = {**os.environ, "PYTHONPATH": "src", "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run(arguments, cwd=project, env=env, capture_output=True, text=True, encoding="utf-8")
    if done.returncode:
        raise SystemExit(f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout, time.perf_counter() - started


def test_records(project: Path, test_file: Path) -> tuple[object, list]:
    """(the task, the test file's records) as the project reads them."""
    module = lambda name: project_module(project, name)  # noqa: E731
    config = module("config").load_config(project / "config.yaml", {"mlflow": False})
    dataset = module("data.dataset")
    schema = dataset.load_schema(config)
    records = dataset.load_splits(config, schema, dataset.data_file(config, config.data.train_file), test_file).test
    return module("tasks").task_named(schema.task), records


def paired_against_baseline(project: Path, task, records: list) -> dict:
    """What shipped against the baseline on the test file's decisions (Task.decisions: a row's class, or each
    (row, label) cell for multi-label): evaluation/paired.py's decision at max_drop 0 (lost and won decisions, bounds,
    rule). A score (regression) has no flips: there the baseline's squared errors against the shipped model's, worse
    when the baseline is surely better (paired_gain_decision), lost / won the rows where one errs less. ``task``,
    ``records``: test_records'."""
    texts, labels = [r.text for r in records], [r.label for r in records]
    pairs = [r.text_pair for r in records] if records and records[0].text_pair is not None else None
    paired = project_module(project, "evaluation.paired")
    inference = project_module(project, "model.inference")
    scores, thresholds = {}, {}
    for arm, folder in (("baseline", "artifacts/baseline"), ("shipped", "artifacts/model")):
        predictor = inference.load_predictor(project / folder, "fp32")
        scores[arm], thresholds[arm] = predictor.probabilities(texts, text_pairs=pairs), predictor.thresholds
    if task.name == "regression":
        errors = {arm: task.decision_errors(labels, scores[arm], None) for arm in scores}
        baseline_better = paired.paired_gain_decision(errors["shipped"], errors["baseline"])
        return {
            **baseline_better,
            "won": baseline_better["lost"],
            "lost": baseline_better["won"],
            "allowed": not baseline_better["better"],
        }
    truth = task.decision_truth(labels, scores["shipped"].shape[1])
    answers = {arm: task.decisions(scores[arm], thresholds[arm]) for arm in scores}
    return paired.paired_drop_decision(truth, answers["baseline"], answers["shipped"], 0.0)


def accuracies(project: Path, task, records: list, baseline: dict, folder: Path | None = None) -> dict | None:
    """Test accuracy of the baseline (its metrics.json, ``baseline``) and of the transformer alone (fp32; its
    argmax, which temperature scaling leaves as it is), read with transformers from the artifact whatever shipped:
    the figure the issue's table gives for some sets. None for a task without one answer a row (multi-label,
    regression). ``task``, ``records``: test_records'; ``folder``: the artifact (the project's artifacts/model by
    default)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if task.name != "single_label":
        return None
    texts, labels = [r.text for r in records], [r.label for r in records]
    pairs = [r.text_pair for r in records] if records and records[0].text_pair is not None else None
    answers = []
    folder = folder or project / "artifacts" / "model"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            second = pairs[start : start + 64] if pairs else None
            batch = tokenizer(texts[start : start + 64], second, padding=True, truncation=True, return_tensors="pt")
            answers += model(**batch).logits.argmax(dim=-1).tolist()
    right = sum(a == y for a, y in zip(answers, labels, strict=True))
    return {"baseline": baseline["test"]["accuracy"], "transformer": right / len(labels)}


def speed(project: Path, records: list) -> dict:
    """Test texts a second through the handler (what ships, at the precision serving picks) and through
    transformers' text-classification pipeline() on the transformer (fp32, batch 64), side by side, torch at one
    thread; the first SPEED_TEXTS texts (or pairs) of the test file, after a warm-up on 64 of them."""
    import torch
    from transformers import pipeline

    handler = project_module(project, "serving.handler")
    records = records[:SPEED_TEXTS]
    pairs = records[0].text_pair is not None
    inputs = [{"text": r.text, "text_pair": r.text_pair} if pairs else r.text for r in records]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model_dir = project / "artifacts" / "model"
    served = handler.load(model_dir)
    classifier = pipeline("text-classification", model=str(model_dir), device="cpu")
    handler.predict_fn(inputs[:64], served), classifier(inputs[:64], batch_size=64, truncation=True)
    with CpuTimer() as ours:
        handler.predict_fn(inputs, served)
    with CpuTimer() as theirs:
        classifier(inputs, batch_size=64, truncation=True)
    torch.set_num_threads(threads)
    return {
        "texts": len(inputs),
        "shipped_per_s": len(inputs) / ours.seconds,
        "pipeline_per_s": len(inputs) / theirs.seconds,
        "shipped_precision": served.precision,
    }


def with_pretrain(project: Path, common: list[str], unlabeled: Path | None) -> dict:
    """`pretrain` on the training file's texts (and ``unlabeled``'s, the set's own unlabelled texts, when the file is
    there), then `train` from its output (into artifacts/model-pretrained): the held-out masked-LM loss before and
    after, and the test figures of that transformer and of what shipped."""
    extra = [f"pretrain.unlabeled_files={unlabeled}"] if unlabeled and unlabeled.is_file() else []
    _, pretrain_seconds = run_command(project, "pretrain", ["tracking.mlflow=false", *extra])
    record = json.loads((project / "artifacts/pretrained/pretrain.json").read_text(encoding="utf-8"))
    sets = [*common, "model.base_model=artifacts/pretrained", "train.output_dir=artifacts/model-pretrained"]
    _, train_seconds = run_command(project, "train", sets)
    chosen = json.loads((project / "artifacts/model-pretrained/metrics.json").read_text(encoding="utf-8"))["ensemble"]
    return {
        "mlm_loss_before": record["held_out_mlm_loss_before"],
        "mlm_loss_after": record["held_out_mlm_loss_after"],
        "pretrain_steps": record["steps"],
        "unlabeled_files": extra,
        "transformer": chosen["test"]["transformer"],
        "shipped": chosen["test"]["shipped"],
        "transformer_weight": chosen["transformer_weight"],
        "pretrain_seconds": round(pretrain_seconds, 1),
        "train_seconds": round(train_seconds, 1),
    }


def run_set(name: str, model: str, epochs: float, sizes: dict[str, int], pretrain: bool = False) -> dict:
    """Bake the set's project, run `baseline` and `train` (and with ``pretrain`` the pretrain arm), and collect the
    figures the table shows."""
    project = project_for(name, model, sizes)
    common = ["tracking.mlflow=false", f"train.epochs={epochs}"]
    _, baseline_seconds = run_command(project, "baseline", ["tracking.mlflow=false"])
    output, train_seconds = run_command(project, "train", common)
    metrics = json.loads((project / "artifacts/model/metrics.json").read_text(encoding="utf-8"))
    baseline = json.loads((project / "artifacts/baseline/metrics.json").read_text(encoding="utf-8"))
    chosen, test = metrics["ensemble"], metrics["test"]
    test_file = project / "data" / "raw" / SETS[name]["answers"].get("test_file", "ratings_test.txt")
    task, records = test_records(project, test_file)
    calibration = chosen.get("ece", {}).get("test", {})  # of what ships: the transformer, the n-gram model or a mix
    return {
        "model": model,
        "epochs": epochs,
        "train_examples": metrics["train_examples"],
        "test_examples": test["num_examples"],
        "metric": chosen["metric"],
        "trivial": trivial_figure(test, chosen["metric"]),
        "baseline": baseline["test"][chosen["metric"]],
        "transformer": chosen["test"]["transformer"],
        "ngram_in_mix": chosen["test"]["ngram"],
        "shipped": chosen["test"]["shipped"],
        "shipped_choice": chosen["shipped"],
        "transformer_weight": chosen["transformer_weight"],
        "reason": chosen["reason"],
        "transformer_note": chosen.get("transformer_note"),
        "validation_gain_over_ngram": chosen.get("validation_gain_over_ngram"),
        "validation": chosen["validation"],
        "paired": paired_against_baseline(project, task, records),
        "accuracy": accuracies(project, task, records, baseline),
        "ece_before": calibration.get("before"),
        "ece_after": calibration.get("after"),
        "loss_curve": [
            h["loss"]
            for h in json.loads((project / "artifacts/model/history.json").read_text("utf-8"))
            if "loss" in h and "step" in h
        ],
        "speed": speed(project, records),
        "baseline_seconds": round(baseline_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "train_log_tail": output.splitlines()[-12:],
        "pretrain": with_pretrain(project, common, SETS[name].get("unlabeled")) if pretrain else None,
    }


def trivial_figure(test: dict, metric: str) -> float | None:
    """The test figure of always answering the most frequent class (share p of k classes): accuracy p, macro-F1
    2p / (1 + p) / k (its one class's F1 over k); the task's own record where it keeps one (regression's mean)."""
    if "trivial" in test:
        return test["trivial"].get(metric)
    support = [row["support"] for row in test.get("per_class", {}).values()]
    if not support:
        return None
    share = max(support) / sum(support)
    return {"accuracy": share, "macro_f1": 2 * share / (1 + share) / len(support)}.get(metric)


def table(results: dict) -> str:
    """The results as markdown: one row a set and model."""
    header = (
        "| set (train / test rows) | model, epochs | metric | trivial | baseline | transformer | n-gram (train split; "
        "refit on train + validation when it ships) "
        "| shipped (weight) | shipped vs baseline: lost / won rows, decision | after `pretrain`: MLM loss, "
        "transformer, shipped | ECE of what ships, before -> after calibration | shipped / pipeline() texts a second "
        "| accuracy: baseline / transformer |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for key, r in results.items():
        if key == "machine":
            continue
        trivial_text = "—" if r["trivial"] is None else f"{r['trivial']:.4f}"
        p, s = r["paired"], r["speed"]
        ece = f"{r['ece_before']:.4f} -> {r['ece_after']:.4f}" if r["ece_before"] is not None else "—"
        q = r.get("pretrain")
        pretrained = (
            f"{q['mlm_loss_before']:.2f} -> {q['mlm_loss_after']:.2f}, {q['transformer']:.4f}, {q['shipped']:.4f}"
            + (" (with the set's unlabelled texts)" if q.get("unlabeled_files") else "")
            if q
            else "not run"
        )
        stale = f" (measured {r['stale']})" if r.get("stale") else ""
        a = r.get("accuracy")
        accuracy = f"{a['baseline']:.4f} / {a['transformer']:.4f}" if a else "—"
        rows.append(
            f"| {key.split('/')[0]}{stale} ({r['train_examples']:,} / {r['test_examples']:,}) | {r['model']}, "
            f"{r['epochs'] or 'auto'} | {r['metric']} | {trivial_text} | {r['baseline']:.4f} | {r['transformer']:.4f} "
            f"| {r['ngram_in_mix']:.4f} | **{r['shipped']:.4f}** ({r['transformer_weight']:.1f}) | {p['lost']} / "
            f"{p['won']}, {'not worse' if p['allowed'] else 'worse'} | {pretrained} | {ece} | "
            f"{s['shipped_per_s']:.0f} / {s['pipeline_per_s']:.0f} ({s['shipped_precision']}) | {accuracy} |"
        )
    return header + "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="hate,nsmc,ratings5")
    parser.add_argument("--model", default="scratch:small", help="the base model train starts from")
    parser.add_argument("--epochs", type=float, default=0.0, help="0: auto, as train")
    parser.add_argument("--nsmc-train", type=int, default=20_000, help="NSMC training rows (0: all 150K)")
    parser.add_argument("--nsmc-test", type=int, default=5_000, help="NSMC test rows (0: all 50K)")
    parser.add_argument("--pretrain", action="store_true", help="also pretrain, then train from its output")
    parser.add_argument("--table", action="store_true", help="only write RESULTS-real-sets.md from the JSON")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    if not args.table:
        sizes = {"ratings_train.txt": args.nsmc_train, "ratings_test.txt": args.nsmc_test}
        for name in args.sets.split(","):
            if not all(path.is_file() for path in SETS[name]["files"].values()):
                print(f"== {name}: files missing, skipped", flush=True)
                continue
            print(f"== {name} ({args.model})", flush=True)
            result = run_set(name, args.model, args.epochs, sizes, args.pretrain)
            results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}  # another run's
            results[f"{entry_name(name, sizes)}/{args.model}"] = result
            results["machine"] = machine()
            RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    m = results.get("machine", machine())
    text = (
        "# What `train` ships on real Korean sets\n\n"
        f"Written by `benchmarks/bench_real_sets.py` from `results-real-sets.json` on {time.strftime('%Y-%m-%d')}. "
        f"Machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}; torch {m['torch']}, transformers "
        f"{m['transformers']}. Test files were never trained on; every figure is the test file's.\n\n"
        "The ECE column is what ships (the transformer, the n-gram model or their mix), before and after its "
        "temperatures. "
        "The `pretrain` arm trains from `pretrain`'s output, a local folder, where `train.distillation_alpha`'s "
        "auto is 0: that arm's transformer learns without the n-gram teacher the other arm's has (0.2 for a "
        "`scratch:` model).\n\n"
        f"{table(results)}"
    )
    (HERE / "RESULTS-real-sets.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
