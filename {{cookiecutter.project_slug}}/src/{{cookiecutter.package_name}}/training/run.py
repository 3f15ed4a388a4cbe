"""One training run, start to finish: data, model, the configured loop, final evaluation, the artifact.

``train(config)`` orchestrates; the loops (hf_trainer.py, torch_loop.py) each take the ``TrainingRun``
(context.py) built here and return the trained model and its training log.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..answers import calibrated, head_for
from ..artifact_files import CALIBRATION_RECORD
from ..config import Config
from ..data.dataset import Splits, checked_schema, data_file, load_splits
from ..data.labels import LabelSchema
from ..errors import CheckpointError
from ..evaluation.calibration import (
    DEFAULT_BINS,
    bound_note,
    calibration_line,
    confidence_for_accuracy,
    coverage_at,
    expected_calibration_error,
    fit_temperatures,
    kept_if_ece_falls,
    split_record,
)
from ..evaluation.evaluate import compare_int8_to_fp32
from ..evaluation.metrics import metric_line, scalars, score
from ..evaluation.reports import draw_coverage, draw_reliability, write_results
from ..evaluation.verdict import baseline_score, verdict
from ..model.artifact import INT8_RECORD, METRICS_FILE, RESULTS_DIR, SCRATCH_TOKENIZER_DIR, save_artifact
from ..model.features import build_dataset, tokenizer_fingerprint
from ..model.inference import predict_logits
from ..model.int8 import remove_int8
from ..model.sources import (
    check_source,
    default_learning_rate,
    is_scratch,
    load_model,
    scratch_tokenizer,
)
from ..tasks import Task, task_named
from .checkpoints import check_resume, clear_checkpoints
from .class_weights import ClassWeights, choose_class_weights
from .context import TrainingRun
from .distillation import build_teacher
from .ensemble import NGRAM_CALIBRATION, SHIPPED_ECE, Shipped, ship
from .interrupts import StopSignals
from .row_log import mark_rows
from .runtime import (
    Printer,
    Ranks,
    all_equal,
    barrier,
    current_ranks,
    init_distributed,
    resolve_epochs,
    resolve_precision,
    set_seed,
    settle_source,
    training_device,
)
from .tracking import Tracker

Backend = Callable[[TrainingRun], tuple[Any, list[dict]]]


def backend(loop: str) -> Backend:
    """The configured loop's training function: the torch loop or the Trainer (imported when chosen)."""
    if loop == "torch":
        from .torch_loop import train_with_torch_loop

        return train_with_torch_loop
    from .hf_trainer import train_with_trainer

    return train_with_trainer


def train(config: Config, channels: dict[str, str | None] | None = None, quiet: bool = False) -> dict:
    """Load data, build/load the model, train with the configured loop, evaluate, write the artifact. Returns the
    artifact's metrics ({} on every process but global rank 0). Raises ProjectError (bad config, data or checkpoint),
    and TrainingInterrupted when SIGINT or SIGTERM stopped the loop after it saved a checkpoint."""
    channels = channels or {}
    ranks = current_ranks()
    say = Printer(ranks, quiet)
    check_source(config.model.base_model)
    set_seed(config.train.seed)
    init_distributed(config.train.use_cpu)
    schema = checked_schema(config)
    splits = load_data(config, schema, channels, say)
    base_model = settle_source(config, len(splits.train), say)
    if config.train.learning_rate <= 0:
        config.train.learning_rate = default_learning_rate(base_model)
    what = "building a tokenizer and model from the training texts" if is_scratch(base_model) else "loading"
    say(f"model: {base_model}: {what}")  # stages that take a while each get a line: logs show progress
    tokenizer, model = build_model(config, schema, splits, ranks)
    datasets = tokenize_splits(config, tokenizer, splits, schema.num_labels, say)
    set_epochs(config, len(datasets[0]), ranks, say, task_named(schema.task))
    device = training_device(config.train.use_cpu, ranks)
    with Tracker(config, ranks.is_main) as tracker:
        run = TrainingRun(
            config=config,
            schema=schema,
            model=model,
            tokenizer=tokenizer,
            train_ds=datasets[0],
            val_ds=datasets[1],
            test_ds=datasets[2],
            tracker=tracker,
            device=device,
            precision=resolve_precision(config.train.precision, device),
            ranks=ranks,
            say=say,
            checkpoint_dir=config.path(config.train.checkpoint_dir),
            stops=StopSignals(config.train.checkpoint_every_minutes, ranks),
            class_weights=settled_class_weights(config, schema, splits, say),
            teacher=build_teacher(config, splits, schema, say),
        )
        mark_rows(run.train_ds, needed=run.teacher.targets is not None)
        tracker.log_params(config.flat())
        started = time.perf_counter()
        steps, epochs = f"{config.train.max_steps} steps", f"{config.train.epochs:g} epoch(s)"
        length = steps if config.train.max_steps > 0 else epochs
        say(f"training: {config.train.loop} loop on {device}, {length} over {len(datasets[0]):,} rows")
        with run.stops:  # SIGINT / SIGTERM: a checkpoint at the next optimizer step, then TrainingInterrupted
            model, history = backend(config.train.loop)(run)
            run.stops.loop_done()  # from here a signal stops at once; a rerun resumes from the last checkpoint
            if not ranks.is_main:
                return {}
            return finish(
                run,
                model,
                history,
                splits=splits,
                train_seconds=time.perf_counter() - started,
                output_data=channels.get("output_data"),
                test_file=splits.test_file or None,  # or the record of a one-file dataset's held-out rows
            )


