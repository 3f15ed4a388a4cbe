"""Regression on a real public STS set: KorSTS (Kakao Brain, CC BY-SA 4.0), sentence pairs scored 0-5.

Bakes a `task: regression` project with a second text (sentence1, sentence2 -> score), copies KorSTS's files into its
data/raw/ (sts-dev.tsv appended to sts-train.tsv: the project holds its own validation split out of the training
file, grouped by first sentence; sts-test.tsv untouched as the test file), then runs the baked project's own commands
(`prepare`, `baseline`, `train` with an offline `scratch:*` model, `evaluate`) and reports on the test file:

- the trivial answer: always the training file's mean score (its MSE on the test file);
- the baseline's and the transformer's Spearman, Pearson, MSE, MAE; the better of the two;
- whether the transformer's MSE is below the trivial answer's;
- one JSON request with a {"text", "text_pair"} pair through the project's local server (BackgroundServer) and
  through the handler in-process: the answer must be {"score": <number>}.

    python benchmarks/bench_sts.py [--korsts PATH] [--epochs 3] [--model scratch:small] [--rows 0] [--quick]

--korsts: a folder holding sts-train.tsv, sts-dev.tsv and sts-test.tsv, or a bare git directory of
kakaobrain/KorNLUDatasets (read with `git show HEAD:KorSTS/...`). Default: ../shared/data/korsts when present, else
the fetched mirror /work/.mirror/kakaobrain+KorNLUDatasets/repo.
Writes benchmarks/RESULTS-sts.md and benchmarks/results-sts.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import BUILD, TEMPLATE, Timer, bake, machine, project_module

HERE = Path(__file__).resolve().parent
SHARED = TEMPLATE.parent / "shared" / "data" / "korsts"
MIRROR = Path("/work/.mirror/kakaobrain+KorNLUDatasets/repo")
SPLITS = ("train", "dev", "test")
COLUMNS = ["genre", "filename", "year", "id", "score", "sentence1", "sentence2"]
ANSWERS = {
    "project_name": "Korean STS",
    "dataset_name": "korsts",
    "data_format": "tsv",
    "text_column": "sentence1",
    "text_pair_column": "sentence2",
    "label_column": "score",
    "id_column": "",
    "task": "regression",
    "label_names": "similarity",
    "train_file": "sts-train.tsv",
    "test_file": "sts-test.tsv",
}
EXAMPLE = {"text": "한 남자가 기타를 치고 있다.", "text_pair": "남자가 기타를 연주하고 있다."}


def korsts_text(source: Path, split: str) -> str:
    """sts-<split>.tsv as text, from a folder or a bare git directory of KorNLUDatasets."""
    if (source / f"sts-{split}.tsv").is_file():
        return (source / f"sts-{split}.tsv").read_text(encoding="utf-8")
    found = subprocess.run(
        ["git", f"--git-dir={source}", "show", f"HEAD:KorSTS/sts-{split}.tsv"],
        capture_output=True,
        check=True,
    )
    return found.stdout.decode("utf-8")


def inspect(text: str) -> dict:
    """What a reader that splits on tabs, with no quoting, meets in one KorSTS file: rows, rows whose field count is
    not 7, empty sentences, scores that are not numbers in 0-5, fields that open with a quote mark (a CSV reader
    would take them for quoting), and whether the file ends with a line break."""
    lines = text.split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines = lines[:-1]
    header, rows = lines[0].split("\t"), lines[1:]
    bad_fields, empty, bad_scores, quoted = [], [], [], 0
    for number, line in enumerate(rows, start=2):
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            bad_fields.append(number)
            continue
        if not fields[5].strip() or not fields[6].strip():
            empty.append(number)
        try:
            score = float(fields[4])
            if not 0 <= score <= 5:
                bad_scores.append(number)
        except ValueError:
            bad_scores.append(number)
        quoted += sum(field.startswith('"') for field in fields[5:])
    return {
        "header": header,
        "rows": len(rows),
        "wrong_field_count": bad_fields,
        "empty_sentence": empty,
        "bad_score": bad_scores,
        "fields_opening_with_a_quote": quoted,
        "ends_with_newline": ends_with_newline,
        "crlf": "\r" in text,
    }


def data_rows(text: str) -> list[str]:
    """The data lines of a file (header and final line break dropped)."""
    return [line for line in text.split("\n")[1:] if line]


def scores_of(lines: list[str]) -> list[float]:
    return [float(line.split("\t")[4]) for line in lines]


def cli(project: Path, log: Path, *arguments: str) -> tuple[float, int]:
    """The baked project's command (python -m <package> ...) in its folder; output to ``log``. (seconds, exit code)"""
    package = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["package_name"]
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", package, *arguments]
    print("$", " ".join(command[1:]), flush=True)
    with Timer() as timer, open(log, "w", encoding="utf-8") as handle:
        code = subprocess.run(command, cwd=project, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    print(f"  exit {code}, {timer.seconds:.0f} s (log: {log})", flush=True)
    return timer.seconds, code


def figures(metrics: dict) -> dict:
    keys = ("spearman", "pearson", "mse", "mae", "num_examples")
    found = {key: metrics[key] for key in keys if key in metrics}
    found["predicted_std"] = metrics.get("predicted", {}).get("std")
    return found


def baseline_with_task(project: Path, sets: list[str]) -> dict:
    """The project's baseline in-process with the regression task passed to NgramClassifier.fit (the shipped
    `baseline` command does not pass it: see RESULTS-sts.md). A measurement of what the baseline would score, not
    the shipped command."""
    baseline = project_module(project, "evaluation.baseline")
    shipped = baseline.NgramClassifier

    class WithTask(shipped):
        @classmethod
        def fit(cls, features, x, y, classes, c, task=None):
            return shipped.fit.__func__(shipped, features, x, y, classes, c, task or "regression")

    config = project_module(project, "config").load_config(
        project / "config.yaml", dict(setting.split("=", 1) for setting in sets)
    )
    baseline.NgramClassifier = WithTask
    try:
        with Timer() as timer:
            results = baseline.baseline_from_config(config, project / "artifacts" / "baseline-ridge")
    finally:
        baseline.NgramClassifier = shipped
    return {**figures(results["test"]), "c": results["c"], "seconds": timer.seconds}


def serve_pair(project: Path, model_dir: Path) -> dict:
    """One JSON request with a pair through the local server (BackgroundServer) and through the handler's four
    functions in-process."""
    import requests

    server = project_module(project, "serving.server")
    handler = project_module(project, "serving.handler")
    body = json.dumps({"inputs": EXAMPLE}, ensure_ascii=False)
    with server.BackgroundServer(server.create_app(model_dir)) as running:
        answer = requests.post(
            f"{running.url}/invocations",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=60,
        )
    model = handler.model_fn(str(model_dir))
    in_process = handler.output_fn(
        handler.predict_fn(handler.input_fn(body, "application/json"), model), "application/json"
    )
    parsed = json.loads(answer.text) if answer.status_code == 200 else None
    first = parsed[0] if isinstance(parsed, list) and parsed else parsed
    is_number = isinstance(first, dict) and isinstance(first.get("score"), (int, float))
    return {
        "request": body,
        "status": answer.status_code,
        "server_answer": answer.text,
        "handler_answer": in_process,
        "answers_a_number": bool(is_number and math.isfinite(first["score"])),
        "precision": getattr(model, "precision", None),
    }


def run(source: Path, epochs: float, model: str, rows: int, quick: bool, reuse: bool = False) -> dict:
    texts = {split: korsts_text(source, split) for split in SPLITS}
    results: dict = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "source": str(source),
        "files": {split: inspect(text) for split, text in texts.items()},
    }
    train_lines = data_rows(texts["train"]) + data_rows(texts["dev"])
    test_lines = data_rows(texts["test"])
    if quick:
        train_lines, test_lines = train_lines[:1500], test_lines[:500]
    folder = BUILD / "sts"
    done = folder / "steps.json"
    if not (reuse and done.is_file()):
        shutil.rmtree(folder, ignore_errors=True)
    project = bake(folder, ANSWERS, overwrite=True)
    header = "\t".join(COLUMNS) + "\n"
    raw = project / "data" / "raw"
    (raw / "sts-train.tsv").write_text(header + "\n".join(train_lines) + "\n", encoding="utf-8")
    (raw / "sts-test.tsv").write_text(header + "\n".join(test_lines) + "\n", encoding="utf-8")
    train_scores, test_scores = scores_of(train_lines), scores_of(test_lines)
    mean = sum(train_scores) / len(train_scores)
    results["rows"] = {"train_file": len(train_lines), "test_file": len(test_lines)}
    pairs = {tuple(line.split("\t")[5:7]) for line in train_lines}
    firsts = {line.split("\t")[5] for line in train_lines}
    test_pairs = [tuple(line.split("\t")[5:7]) for line in test_lines]
    results["overlap"] = {
        "test_first_sentence_in_train": sum(a in firsts for a, _ in test_pairs),
        "test_pair_in_train": sum((a, b) in pairs for a, b in test_pairs),
        "test_pair_reversed_in_train": sum((b, a) in pairs for a, b in test_pairs),
    }
    results["trivial"] = {
        "train_mean": mean,
        "mse": sum((s - mean) ** 2 for s in test_scores) / len(test_scores),
    }
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    sets = ["tracking.mlflow=false", "train.use_cpu=true", f"model.base_model={model}", f"train.epochs={epochs}"]
    if rows:
        sets.append(f"data.max_rows={rows}")
    overrides = [part for setting in sets for part in ("--set", setting)]
    results["settings"] = sets
    if reuse and done.is_file():  # --reuse: the commands' artifacts and timings of the last run, measured again
        stored = json.loads(done.read_text())
        results["full_pass_seconds"] = stored.pop("_wall_seconds", None)
        steps = {name: tuple(step) for name, step in stored.items()}
        results["reused"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(done.stat().st_mtime))
    else:
        steps = {}
        steps["prepare"] = cli(project, logs / "prepare.log", "prepare", *overrides)
        steps["baseline"] = cli(project, logs / "baseline.log", "baseline", *overrides)
        steps["train"] = cli(project, logs / "train.log", "train", *overrides)
        steps["evaluate"] = cli(project, logs / "evaluate.log", "evaluate", *overrides)
        done.write_text(json.dumps(steps))
    results["prepare_output"] = (logs / "prepare.log").read_text(encoding="utf-8")
    results["steps"] = {name: {"seconds": round(s, 1), "exit": code} for name, (s, code) in steps.items()}
    failed = [name for name, (_, code) in steps.items() if code]
    if failed:
        results["failed"] = failed
        return results
    baseline = json.loads((project / "artifacts/baseline/metrics.json").read_text(encoding="utf-8"))
    evaluation = json.loads((project / "artifacts/model/evaluation/metrics.json").read_text(encoding="utf-8"))
    trained = json.loads((project / "artifacts/model/metrics.json").read_text(encoding="utf-8"))
    results["baseline"] = {**figures(baseline["test"]), "c": baseline.get("c")}
    results["model"] = {**figures(evaluation), "trivial_test_mean": evaluation.get("trivial")}
    results["train_metrics"] = {k: trained.get(k) for k in ("train_examples", "epochs", "int8") if k in trained}
    results["train_examples"] = trained.get("train_examples")
    print("== the baseline with the regression task passed (in-process)", flush=True)
    results["baseline_ridge"] = baseline_with_task(project, sets)
    print("== a pair through the server and the handler", flush=True)
    results["serve"] = serve_pair(project, project / "artifacts" / "model")
    candidates = {
        "baseline (shipped command)": results["baseline"]["spearman"],
        "baseline (task passed)": results["baseline_ridge"]["spearman"],
        "transformer": results["model"]["spearman"],
    }
    shipped_best = max(("baseline (shipped command)", "transformer"), key=candidates.get)
    results["verdict"] = {
        "better_of_shipped": shipped_best,
        "better_spearman_shipped": candidates[shipped_best],
        "better_of_all": max(candidates, key=candidates.get),
        "better_spearman_all": max(candidates.values()),
        "model_mse_below_trivial": results["model"]["mse"] < results["trivial"]["mse"],
        "endpoint_answers_a_number": results["serve"]["answers_a_number"],
    }
    return results


