# Config validation, wildcard constraints and every input function. No logic beyond lookups:
# the task registry and the Study (src/xstilts) answer every question.
import json
import os
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from xstilts import download, hub, layout, registry
from xstilts import report as xreport
from xstilts.config import ConfigError, Study, load, read_yaml, validate


def _config_source():
    """The config files Snakemake read (config errors name them)."""
    files = [str(f) for f in workflow.configfiles]
    return ", ".join(files) or "the config"


try:
    for _file in workflow.configfiles:  # Snakemake's own reading keeps the last of a repeated key
        read_yaml(_file)
    if not config:
        config.update(load(Path(workflow.basedir) / "config" / "config.yaml"))
    if workflow.configfiles:
        config.setdefault("study", Path(workflow.configfiles[-1]).stem)
    STUDY = Study(validate(config, source=_config_source()))
except ConfigError as e:
    raise WorkflowError(str(e)) from None

_old = layout.before_studies(Path.cwd())
if _old:
    raise WorkflowError(_old)

# this study's own paths (results/{study}/..., logs/{study}/...); resources/ are shared, keyed
paths = SimpleNamespace(
    **{n: layout.in_study(getattr(layout, n), STUDY.name) for n in layout.STUDY_PATHS}
)

# --- the hub mirror: filled by the download rule; every other job runs with the hub offline ---
MIRROR = STUDY.mirror.rstrip("/")
DOWNLOAD_MANIFEST = hub.MANIFEST
SNAPSHOTS = {str(s.manifest): s for s in download.snapshots(STUDY)}
# the download follows the user's own setting (kept across re-reads of this file in one process)
os.environ.setdefault("XSTILTS_USER_HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "0"))
HUB_OFFLINE_HERE = os.environ.get("XSTILTS_USER_HF_HUB_OFFLINE", "0")
os.environ.update(download.OFFLINE)


def study_log(name):
    """A log of one of this study's jobs (``logs/{study}/``)."""
    return f"{paths.LOGS}/{name}"


def study_benchmark(name):
    return f"{paths.BENCHMARKS}/{name}"


def _alternatives(values):
    return "|".join(sorted(values, key=len, reverse=True))


wildcard_constraints:
    model=_alternatives(config["models"]),
    inter=_alternatives(registry.intermediate_choices()),
    target=_alternatives(registry.target_tasks()),
    task=_alternatives(registry.TASKS),
    seed=r"\d+",
    build=layout.KEY,
    data=layout.KEY,
    length=r"\d+",


TRAINED_TARGETS = _alternatives(t for t in registry.target_tasks() if registry.trains(t))
RETRIEVAL_TARGETS = _alternatives(t for t in registry.target_tasks() if not registry.trains(t))


def all_outputs():
    """Every result of the grid: naming encoders, metrics and mirror snapshots (not only the
    tables built from them) makes a deleted one re-run, with exactly what depends on it."""
    models = STUDY.grid["models"]
    encoders = [
        e
        for model in models
        for e in expand(
            paths.ENCODER,
            model=model,
            inter=STUDY.trained_intermediates(model),
            seed=STUDY.model_grid(model)["seeds"],
        )
    ]
    return (
        expand(paths.SCORES, model=models)
        + expand(paths.MATRIX_PNG, model=models)
        + encoders
        + [m for model in models for m in model_metrics(model)]
        + list(SNAPSHOTS)
    )


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def wildcards_json(wildcards):
    return as_json(dict(wildcards.items()))


def model_ref(wildcards):
    return STUDY.model_ref(wildcards.model)


def built_model(wildcards):
    """The model's files as a target: the folder of a model built here, or the mirror's
    download manifest of a hub model (nothing for a local path)."""
    if STUDY.is_built(wildcards.model):
        return [STUDY.model_ref(wildcards.model)]
    if STUDY.hub_model(wildcards.model):
        return [f"{STUDY.model_ref(wildcards.model)}/{DOWNLOAD_MANIFEST}"]
    return []


def snapshot_args(wildcards, output):
    """The download command's arguments for the snapshot one download job fills."""
    snapshot = SNAPSHOTS.get(str(output[0]))
    if snapshot is None:
        raise WorkflowError(
            f"{output[0]}: the grid needs no such snapshot (it needs: {', '.join(SNAPSHOTS)})"
        )
    return (
        f"--kind {snapshot.kind} --repo {shlex.quote(snapshot.repo)} --revision"
        f" {shlex.quote(snapshot.revision)} --mirror {shlex.quote(snapshot.mirror)}"
        f" --patterns {shlex.quote(as_json(list(snapshot.patterns)))}"
    )


def dataset_snapshots(wildcards):
    """The mirror snapshots (download manifests) a task's hub data are read from."""
    return [str(s.manifest) for s in download.dataset_snapshots(STUDY, wildcards.task)]


def dataset_folders(wildcards):
    folders = [str(s.folder) for s in download.dataset_snapshots(STUDY, wildcards.task)]
    return f"--hub {' '.join(map(shlex.quote, folders))}" if folders else ""


def model_spec(wildcards):
    return as_json(STUDY.model(wildcards.model)["build"])


def model_languages(wildcards):
    return " ".join(STUDY.languages(wildcards.model))


def data_spec(wildcards):
    return as_json(STUDY.data_source(wildcards.task))


def encoder(wildcards):
    return STUDY.encoder(wildcards.model, wildcards.inter, wildcards.seed)


def encoder_input(wildcards):
    """The intermediate encoder folder, or the built model for ``none``."""
    if wildcards.inter == registry.NONE:
        return built_model(wildcards)
    return [paths.ENCODER.format(**wildcards)]


def intermediate_caches(wildcards):
    """One cache per task the intermediate job trains on (nine for multi-task)."""
    return [STUDY.cache(wildcards.model, t) for t in STUDY.intermediate_members(wildcards.inter)]


def selection_option(wildcards):
    """Single-task jobs pick their checkpoint on the task's English validation split."""
    if wildcards.inter in registry.MULTITASKS:
        return ""
    return f"--select-cache {STUDY.cache(wildcards.model, wildcards.inter)}"


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
    return _with_runtime(STUDY.hparams("intermediate", wildcards.inter, wildcards.model), wildcards)


def target_train_cache(wildcards):
    task = registry.get(wildcards.target).train_task
    return STUDY.cache(wildcards.model, task)


def target_cache(wildcards):
    return STUDY.cache(wildcards.model, wildcards.target)


def selection_cache(wildcards):
    """The cache whose English validation split picks the target's checkpoint."""
    task = registry.selection_task(wildcards.target)
    return STUDY.cache(wildcards.model, task)


def retrieval_options(wildcards):
    r = STUDY.config["retrieval"]
    layer = STUDY.retrieval_layer(wildcards.model)
    layer = "" if layer is None else f"--layer {layer}"
    pooling = "" if r["pooling"] is None else f"--pooling {r['pooling']}"
    return f"{layer} {pooling} --batch-size {r['batch_size']}"


def target_data(wildcards):
    return STUDY.data_dir(wildcards.target)


def target_hparams(wildcards):
    return _with_runtime(STUDY.hparams("target", wildcards.target, wildcards.model), wildcards)


# The fine-tuning job's outputs: predictions per language (with their manifest), and the model
# only when the config keeps it (otherwise it never leaves the job).
FINETUNE_OUTPUTS = {"predictions": directory(paths.PREDICTIONS)}
if STUDY.config["keep_target_models"]:
    FINETUNE_OUTPUTS["model"] = directory(paths.TARGET_MODEL)


def target_model_option(wildcards):
    if not STUDY.config["keep_target_models"]:
        return ""
    return f"--out {paths.TARGET_MODEL.format(**wildcards)}"


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
    model = getattr(wildcards, "model", wildcards)
    grid = STUDY.model_grid(model)
    return expand(
        paths.METRICS,
        model=model,
        inter=grid["intermediate"],
        target=grid["targets"],
        seed=grid["seeds"],
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
    SHOWN[f"figures/curves_{_t}"] = ("training_curves", "6. Training curves", _t)


def report_outputs(targets):
    """Every file of a report over ``targets`` ({model} left as wildcard), SHOWN ones flagged."""
    files = []
    for name in xreport.files(targets):
        path = f"{paths.REPORT}/{name}"
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


def output_folder(wildcards, output):
    """The folder of a job whose last output is its folder's manifest.json."""
    return str(Path(output[-1]).parent)


def report_files():
    """Every report file of every model (for `rule all`)."""
    return [
        f"{paths.REPORT.format(model=model)}/{name}"
        for model in STUDY.grid["models"]
        for name in xreport.files(STUDY.model_grid(model)["targets"])
    ]


def model_predictions(wildcards):
    """Every predictions folder of one model (paired with ``model_metrics``; ``wildcards`` may
    be the model's name)."""
    model = getattr(wildcards, "model", wildcards)
    grid = STUDY.model_grid(model)
    return expand(
        paths.PREDICTIONS,
        model=model,
        inter=grid["intermediate"],
        target=grid["targets"],
        seed=grid["seeds"],
    )


# --- splits the registry declares absent (anything else missing fails prepare_data) ---
def declared_gaps():
    """One line per declared gap of the grid's data (in the languages the study uses): shown
    whenever the DAG is planned."""
    lines = []
    for name in STUDY.data_tasks():
        used = STUDY.task_languages(name)
        for gap in registry.get(name).gaps:
            langs = [lang for lang in gap.languages if lang in used]
            if gap.languages and not langs:
                continue
            lines.append(
                f"{name}: no {gap.split} split for {', '.join(langs) or 'any language'} "
                f"(declared in the registry: {gap.reason})"
            )
    return lines


for _line in declared_gaps():
    print(f"xstilts: {_line}", file=sys.stderr)
# --- the follow-up analyses (workflow/rules/analysis.smk) ---
from xstilts import analysis as xanalysis

ANALYSES = [n for n in xanalysis.ANALYSES if xanalysis.applicable(n, STUDY)]


def analysis_outputs(name):
    """Every file of one analysis; figures and HTML tables shown in the Snakemake report."""
    folder = paths.ANALYSIS.format(name=name)
    out = []
    for f in xanalysis.files(name, STUDY):
        stem, _, ext = f.rpartition(".")
        if ext in ("png", "html"):
            kind = "figure" if ext == "png" else "table"
            path = report(
                f"{folder}/{f}",
                caption="../report/analysis.rst",
                category="6. Follow-up analyses",
                subcategory=name,
                labels={"analysis": name, kind: stem.rpartition("/")[2]},
            )
        else:
            path = f"{folder}/{f}"
        out.append(path)
    return out


def analysis_files():
    """Every file of every applicable analysis (for `rule all`)."""
    return [
        f"{paths.ANALYSIS.format(name=n)}/{f}" for n in ANALYSES for f in xanalysis.files(n, STUDY)
    ]


def all_scores(wildcards=None):
    return expand(paths.SCORES, model=STUDY.grid["models"])


def built_models(wildcards=None):
    """Built model folders (their weights give the parameter counts)."""
    return [STUDY.model_ref(m) for m in STUDY.grid["models"] if STUDY.is_built(m)]


def throughput_inputs(name):
    if name != "throughput":
        return []
    return expand(paths.THROUGHPUT, model=STUDY.grid["models"])


def throughput_caches(wildcards):
    """The tokenised evaluation inputs of the model's fine-tuned targets (real lengths)."""
    targets = STUDY.model_grid(wildcards.model)["targets"]
    return [STUDY.cache(wildcards.model, t) for t in targets if registry.trains(t)]


def throughput_options(wildcards):
    t = STUDY.config.get("analysis", {}).get("throughput", {})
    return (
        f"--batch-size {t.get('batch_size', 32)} --batches {t.get('batches', 20)}"
        f" --warmup-batches {t.get('warmup_batches', 3)}"
    )


# --- targets trained on other tasks first (rule train_before_target) ---
def _before_model(wildcards, stage):
    return paths.BEFORE_MODEL.format(**{**dict(wildcards.items()), "stage": stage})


def _previous_stage(wildcards, stage):
    """The stage before ``stage`` (None: the first starts from the intermediate encoder)."""
    stages = STUDY.train_before(wildcards.target)
    if stage is None:  # the target's own training comes after the last stage
        return stages[-1] if stages else None
    i = stages.index(stage)
    return stages[i - 1] if i else None


def before_encoder(wildcards):
    previous = _previous_stage(wildcards, wildcards.stage)
    return _before_model(wildcards, previous) if previous else encoder(wildcards)


def before_encoder_input(wildcards):
    previous = _previous_stage(wildcards, wildcards.stage)
    return [_before_model(wildcards, previous)] if previous else encoder_input(wildcards)


def before_cache(wildcards):
    return STUDY.cache(wildcards.model, wildcards.stage)


def before_hparams(wildcards):
    return _with_runtime(STUDY.hparams("target", wildcards.stage, wildcards.model), wildcards)


def target_encoder(wildcards):
    """What a target's fine-tuning starts from: its last earlier stage, or the encoder."""
    last = _previous_stage(wildcards, None)
    return _before_model(wildcards, last) if last else encoder(wildcards)


def target_encoder_input(wildcards):
    last = _previous_stage(wildcards, None)
    return [_before_model(wildcards, last)] if last else encoder_input(wildcards)
