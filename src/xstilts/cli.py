"""``xstilts`` command line: one subcommand per workflow step, plus tools for people.

Workflow steps take their inputs, outputs and resolved parameters explicitly (the rules pass
them), write outputs under temporary names and rename them when done, and leave a manifest.
Heavy libraries are imported inside the steps that need them, never at start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from xstilts import audit, curves, download, estimate, layout, preflight, provenance, report, status
from xstilts.analysis import commands as analysis_commands
from xstilts.errors import ConfigError
from xstilts.hparams import HParams
from xstilts.loaders import DataFormatError
from xstilts.provenance import Job, staged

log = logging.getLogger("xstilts")


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e}): {text[:200]}") from e


def _hparams(text: str) -> HParams:
    try:
        return HParams.from_json(text)
    except (json.JSONDecodeError, TypeError) as e:
        raise argparse.ArgumentTypeError(f"not HParams JSON ({e}): {text[:200]}") from e


def _job(args, params: dict, inputs: list, embed: tuple = ()) -> Job:
    return Job(args.rule or args.command, args.wildcards, params, inputs, args.log, embed)


# --- workflow steps ---
def cmd_build_tokenizer(args) -> None:
    from xstilts import demo_model

    job = _job(args, {"spec": args.spec, "languages": args.languages, "seed": args.seed}, [])
    with staged(args.out) as tmp:
        info = demo_model.build_tokenizer(tmp, args.spec, args.languages, args.seed)
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": info})


def cmd_build_model(args) -> None:
    _model_job()
    from xstilts import demo_model

    params = {"spec": args.spec, "languages": args.languages, "seed": args.seed}
    job = _job(args, params, [args.tokenizer])
    with staged(args.out) as tmp:
        info = demo_model.build(tmp, args.spec, args.languages, args.seed, Path(args.tokenizer))
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": info})


def cmd_prepare_data(args) -> None:
    from xstilts.prepare import prepare

    job = _job(args, {"task": args.task, "spec": args.spec}, args.hub)
    with staged(args.out) as tmp:
        info = prepare(args.task, args.spec, tmp)
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": info})


def cmd_tokenize(args) -> None:
    from xstilts import features

    job = _job(
        args,
        {"task": args.task, "max_length": args.max_length, "model_ref": args.model_ref},
        [args.data, args.model_ref],
    )
    with staged(args.out) as tmp:
        info = features.tokenize(args.model_ref, Path(args.data), args.task, args.max_length, tmp)
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": info})


# Packages transformers and accelerate import wherever they are installed, though a model job
# uses none of them: read as absent (transformers checks with find_spec) they cost nothing.
# DeepSpeed 0.3-0.5 s (unless the job trains with it); SciPy 0.3 s, imported for the
# object-detection losses by every model's loading.
UNUSED_BY_MODEL_JOBS = ("deepspeed", "scipy")


def _model_job(deepspeed: bool = False) -> None:
    """Before a model job's first import of torch or transformers."""
    for name in UNUSED_BY_MODEL_JOBS:
        if not (deepspeed and name == "deepspeed"):
            sys.modules.setdefault(name, None)


def _training_args(args, job) -> dict:
    """What every training process of a job is given (train.train / multitask.train)."""
    _model_job(deepspeed=bool(args.deepspeed))
    gc.disable()  # until train.fit: full collections while torch & co. load cost seconds
    return {
        "encoder": args.encoder,
        "checkpoint_dir": Path(args.checkpoints),
        "hp": args.hparams,
        "seed": args.seed,
        "fingerprint": job.fingerprint(),
        "micro_batch": args.micro_batch,
        "deepspeed": args.deepspeed,
    }


def _other_rank(args, common: dict) -> bool:
    """Under torchrun, the workers other than rank 0 train alongside it and write nothing."""
    if int(os.environ.get("RANK", "0")) == 0:
        return False
    with tempfile.TemporaryDirectory() as scratch:
        _train(args, Path(scratch), common)
    return True