def notes(r: dict) -> list[str]:
    """What the figures above need said: the shipped baseline's collapse, how the files read."""
    found = ["## Notes", ""]
    if r["baseline"]["predicted_std"] == 0:
        found.append(
            "- The shipped `baseline` answers one constant for every pair (std of answers 0, every C at validation "
            "Spearman 0): `evaluation/baseline.py` calls `NgramClassifier.fit(features, x, y, len(schema.names), c)` "
            "without `task=`, so `fit` takes a 1-D target for single-label: one logistic target `score == 0`, "
            "read through a softmax over one class, 1.0 for every row. The ridge row passes the task to the same "
            "code in-process (benchmarks/bench_sts.py `baseline_with_task`); it is what the command should give."
        )
    quoted = sum(f["fields_opening_with_a_quote"] for f in r["files"].values())
    found += [
        f"- The files read cleanly as the template's tsv (tab-separated, no quoting): every row has 7 fields, no "
        f"sentence is empty, every score is a number in 0-5; {quoted} sentences open with a quote mark (a CSV "
        "reader would take them for quoting). sts-dev.tsv and sts-test.tsv end without a line break: appending "
        "dev to train byte for byte would glue two rows together, so the benchmark joins them by line.",
        "- `prepare` groups pairs by their first sentence: it reports the test rows whose first sentence the "
        "training file holds (here {test_first_sentence_in_train}) as measuring memory and asks to remove them, "
        "though only {test_pair_in_train} test pairs are also training pairs and {test_pair_reversed_in_train} "
        "are a training pair reversed (with sts-dev.tsv in the training file; sts-train.tsv alone: 0 and 2).".format(
            **r["overlap"]
        ),
    ]
    if r.get("reused"):
        found.append(f"- The commands' figures and timings are those of the run of {r['reused']} (`--reuse`).")
    return [*found, ""]


