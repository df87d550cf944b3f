# Every target sets itself up: creates .venv if missing and installs the package (CPU torch 2.13.0 first,
# so no requirement can pull a CUDA build). Re-installs only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfgbv-installed
ARGS ?=

.PHONY: setup train eval-public test test-e2e test-fast test-label-studio lint bench bench-train serve bench-serve data-check functional clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,onnx,ray]"
	@touch $(STAMP)

## Train the default model (offline e5-small) on the bundled corpus, evaluate it, regenerate model_card.md.
train: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) scripts/train.py publish_card=true $(ARGS)
	$(PY) scripts/update_readme.py

## Score the default run (runs/latest) on the public Russian test sets it never saw; refresh model_card.md and README.
PUBLIC_EVAL ?= ru_2ch_pikabu ru_sexism_vk ru_distorted_toxicity rutoxicon
eval-public: $(STAMP)
	@for d in $(PUBLIC_EVAL); do HF_HUB_OFFLINE=1 $(PY) scripts/evaluate.py run_dir=runs/latest data=$$d $(ARGS) || exit 1; done
	HF_HUB_OFFLINE=1 $(PY) scripts/evaluate.py run_dir=runs/latest data=seed publish_card=true $(ARGS)
	$(PY) scripts/update_readme.py

## Lint (ruff format --check, ruff check), then the whole test suite offline (slow tests included), except the long
## end-to-end tests of other processes (make test-e2e) and the Label Studio round trip.
test: lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not label_studio and not e2e" $(ARGS)

## The long end-to-end tests (marker e2e): 2-process torchrun training, Ray Serve, the serving page in headless
## chromium, console scripts from a wheel in a fresh venv, MLflow and TensorBoard logging. Installs the tracking extras
## into .venv first (make train needs neither). .ci/run runs it after make test.
E2E_STAMP := $(VENV)/.tfgbv-e2e-installed
$(E2E_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,onnx,ray,tensorboard,mlflow]"
	@touch $(E2E_STAMP)

test-e2e: $(E2E_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "e2e and not label_studio" $(ARGS)

## Formatting and lint only (ruff; configured in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

## Only the fast tests.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow and not label_studio" $(ARGS)

## The real Label Studio round trip (tests/annotate/test_label_studio_server.py): select -> Label Studio -> two
## annotators -> export -> import -> train. Label Studio lives in its own cached venv (~1.5 min to install once; the
## migrated empty database is cached next to it, ~1 min once), never in the project's venv.
TFGBV_CACHE ?= $(HOME)/.cache/tfgbv
LABEL_STUDIO_VENV ?= $(TFGBV_CACHE)/label-studio-venv
LABEL_STUDIO_PINS ?= label-studio==1.23.2 label-studio-sdk==2.1.2
test-label-studio: $(STAMP)
	@test -x $(LABEL_STUDIO_VENV)/bin/label-studio || { $(PYTHON) -m venv $(LABEL_STUDIO_VENV) && \
		$(LABEL_STUDIO_VENV)/bin/pip install --quiet --upgrade pip && \
		$(LABEL_STUDIO_VENV)/bin/pip install --quiet $(LABEL_STUDIO_PINS); }
	HF_HUB_OFFLINE=1 LABEL_STUDIO_VENV=$(LABEL_STUDIO_VENV) $(PY) -m pytest -q -m label_studio tests/annotate $(ARGS)

## Inference and training throughput benchmark (see README).
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) scripts/bench.py $(ARGS)

## Training samples/s in 1 vs 2 processes (torchrun, DDP) and the per-step all-reduce; writes docs/bench_train.{md,json}.
bench-train: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) scripts/bench_train.py $(ARGS)

## The scoring service on http://127.0.0.1:8080 (page at /, docs at /docs; Perspective-compatible, see README).
serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) scripts/serve.py $(ARGS)

## Serving benchmark: served vs in-process throughput and latency at concurrency 1/8/32; writes docs/serve_bench.{md,json}.
bench-serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) scripts/bench_serve.py $(ARGS)

## Validate the bundled corpus and functional suite (schema, duplicates, statement counts).
data-check: $(STAMP)
	$(PY) scripts/validate_data.py $(ARGS)

## Regenerate the functional test suite.
functional: $(STAMP)
	$(PY) scripts/make_functional.py --out data/functional/cases.jsonl

clean:
	rm -rf $(VENV) .pytest_cache