def cmd_train(args) -> None:
    select = [args.select_cache] if args.select_cache else []
    params = {
        "task": args.task,
        "hparams": dataclasses.asdict(args.hparams),
        "seed": args.seed,
        "encoder_only": args.encoder_only,
        "multitask": args.multitask,
    }
    job = _job(args, params, [args.encoder, *args.train_cache, *select])
    common = _training_args(args, job)
    if _other_rank(args, common):
        return
    with staged(args.out) as tmp:
        info = _train(args, tmp, common)
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": info})


def _train(args, out: Path, common: dict) -> dict:
    if args.multitask:
        return _train_multitask(args, out, common)
    from xstilts import train

    (cache,) = args.train_cache
    return train.train(
        task_name=args.task,
        train_cache=Path(cache),
        select_cache=Path(args.select_cache) if args.select_cache else None,
        out_dir=out,
        encoder_only=args.encoder_only,
        **common,
    )


def _train_multitask(args, out: Path, common: dict) -> dict:
    from xstilts import multitask

    spec = args.multitask
    mlm = spec["mlm"]
    corpus = multitask.corpus_lines(mlm, mlm["languages"], args.seed) if mlm else None
    return multitask.train(
        caches={layout.cache_task(c): Path(c) for c in args.train_cache},
        out_dir=out,
        sampling=spec["sampling"],
        mlm_corpus=corpus,
        mlm_share=mlm["share"] if mlm else 0.0,
        **common,
    )


def cmd_finetune(args) -> None:
    """Train a target model, pick its checkpoint, predict every language: one job, one load of
    the data. The model is kept only with ``--out`` (``keep_target_models``)."""
    from xstilts import evaluate

    params = {
        "task": args.task,
        "hparams": dataclasses.asdict(args.hparams),
        "seed": args.seed,
        "batch_size": args.batch_size,
    }
    inputs = [args.encoder, *args.train_cache, args.select_cache, args.data, args.cache]
    job = _job(args, params, inputs)
    common = _training_args(args, job)
    if _other_rank(args, common):
        return
    predictions = Path(args.predictions)
    predictions.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        pred_tmp = stack.enter_context(staged(predictions))
        if args.out:
            model_dir = stack.enter_context(staged(args.out))
        else:  # deleted when the job ends, whatever happens
            scratch = tempfile.TemporaryDirectory(dir=predictions.parent, prefix=".model-")
            model_dir = Path(stack.enter_context(scratch))
        info = _train(args, model_dir, common)
        result = evaluate.predict_splits(
            model_dir=model_dir,
            task_name=args.task,
            data_dir=Path(args.data),
            cache_dir=Path(args.cache),
            predictions_dir=pred_tmp,
            batch_size=args.batch_size,
        )
        curves.keep(model_dir, pred_tmp)  # the model folder may be deleted
        outputs = {args.predictions: pred_tmp, **({args.out: model_dir} if args.out else {})}
        extra = {"summary": {**info, **result, "model_kept": bool(args.out)}}
        job.finish(outputs, pred_tmp / layout.MANIFEST, extra)
        if args.out:
            provenance.write_json(model_dir / layout.MANIFEST, job.record)


def cmd_score(args) -> None:
    from xstilts import score

    job = _job(args, {"task": args.task}, [args.predictions])
    result = score.score(Path(args.predictions), args.task)
    result.update(
        model=args.wildcards["model"],
        intermediate=args.wildcards["inter"],
        seed=args.wildcards["seed"],
    )
    metrics = Path(args.metrics)
    with staged(metrics) as m_tmp:
        provenance.write_json(m_tmp, result)
    job.finish({args.metrics: metrics}, Path(args.manifest))


def cmd_retrieve(args) -> None:
    """Embed and search every language of a retrieval target; write the rows ``xstilts score``
    scores (with their manifest)."""
    _model_job()
    from xstilts import evaluate

    params = {
        "task": args.task,
        "batch_size": args.batch_size,
        "layer": args.layer,
        "pooling": args.pooling,
    }
    job = _job(args, params, [args.model, args.cache])
    with staged(args.predictions) as pred_tmp:
        result = evaluate.predict_retrieval(
            encoder=args.model,
            task_name=args.task,
            cache_dir=Path(args.cache),
            predictions_dir=pred_tmp,
            layer=args.layer,
            pooling=args.pooling,
            batch_size=args.batch_size,
        )
        job.finish({args.predictions: pred_tmp}, pred_tmp / layout.MANIFEST, {"summary": result})


