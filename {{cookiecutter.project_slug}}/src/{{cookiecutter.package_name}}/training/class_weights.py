"""train.class_weights: the loss's weights, from the training split's labels only (none, balanced, or auto's rule).

Both loops weigh the same loss: the task's ``Task.loss(logits, labels, weights)`` (cross-entropy's ``weight``, or
BCE's ``pos_weight`` for multi-label), given ``ClassWeights.tensor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import AUTO_CLASS_RATIO
from ..errors import ConfigError


@dataclass(frozen=True)
class ClassWeights:
    """The weights a run trains with, and why (metrics.json's ``class_weights`` record)."""

    setting: str  # train.class_weights as configured: auto, none or balanced
    used: str  # none or balanced
    reason: str
    weights: dict[str, float] = field(default_factory=dict)  # label name -> weight; {} when unweighted
    imbalance: float | None = None  # Task.imbalance: the largest class's rows over the smallest's (None: none compared)

    @property
    def line(self) -> str:
        """The line train prints at the start: ``class weights: balanced (why)``."""
        return f"class weights: {self.used} ({self.reason})"

    def tensor(self, device):
        """The weights as a float32 tensor of shape (num_outputs,) on ``device``, or None when unweighted."""
        if not self.weights:
            return None
        import torch

        return torch.tensor(list(self.weights.values()), dtype=torch.float32, device=device)

    def record(self) -> dict:
        """The record metrics.json keeps: setting, used, reason, imbalance and each label's weight."""
        return {
            "setting": self.setting,
            "used": self.used,
            "reason": self.reason,
            "imbalance": self.imbalance,
            "weights": dict(self.weights),
        }


def choose_class_weights(setting: str, task, labels: list, names: list[str]) -> ClassWeights:
    """The weights ``setting`` (train.class_weights) gives the task's loss over the TRAINING split's ``labels``
    (as the task keeps them; None for an unlabelled row), one a name of ``names`` (the model's outputs). auto:
    balanced when the task's imbalance (Task.imbalance: the largest class's rows over the smallest's; for
    multi-label the rarest label's negatives over its positives) is AUTO_CLASS_RATIO or more. Raises
    ConfigError for balanced on a task without classes (regression)."""
    ratio = task.imbalance(labels, len(names))
    weights = task.class_weights(labels, len(names))
    if weights is None:
        if setting == "balanced":
            raise ConfigError(
                f"train.class_weights: 'balanced' weighs classes, and a {task.name} task has none; use auto or none"
            )
        return ClassWeights(setting, "none", f"a {task.name} task has no classes to weigh")
    if setting == "none":
        return ClassWeights(setting, "none", "train.class_weights=none", imbalance=ratio)
    if setting == "auto" and ratio is None:
        return ClassWeights(
            setting, "none", f"auto leaves a {task.name} loss unweighted; train.class_weights=balanced weighs it"
        )
    balanced = dict(zip(names, (round(float(w), 6) for w in weights), strict=True))
    if setting == "balanced":
        shape = f"; {task.imbalance_phrase(ratio)}" if ratio else ""
        return ClassWeights(setting, "balanced", f"train.class_weights=balanced{shape}", balanced, ratio)
    if ratio >= AUTO_CLASS_RATIO:
        why = f"auto: {task.imbalance_phrase(ratio)}, at least {AUTO_CLASS_RATIO:g}x"
        return ClassWeights(setting, "balanced", why, balanced, ratio)
    why = f"auto: {task.imbalance_phrase(ratio)}, under {AUTO_CLASS_RATIO:g}x"
    return ClassWeights(setting, "none", why, imbalance=ratio)
