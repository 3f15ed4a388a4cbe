"""`pretrain`: masked-LM on the project's own texts lowers the held-out loss, resumes after an interrupt with nothing
lost, leaves the test split's texts out, and writes a folder `train` starts from (issue 34)."""

from __future__ import annotations

import json
import signal

import pytest
import torch
from transformers import AutoTokenizer, ElectraForMaskedLM

from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.data.dataset import data_file, load_schema, load_splits
from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.model.sources import (
    PRETRAIN_RECORD,
    default_learning_rate,
    load_model,
)
from {{ cookiecutter.package_name }}.training import pretrain as pretraining
from {{ cookiecutter.package_name }}.training.interrupts import StopSignals, TrainingInterrupted
from {{ cookiecutter.package_name }}.training.masked_lm_loss import IGNORED, MaskedPositionsLoss
from {{ cookiecutter.package_name }}.training.runtime import Printer, Ranks

# a 400-row subset: its tokenizer and 16 steps take a few seconds on one core
STEPS = {"pretrain_max_steps": 16, "batch_size": 16, "checkpoint_every_minutes": 0, "max_rows": 400}


def pretrain_config(project, **overrides):
    return load_config(project.source, {**STEPS, "base_model": "scratch:tiny", "use_cpu": True, **overrides})


def test_pretrain_lowers_the_held_out_loss_and_train_starts_from_its_folder(project, capsys):
    record = pretraining.pretrain(pretrain_config(project, base_model="scratch:auto"), quiet=True)
    assert record["base_model"] == "scratch:tiny"  # scratch:auto settled by the texts' number (a few hundred)
    assert record["held_out_mlm_loss_after"] < record["held_out_mlm_loss_before"]
    assert record["steps"] == STEPS["pretrain_max_steps"] and record["held_out_texts"] >= 1
    output = project.path(project.pretrain.pretrain_output_dir)
    assert json.loads((output / PRETRAIN_RECORD).read_text(encoding="utf-8"))["base_model"] == "scratch:tiny"
    assert not (project.path(project.pretrain.pretrain_checkpoint_dir) / "torch-loop-last.pt").exists()
    # the classifier `train` builds from the folder: the masked-LM model's encoder weights, a fresh head
    schema = load_schema(project)
    _, classifier = load_model(str(output), schema, project.model.max_length)
    encoder = ElectraForMaskedLM.from_pretrained(output).electra.state_dict()
    assert encoder.keys() == classifier.electra.state_dict().keys()
    assert all(torch.equal(value, classifier.electra.state_dict()[key]) for key, value in encoder.items())
    assert default_learning_rate(str(output)) == default_learning_rate("scratch:tiny")  # still a tiny model
    # a folder (or hub id) is loaded with AutoModelForMaskedLM; one without a masked-LM head says so in one line
    classifier.save_pretrained(project.path("classifier"))
    AutoTokenizer.from_pretrained(output).save_pretrained(project.path("classifier"))
    again = pretrain_config(project, base_model=str(project.path("classifier")), pretrain_max_steps=2)
    assert pretraining.pretrain(again, quiet=True)["steps"] == 2
    assert "masked-LM parameter(s)" in capsys.readouterr().err


@pytest.mark.slow  # three short runs, about 11 s on one core
def test_an_interrupted_pretrain_resumes_where_it_stopped_and_ends_as_an_uninterrupted_one(project, monkeypatch):
    whole = pretraining.pretrain(pretrain_config(project, pretrain_output_dir="whole"), quiet=True)
    polls = {"count": 0}  # the 10th optimizer step's poll answers as if Ctrl-C had been pressed
    original = StopSignals.poll

    def stop_at_ten(self, device):
        polls["count"] += 1
        return (True, signal.SIGINT) if polls["count"] == 10 else original(self, device)

    monkeypatch.setattr(StopSignals, "poll", stop_at_ten)
    config = pretrain_config(project, pretrain_output_dir="resumed")
    with pytest.raises(TrainingInterrupted) as stopped:
        pretraining.pretrain(config, quiet=True)
    assert stopped.value.step == 10 and stopped.value.checkpoint.is_file()
    resumed = pretraining.pretrain(pretrain_config(project, pretrain_output_dir="resumed"), quiet=True)
    assert resumed["held_out_mlm_loss_before"] == whole["held_out_mlm_loss_before"]
    assert resumed["held_out_mlm_loss_after"] == pytest.approx(whole["held_out_mlm_loss_after"], abs=1e-5)
    first = ElectraForMaskedLM.from_pretrained(project.path("whole")).state_dict()
    second = ElectraForMaskedLM.from_pretrained(project.path("resumed")).state_dict()
    assert all(torch.allclose(value, second[key], atol=1e-6) for key, value in first.items())


