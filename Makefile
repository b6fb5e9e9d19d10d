# xstilts: `make demo` runs the whole study in miniature; `make test` runs the test suite.
SHELL := /bin/bash
VENV ?= .venv
CORES ?= 2
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export TOKENIZERS_PARALLELISM := false
export DS_ACCELERATOR := cpu

.PHONY: install demo test bench lint format plan clean gpu-check

# CPU environment for this machine (the cluster's GPU environments are in workflow/envs/).
# uv resolves and installs in half pip's time; it compiles the bytecode up front, as pip does (jobs
# would otherwise compile on every start where PYTHONDONTWRITEBYTECODE is set). torch is pinned to the CPU
# wheel first, or the resolver would pull a multi-GB CUDA build: from the local wheel folder where
# the machine has one (TORCH_WHEELS), else from PyTorch's CPU index.
TORCH_WHEELS ?= $(wildcard /opt/wheels)
TORCH_SOURCE = $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--index-url https://download.pytorch.org/whl/cpu)
UV = $(VENV)/bin/uv pip install -q --compile-bytecode --python $(VENV)/bin/python
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv
	$(UV) $(TORCH_SOURCE) torch==2.13.0
	$(UV) -e ".[dev,deepspeed,cpu]"
	touch $@

install: $(VENV)/.installed

# The greedy scheduler: Snakemake's default (ILP) starts the CBC solver at each of the demo's ~140
# scheduling rounds, which on 2 cores takes 5% of the DAG's time. Same jobs, same numbers.
demo: install
	snakemake --configfile config/demo.yaml --cores $(CORES) --scheduler greedy
	@echo "results: $$(ls -d results/*/transfer_matrix.csv)"

# The slowest tests are listed at the end of every run (CI keeps it within 15 minutes).
test: install
	pytest -q --durations=15

bench: install
	xstilts bench

# On a machine with a CUDA GPU and the GPU environment (workflow/envs/xstilts-gpu.yaml, or
# `pip install -e ".[gpu]"`): train, evaluate, retrieve on the GPU; XLM-R Large tokens/s and MFU.
# Runs in the current Python environment; exits non-zero, saying so, without a GPU.
gpu-check:
	DS_ACCELERATOR=cuda python -m xstilts.gpu_check

# The paper's grid: preflight (models, data, values; problems are listed, the plan still shows),
# then the job counts. `make plan CONFIG=my-study.yaml` for another study.
CONFIG ?= config/config.yaml
plan: install
	-xstilts preflight --configfile $(CONFIG)
	snakemake -n --configfile $(CONFIG) --quiet rules

lint: install
	ruff check src tests
	ruff format --check src tests
	snakefmt --check Snakefile workflow/rules
	snakemake --lint --configfile config/demo.yaml

format: install
	ruff format src tests
	ruff check --fix src tests
	snakefmt Snakefile workflow/rules

clean:
	rm -rf results resources logs benchmarks checkpoints .snakemake