def tokenize_splits(config: Config, tokenizer, splits: Splits, num_labels: int, say: Printer) -> list:
    """The training, validation and test splits as TokenizedDatasets (cached in model.cache_dir; a bar on the main
    process unless quiet). ``num_labels``: the length of multi-label rows' targets."""
    show = say.ranks.is_main and not say.quiet
    say(
        f"tokenizing {len(splits.train) + len(splits.validation) + len(splits.test):,} texts (max_length "
        f"{config.model.max_length})"
    )
    return [
        build_dataset(
            tokenizer,
            records,
            config.model.max_length,
            config.path(config.model.cache_dir),
            show,
            num_labels=num_labels,
        )
        for records in (splits.train, splits.validation, splits.test)
    ]


def settled_class_weights(config: Config, schema: LabelSchema, splits: Splits, say: Printer) -> ClassWeights:
    """train.class_weights settled from the training split's labels (never validation or test), said in one line.
    Raises ConfigError for a setting the task cannot take."""
    task = task_named(schema.task)
    labels = [record.label for record in splits.train]
    chosen = choose_class_weights(config.train.class_weights, task, labels, list(schema.names))
    say(chosen.line)
    return chosen


def set_epochs(config: Config, num_examples: int, ranks: Ranks, say: Printer, task: Task) -> None:
    """Settle ``epochs: 0`` (auto) into a number before any loop reads it; says so when small data raised it."""
    if config.train.epochs > 0:
        return
    config.train.epochs = resolve_epochs(num_examples, config.train, ranks.world_size, task)
    if config.train.max_steps > 0:
        return
    if config.train.epochs > task.auto_epochs:
        say(
            f"epochs: {config.train.epochs:g} (auto: a small training split gets at least train.min_steps="
            f"{config.train.min_steps} optimizer steps; the best epoch on the validation split is kept)"
        )
    else:
        say(
            f"epochs: {config.train.epochs:g} (auto: a {task.name} task's; the best epoch on the validation split is "
            "kept; --epochs N trains exactly N)"
        )


def load_data(config: Config, schema: LabelSchema, channels: dict, say: Printer) -> Splits:
    """The splits of the configured files (SageMaker channels take the place of data_dir when given); a missing test
    file outside SageMaker means evaluating on the validation split only. Says each file's summary. Raises DataError."""
    train_path = data_file(config, config.data.train_file, channels.get("train"))
    test_path = None
    if config.data.test_file:
        test_path = data_file(config, config.data.test_file, channels.get("test"))
        if not test_path.exists() and not channels.get("test"):
            say(f"no test file at {test_path}: the model is evaluated on the validation split only")
            test_path = None
    splits = load_splits(config, schema, train_path, test_path)
    for report in splits.reports.values():
        say(report.summary())
    say(f"split: train={len(splits.train)} validation={len(splits.validation)} test={len(splits.test)}")
    return splits