def test_unlabeled_files_add_their_texts_and_never_the_test_splits(project):
    test_path = data_file(project, project.data.test_file) if project.data.test_file else None
    splits = load_splits(project, load_schema(project), data_file(project, project.data.train_file), test_path)
    test_text, train_text = splits.test[0].text, splits.train[0].text
    extra = project.path(project.data.data_dir) / "extra.txt"
    extra.write_text(f"처음 보는 문장입니다\n\n{test_text}\n{train_text}\n", encoding="utf-8")
    config = load_config(project.source, {"unlabeled_files": "extra.txt"})
    said = []
    texts = pretraining.collect_texts(config, {}, said.append)
    assert "처음 보는 문장입니다" in texts and test_text not in texts and texts.count(train_text) == 1
    assert "3 unlabelled texts, 1 of them the test split's and left out" in said[0]  # the empty line is no text
    if project.data.test_file:  # the test file itself, whatever its suffix says, is refused: its texts stay unseen
        with pytest.raises(ConfigError, match="is data.test_file"):
            pretraining.collect_texts(
                load_config(project.source, {"unlabeled_files": project.data.test_file}), {}, Printer(Ranks(), True)
            )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"mlm_probability": "1.5"}, "pretrain.mlm_probability: '1.5' is out of range"),
        ({"pretrain_held_out": "0"}, "pretrain.pretrain_held_out: '0' is out of range"),
        ({"unlabeled_files": "a.txt,,b.txt"}, "pretrain.unlabeled_files: 'a.txt,,b.txt' is not a comma-separated"),
    ],
)
def test_a_wrong_pretrain_setting_is_one_line_naming_it(project, override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(project.source, override)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nowhere.txt", None, "nowhere.txt does not exist"),
        ("blank.txt", "\n  \n\n", "blank.txt holds no text"),
        ("empty.txt", "", "empty.txt holds no text"),
        ("a-folder", "folder", "a-folder is a folder"),
    ],
)
def test_an_unlabeled_file_without_texts_is_one_line_from_the_command(project, capsys, name, content, message):
    path = project.path(project.data.data_dir) / name
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    code = pretraining.main(["--config", str(project.source), "--set", f"unlabeled_files={name}"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("error: pretrain.unlabeled_files:") and message in lines[0]


def tiny_masked_lm(kind: str):
    """A 2-layer masked-LM model of ``kind`` (the head layouts masked_lm_loss.py knows, and one it does not), built
    from a config offline, in eval mode (no dropout: two forwards give the same numbers)."""
    import transformers

    shape = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2}
    configs = {
        "electra": (transformers.ElectraConfig, {**shape, "embedding_size": 8, "intermediate_size": 32}),
        "bert": (transformers.BertConfig, {**shape, "intermediate_size": 32}),
        "roberta": (transformers.RobertaConfig, {**shape, "intermediate_size": 32}),
        "distilbert": (transformers.DistilBertConfig, {"vocab_size": 50, "dim": 16, "n_layers": 2, "n_heads": 2}),
    }
    config_class, options = configs[kind]
    torch.manual_seed(0)
    return transformers.AutoModelForMaskedLM.from_config(config_class(**options)).eval()


@pytest.mark.parametrize("kind", ["electra", "bert", "roberta", "distilbert"])
def test_the_masked_positions_loss_and_gradients_are_the_models_own(kind):
    model = tiny_masked_lm(kind)
    torch.manual_seed(1)
    input_ids = torch.randint(5, 50, (4, 9))
    labels = torch.full_like(input_ids, IGNORED)
    masked = torch.rand(input_ids.shape) < 0.3
    masked[0, 1] = True  # at least one masked position
    labels[masked] = input_ids[masked]
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}
    scorer = MaskedPositionsLoss(model)
    assert (scorer.head is None) == (kind == "distilbert")  # an unknown head: the model's own loss
    ours = scorer(**batch)
    ours.backward()
    ours_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    theirs = model(**batch).loss
    theirs.backward()
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(ours_grads, model.parameters(), strict=True))


def test_a_batch_without_a_masked_position_has_a_zero_loss_not_nan():
    model = tiny_masked_lm("electra")
    input_ids = torch.randint(5, 50, (2, 5))
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    loss = MaskedPositionsLoss(model)(labels=torch.full_like(input_ids, IGNORED), **batch)
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert torch.isnan(model(**batch, labels=torch.full_like(input_ids, IGNORED)).loss)  # what it replaces
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters() if p.requires_grad)
