# The input and parameter functions of the download, data, training and evaluation rules: each
# looks its answer up in the Study (src/xstilts), nothing more.
import shlex

from xstilts import scorer_code


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


def built_tokenizer(wildcards):
    """What a tokenisation job reads the tokenizer from: a built model's own tokenizer job
    (so tokenising need not wait for the MLM warm-up), else the model's files."""
    if STUDY.is_built(wildcards.model):
        return [layout.TOKENIZER.format(**wildcards)]
    return built_model(wildcards)


def tokenizer_ref(wildcards):
    if STUDY.is_built(wildcards.model):
        return layout.TOKENIZER.format(**wildcards)
    return STUDY.model_ref(wildcards.model)


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


def intermediate_hparams(wildcards):
    return STUDY.hparams("intermediate", wildcards.inter, wildcards.model).to_json()


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
    return STUDY.hparams("target", wildcards.target, wildcards.model).to_json()


# The fine-tuning job's outputs: predictions per language (with their manifest), and the model
# only when the config keeps it (otherwise it never leaves the job).
FINETUNE_OUTPUTS = {"predictions": directory(paths.PREDICTIONS)}
if STUDY.config["keep_target_models"]:
    FINETUNE_OUTPUTS["model"] = directory(paths.TARGET_MODEL)


def target_model_option(wildcards):
    if not STUDY.config["keep_target_models"]:
        return ""
    return f"--out {paths.TARGET_MODEL.format(**wildcards)}"


def scorer(wildcards):
    return scorer_code.digest(wildcards.target)


def model_gpus(wildcards):
    return STUDY.model(wildcards.model)["gpus"]


def zero_stage(wildcards):
    return STUDY.model(wildcards.model)["zero_stage"]


def micro_batch(wildcards):
    b = STUDY.model(wildcards.model).get("batch_size_per_gpu")
    return f"--micro-batch {b}" if b else ""


# --- targets trained on other tasks first (rule train_before_target) ---
def _before_model(wildcards, stage):
    return paths.BEFORE_MODEL.format(**{**dict(wildcards.items()), "stage": stage})


def before_encoder(wildcards):
    previous = STUDY.stage_before(wildcards.target, wildcards.stage)
    return _before_model(wildcards, previous) if previous else encoder(wildcards)


def before_encoder_input(wildcards):
    previous = STUDY.stage_before(wildcards.target, wildcards.stage)
    return [_before_model(wildcards, previous)] if previous else encoder_input(wildcards)


def before_cache(wildcards):
    return STUDY.cache(wildcards.model, wildcards.stage)


def before_hparams(wildcards):
    return STUDY.hparams("target", wildcards.stage, wildcards.model).to_json()


def target_encoder(wildcards):
    """What a target's fine-tuning starts from: its last earlier stage, or the encoder."""
    last = STUDY.stage_before(wildcards.target, None)
    return _before_model(wildcards, last) if last else encoder(wildcards)


def target_encoder_input(wildcards):
    last = STUDY.stage_before(wildcards.target, None)
    return [_before_model(wildcards, last)] if last else encoder_input(wildcards)