def build_model(config: Config, schema: LabelSchema, splits: Splits, ranks: Ranks):
    """Tokenizer and model; a scratch tokenizer is built once per machine and shared through the checkpoints."""
    checkpoint_dir = config.path(config.train.checkpoint_dir)
    texts = [r.text for r in splits.train] + [r.text_pair for r in splits.train if r.text_pair is not None]
    tokenizer = None
    if is_scratch(config.model.base_model):
        tokenizer = scratch_tokenizer(
            config.model.base_model,
            texts,
            checkpoint_dir / SCRATCH_TOKENIZER_DIR,
            builds_here=ranks.local_rank == 0,
            barrier=barrier,
        )
    tokenizer, model = load_model(config.model.base_model, schema, config.model.max_length, texts, tokenizer)
    problem_type = task_named(schema.task).config_kwargs(schema).get("problem_type")
    if problem_type:  # the task's loss in both loops (sources.py sets it; a loaded config may not)
        model.config.problem_type = problem_type
    fingerprint = tokenizer_fingerprint(tokenizer)
    if not all_equal(fingerprint):
        raise CheckpointError(
            "the processes of this job built different tokenizers: every node must train on the same data files"
        )
    if ranks.local_rank == 0:
        check_resume(checkpoint_dir, fingerprint, config.flat())
    barrier()
    return tokenizer, model


def finish(
    run: TrainingRun,
    model,
    history: list[dict],
    *,
    splits: Splits,
    train_seconds: float,
    output_data: str | None,
    test_file: str | None = None,
) -> dict:
    """After the loop, in named steps: the transformer's logits and temperatures, what ships and its metrics
    (settle_shipped), int8 checked on the validation split, the artifact saved, the final split's results folder (its
    verdict, reliability diagram), the checkpoints cleared. Returns the artifact's metrics (metrics.json).
    ``train_seconds``: the loop's wall time, in seconds; ``output_data``: SageMaker's output folder, which gets a copy
    of the results; ``test_file``: the file the test split came from (the baseline's figure on it is compared)."""
    config, say = run.config, run.say
    metrics: dict = {
        "train_seconds": round(train_seconds, 2),
        "train_examples": len(run.train_ds),
        **run.loss_records(),
    }
    model = getattr(model, "module", model).to(run.device)
    logits, losses = predict_splits(run, model)
    shipped, temperatures, thresholds, min_confidence = settle_shipped(run, splits, logits, losses, metrics)
    output_dir = config.path(config.train.output_dir)
    if (int8 := int8_step(run, model, logits, output_dir, shipped, thresholds, temperatures)) is not None:
        metrics[INT8_RECORD] = int8
    save_artifact(
        output_dir,
        model,
        run.tokenizer,
        run.schema,
        metrics,
        config.to_dict(),
        history,
        thresholds,
        temperatures,
        min_confidence,
    )
    shipped.save(output_dir)
    write_final_results(
        run,
        metrics,
        history=history,
        output_dir=output_dir,
        output_data=output_data,
        test_file=test_file,
        thresholds=thresholds,
        calibration=(shipped.scores_before, shipped.scores, min_confidence),
    )
    say.always(f"model artifact written to {output_dir}")
    removed = clear_checkpoints(run.checkpoint_dir)
    if removed:
        say(f"removed the broken checkpoints set aside: {', '.join(removed)}")
    run.tracker.log_artifact(str(output_dir / METRICS_FILE))
    return metrics


def int8_step(
    run: TrainingRun, model, logits: dict, output_dir: Path, shipped, thresholds, temperatures
) -> dict | None:
    """May int8 serve what ships (evaluate, serve and CPU endpoints)? The previous int8 copy removed, then
    record_int8_check's record when the transformer ships (alone or in a mix) and a validation split scores it; None
    otherwise, said in one line when the n-gram model ships alone (NumPy serves it: nothing to quantize)."""
    remove_int8(output_dir)
    if shipped.weight == 0:
        run.say("int8: none made; the n-gram model ships alone and serves with NumPy, no transformer to quantize")
        return None
    if not len(run.val_ds):
        return None
    return record_int8_check(
        run, model, logits["validation"], output_dir, thresholds, temperatures, shipped.mix("validation")
    )


