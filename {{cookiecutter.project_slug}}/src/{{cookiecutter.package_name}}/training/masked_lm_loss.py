"""pretrain's loss: masked-LM cross-entropy with the vocabulary head applied to the masked positions alone.

A masked-LM model's own forward maps every position to the whole vocabulary, yet only the masked positions
(pretrain.mlm_probability of the tokens) carry a label; the other logits are computed, and back-propagated through,
for nothing. For ``scratch:small`` (16,000 tokens, 4 layers of 256) that head is about half of a step on a CPU.
Applying it to the masked positions alone gives the same loss (the mean cross-entropy over the labelled positions,
as the models' own forward computes it), as fairseq's RoBERTa does with its ``masked_tokens``. Timed against the
model's own loss in benchmarks/bench_pretrain_speed.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

IGNORED = -100  # transformers' label for a position without a target (DataCollatorForLanguageModeling's)


def vocabulary_head(model) -> Callable | None:
    """The function mapping a transformers masked-LM model's last hidden states (..., hidden_size) to vocabulary
    logits (..., vocab_size), for the heads whose layout is known: ELECTRA's (``generator_predictions`` then
    ``generator_lm_head``), BERT's (``cls``) and RoBERTa's and XLM-R's (``lm_head``). None for any other model,
    which then computes its own loss."""
    predictions, projection = (getattr(model, name, None) for name in ("generator_predictions", "generator_lm_head"))
    if isinstance(predictions, torch.nn.Module) and isinstance(projection, torch.nn.Module):
        return lambda hidden: projection(predictions(hidden))
    for name in ("cls", "lm_head"):
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head.__call__
    return None


class MaskedPositionsLoss(torch.nn.Module):
    """A masked-LM ``model`` whose forward(**batch) returns the scalar loss of a DataCollatorForLanguageModeling
    batch (input_ids (batch, length), attention_mask, labels (batch, length), IGNORED where not masked), the head
    applied to the masked positions alone (``vocabulary_head``; the model's own ``loss`` where none is known).
    DistributedDataParallel wraps this module, so gradients are reduced as for the model's own forward. A batch
    without a masked position gives 0 (the model's own loss: NaN), with every parameter in its graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.head = vocabulary_head(model)

    def forward(self, labels: torch.Tensor, **inputs) -> torch.Tensor:
        """The batch's loss, a 0-dimensional tensor: the mean cross-entropy of the masked positions' logits
        (masked positions, vocab_size) against ``labels`` (batch, length); ``inputs`` are the model's own
        (input_ids, attention_mask, token_type_ids ...)."""
        if self.head is None:
            return self.model(**inputs, labels=labels).loss
        hidden = self.model.base_model(**inputs)[0]
        masked = labels != IGNORED
        logits = self.head(hidden[masked])  # (masked positions, vocab_size)
        if logits.shape[0] == 0:
            return logits.sum()
        return torch.nn.functional.cross_entropy(logits, labels[masked])
