# xstilts: `make demo` runs the whole study in miniature; `make test` runs the test suite.
SHELL := /bin/bash
VENV ?= .venv
CORES ?= 2
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export TOKENIZERS_PARALLELISM := false
export DS_ACCELERATOR := cpu

.PHONY: install lock demo test bench lint format plan clean gpu-check

# CPU environment for this machine (the cluster's GPU environments are in workflow/envs/), installed
# from the lock (locks/cpu.txt: every package pinned, torch the CPU build), then this repository
# alone. uv installs in half pip's time; it compiles the bytecode up front, as pip does (jobs would
# otherwise compile on every start where PYTHONDONTWRITEBYTECODE is set). The CPU torch wheel comes
# from the local wheel folder where the machine has one (TORCH_WHEELS), else from PyTorch's CPU index.
TORCH_WHEELS ?= $(wildcard /opt/wheels)
TORCH_SOURCE = $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
UV = $(VENV)/bin/uv pip install -q --compile-bytecode --python $(VENV)/bin/python
$(VENV)/bin/uv:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv

$(VENV)/.installed: pyproject.toml locks/cpu.txt | $(VENV)/bin/uv
	$(UV) $(TORCH_SOURCE) -r locks/cpu.txt
	$(UV) --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Refresh the locks from pyproject.toml (Linux x86-64, Python 3.11): the CPU environment and the GPU
# one for each CUDA major (locks/*.in hold each one's torch choice), under the constraints this
# site's pip applies (its global.constraint), so pip here resolves what the lock pins.
PIP_CONSTRAINTS ?= $(shell python3 -m pip config list 2>/dev/null | sed -n "s/^global\.constraint='\(.*\)'$$/\1/p")
LOCK = $(VENV)/bin/uv pip compile -q --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command "make lock" $(addprefix -c ,$(PIP_CONSTRAINTS)) pyproject.toml
lock: | $(VENV)/bin/uv
	$(LOCK) --extra deepspeed --extra cpu --extra dev $(TORCH_SOURCE) -c locks/cpu.in -o locks/cpu.txt
	$(LOCK) --extra gpu -c locks/gpu-cuda12.in -o locks/gpu-cuda12.txt
	$(LOCK) --extra gpu -c locks/gpu-cuda13.in -o locks/gpu-cuda13.txt

# The greedy scheduler: Snakemake's default (ILP) starts the CBC solver at each of the demo's ~140
# scheduling rounds, which on 2 cores takes 5% of the DAG's time. Same jobs, same numbers.
demo: install
	snakemake --configfile config/demo.yaml --cores $(CORES) --scheduler greedy
	@echo "results: $$(ls -d results/demo/*/transfer_matrix.csv)"

# Two pytest workers, a file each at a time (module and session fixtures stay whole): the SLURM
# file (mostly waiting on time limits) starts first, on one worker, while the other runs the rest.
# The slowest tests are listed at the end of every run (CI keeps it within 15 minutes).
test: install
	pytest -q -n 2 --dist loadfile --durations=15 tests/test_slurm.py tests

bench: install
	python tools/bench.py

# On a machine with a CUDA GPU and the GPU environment (workflow/envs/xstilts-gpu.yaml, or
# `pip install -e ".[gpu]"`): train, evaluate, retrieve on the GPU; XLM-R Large tokens/s and MFU.
# Runs in the current Python environment; exits non-zero, saying so, without a GPU.
gpu-check:
	DS_ACCELERATOR=cuda python tools/gpu_check.py

# The paper's grid: preflight (models, data, values; problems are listed, the plan still shows),
# then the job counts. `make plan CONFIG=my-study.yaml` for another study.
CONFIG ?= config/config.yaml
plan: install
	-xstilts preflight --configfile $(CONFIG)
	snakemake -n --configfile $(CONFIG) --quiet rules

lint: install
	ruff check src tests tools
	ruff format --check src tests tools
	snakefmt --check workflow
	snakemake --lint --configfile config/demo.yaml

format: install
	ruff format src tests tools
	ruff check --fix src tests tools
	snakefmt workflow

clean:
	rm -rf results resources logs timings checkpoints .snakemake
