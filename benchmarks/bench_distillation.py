"""Does the n-gram teacher (train.distillation_alpha) make the scratch transformer better on real sets?

For each real set of bench_real_sets.py (its answers and files, `scratch:tiny`, every other setting the template's
default), the baked project's own `train` runs twice a seed, side by side on the same bake: without a teacher
(`train.distillation_alpha=0`) and with auto's weight. Each run's transformer and shipped test figures (the set's
compared metric, on the test file it never trained on) come from its metrics.json; the teacher's out-of-fold figure on
the training split is in its `distillation` record.

    python benchmarks/bench_distillation.py [--sets bias,hate,chatbot,xnli,korsts,ratings5,unsmile,nsmc]
        [--seeds 42,43] [--nsmc-train 17998]    # results-distillation.json, then RESULTS-distillation.md
    python benchmarks/bench_distillation.py --table
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from bench_real_sets import accuracies, run_command, test_records
from bench_real_sets import project_for as real_sets_project

from common import BUILD, machine, project_module

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-distillation.json"
TABLE = HERE / "RESULTS-distillation.md"
NSMC_TEST = 5000  # the NSMC subset's test rows, as RESULTS-real-sets.md's subset row
ARMS = {"without": "0", "with": "-1"}  # train.distillation_alpha: off, auto


def project_for(name: str, nsmc_train: int) -> Path:
    """The set's project (`scratch:tiny`), baked fresh under build/bench/distill-<set>, its files in data/raw/."""
    sizes = {"ratings_train.txt": nsmc_train, "ratings_test.txt": NSMC_TEST} if name == "nsmc" else {}
    return real_sets_project(name, "scratch:tiny", sizes, BUILD / f"distill-{name}")


def one_run(project: Path, arm: str, seed: int) -> dict:
    """`train` of one arm and seed into its own output folder; its figures from metrics.json."""
    out = f"artifacts/{arm}-{seed}"
    sets = [
        "tracking.mlflow=false",
        f"train.distillation_alpha={ARMS[arm]}",
        f"train.seed={seed}",
        f"train.output_dir={out}",
        f"train.checkpoint_dir={out}-checkpoints",
    ]
    _, seconds = run_command(project, "train", sets)
    metrics = json.loads((project / out / "metrics.json").read_text(encoding="utf-8"))
    ensemble = metrics["ensemble"]
    return {
        "metric": ensemble["metric"],
        "transformer": ensemble["test"]["transformer"],
        "ngram": ensemble["test"]["ngram"],
        "shipped": ensemble["test"]["shipped"],
        "shipped_model": ensemble["shipped"],
        "teacher": metrics["distillation"],
        "seconds": round(seconds, 1),
    }


def described(machine_record: dict) -> str:
    """common.machine()'s record in one phrase."""
    return ", ".join(f"{key} {value}" for key, value in machine_record.items())


def transformer_accuracy(project: Path, arm: str, seed: int) -> float | None:
    """The transformer's own test accuracy (argmax of its logits, whatever shipped) in the kept artifact of ``arm``
    and ``seed``: the figure the issue's table gives for single-label sets; None for other tasks."""
    config = project_module(project, "config").load_config(project / "config.yaml", {"mlflow": False})
    task, records = test_records(project, config.path(config.data.data_dir) / config.data.test_file)
    result = accuracies(project, task, records, {"test": {"accuracy": None}}, project / f"artifacts/{arm}-{seed}")
    return None if result is None else round(result["transformer"], 4)


def add_accuracies(results: dict) -> None:
    """Each single-label run's transformer test accuracy, from the artifacts the runs kept (no training)."""
    for key, entry in results["runs"].items():
        name, seed = key.rsplit("/", 1)
        for arm, run in entry.items():
            if "accuracy" not in run:
                run["accuracy"] = transformer_accuracy(BUILD / f"distill-{name}" / project_slug(name), arm, int(seed))


def project_slug(name: str) -> str:
    """The folder the bake of ``name`` made under build/bench/distill-<name>."""
    return next(p.name for p in (BUILD / f"distill-{name}").iterdir() if (p / "config.yaml").is_file())


def shipped(run: dict) -> str:
    """A run's shipped test figure and what shipped."""
    return f"{run['shipped']:.4f} ({run['shipped_model']})"


def accuracy_pair(without: dict, with_: dict) -> str:
    """The transformer's test accuracies of both arms, or a dash where there are none (--accuracy not run, or not a
    single-label set)."""
    if without.get("accuracy") is None or with_.get("accuracy") is None:
        return "—"
    return f"{without['accuracy']:.4f} / {with_['accuracy']:.4f}"


def table(results: dict) -> str:
    """RESULTS-distillation.md from the results: one row a set and seed, then the mean change a set."""
    lines = [
        "# The n-gram teacher (`train.distillation_alpha`) on real sets",
        "",
        "Written by `benchmarks/bench_distillation.py` from `results-distillation.json`. Machine: "
        f"{described(results['machine'])}.",
        "`scratch:tiny`, every setting the template's default but the seed and `train.distillation_alpha` (0 against",
        "auto: 0.2 for a scratch model), both arms on the same bake; figures on the test file, never trained on. The",
        "teacher's figure is its out-of-fold one on the training split (5 GroupKFold folds).",
        "",
        "| set | metric | seed | transformer without | transformer with | change | transformer accuracy without / with"
        " | shipped without | shipped with | teacher (out-of-fold) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    changes: dict[str, list[float]] = {}
    for key, entry in results["runs"].items():
        name, seed = key.rsplit("/", 1)
        without, with_ = entry["without"], entry["with"]
        change = with_["transformer"] - without["transformer"]
        changes.setdefault(name, []).append(change)
        teacher = " ".join(f"{metric} {value:.4f}" for metric, value in (with_["teacher"]["teacher"] or {}).items())
        lines.append(
            f"| {name} | {without['metric']} | {seed} | {without['transformer']:.4f} | {with_['transformer']:.4f} | "
            f"{change:+.4f} | {accuracy_pair(without, with_)} | "
            f"{shipped(without)} | {shipped(with_)} | {teacher or '—'} |"
        )
    everything = [change for values in changes.values() for change in values]
    up = sum(change > 0 for change in everything)
    lines += [
        "",
        f"The transformer rose in {up} of {len(everything)} pairs; mean change "
        f"{statistics.mean(everything):+.4f}. By set: "
        + ", ".join(f"{name} {statistics.mean(values):+.4f}" for name, values in changes.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="bias,hate,chatbot,xnli,korsts,ratings5,unsmile,nsmc")
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--nsmc-train", type=int, default=17998)
    parser.add_argument("--table", action="store_true", help="only write RESULTS-distillation.md")
    parser.add_argument("--accuracy", action="store_true", help="add the kept artifacts' test accuracies, then --table")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {"runs": {}}
    if args.accuracy:
        add_accuracies(results)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif not args.table:
        results["machine"] = machine()
        for name in args.sets.split(","):
            project = project_for(name, args.nsmc_train)
            for seed in map(int, args.seeds.split(",")):
                entry = {arm: one_run(project, arm, seed) for arm in ARMS}
                results["runs"][f"{name}/{seed}"] = entry
                print(name, seed, {arm: round(run["transformer"], 4) for arm, run in entry.items()}, flush=True)
                RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    TABLE.write_text(table(results), encoding="utf-8")
    print(TABLE.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