def settle_shipped(run: TrainingRun, splits: Splits, logits: dict, losses: dict, metrics: dict) -> tuple:
    """The transformer's temperatures fitted on the validation split's ``logits`` (split -> (rows, outputs)), what
    ships (training/ensemble.py) and its metrics (into ``metrics``; the ensemble record's SHIPPED_ECE: each split's
    expected calibration error of what ships before and after its temperatures), multi-label's thresholds and the
    abstention cut-off, both chosen on the shipped validation scores. Returns (Shipped, temperatures, thresholds,
    min_confidence)."""
    task = task_named(run.schema.task)
    temperatures, record = calibrate(run, logits)
    scores = {split: task.scores(calibrated(values, temperatures)) for split, values in logits.items()}
    shipped = ship(run, splits, scores)
    if temperatures is not None or NGRAM_CALIBRATION in shipped.record:
        shipped.scores_before = shipped.uncalibrated(task, logits)
        shipped.record[SHIPPED_ECE] = {
            split: {
                "before": shipped_ece(run, split, shipped.scores_before[split]),
                "after": shipped_ece(run, split, v),
            }
            for split, v in shipped.scores.items()
        }
    metrics["ensemble"] = shipped.record
    thresholds = score_shipped(run, shipped, losses, record, metrics)
    min_confidence = choose_min_confidence(run, shipped.scores, metrics)
    if min_confidence and temperatures is None:  # no validation split: the cut-off alone, on scores as they are
        temperatures = [1.0] * head_for(run.schema.task).temperature_count(run.schema.num_labels)
    return shipped, temperatures, thresholds, min_confidence


def predict_splits(run: TrainingRun, model) -> tuple[dict, dict]:
    """The trained ``model``'s raw logits on the validation and test splits (those there are; split -> (rows,
    outputs)) and its mean loss on each (nats a row)."""
    settings = (run.config.train.eval_batch_size, run.tokenizer.pad_token_id, run.device)
    datasets = {split: data for split, data in (("validation", run.val_ds), ("test", run.test_ds)) if len(data)}
    predicted = {split: predict_logits(model, data, *settings) for split, data in datasets.items()}
    return {split: values for split, (values, _) in predicted.items()}, {s: loss for s, (_, loss) in predicted.items()}


def score_shipped(run: TrainingRun, shipped: Shipped, losses: dict, record: dict | None, metrics: dict):
    """The shipped scores' metrics of each split (into ``metrics``, logged and tracked; the transformer's
    calibration ``record`` too, and its mean ``losses`` when it ships alone). Returns multi-label's decision
    thresholds tuned on the validation split's shipped scores (0.5 each without the split; None single-label),
    which both splits are decided at."""
    task = task_named(run.schema.task)
    labels = {"validation": run.val_ds.labels, "test": run.test_ds.labels}
    thresholds = task.default_thresholds(run.schema)
    if thresholds is not None and "validation" in shipped.scores:
        thresholds = task.tune_thresholds(labels["validation"], shipped.scores["validation"])
        run.say(
            "decision thresholds (tuned on the validation split's calibrated scores): "
            + ", ".join(f"{name}={value:.2f}" for name, value in zip(run.schema.names, thresholds, strict=True))
        )
    for split, scores in shipped.scores.items():
        answers = task.decide(scores, thresholds)
        metrics[split] = score(labels[split], answers, run.schema.names, probabilities=scores, task=task)
        metrics[split]["loss"] = losses[split] if shipped.weight == 1 else None
        if record:
            ece = record[split]["ece_after"] if shipped.weight == 1 else shipped.record[SHIPPED_ECE][split]["after"]
            metrics[split]["ece"] = ece
        run.say(metric_line(metrics[split], prefix=f"{split}_"))
        run.tracker.log_metrics({f"{split}_{k}": v for k, v in scalars(metrics[split]).items()})
    if record:
        metrics[CALIBRATION_RECORD] = record
    return thresholds


def shipped_ece(run: TrainingRun, split: str, scores) -> float:
    """The expected calibration error of a split's shipped ``scores`` (evaluation/calibration.py's rule)."""
    labels = {"validation": run.val_ds.labels, "test": run.test_ds.labels}[split]
    return expected_calibration_error(task_named(run.schema.task), labels, scores)


