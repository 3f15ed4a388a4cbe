"""Continued pre-training (``pretrain``): masked-LM on the project's own texts, which ``train`` then starts from.

The texts: the training file's texts and second texts (its training and validation rows; never the test split's, so
test figures stay honest) and every file in pretrain.unlabeled_files, normalised as the data loader does, without
repeats, and with any text of the test split left out. A share (pretrain.pretrain_held_out) is held out: its masked-LM
loss (same masks each time) is reported before and after, with its perplexity.

The model: for ``scratch:*`` the tokenizer and ELECTRA config the classifier would get, as ElectraForMaskedLM; for a
hub id or folder AutoModelForMaskedLM. pretrain.pretrain_output_dir is then a model folder: ``train`` with
model.base_model set to it loads the encoder weights and adds a fresh head. The loop is the torch loop's: AdamW with
linear warm-up and decay, DDP under torchrun, checkpoints each epoch, every train.checkpoint_every_minutes and at the
next step after SIGINT or SIGTERM (interrupts.py), which a restarted run resumes from in the same order.
The loss is masked_lm_loss.py's: the vocabulary head on the masked positions alone.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from .. import logs
from ..config import Config
from ..data.dataset import data_file, load_schema, load_splits
from ..data.encodings import decode
from ..data.normalize import Normalizer
from ..data.validation import ReadOptions, load_records
from ..errors import ConfigError, DataError, ModelSourceError
from ..format_registry import FORMATS
from ..model.artifact import SCRATCH_TOKENIZER_DIR, TORCH_LOOP_CHECKPOINT
from ..model.features import tokenizer_fingerprint
from ..model.sources import (
    PRETRAIN_RECORD,
    SCRATCH_SIZES,
    check_source,
    default_learning_rate,
    is_scratch,
    scratch_size,
    scratch_tokenizer,
)
from .checkpoints import (
    PRETRAIN_RESUME_SETTINGS,
    check_resume,
    clear_checkpoints,
    load_on_every_process,
    restore_training_state,
    save_torch_checkpoint,
)
from .interrupts import StopSignals, TrainingInterrupted
from .masked_lm_loss import IGNORED, MaskedPositionsLoss
from .runtime import (
    Printer,
    barrier,
    current_ranks,
    init_distributed,
    resolve_precision,
    set_seed,
    settle_source,
    training_device,
)
from .torch_loop import optimizer_and_schedule, restore_rng, rng_state

PLAIN_TEXT_SUFFIX = ".txt"  # an unlabelled .txt file holds one text a line
DESCRIPTION = "Continued pre-training: masked-LM on your own texts, saved as a model folder train starts from."
EVAL_MASK_SEED = 1234  # the held-out texts get the same masks before and after, whatever the training seed


def unlabeled_texts(config: Config, name: str, channel: str | None) -> list[str]:
    """The raw texts of one pretrain.unlabeled_files entry: a .txt file's lines, else the text (and second text)
    column of a file in its suffix's data format. Raises ConfigError for a missing file, a folder, the test file, an
    unknown suffix or a file without a text, DataError for a file that cannot be read."""
    path = data_file(config, name.strip(), channel)
    if path.is_dir():
        raise ConfigError(f"pretrain.unlabeled_files: {path} is a folder; name the files in it, comma-separated")
    if not path.is_file():
        raise ConfigError(f"pretrain.unlabeled_files: {path} does not exist")
    if config.data.test_file and path.resolve() == data_file(config, config.data.test_file, channel).resolve():
        raise ConfigError(f"pretrain.unlabeled_files: {path} is data.test_file; its texts must stay unseen")
    texts = file_texts(config, path)
    if not any(text.strip() for text in texts):
        raise ConfigError(f"pretrain.unlabeled_files: {path} holds no text (every line is empty)")
    return texts


def file_texts(config: Config, path: Path) -> list[str]:
    """The raw texts of an unlabelled file, as unlabeled_texts describes; empty lines included."""
    if path.suffix.lower() == PLAIN_TEXT_SUFFIX:
        decoded = decode(path.read_bytes(), config.data.encoding)
        if decoded.binary or decoded.problems:
            line, _, message = decoded.problems[0] if decoded.problems else (0, "", "not text")
            raise ConfigError(f"pretrain.unlabeled_files: {path}:{line}: {message}")
        return decoded.lines
    formats = [fmt.name for fmt in FORMATS.values() if path.suffix.lower() in fmt.suffixes]
    if not formats:
        known = ", ".join(sorted({s for fmt in FORMATS.values() for s in fmt.suffixes}))
        raise ConfigError(f"pretrain.unlabeled_files: {path}: unknown suffix; use one of {known}")
    options = ReadOptions.from_config(config.data, require_labels=False)
    options = ReadOptions(**{**options.__dict__, "data_format": formats[0], "empty_text": "drop"})
    report = load_records(path, options, None)
    if report.errors:
        raise DataError([report])
    return [text for r in report.records for text in (r.text, r.text_pair) if text]


def collect_texts(config: Config, channels: dict, say: Printer) -> list[str]:
    """Every pretraining text, normalised (data.normalize ...), each once, in a fixed order: the training file's
    training and validation rows' texts and second texts, then pretrain.unlabeled_files', none of the test split's.
    Raises DataError or ConfigError (a file that cannot be read)."""
    schema = load_schema(config)
    train_path = data_file(config, config.data.train_file, channels.get("train"))
    test_path = None
    if config.data.test_file:
        test_path = data_file(config, config.data.test_file, channels.get("test"))
        test_path = test_path if test_path.exists() else None
    splits = load_splits(config, schema, train_path, test_path)
    pair = [(r.text, r.text_pair) for r in splits.train + splits.validation]
    test = {text for r in splits.test for text in (r.text, r.text_pair) if text}
    normalize = Normalizer.from_config(config.data)
    labelled = [text for texts in pair for text in texts if text]
    extra = []
    for name in filter(str.strip, config.pretrain.unlabeled_files.split(",")):
        extra += unlabeled_texts(config, name, channels.get("unlabeled"))
    extra = [text for text in map(normalize, extra) if text]
    seen, texts = set(test), []
    for text in labelled + extra:
        if text not in seen:
            seen.add(text)
            texts.append(text)
    in_test = sum(text in test for text in extra)
    unseen = f", {in_test:,} of them the test split's and left out" if in_test else ""
    say(
        f"pretrain texts: {len(texts):,} distinct ({len(labelled):,} texts of the training file's training and "
        f"validation rows, {len(extra):,} unlabelled texts{unseen}; the test split's {len(test):,} texts left out)"
    )
    if len(texts) < 2:
        raise ConfigError(f"pretrain: {len(texts)} distinct text(s); pretraining needs at least 2 (one is held out)")
    return texts


def held_out_split(texts: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts): a seeded ``share`` of ``texts`` (at least one, never all) held out."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    count = min(len(texts) - 1, max(1, round(len(texts) * share)))
    held = set(order[:count])
    return [t for i, t in enumerate(texts) if i not in held], [t for i, t in enumerate(texts) if i in held]


def masked_lm(config: Config, texts: list[str], ranks, checkpoint_dir: Path):
    """(tokenizer, masked-LM model): for scratch:* the classifier's tokenizer (built from ``texts`` once per machine,
    kept with the checkpoints) and ELECTRA config; else AutoModelForMaskedLM and its tokenizer from the hub or a
    folder. Raises ModelSourceError."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, ElectraConfig, ElectraForMaskedLM

    source, max_length = config.model.base_model, config.model.max_length
    if is_scratch(source):
        tokenizer = scratch_tokenizer(
            source, texts, checkpoint_dir / SCRATCH_TOKENIZER_DIR, ranks.local_rank == 0, barrier
        )
        tokenizer.model_max_length = max_length
        size = SCRATCH_SIZES[scratch_size(source)]
        electra = ElectraConfig(
            **{**size, "vocab_size": len(tokenizer)},
            max_position_embeddings=max(512, max_length),
            pad_token_id=tokenizer.pad_token_id,
        )
        return tokenizer, ElectraForMaskedLM(electra)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model, loading = AutoModelForMaskedLM.from_pretrained(source, output_loading_info=True)
    except (OSError, ValueError) as error:  # no network, not a model folder, or no masked-LM head for this model
        raise ModelSourceError(
            f"cannot load {source!r} as a masked-LM model for pretrain ({error.__class__.__name__}: "
            f"{str(error).splitlines()[0][:160]})"
        ) from error
    if tokenizer.mask_token is None:
        raise ModelSourceError(f"model.base_model: {source!r} has no [MASK] token; pretrain needs a masked-LM model")
    missing = sorted(loading.get("missing_keys", ()))
    if missing and ranks.is_main:  # e.g. an ELECTRA discriminator (KoELECTRA): its masked-LM head is not saved
        logs.result(
            f"warning: {source} has no weights for {len(missing)} masked-LM parameter(s) (e.g. {missing[0]}): they "
            "start random and pretrain trains them with the rest",
            stderr=True,
        )
    tokenizer.model_max_length = max_length
    return tokenizer, model


