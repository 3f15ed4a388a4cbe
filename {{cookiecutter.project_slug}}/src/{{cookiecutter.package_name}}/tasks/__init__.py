"""Task shapes as objects: what a label cell means, the model's outputs, targets, strata, decisions, metrics,
verdict, report and int8 rule of each task, behind one protocol (``base.Task``).

Every module that used to branch on the task asks the task instead: ``task_named(schema.task)``. A new task is one
module here that subclasses ``Task``, registers itself with ``register_task`` and its serving half (``answers.Head``)
with ``answers.register_head``; a test registers a toy task the same way.
"""

from __future__ import annotations

# --- extend this: a new task is a module here (a Task subclass, registered with register_task) and its serving half,
# a Head in answers.py (registered with register_head); tests/test_tasks.py registers a toy one from the test ---
from .base import TASKS, Task, register_task, task_named, task_of_answers, task_of_problem_type
from .multi_label import MultiLabelTask
from .regression import RegressionTask
from .single_label import SingleLabelTask

__all__ = [
    "TASKS",
    "MultiLabelTask",
    "RegressionTask",
    "SingleLabelTask",
    "Task",
    "register_task",
    "task_named",
    "task_of_answers",
    "task_of_problem_type",
]