def render(r: dict, command: str) -> str:
    m = r["machine"]
    lines = [
        "# Regression on KorSTS (real public STS set)",
        "",
        f"Written by `{command}` on {r['date']}. Machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}; "
        f"Python {m['python']}, torch {m['torch']}, transformers {m['transformers']}. Every figure comes from this "
        "one run; seconds are wall time on a machine other jobs shared.",
        "",
        "Data: KorSTS (Kakao Brain, [kakaobrain/KorNLUDatasets](https://github.com/kakaobrain/KorNLUDatasets), "
        f"CC BY-SA 4.0). Training file: sts-train.tsv + sts-dev.tsv = {r['rows']['train_file']:,} pairs (the "
        "project holds out its own validation split, grouped by first sentence, to choose C and the best epoch); "
        f"test file: sts-test.tsv, {r['rows']['test_file']:,} pairs, untouched.",
        "",
        '| file | rows | field count != 7 | empty sentence | score not in 0-5 | sentences opening with `"` | '
        "ends with line break |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, f in r["files"].items():
        lines.append(
            f"| sts-{split}.tsv | {f['rows']:,} | {len(f['wrong_field_count'])} | {len(f['empty_sentence'])} | "
            f"{len(f['bad_score'])} | {f['fields_opening_with_a_quote']} | "
            f"{'yes' if f['ends_with_newline'] else 'no'} |"
        )
    if r.get("failed"):
        lines += ["", f"**Failed steps: {', '.join(r['failed'])}** (logs under build/bench/sts/logs).", ""]
        return "\n".join(lines) + "\n"
    t, b, br, s, v = r["trivial"], r["baseline"], r["baseline_ridge"], r["model"], r["verdict"]
    steps = r["steps"]
    model = next(x.split("=", 1)[1] for x in r["settings"] if x.startswith("model.base_model="))
    epochs = next(x.split("=", 1)[1] for x in r["settings"] if x.startswith("train.epochs="))

    def row(name, x, seconds):
        return (
            f"| {name} | {x['spearman']:.4f} | {x['pearson']:.4f} | {x['mse']:.4f} | {x['mae']:.4f} | "
            f"{x['predicted_std']:.3f} | {seconds} |"
        )

    lines += [
        "",
        f"## Test file ({s['num_examples']:,} pairs)",
        "",
        "| answer | Spearman | Pearson | MSE | MAE | std of answers | wall s |",
        "|---|---|---|---|---|---|---|",
        f"| always the training mean ({t['train_mean']:.3f}) | - | - | {t['mse']:.4f} | - | 0 | - |",
        row(f"`baseline` (shipped command), C={b['c']}", b, f"{steps['baseline']['seconds']:.0f}"),
        row(f"baseline, regression task passed to the fit (ridge), C={br['c']}", br, f"{br['seconds']:.0f}"),
        row(
            f"`train` {model}, {epochs} epochs, {r['train_examples']:,} training rows -> `evaluate`",
            s,
            f"train {steps['train']['seconds']:.0f}, evaluate {steps['evaluate']['seconds']:.0f}",
        ),
        "",
        f"- Better of the shipped baseline and the transformer: **{v['better_of_shipped']}**, Spearman "
        f"**{v['better_spearman_shipped']:.4f}** (acceptance: >= 0.5: "
        f"{'met' if v['better_spearman_shipped'] >= 0.5 else 'NOT met'}); counting the baseline with the task "
        f"passed: {v['better_of_all']}, {v['better_spearman_all']:.4f}.",
        f"- Transformer MSE {s['mse']:.4f} against the training mean's {t['mse']:.4f}: "
        f"**{'below' if v['model_mse_below_trivial'] else 'NOT below'}**.",
        f"- Endpoint: `POST /invocations` `{r['serve']['request']}` -> HTTP {r['serve']['status']} "
        f"`{r['serve']['server_answer'].strip()}`; the handler in-process (model_fn/input_fn/predict_fn/output_fn): "
        f"`{r['serve']['handler_answer'].strip()}` "
        f"({'a number' if v['endpoint_answers_a_number'] else 'NOT a number'}).",
        "",
        *notes(r),
        "## Commands",
        "",
        "In the baked project (build/bench/sts/korean-sts), each with `"
        + " ".join(f"--set {x}" for x in r["settings"])
        + "`:",
        "",
    ]
    for name, step in steps.items():
        lines.append(f"- `korean-sts {name}`: exit {step['exit']}, {step['seconds']:.0f} s")
    lines += ["", "`prepare` said:", "", "```", r["prepare_output"].strip(), "```", ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--korsts", type=Path, default=SHARED if SHARED.is_dir() else MIRROR)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--model", default="scratch:small")
    parser.add_argument("--rows", type=int, default=0, help="data.max_rows (0: every row)")
    parser.add_argument("--quick", action="store_true", help="1,500 training and 500 test pairs: checks the script")
    parser.add_argument("--reuse", action="store_true", help="keep the last run's artifacts; only measure and render")
    args = parser.parse_args()
    command = "python benchmarks/bench_sts.py " + " ".join(sys.argv[1:])
    with Timer() as whole:
        results = run(args.korsts, args.epochs, args.model, args.rows, args.quick, args.reuse)
    results["wall_seconds"] = round(whole.seconds, 1)
    done = BUILD / "sts" / "steps.json"
    if not results.get("reused") and done.is_file():  # the full pass's wall time, for a later --reuse pass
        done.write_text(json.dumps({**json.loads(done.read_text()), "_wall_seconds": results["wall_seconds"]}))
    results["command"] = command.strip()
    (HERE / "results-sts.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (HERE / "RESULTS-sts.md").write_text(
        render(results, command.strip())
        + f"\nWhole benchmark: {whole.seconds / 60:.1f} min"
        + (
            f" (this --reuse pass; the full pass that ran the commands: {results['full_pass_seconds'] / 60:.1f} min).\n"
            if results.get("reused") and results.get("full_pass_seconds")
            else ".\n"
        ),
        encoding="utf-8",
    )
    print((HERE / "RESULTS-sts.md").read_text(encoding="utf-8"))
    return 1 if results.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
