# Config validation, wildcard constraints and every input function. No logic beyond lookups:
# the task registry and the Study (src/xstilts) answer every question.
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from xstilts import layout, registry
from xstilts import report as xreport
from xstilts.config import ConfigError, Study, load, validate

if not config:
    config.update(load(Path(workflow.basedir) / "config" / "config.yaml"))
try:
    STUDY = Study(validate(config))
except ConfigError as e:
    raise WorkflowError(str(e)) from None


def _alternatives(values):
    return "|".join(sorted(values, key=len, reverse=True))


wildcard_constraints:
    model=_alternatives(config["models"]),
    inter=_alternatives(registry.intermediate_choices()),
    target=_alternatives(registry.target_tasks()),
    task=_alternatives(registry.TASKS),
    seed=r"\d+",


TRAINED_TARGETS = _alternatives(t for t in registry.target_tasks() if registry.trains(t))
RETRIEVAL_TARGETS = _alternatives(t for t in registry.target_tasks() if not registry.trains(t))


def all_outputs():
    """Every result of the grid: naming encoders and metrics (not only the tables built from
    them) makes a deleted one re-run, with exactly what depends on it."""
    grid = STUDY.grid
    return (
        expand(layout.SCORES, model=grid["models"])
        + expand(layout.MATRIX_PNG, model=grid["models"])
        + expand(
            layout.ENCODER,
            model=grid["models"],
            inter=STUDY.trained_intermediates(),
            seed=grid["seeds"],
        )
        + [m for model in grid["models"] for m in model_metrics(model)]
    )


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def wildcards_json(wildcards):
    return as_json(dict(wildcards.items()))


def model_ref(wildcards):
    return STUDY.model_ref(wildcards.model)


def built_model(wildcards):
    """The local model folder when the model is built here (hub models are not files)."""
    return [layout.MODEL.format(model=wildcards.model)] if STUDY.is_built(wildcards.model) else []


def model_spec(wildcards):
    return as_json(STUDY.model(wildcards.model)["build"])


def model_languages(wildcards):
    return " ".join(STUDY.languages())


def data_spec(wildcards):
    return as_json(STUDY.data_source(wildcards.task))


def max_length(wildcards):
    task = registry.get(wildcards.task)
    return STUDY.hparams(task.role, wildcards.task)["max_length"]


def encoder(wildcards):
    return STUDY.encoder(wildcards.model, wildcards.inter, wildcards.seed)


def encoder_input(wildcards):
    """The intermediate encoder folder, or the built model for ``none``."""
    if wildcards.inter == registry.NONE:
        return built_model(wildcards)
    return [layout.ENCODER.format(**wildcards)]


def intermediate_caches(wildcards):
    """One cache per task the intermediate job trains on (nine for multi-task)."""
    return [
        layout.CACHE.format(model=wildcards.model, task=t)
        for t in STUDY.intermediate_members(wildcards.inter)
    ]


def selection_option(wildcards):
    """Single-task jobs pick their checkpoint on the task's English validation split."""
    if wildcards.inter in registry.MULTITASKS:
        return ""
    return f"--select-cache {layout.CACHE.format(model=wildcards.model, task=wildcards.inter)}"


def multitask_spec(wildcards):
    if wildcards.inter not in registry.MULTITASKS:
        return ""
    return f"--multitask {shlex.quote(as_json(STUDY.multitask_spec(wildcards.inter)))}"


RUNTIME_KEYS = ("dataloader_workers", "torch_compile")  # per-model, read by training_arguments


def _with_runtime(hp, wildcards):
    """The task's hyper-parameters and the model's run-time settings, for the training job."""
    model = STUDY.model(wildcards.model)
    return as_json({**hp, **{k: model[k] for k in RUNTIME_KEYS if model.get(k)}})


def intermediate_hparams(wildcards):
    return _with_runtime(STUDY.hparams("intermediate", wildcards.inter), wildcards)


def target_train_cache(wildcards):
    task = registry.get(wildcards.target).train_task
    return layout.CACHE.format(model=wildcards.model, task=task)


def target_cache(wildcards):
    return layout.CACHE.format(model=wildcards.model, task=wildcards.target)


