"""`push`: publish the model artifact on the Hugging Face Hub, beside (or instead of) SageMaker.

The artifact is already what the Hub expects: config.json with the label names, model.safetensors, the tokenizer,
and README.md with the Hub's metadata header (model/artifact.py's card_metadata). errors.tsv is left out: it
quotes texts of your test file.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import logs
from .answers import read_transformer_weight
from .artifact_files import ENSEMBLE_FILE
from .errors import ArtifactError
from .evaluation.reports import ERRORS_FILE
from .model.artifact import MODEL_CARD_FILE, RESULTS_DIR, TRAINER_CHECKPOINT_PREFIX, check_artifact

LEFT_OUT = [f"{RESULTS_DIR}/{ERRORS_FILE}", f"{TRAINER_CHECKPOINT_PREFIX}*/**"]


def push_model(model_dir: Path, *, repo_id: str, private: bool = True, dry_run: bool = False, api=None) -> dict:
    """Create the model repository when missing and upload the artifact in one commit (``api``: a
    ``huggingface_hub.HfApi``, or a stand-in in tests). Returns the upload's arguments; raises ArtifactError
    for a folder that is not a transformer artifact, has no model card, or an ensemble.json that is not one."""
    model_dir = check_artifact(model_dir, transformer_only=True)
    if "/" not in repo_id or repo_id.count("/") != 1:
        raise ArtifactError(f"--repo-id takes ORG/NAME (or USER/NAME), got {repo_id!r}")
    if not (model_dir / MODEL_CARD_FILE).is_file():
        raise ArtifactError(f"{model_dir} has no {MODEL_CARD_FILE}: train again to write the model card")
    try:
        weight = read_transformer_weight(model_dir)
    except ValueError as error:
        raise ArtifactError(str(error)) from None
    if weight < 1:  # the Hub's pipeline() loads the transformer alone
        logs.result(
            f"note: {model_dir} ships the transformer mixed with the n-gram model (weight {weight:.1f}, "
            f"{ENSEMBLE_FILE}); the Hub's pipeline() runs the transformer alone, this project's serving paths the mix"
        )
    create = {"repo_id": repo_id, "repo_type": "model", "private": private, "exist_ok": True}
    upload = {
        "repo_id": repo_id,
        "repo_type": "model",
        "folder_path": str(model_dir),
        "ignore_patterns": LEFT_OUT,
        "commit_message": f"Upload {model_dir.name} from the kornlp project",
    }
    if dry_run:
        for operation, arguments in (("create_repo", create), ("upload_folder", upload)):
            logs.result(json.dumps({"operation": operation, "params": arguments}, ensure_ascii=False, indent=2))
        return upload
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(**create)
    commit = api.upload_folder(**upload)
    logs.result(f"pushed {model_dir} to https://huggingface.co/{repo_id} ({getattr(commit, 'oid', commit)})")
    return upload
