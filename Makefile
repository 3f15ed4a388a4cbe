# Quickstart: `make demo` (bake + run the default project end to end, offline), `make test` (all tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The versions the CI tested (scripts/lock.py writes them; every bake carries them). `make install LOCK=` installs
# the newest releases instead, as `make drift` does in a scratch environment.
LOCK ?= {{cookiecutter.project_slug}}/constraints.txt
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test bench bench-small lint format clean lock drift

install: $(STAMP)

$(STAMP): requirements-dev.txt $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: any other spec pulls gigabytes of CUDA packages
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -r requirements-dev.txt $(if $(LOCK),-c '$(LOCK)')  # minutes on a fresh machine: pip shows progress
	# without its declared audio libraries, which it does not use here and which fight transformers 5
	$(BIN)/python -m pip install --quiet --no-deps sagemaker-huggingface-inference-toolkit==2.6.0
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest tests -v --durations=15 -n 2 --dist loadscope

.PHONY: test-pythons
test-pythons: $(STAMP)  # the default bake's default tier on each Python it claims (not in CI: GBs of CUDA torch a version)
	$(BIN)/python scripts/test_pythons.py $(PYTHONS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

bench-small: $(STAMP)  # do the offline defaults learn on small multi-class sets? (benchmarks/RESULTS-small-data.md)
	$(BIN)/python benchmarks/bench_small_data.py

lint: $(STAMP)
	$(BIN)/ruff check hooks tests scripts benchmarks local_*.py
	$(BIN)/ruff format --check hooks tests scripts benchmarks local_*.py

format: $(STAMP)  # the template's code and, through a bake, the project template
	$(BIN)/python scripts/format_template.py

lock: $(STAMP)  # resolve requirements-dev.txt anew for every claimed Python (needs the package index)
	cd scripts && ../$(BIN)/python lock.py

drift: $(STAMP)  # the newest releases in a scratch venv: what changed against the lock, what breaks
	$(BIN)/python scripts/drift.py

clean:  # what the template made for itself; build/demo is kept: you may be working there
	rm -rf build/bench .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
	@echo "kept build/demo (the demo project; remove it yourself when you are done with it)"
