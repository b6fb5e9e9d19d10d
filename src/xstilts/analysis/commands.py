"""``xstilts analyse`` (one follow-up analysis) and ``xstilts throughput`` (one model's inference
benchmark): the command lines the analysis rules call."""

from __future__ import annotations

import json

from xstilts import analysis, layout
from xstilts.provenance import Job, staged


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyse", help="one follow-up analysis across models (tables, figures)"
    )
    p.add_argument("--name", required=True, choices=analysis.ANALYSES)
    p.add_argument("--study", type=json.loads, required=True, help="the resolved config (JSON)")
    p.add_argument("--scores", nargs="+", required=True, help="every model's scores.parquet")
    p.add_argument("--throughput", nargs="*", default=[], help="every model's throughput folder")
    p.add_argument("--models", nargs="*", default=[], help="built model folders (parameter counts)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_analyse)

    p = subparsers.add_parser("throughput", help="inference benchmark of one model's encoder")
    p.add_argument("--model", required=True, help="model name")
    p.add_argument("--model-ref", required=True, help="path or hub id of the encoder")
    p.add_argument("--caches", nargs="+", required=True, help="tokenised target caches")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--warmup-batches", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder (results/{study}/{model}/throughput)")
    p.set_defaults(func=cmd_throughput)


def cmd_analyse(args) -> None:
    from xstilts.analysis import model_size, multilingual, throughput, volume
    from xstilts.study import Study

    study = Study(args.study)
    params = {"name": args.name, "analysis": study.config.get("analysis", {})}
    inputs = [*args.scores, *args.throughput, *args.models]
    job = Job(args.rule or args.command, args.wildcards, params, inputs, args.log)
    rows = analysis.read_scores(args.scores)
    with staged(args.out) as tmp:
        if args.name in ("model_size", "throughput"):
            sizes = {m: model_size.parameters(study, m) for m in study.grid["models"]}
        if args.name == "model_size":
            summary = model_size.write(study, rows, sizes, tmp)
        elif args.name == "multilingual":
            summary = multilingual.write(study, rows, tmp)
        elif args.name == "volume":
            summary = volume.write(study, rows, tmp)
        else:
            summary = throughput.write(study, rows, sizes, args.throughput, tmp)
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": summary})


def cmd_throughput(args) -> None:
    from xstilts.analysis import throughput

    params = {
        k: getattr(args, k)
        for k in ("model", "model_ref", "batch_size", "batches", "warmup_batches", "seed")
    }
    job = Job(args.rule or args.command, args.wildcards, params, [*args.caches], args.log)
    result = throughput.measure(
        args.model_ref, args.caches, args.batch_size, args.batches, args.warmup_batches, args.seed
    )
    with staged(args.out) as tmp:
        tmp.mkdir()
        (tmp / throughput.RESULT).write_text(json.dumps({"model": args.model, **result}, indent=2))
        job.finish({args.out: tmp}, tmp / layout.MANIFEST, {"summary": result})
