# The study: its config validated, its paths, the hub mirror, wildcard constraints and what it
# outputs. No logic beyond lookups: the registry and the Study (src/xstilts) answer.
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError

from xstilts import analysis as xanalysis
from xstilts import download, hub, layout, registry
from xstilts import report as xreport
from xstilts.config import load, read_yaml, validate
from xstilts.errors import ConfigError
from xstilts.study import Study


def _config_source():
    """The config files Snakemake read (config errors name them)."""
    files = [str(f) for f in workflow.configfiles]
    return ", ".join(files) or "the config"


try:
    for _file in workflow.configfiles:  # Snakemake's own reading keeps the last of a repeated key
        read_yaml(_file)
    if not config:
        config.update(load(Path("config") / "config.yaml"))  # the working directory's
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


def study_timing(name):
    return f"{paths.TIMINGS}/{name}"


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


def output_folder(wildcards, output):
    """The folder of a job whose last output is its folder's manifest.json."""
    return str(Path(output[-1]).parent)


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


# --- the follow-up analyses (workflow/rules/analysis.smk) ---
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
    t = STUDY.config["analysis"]["throughput"]
    return (
        f"--batch-size {t['batch_size']} --batches {t['batches']}"
        f" --warmup-batches {t['warmup_batches']}"
    )


# splits the registry declares absent (anything else missing fails prepare_data), shown whenever
# the DAG is planned
for _line in STUDY.declared_gaps():
    print(f"xstilts: {_line}", file=sys.stderr)