def cmd_aggregate(args) -> None:
    from xstilts import aggregate

    params = {"model": args.model, "benchmark": args.benchmark, "subset": args.subset}
    job = _job(args, params, args.metrics)
    from xstilts import benchmarks

    bench = benchmarks.get(args.benchmark).over(args.subset)
    rows = aggregate.collect(args.metrics)
    cells = aggregate.matrix(rows, bench, args.partial)
    with staged(args.scores) as s, staged(args.csv) as c, staged(args.png) as p:
        subset = bench.subset_text()
        scored = f"{args.benchmark}, subset: {subset}" if subset else args.benchmark
        title = f"X-STILTs transfer matrix: {args.model} ({scored})"
        aggregate.write(rows, cells, s, c, p, title, bench)
    outs = {args.scores: Path(args.scores), args.csv: Path(args.csv), args.png: Path(args.png)}
    job.finish(outs, Path(args.manifest), {"cells": len(cells), "rows": len(rows)})


# --- tools ---
def cmd_check_config(args) -> None:
    from xstilts import config
    from xstilts.study import Study

    for path in args.configfile:
        study = Study(config.load(path))
        print(
            f"{path}: ok ({len(study.grid['models'])} model(s), "
            f"{len(study.grid['intermediate'])} intermediate, {len(study.grid['targets'])} "
            f"targets, {len(study.grid['seeds'])} seed(s))"
        )


def configfiles(argv: list[str]) -> list[str]:
    """The config files a Snakemake command line names (``--configfile(s) A [B ...]``)."""
    found, taking = [], False
    for arg in argv:
        if arg.startswith("-"):
            flag, _, value = arg.partition("=")
            taking = flag in ("--configfile", "--configfiles")
            if taking and value:
                found.append(value)
                taking = False
        elif taking:
            found.append(arg)
    return found


def cmd_run(args) -> None:
    """Snakemake, after checking its config files: Snakemake reads them before the workflow
    starts, so a missing file is a traceback and a YAML error names no file or line there.
    Without a Snakefile here (Snakemake's ``Snakefile`` or ``workflow/Snakefile``) or on the
    command line, it runs the installed package's workflow."""
    from importlib import resources

    from xstilts import config

    for path in configfiles(args.snakemake):
        config.read_yaml(path)
    argv = args.snakemake
    named = any(a in ("-s", "--snakefile") or a.startswith("--snakefile=") for a in argv)
    here = ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")  # Snakemake's
    if not named and not any(Path(f).is_file() for f in here):
        argv = ["--snakefile", str(resources.files("xstilts.workflow") / "Snakefile"), *argv]
    beside = Path(sys.executable).with_name("snakemake")  # this environment's Snakemake
    exe = str(beside) if beside.is_file() else "snakemake"
    os.execvp(exe, [exe, *argv])


