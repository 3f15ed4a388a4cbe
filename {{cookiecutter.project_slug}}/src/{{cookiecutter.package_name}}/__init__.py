"""Text classification for the {{ cookiecutter.dataset_name }} dataset, from the kornlp-template."""

PROJECT_NAME = {{ cookiecutter.project_name | json_text }}
DATASET_NAME = {{ cookiecutter.dataset_name | json_text }}
LICENSE = {{ cookiecutter.license | json_text }}  # the code's SPDX id; the model card's license (model/artifact.py)
__version__ = "0.1.0"