class TextDataset(torch.utils.data.Dataset):
    """Tokenised texts (input ids and special-token masks, truncated to model.max_length), unpadded."""

    def __init__(self, tokenizer, texts: list[str], max_length: int):
        encoded = tokenizer(texts, truncation=True, max_length=max_length, return_special_tokens_mask=True)
        keys = [key for key in ("input_ids", "attention_mask", "special_tokens_mask") if key in encoded]
        self.rows = [{key: encoded[key][i] for key in keys} for i in range(len(texts))]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        return self.rows[index]


class Pretraining:
    """The masked-LM loop: one instance per run; ``fit`` trains to the step budget and returns the history."""

    def __init__(self, config: Config, tokenizer, model, train_ds, held_ds, ranks, say: Printer):
        from transformers import DataCollatorForLanguageModeling

        self.config, self.train, self.options = config, config.train, config.pretrain
        self.ranks, self.say, self.held_ds = ranks, say, held_ds
        self.device = training_device(self.train.use_cpu, ranks)
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(
            resolve_precision(self.train.precision, self.device)
        )
        self.core = model.to(self.device)
        self.loss = MaskedPositionsLoss(self.core)
        self.model = self.loss
        if ranks.distributed:
            ids = [ranks.local_rank] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.loss, device_ids=ids)
        self.collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=self.options.mlm_probability)
        self.sampler = DistributedSampler(train_ds, ranks.world_size, ranks.rank, shuffle=True, seed=self.train.seed)
        self.dataset = train_ds
        self.steps_per_epoch = max(1, math.ceil(self.sampler.num_samples / self.train.batch_size))
        self.total_steps = self.options.pretrain_max_steps
        if self.total_steps <= 0:
            self.total_steps = max(1, math.ceil(self.steps_per_epoch * self.options.pretrain_epochs))
        self.optimizer, self.scheduler = optimizer_and_schedule(
            self.core, self.train, self.options.pretrain_learning_rate, self.total_steps
        )
        self.state = {"global_step": 0, "epoch": 0, "batches_done": 0, "history": [], "before": None}
        self.checkpoint_dir = config.path(self.options.pretrain_checkpoint_dir)
        self.stops = StopSignals(self.train.checkpoint_every_minutes, ranks)
        self.logging_steps = max(1, min(self.train.logging_steps, self.steps_per_epoch // 4 or 1))

    def held_out_loss(self) -> float:
        """Mean masked-LM loss per masked token of the held-out texts, with the same masks every time (its own seed;
        the training run's random state is left as it was)."""
        self.core.eval()
        total, count = 0.0, 0
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(EVAL_MASK_SEED)
            for start in range(0, len(self.held_ds), self.train.eval_batch_size):
                end = min(start + self.train.eval_batch_size, len(self.held_ds))
                rows = [self.held_ds[i] for i in range(start, end)]
                batch = {k: v.to(self.device) for k, v in self.collator(rows).items()}
                masked = int((batch["labels"] != IGNORED).sum())
                if masked:
                    total += float(self.loss(**batch)) * masked
                    count += masked
        self.core.train()
        return total / max(count, 1)

    def resume(self) -> None:
        """Continue from the last usable checkpoint in pretrain.pretrain_checkpoint_dir, if any."""
        found = load_on_every_process(self.checkpoint_dir, self.ranks.local_rank == 0, self.say.always)
        if found is None:
            return
        saved, path = found
        parts = {"model": self.core, "optimizer": self.optimizer, "scheduler": self.scheduler}
        self.state = restore_training_state(saved, parts)
        restore_rng(saved["rng"])  # the next batch's masks and dropout as the interrupted run would have drawn them
        self.say(f"resuming from checkpoint {path} at step {self.state['global_step']} (epoch {self.state['epoch']})")

    def checkpoint(self) -> Path:
        """Save weights, optimizer, scheduler, random states and progress (local rank 0 of each machine)."""
        path = self.checkpoint_dir / TORCH_LOOP_CHECKPOINT
        if self.ranks.local_rank == 0:
            path = save_torch_checkpoint(
                self.checkpoint_dir,
                {
                    "model": self.core.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "rng": rng_state(),
                    "state": self.state,
                },
            )
        barrier()
        self.stops.saved()
        return path

    def step(self, batch: dict) -> float:
        """Forward, backward, clip, optimizer and scheduler step on one batch; returns its loss."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            loss = self.model(**batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.core.parameters(), self.train.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["global_step"] += 1
        return float(loss.detach())

    def epoch(self) -> bool:
        """One pass over the batches not yet trained on, in the epoch's seeded order; True when the step budget is
        reached. Each batch is masked when it is drawn, from the random state a checkpoint saves, so a resumed run
        masks and drops out exactly as the uninterrupted one would. Raises TrainingInterrupted after saving a
        checkpoint when a signal asked to stop."""
        self.sampler.set_epoch(self.state["epoch"])
        order, size = list(self.sampler), self.train.batch_size
        running, count = 0.0, 0
        for index in range(self.state["batches_done"], self.steps_per_epoch):
            if self.state["global_step"] >= self.total_steps:
                return True
            running += self.step(self.collator([self.dataset[i] for i in order[index * size : (index + 1) * size]]))
            count += 1
            self.state["batches_done"] = index + 1
            step = self.state["global_step"]
            if step % self.logging_steps == 0 or step == self.total_steps:
                self.state["history"].append({"step": step, "loss": running / count})
                rate = self.scheduler.get_last_lr()[0]
                self.say(f"step={step}; mlm_loss={running / count:.4f}; learning_rate={rate:.3e};")
                running, count = 0.0, 0
            save, signum = self.stops.poll(self.device)
            if save:
                path = self.checkpoint()
                if signum is not None:
                    raise TrainingInterrupted(signum, step, path)
        return self.state["global_step"] >= self.total_steps

    def fit(self) -> dict:
        """Resume if a checkpoint is there, score the held-out texts, train to the step budget, score them again.
        Returns {"before": loss, "after": loss, "steps": n, "history": [...]}."""
        self.resume()
        if self.state["before"] is None:
            self.state["before"] = self.held_out_loss()
        self.say(describe_loss("before", self.state["before"]))
        self.say(f"pretraining: {self.total_steps} steps on {self.device} ({self.steps_per_epoch} a pass)")
        self.core.train()
        with self.stops:
            done = self.state["global_step"] >= self.total_steps
            while not done:
                done = self.epoch()
                if not done or self.state["batches_done"] == self.steps_per_epoch:
                    self.state["epoch"] += 1
                    self.state["batches_done"] = 0
                self.checkpoint()
            self.stops.loop_done()
            after = self.held_out_loss()
        self.say(describe_loss("after", after))
        return {"before": self.state["before"], "after": after, "steps": self.state["global_step"],
                "history": self.state["history"]}  # fmt: skip


def describe_loss(when: str, loss: float) -> str:
    """``held_out_mlm_loss_before=2.1234; perplexity=8.37;``: one line SageMaker's metric regexes can read."""
    return f"held_out_mlm_loss_{when}={loss:.4f}; perplexity_{when}={math.exp(min(loss, 50)):.2f};"


def pretrain(config: Config, channels: dict[str, str | None] | None = None, quiet: bool = False) -> dict:
    """Collect the texts, build the masked-LM model, train it (resuming from pretrain.pretrain_checkpoint_dir when a
    checkpoint is there), write the model folder ``train`` starts from (pretrain.pretrain_output_dir). Returns the
    run's record ({} on every process but global rank 0). Raises ProjectError (config, data, model source,
    checkpoint) and TrainingInterrupted after a signal."""
    channels, ranks = channels or {}, current_ranks()
    say = Printer(ranks, quiet)
    options = config.pretrain
    check_source(config.model.base_model)
    set_seed(config.train.seed)
    init_distributed(config.train.use_cpu)
    texts = collect_texts(config, channels, say)
    settle_source(config, len(texts), say)
    if options.pretrain_learning_rate <= 0:
        options.pretrain_learning_rate = config.train.learning_rate or default_learning_rate(config.model.base_model)
    train_texts, held_texts = held_out_split(texts, options.pretrain_held_out, config.data.split_seed)
    checkpoint_dir = config.path(options.pretrain_checkpoint_dir)
    say(f"model: {config.model.base_model} as a masked-LM model")
    tokenizer, model = masked_lm(config, texts, ranks, checkpoint_dir)
    if ranks.local_rank == 0:
        settings = {**config.flat(), "pretrain_learning_rate": options.pretrain_learning_rate}
        check_resume(checkpoint_dir, tokenizer_fingerprint(tokenizer), settings, names=PRETRAIN_RESUME_SETTINGS)
    barrier()
    length = config.model.max_length
    datasets = [TextDataset(tokenizer, part, length) for part in (train_texts, held_texts)]
    loop = Pretraining(config, tokenizer, model, *datasets, ranks, say)
    result = loop.fit()
    if not ranks.is_main:
        return {}
    record = {
        "base_model": config.model.base_model,
        "texts": len(train_texts),
        "held_out_texts": len(held_texts),
        "mlm_probability": options.mlm_probability,
        "held_out_mlm_loss_before": result["before"],
        "held_out_mlm_loss_after": result["after"],
        "steps": result["steps"],
        "history": result["history"],
    }
    output = config.path(options.pretrain_output_dir)
    save_output(loop.core, tokenizer, record, output)
    clear_checkpoints(checkpoint_dir)
    say.always(f"pretrained model saved to {output}: train from it with --set model.base_model={output}")
    return record


def save_output(model, tokenizer, record: dict, output: Path) -> None:
    """Write the masked-LM model, its tokenizer and PRETRAIN_RECORD to ``output`` (a partial folder renamed at the
    end: a kill mid-save leaves the previous folder, not half of one)."""
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / PRETRAIN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(output, ignore_errors=True)
    partial.rename(output)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``<cli> pretrain``, ``torchrun -m PACKAGE.training.pretrain`` and SageMaker's pretrain entry script: the
    training entry point's options and SageMaker folders, running pretrain. Returns the exit status (entry.main's)."""
    from .entry import main as entry_main

    return entry_main(argv, prog, command=pretrain, description=DESCRIPTION)


if __name__ == "__main__":
    sys.exit(main())