def calibrate(run: TrainingRun, logits: dict) -> tuple[list[float] | None, dict | None]:
    """The task's temperatures fitted on the validation split's ``logits`` (evaluation/calibration.py), each kept
    only where it lowers that split's ECE (kept_if_ece_falls), and the record metrics.json keeps of them: the
    temperatures, the bins and, for each split in ``logits``, its ECE and mean loss before and after them
    (split_record). (None, None) when the task is not calibrated or there is no validation split."""
    task = task_named(run.schema.task)
    if "validation" not in logits:
        return None, None
    fitted = fit_temperatures(task, run.val_ds.labels, logits["validation"])
    if fitted is None:
        return None, None
    temperatures = kept_if_ece_falls(task, run.val_ds.labels, logits["validation"], fitted)
    put_back = [f"{f:.3f}" for f, t in zip(fitted, temperatures, strict=True) if f != t]
    labels = {"validation": run.val_ds.labels, "test": run.test_ds.labels}
    record: dict = {"method": "temperature scaling", "fitted_on": "validation", "temperatures": temperatures}
    if put_back:
        record["fitted_temperatures"] = fitted  # before kept_if_ece_falls
    record["bins"] = DEFAULT_BINS
    for split, values in logits.items():
        record[split] = split_record(task, labels[split], values, temperatures)
    back = f"; put back to 1 where the fitted one raised the validation ECE: {', '.join(put_back)}" if put_back else ""
    run.say(calibration_line("the transformer's", temperatures, record, f"fitted on the validation split{back}"))
    note = bound_note(fitted)
    if note:
        run.say.always(note)
        record["note"] = note
    return temperatures, record


FEW_ANSWERED = 0.1  # abstention: a cut-off that answers fewer validation texts than this share is warned of


def answered_line(coverage: dict, rows: int) -> str:
    """How many of ``rows`` texts a cut-off answers (evaluation/calibration.py's coverage_at), in counts, and the
    share of those that are right."""
    answered = round(coverage["coverage"] * rows)
    if not answered:
        return f"none of {rows} texts answered"
    return f"{answered} of {rows} texts answered, {coverage['answered_right']:.4f} of them right"


def choose_min_confidence(run: TrainingRun, scores: dict, metrics: dict) -> float:
    """The calibrated probability below which the served answer is UNSURE (0.0: never): model.min_confidence, or
    with model.target_accuracy the lowest cut-off at which the validation split's answered texts reach it
    (evaluation/calibration.py's confidence_for_accuracy; 0.0, said, when none does). 0.0 for a task that never
    abstains (Head.abstains). Each split's coverage and accuracy of the answered texts at it go into the calibration
    record of ``metrics`` when there is one."""
    task, settings = task_named(run.schema.task), run.config.model
    if not task.head.abstains:
        if settings.min_confidence or settings.target_accuracy:
            run.say.always(f"note: a {task.name} task never abstains: model.min_confidence and target_accuracy unused")
        return 0.0
    pairs = confidence_pairs(run, scores)
    chosen = settings.min_confidence
    if settings.target_accuracy > 0 and settings.min_confidence:
        run.say.always("note: model.target_accuracy chooses the cut-off; model.min_confidence is not used")
    if settings.target_accuracy > 0 and "validation" in pairs:
        chosen = confidence_for_accuracy(*pairs["validation"], settings.target_accuracy) or 0.0
        if not chosen:
            run.say.always(
                f"warning: no confidence cut-off reaches accuracy {settings.target_accuracy} on the validation split; "
                "every text is answered (model.target_accuracy)"
            )
    if not chosen:
        return 0.0
    covered = {split: coverage_at(confidences, outcomes, chosen) for split, (confidences, outcomes) in pairs.items()}
    if CALIBRATION_RECORD in metrics:
        metrics[CALIBRATION_RECORD]["min_confidence"] = chosen
        for split, coverage in covered.items():
            metrics[CALIBRATION_RECORD][split].update(coverage)
    shown = ", ".join(f"{split} {answered_line(c, len(pairs[split][0]))}" for split, c in covered.items())
    run.say(f"abstention: texts whose most probable class is below {chosen:.4f} are answered 'unsure' ({shown})")
    if covered.get("validation", {}).get("coverage", 1.0) < FEW_ANSWERED:
        run.say.always(
            f"warning: at {chosen:.4f} fewer than {100 * FEW_ANSWERED:.0f}% of the validation texts are answered: "
            "the cut-off rests on a few rows and leaves almost every text to a person"
        )
    return float(chosen)


