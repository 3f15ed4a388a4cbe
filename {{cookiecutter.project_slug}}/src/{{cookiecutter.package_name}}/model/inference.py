"""Batched prediction over a tokenised dataset: both training loops and evaluate predict through here."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .features import DynamicPaddingCollator, TokenizedDataset


def best_device(use_cpu: bool = False) -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() and not use_cpu else "cpu")


@torch.inference_mode()
def predict_logits(
    model,
    dataset: TokenizedDataset,
    batch_size: int,
    pad_token_id: int,
    device: torch.device | None = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, float | None]:
    """Logits in dataset order, and mean loss when the dataset has labels. Batches are length-sorted."""
    device = device or next(model.parameters()).device
    order = sorted(range(len(dataset)), key=lambda i: len(dataset.input_ids[i]))
    loader = DataLoader(
        [dataset[i] for i in order], batch_size=batch_size, collate_fn=DynamicPaddingCollator(pad_token_id)
    )
    was_training = model.training
    model.eval()
    chunks, losses, counted = [], 0.0, 0
    for batch in tqdm(loader, desc="predicting", unit="batch", disable=not show_progress):
        batch = {k: v.to(device) for k, v in batch.items()}
        output = model(**batch)
        chunks.append(output.logits.float().cpu())
        if "labels" in batch:
            losses += float(output.loss) * len(batch["labels"])
            counted += len(batch["labels"])
    model.train(was_training)
    logits = torch.cat(chunks).numpy() if chunks else np.zeros((0, model.config.num_labels), dtype=np.float32)
    restored = np.empty_like(logits)
    restored[order] = logits
    return restored, (losses / counted if counted else None)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponent = np.exp(shifted)
    return exponent / exponent.sum(axis=1, keepdims=True)
