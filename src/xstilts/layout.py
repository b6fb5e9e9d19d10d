"""Where every artefact lives: the file layout of a run, in one place (rules and tools read it).

Two kinds of paths. A study's own (``results/{study}/``, ``logs/{study}/``): its runs, tables
and reports, named by the config's ``study``. Shared ones (``resources/``): a built model, a
task's prepared data and a tokenised cache, each keyed by a hash of everything it is made from
(``{build}``: the build spec and languages; ``{data}``: the data spec; ``len{length}``: the
tokeniser's maximum length), so that two studies asking for the same artefact share one copy
and two asking for different ones never overwrite each other.
"""

import hashlib
import json

MODEL = "resources/models/{model}/{build}"
TOKENIZER = "resources/tokenizers/{model}/{build}"  # a built model's tokenizer, made first
DATA = "resources/data/{task}/{data}"
CACHE = "resources/cache/{model}/{build}/{task}/{data}/len{length}"

STUDY = "results/{study}"
ENCODER = STUDY + "/{model}/intermediate/{inter}/seed{seed}/encoder"
RUN = STUDY + "/{model}/{inter}/{target}/seed{seed}"
TARGET_MODEL = RUN + "/model"
BEFORE_MODEL = RUN + "/before/{stage}/model"  # a target's model after a task it trains on first
METRICS = RUN + "/metrics.json"
RUN_MANIFEST = RUN + "/manifest.json"
PREDICTIONS = RUN + "/predictions"
SCORES = STUDY + "/{model}/scores.parquet"
MATRIX_CSV = STUDY + "/{model}/transfer_matrix.csv"
MATRIX_PNG = STUDY + "/{model}/transfer_matrix.png"
AGGREGATE_MANIFEST = STUDY + "/{model}/manifest.json"
REPORT = STUDY + "/{model}/report"
# a training job's resumable checkpoints (and its live curve file) until it ends
CHECKPOINTS = "checkpoints/{study}"
INTERMEDIATE_CHECKPOINTS = CHECKPOINTS + "/intermediate/{model}/{inter}/seed{seed}"
TARGET_CHECKPOINTS = CHECKPOINTS + "/target/{model}/{inter}/{target}/seed{seed}"
BEFORE_CHECKPOINTS = CHECKPOINTS + "/before/{model}/{inter}/{target}/seed{seed}/{stage}"
LOGS = "logs/{study}"  # a study's job logs; shared artefacts log beside no study
TIMINGS = "timings/{study}"  # Snakemake's benchmark files: each job's time and memory

MANIFEST = "manifest.json"
ANALYSIS = STUDY + "/analysis/{name}"  # the follow-up analyses across models (xstilts.analysis)
THROUGHPUT = STUDY + "/{model}/throughput"  # one model's inference benchmark

STUDY_PATHS = (
    "STUDY ENCODER RUN TARGET_MODEL BEFORE_MODEL METRICS RUN_MANIFEST PREDICTIONS SCORES "
    "MATRIX_CSV MATRIX_PNG AGGREGATE_MANIFEST REPORT LOGS TIMINGS ANALYSIS THROUGHPUT "
    "CHECKPOINTS INTERMEDIATE_CHECKPOINTS TARGET_CHECKPOINTS BEFORE_CHECKPOINTS"
).split()


def in_study(pattern: str, study: str) -> str:
    """``pattern`` with its ``{study}`` filled in (every other wildcard left as it is)."""
    return pattern.replace("{study}", study)


def cache_task(path) -> str:
    """The task whose tokenised cache (``CACHE``) ``path`` is."""
    from pathlib import Path

    return Path(path).parts[-3]


def key(spec) -> str:
    """A short hash of a JSON-able spec: the folder name of an artefact made from it."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


KEY = r"[0-9a-f]{12}"  # the wildcard constraint of a key


# the layout before studies were named: results/{model}/..., resources/{data,cache,models} unkeyed
BEFORE_STUDIES = (
    "results/*/scores.parquet",
    "results/*/*/*/seed*/metrics.json",
    "resources/data/*/manifest.json",
    "resources/cache/*/*/manifest.json",
    "resources/models/*/manifest.json",
)


def before_studies(workdir) -> str | None:
    """A message naming what ``workdir`` holds in the layout before studies (None: nothing)."""
    from pathlib import Path

    found = sorted({p.parent for g in BEFORE_STUDIES for p in Path(workdir).glob(g)})
    if not found:
        return None
    shown = ", ".join(str(p) for p in found[:5]) + (
        f" and {len(found) - 5} more" if found[5:] else ""
    )
    return (
        f"{shown}: laid out before studies were named (results/<model>/..., resources/data/<task>"
        "); results now live under results/<study>/ (the config's `study`, default the config "
        "file's name) and resources/ are keyed by what they are made from. Move each "
        "results/<model> folder into results/<study>/ (and logs/ likewise) to keep it, and "
        "delete the old resources/data/<task>, resources/cache/<model>/<task> and "
        "resources/models/<model> folders (they are remade, keyed)"
    )