def confidence_pairs(run: TrainingRun, scores: dict) -> dict:
    """Split name -> (each row's top score, whether its class is the true one), arrays (rows,): the task's first
    calibration pair of the split's shipped ``scores`` (split -> (rows, outputs))."""
    task = task_named(run.schema.task)
    labels = {"validation": run.val_ds.labels, "test": run.test_ds.labels}
    return {split: task.calibration_pairs(labels[split], values)[0] for split, values in scores.items()}


def record_int8_check(
    run: TrainingRun, model, validation_logits, output_dir: Path, thresholds=None, temperatures=None, mix=None
) -> dict:
    """Quantize ``model`` into ``output_dir`` and compare it with its fp32 ``validation_logits`` (evaluation's
    compare_int8_to_fp32, by the task's rule; scored as served: calibrated with ``temperatures``, mixed with the
    n-gram model's scores when what ships is a mix (``mix``: Shipped.mix) and, multi-label, decided at
    ``thresholds``); says the verdict and returns the record metrics.json keeps."""
    run.say("int8: quantizing a CPU copy with OpenVINO and checking it on the validation split")
    check = compare_int8_to_fp32(
        model,
        run.val_ds,
        validation_logits,
        schema=run.schema,
        batch_size=run.config.train.eval_batch_size,
        pad_token_id=run.tokenizer.pad_token_id,
        max_drop=run.config.model.int8_max_drop,
        calibration_rows=run.train_ds.input_ids,
        calibration_types=run.train_ds.token_type_ids,
        model_dir=output_dir,
        thresholds=thresholds,
        temperatures=temperatures,
        mix=mix,
    )
    outcome = "allowed" if check["allowed"] else "refused: serve in fp32"
    run.say(
        f"int8 on the CPU: validation {check['metric']} {check['int8_score']:.4f} against fp32 "
        f"{check['fp32_score']:.4f}, {check['agreement']:.4f} {task_named(run.schema.task).int8_agreement} ({outcome})"
    )
    return check


def write_final_results(
    run: TrainingRun,
    metrics: dict,
    *,
    history: list[dict],
    output_dir: Path,
    output_data: str | None,
    test_file,
    thresholds: list[float] | None = None,
    calibration: tuple[dict, dict, float] = ({}, {}, 0.0),
) -> None:
    """The results folder of the last split scored (test, else validation; none without either; multi-label decided
    at ``thresholds``) with its reliability diagram and, for a task that abstains, its coverage/accuracy curve
    (``calibration``: the shipped scores by split name before the temperatures, none without them; after; and the
    min_confidence marked on the curve), its copy for SageMaker's ``output_data``, and the verdict against the
    baseline and the trivial answer."""
    config, say = run.config, run.say
    final = "test" if "test" in metrics else "validation" if "validation" in metrics else None
    if not final:
        return
    results = write_results(
        output_dir / RESULTS_DIR,
        metrics[final],
        run.schema,
        title=f"{final} split",
        history=history,
        best_metric=config.train.metric_for_best_model,
        thresholds=thresholds,
        validation=metrics.get("validation"),
    )
    uncalibrated, calibrated_scores, min_confidence = calibration
    if final in uncalibrated:
        dataset = run.test_ds if final == "test" else run.val_ds
        before, after = uncalibrated[final], calibrated_scores[final]
        draw_reliability(
            results, run.schema, dataset.labels, [("before calibration", before), ("after calibration", after)]
        )
        draw_coverage(results, run.schema, dataset.labels, after, min_confidence)
    if output_data:  # SageMaker uploads this folder as output.tar.gz
        shutil.copytree(results, Path(output_data), dirs_exist_ok=True)
    compared = task_named(run.schema.task).compared_metric
    baseline = baseline_score(config, test_file, compared) if final == "test" and test_file else None
    for line in verdict(metrics[final], baseline):
        (say.always if line.startswith("warning") else say)(line)
