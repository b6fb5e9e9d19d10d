# Cluster resources of every rule, as functions of the {model} wildcard: nothing is hand-set per
# rule. GPU jobs (training, evaluation) follow the per-model table in the config
# (`models.<name>`: gpus, mem_gb, runtime_h); light jobs (data, tokenisation, tables) are CPU-only.
# Site-specific values (account, partitions, GPU model, CPUs per GPU) come from the config's
# `cluster:` section, the one place a user edits for a new cluster. Snakemake drops resources
# that evaluate to None, so an unset site value leaves the cluster's default in place.
#
# Rules take these with `resources: **GPU_TRAIN_RESOURCES` (or GPU_EVAL_ / CPU_RESOURCES). The
# names the SLURM executor plugin reads: gpu, gpu_model, cpus_per_gpu, nodes, mem_mb, runtime
# (minutes), slurm_account, slurm_partition, slurm_extra. Run locally, they only label the jobs;
# `save_margin_s` reaches the training launcher through the shell line.
# Batch size per GPU and the ZeRO stage shape the training launch, not the allocation.
import math

# The `cluster:` section's defaults are the schema's (workflow/schemas/config.schema.yaml), and
# its checks (the save margin before SLURM's warning signal) run when the config is validated.
# Used when the per-model table leaves a value out:
DEFAULT_GPU_MEM_GB = 32  # host memory per GPU of a training job
DEFAULT_TRAIN_RUNTIME_H = 24
EVAL_RUNTIME_FRACTION = 0.25  # evaluation: this share of the training time, at least an hour


def _cluster(key):
    return STUDY.config["cluster"][key]


def _minutes(hours, attempt=1):
    """SLURM time limit in minutes. A retried job (`retries:` in the profile) gets `attempt`
    times the time, but never more than `cluster.max_runtime_h` (default: the first attempt's,
    as partitions cap the time limit): a retry of a training job resumes from its checkpoint."""
    cap = _cluster("max_runtime_h") or hours
    return int(math.ceil(min(hours * int(attempt), cap) * 60))


def _model_gpus(model):
    return int(STUDY.model(model)["gpus"])


def _gpus(wildcards):
    return _model_gpus(wildcards.model)


def _is_gpu_job(wildcards):
    return _gpus(wildcards) > 0


# The software of every job when Snakemake deploys it (`--sdm conda`): the GPU environment when a
# model of the grid trains on GPUs, else the CPU one. Both install this repository's package.
SOFTWARE_ENV = "../envs/xstilts-{}.yaml".format(
    "gpu" if any(_model_gpus(m) > 0 for m in STUDY.grid["models"]) else "cpu"
)


# --- per-model values ---------------------------------------------------------------------------
def train_gpus(wildcards):
    return _gpus(wildcards)


def eval_gpus(wildcards):
    """Evaluation and retrieval run on one GPU (none for CPU-only models)."""
    return min(_gpus(wildcards), 1)


def train_mem_mb(wildcards):
    model = STUDY.model(wildcards.model)
    if model.get("mem_gb"):
        return int(math.ceil(model["mem_gb"] * 1024))
    gpus = _gpus(wildcards)
    return (gpus * DEFAULT_GPU_MEM_GB if gpus else cpu_mem_gb()) * 1024


def eval_mem_mb(wildcards):
    """One GPU's share of the training memory (all of it for CPU-only models)."""
    return int(math.ceil(train_mem_mb(wildcards) / max(_gpus(wildcards), 1)))


def train_hours(wildcards):
    return STUDY.model(wildcards.model).get("runtime_h") or DEFAULT_TRAIN_RUNTIME_H


def train_runtime(wildcards, attempt):
    return _minutes(train_hours(wildcards), attempt)


def eval_runtime(wildcards, attempt):
    return _minutes(max(1.0, train_hours(wildcards) * EVAL_RUNTIME_FRACTION), attempt)


def cpus_per_gpu(wildcards):
    return _cluster("cpus_per_gpu") if _is_gpu_job(wildcards) else None


def one_node(wildcards):
    """All GPUs of a job on one node (torchrun / DeepSpeed launch on the node)."""
    return 1 if _is_gpu_job(wildcards) else None


# --- site values ----------------------------------------------------------------------------------
def cpu_mem_gb():
    return _cluster("cpu_mem_gb")


def cpu_mem_mb(wildcards):
    return int(math.ceil(cpu_mem_gb() * 1024))


def cpu_runtime(wildcards, attempt):
    return _minutes(_cluster("cpu_runtime_h"), attempt)


def slurm_account(wildcards):
    return _cluster("account")


def cpu_partition(wildcards):
    return _cluster("partition")


def model_partition(wildcards):
    """GPU jobs go to the GPU partition; CPU-only models stay on the CPU partition."""
    if _is_gpu_job(wildcards):
        return _cluster("gpu_partition") or _cluster("partition")
    return _cluster("partition")


def gpu_model(wildcards):
    return _cluster("gpu_model") if _is_gpu_job(wildcards) else None


def save_margin_s(wildcards):
    """Seconds before the time limit at which a training job saves and exits (the launcher's
    `--save-margin-s`), before SLURM's warning signal ends the batch shell."""
    return int(_cluster("save_margin_min") * 60)


def signal_margin_s():
    return int(_cluster("signal_margin_min") * 60)


def train_slurm_extra(wildcards):
    """`--signal=B:USR1@<s>`: SLURM warns the batch shell before the time limit."""
    return f"--signal=B:USR1@{signal_margin_s()}"


_SITE = dict(slurm_account=slurm_account)
_GPU_SITE = dict(
    _SITE,
    slurm_partition=model_partition,
    gpu_model=gpu_model,
    cpus_per_gpu=cpus_per_gpu,
    nodes=one_node,
)

# train_intermediate, train_before_target, finetune
GPU_TRAIN_RESOURCES = dict(
    _GPU_SITE,
    gpu=train_gpus,
    mem_mb=train_mem_mb,
    runtime=train_runtime,
    slurm_extra=train_slurm_extra,
    save_margin_s=save_margin_s,
)
# retrieve, throughput
GPU_EVAL_RESOURCES = dict(_GPU_SITE, gpu=eval_gpus, mem_mb=eval_mem_mb, runtime=eval_runtime)
# build_tokenizer, build_model, prepare_data, tokenize, score, aggregate, report_tables, analyses
CPU_RESOURCES = dict(_SITE, slurm_partition=cpu_partition, mem_mb=cpu_mem_mb, runtime=cpu_runtime)
