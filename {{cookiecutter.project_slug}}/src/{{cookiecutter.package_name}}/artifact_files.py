"""The artifact's file names that the inference container reads too: defined here once.

Standard library only and importing nothing of ours, so ``deploy`` ships it beside the handler as
``code/artifact_files.py`` (the Hugging Face inference toolkit puts ``code/`` on ``sys.path``); config.py and
model/artifact.py import the same names from here.
"""

from __future__ import annotations

LABELS_FILE = "labels.json"  # label names in class-id order (data/labels.py writes it)
METRICS_FILE = "metrics.json"  # the artifact's scores and int8 record (model/artifact.py)
TRAINING_CONFIG_FILE = "training_config.json"  # the config train ran with: data.text_column, data.normalize
THRESHOLDS_FILE = "thresholds.json"  # multi-label: each label's decision threshold, tuned on the validation split
CALIBRATION_FILE = "calibration.json"  # the temperature(s) scores are calibrated with, fitted on the validation split
MODEL_CONFIG_FILE = "config.json"  # a transformer's configuration (transformers' name)
NGRAM_WEIGHTS_FILE = "ngram-baseline.npz"  # the n-gram model (model/ngram.py): a baseline, or an ensemble's part
ENSEMBLE_FILE = "ensemble.json"  # what train shipped: the transformer's weight in the mix with the n-gram model
INT8_DIR = "int8"  # the OpenVINO int8 model train writes (model/int8.py)
INT8_MODEL_FILE = f"{INT8_DIR}/model.xml"  # its weights: model.bin beside it
INT8_RECORD = "int8"  # metrics.json's key for the int8-against-fp32 check train makes
CALIBRATION_RECORD = "calibration"  # metrics.json's key for the temperatures and ECE before and after them
PRECISIONS = ("auto", "int8", "fp32")  # what an artifact is served at: auto is int8 on a CPU when the check allowed it
NO_MODEL_MAX_LENGTH = 100_000  # tokenizers without a configured limit report a huge sentinel