def selection_cache(wildcards):
    """The cache whose English validation split picks the target's checkpoint."""
    task = registry.selection_task(wildcards.target)
    return layout.CACHE.format(model=wildcards.model, task=task)


def retrieval_options(wildcards):
    r = STUDY.config["retrieval"]
    layer = "" if r["layer"] is None else f"--layer {r['layer']}"
    return f"{layer} --pooling {r['pooling']} --batch-size {r['batch_size']}"


def target_data(wildcards):
    return layout.DATA.format(task=wildcards.target)


def target_hparams(wildcards):
    return _with_runtime(STUDY.hparams("target", wildcards.target), wildcards)


# The fine-tuning job's outputs: predictions per language (with their manifest), and the model
# only when the config keeps it (otherwise it never leaves the job).
FINETUNE_OUTPUTS = {"predictions": directory(layout.PREDICTIONS)}
if STUDY.config["keep_target_models"]:
    FINETUNE_OUTPUTS["model"] = directory(layout.TARGET_MODEL)


def target_model_option(wildcards):
    if not STUDY.config["keep_target_models"]:
        return ""
    return f"--out {layout.TARGET_MODEL.format(**wildcards)}"


def scorer_code(wildcards):
    """sha256 of the code that scores a target's predictions: a changed metric re-runs
    ``score`` (its params change), never the fine-tuning."""
    import hashlib

    src = Path(workflow.basedir) / "src" / "xstilts"
    fmt = registry.get(wildcards.target).format
    files = [src / "score.py", src / "formats" / f"{fmt}.py", *sorted(src.glob("metrics/*.py"))]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def model_metrics(wildcards):
    """Every metrics.json of one model (``wildcards`` may be the model's name)."""
    return expand(
        layout.METRICS,
        model=getattr(wildcards, "model", wildcards),
        inter=STUDY.grid["intermediate"],
        target=STUDY.grid["targets"],
        seed=STUDY.grid["seeds"],
    )


def model_gpus(wildcards):
    return STUDY.model(wildcards.model).get("gpus", 1)


def zero_stage(wildcards):
    return STUDY.model(wildcards.model).get("zero_stage", 2)


def micro_batch(wildcards):
    b = STUDY.model(wildcards.model).get("batch_size_per_gpu")
    return f"--micro-batch {b}" if b else ""


# --- the report (rule report_tables) ---
# report file stem -> (caption, category, subcategory) in the HTML report, which shows the PNG
# of a figure, and the HTML of a table (with its CSV to download)
SHOWN = {
    "figures/transfer_matrix": ("transfer_matrix", "1. Matrix", "heatmap"),
    "tables/transfer_matrix": ("matrix_table", "1. Matrix", "table"),
    "tables/xtreme_scores": ("xtreme_scores", "1. Matrix", "XTREME scores"),
    "figures/best_vs_baseline": ("best_vs_baseline", "2. Best intermediate", None),
    "tables/reproduction": ("reproduction", "3. Reproduction", None),
}
for _t in STUDY.grid["targets"]:
    SHOWN[f"figures/gains_{_t}"] = ("gains", "4. Per-language gains", _t)
    SHOWN[f"tables/per_language_{_t}"] = ("per_language", "5. Per language", _t)


def report_outputs():
    """Every file of one model's report ({model} left as wildcard), SHOWN ones flagged."""
    files = []
    for name in xreport.files(STUDY.grid["targets"]):
        path = f"{xreport.FOLDER}/{name}"
        stem, _, ext = name.rpartition(".")
        if stem in SHOWN and ext in ("png", "html", "csv"):
            caption, category, subcategory = SHOWN[stem]
            path = report(
                path,
                caption=f"../report/{caption}.rst",
                category=category,
                subcategory=subcategory,
            )
        files.append(path)
    return files


def report_files():
    """Every report file of every model (for `rule all`)."""
    return expand(
        f"{xreport.FOLDER}/{{name}}",
        model=STUDY.grid["models"],
        name=xreport.files(STUDY.grid["targets"]),
    )


def model_predictions(wildcards):
    """Every predictions folder of one model (paired with ``model_metrics``)."""
    return expand(
        layout.PREDICTIONS,
        model=wildcards.model,
        inter=STUDY.grid["intermediate"],
        target=STUDY.grid["targets"],
        seed=STUDY.grid["seeds"],
    )
