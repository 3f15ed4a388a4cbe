"""A pretrained-style base model (a local ELECTRA discriminator folder, as on the hub): resume and load-best
restore every weight, under whatever transformers runs these tests (`make contract`: the containers' pins)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import ElectraConfig, ElectraForPreTraining

from {{ cookiecutter.package_name }}.model.sources import train_tokenizer
from {{ cookiecutter.package_name }}.training import run as run_module
from {{ cookiecutter.package_name }}.training.run import train as run_training

pytestmark = pytest.mark.container


@pytest.fixture()
def pretrained_folder(tmp_path, sample_texts):
    """A small ELECTRA discriminator saved the way hub checkpoints are: weights, config and tokenizer."""
    folder = tmp_path / "pretrained-electra"
    tokenizer = train_tokenizer(sample_texts, 2000)
    tokenizer.save_pretrained(folder)
    config = ElectraConfig(
        vocab_size=len(tokenizer),
        embedding_size=32,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    ElectraForPreTraining(config).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_trainer_resume_and_load_best_restore_every_weight(project, pretrained_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "clear_checkpoints", lambda folder: None)  # keep them to resume from
    config = project.override(
        {
            "base_model": str(pretrained_folder),
            "loop": "trainer",
            "max_steps": 4,
            "save_steps": 2,
            "max_rows": 300,
            "batch_size": 8,
            "learning_rate": 1e-3,
        }
    )
    run_training(config)
    checkpoints = config.path(config.train.checkpoint_dir)
    state = json.loads((checkpoints / "checkpoint-4" / "trainer_state.json").read_text(encoding="utf-8"))
    best = load_file(f"{state['best_model_checkpoint']}/model.safetensors")
    with safe_open(f"{checkpoints}/checkpoint-4/model.safetensors", "pt") as handle:
        names = list(handle.keys())
    assert not [name for name in names if name.endswith((".gamma", ".beta"))], "legacy LayerNorm names saved"
    layer_norms = {name: tensor for name, tensor in best.items() if "LayerNorm" in name}
    initial = {
        name: torch.ones_like(t) if name.endswith("weight") else torch.zeros_like(t) for name, t in layer_norms.items()
    }
    assert any(not torch.equal(t, initial[name]) for name, t in layer_norms.items())  # trained: a skip would show
    resumed_dir = tmp_path / "resumed"
    run_training(config.override({"output_dir": str(resumed_dir)}))  # resumes at step 4 of 4, then loads the best
    resumed = load_file(resumed_dir / "model.safetensors")
    assert set(resumed) == set(best)
    changed = [name for name in best if not torch.equal(resumed[name], best[name])]
    assert changed == []  # every tensor, LayerNorms included, is the checkpoint's