def _add_train_arguments(p) -> None:
    p.add_argument("--encoder", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--train-cache", nargs="+", required=True, help="one cache per task")
    p.add_argument("--hparams", type=_hparams, required=True, help="HParams as JSON")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--micro-batch", type=int)
    p.add_argument("--deepspeed", help="DeepSpeed config file")
    p.add_argument("--checkpoints", required=True)


def _add_provenance(p) -> None:
    p.add_argument("--rule", help="workflow rule name (recorded in the manifest)")
    p.add_argument("--wildcards", type=_json, default={}, help="JSON of the job's wildcards")
    p.add_argument("--log", help="log file of the job (recorded in the manifest)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xstilts", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-tokenizer", help="train a built model's tokenizer")
    p.add_argument("--spec", type=_json, required=True)
    p.add_argument("--languages", nargs="+", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_build_tokenizer)

    p = sub.add_parser("build-model", help="build a tiny encoder for its tokenizer (MLM warm-up)")
    p.add_argument("--spec", type=_json, required=True)
    p.add_argument("--languages", nargs="+", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer", required=True, help="the build-tokenizer job's folder")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_build_model)

    p = sub.add_parser("prepare-data", help="load a task's data and save it as Arrow")
    p.add_argument("--task", required=True)
    p.add_argument("--spec", type=_json, required=True)
    p.add_argument("--hub", nargs="*", default=[], help="mirror snapshots read (hub source)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prepare_data)

    p = sub.add_parser("tokenize", help="tokenise a prepared task for one model")
    p.add_argument("--model-ref", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--max-length", type=int, required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("train", help="train an encoder with a fresh task head")
    _add_train_arguments(p)
    p.add_argument("--encoder-only", action="store_true", help="save the encoder without head")
    p.add_argument("--multitask", type=_json, help="multi-task sampling / MLM settings (JSON)")
    p.add_argument("--select-cache")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("finetune", help="train a target model and predict every language (one job)")
    _add_train_arguments(p)
    p.add_argument("--select-cache", required=True)
    p.add_argument("--data", required=True, help="prepared target data (evaluation splits)")
    p.add_argument("--cache", required=True, help="its tokenised features")
    p.add_argument("--batch-size", type=int, default=64, help="prediction batch size")
    p.add_argument("--predictions", required=True)
    p.add_argument("--out", help="keep the fine-tuned model here (default: deleted)")
    p.set_defaults(func=cmd_finetune, encoder_only=False, multitask=None)

    p = sub.add_parser("score", help="metrics of saved predictions (no model, no torch)")
    p.add_argument("--task", required=True)
    p.add_argument("--predictions", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--manifest", required=True)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("retrieve", help="sentence retrieval (BUCC, Tatoeba) from an encoder")
    p.add_argument("--model", required=True, help="encoder folder or hub id")
    p.add_argument("--task", required=True)
    p.add_argument("--cache", required=True, help="the task's tokenised cache for this model")
    p.add_argument("--layer", type=int, help="hidden layer (default 14/24 of depth)")
    p.add_argument(
        "--pooling", choices=("mean", "cls"), help="default: as the model was trained, else mean"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--predictions", required=True)
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("aggregate", help="scores table and transfer matrix")
    p.add_argument("--model", required=True)
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--benchmark", default="xtreme", help="benchmark definition that scores it")
    p.add_argument("--partial", action="store_true", help="score runs that lack languages")
    p.add_argument(
        "--subset",
        type=json.loads,
        default={},
        help="JSON {task: [languages]}: the study's own languages of tasks it has a subset of",
    )
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("check-config", help="validate config files against the schema")
    p.add_argument("configfile", nargs="+")
    p.set_defaults(func=cmd_check_config)

    # `xstilts run ARGS...`: main() hands ARGS to Snakemake unparsed (listed here for --help)
    sub.add_parser("run", help="snakemake ARGS..., its config files checked first")

    audit.register(sub)  # explain, verify
    download.register(sub)
    preflight.register(sub)
    analysis_commands.register(sub)  # analyse, throughput
    estimate.register(sub)
    report.register(sub)
    status.register(sub)
    tools = ("check-config", "run", "explain", "verify", "estimate", "preflight", "status")
    for name, p in sub.choices.items():
        if name not in tools:
            _add_provenance(p)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:  # Snakemake's own options, not ours
        args = argparse.Namespace(command="run", func=cmd_run, snakemake=argv[1:])
    else:
        args = parser().parse_args(argv)
    from xstilts import registry

    registry.declare_from_env()  # the study's own tasks (config ``task_files``)
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        args.func(args)
    except (ConfigError, DataFormatError, FileNotFoundError) as e:  # bad input, not a bug
        print(f"xstilts {args.command}: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # a preempted job: checkpoint saved, exit 75 (retry later)
        if type(e).__name__ == "Preempted":
            print(f"xstilts {args.command}: {e}", file=sys.stderr)
        raise
    return 0
