"""``xstilts estimate``: the jobs a config plans and what they cost, before anything is submitted.

The job list mirrors the rules (workflow/rules/*.smk) without running Snakemake: ``download``
per hub mirror snapshot (repository and revision), ``build_tokenizer`` and ``build_model``
per locally built model, ``prepare_data`` per data task, ``tokenize`` per (model, data
task), ``train_intermediate`` per (model, trained intermediate, seed; ``multitask`` is one job
over every registered intermediate task), ``finetune`` per (model, intermediate, fine-tuned
target, seed; training and predicting every language in one job) or ``retrieve`` per (model,
intermediate, retrieval target, seed), each with its ``score``, and ``aggregate`` and
``report_tables`` per model.

Cost model (every number below is a default of ``ASSUMPTIONS`` or, for a task's sizes, of its
registry declaration (``defaults``); ``--assumptions FILE`` overrides any of them, and all are
printed):

- Model size: parameters of known hub ids (xlm-roberta-base 270M, large 560M, xl 3.5B, xxl 10.7B),
  else ``12 * layers * hidden^2 + vocab * hidden`` from a built model's architecture, else
  ``default_model_params`` (reported as assumed). ``model_params`` maps a config model name or a
  hub id to a count (weights on disk); ``non_embedding_params`` likewise to the parameters that
  cost FLOPs (the embedding table is a lookup: ~45% of XLM-R Large; ``12 * layers * hidden^2``
  for a built model; else the total).
- Training examples: the task's English training set (its ``train_examples``; a target trains
  on its ``train_task``'s data: XNLI on MNLI, XQuAD and MLQA on SQuAD v1.1);
  ``data.synthetic.train_size`` for synthetic data; capped by ``max_train_examples``. Tasks
  without a size are assumed to have ``default_train_examples`` (reported).
- Tokens per example: ``mean_tokens`` by task name (the task's), else by format (sub-word tokens
  after dynamic padding; a multiple-choice example counts all its choices, a span-QA example one
  window).
- Training tokens: examples x tokens x epochs, or ``max_steps`` x batch size x tokens when
  ``max_steps`` > 0 (hyper-parameters as the config resolves them: ``Study.hparams``). Multi-task
  training is the sum of its members under the multi-task hyper-parameters (members share
  ``max_steps`` in proportion to their size); the MLM batches of ``multitask_mlm`` are not counted.
- FLOPs: training 6 x non-embedding params x tokens x ``training_overhead`` (checkpoint-selection
  evaluations, saving); evaluation 2 x non-embedding params x tokens of
  ``eval_sequences_per_language`` (the tasks' ``eval_examples``, approximate test-set sizes; both
  sides of a retrieval pair) in every language of the target.
- Throughput: ``gpu_peak_tflops`` (dense bf16/fp16 tensor peak) x ``mfu`` achieved per GPU, per
  task format: short sequences (NLI steps of ~1.6k tokens) are bound by kernel launches, not by
  the tensor cores, so classification and tagging reach far less of the peak than span QA or
  multiple choice. GPU-hours = FLOPs / throughput, wall-clock per job = GPU-hours / ``gpus``.
  Measured figures replace the assumed ones: ``--measured FILE`` (default ``gpu-check.json`` in
  the working directory when present, as ``make gpu-check`` writes it) is JSON with ``gpu_type``
  and ``mfu`` (one number, or one per format).
  Data preparation, tokenisation and aggregation run on CPUs (0 GPU-hours).
- Disk: an encoder or target model is params x ``weight_bytes`` (fp32, as saved); a resumable
  checkpoint is params x (``checkpoint_weight_bytes`` + ``optimizer_bytes``: bf16 weights, fp32
  master weights and two Adam moments); a running training job holds up to 3 of them at its peak
  (:mod:`xstilts.disk`), and ``concurrent_jobs`` (the SLURM profile's ``jobs``, or
  ``--concurrent-jobs``) training jobs run at once at most.
  Intermediate encoders are kept; target models are temporary unless ``keep_target_models``.
  Data and tokenised caches are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xstilts import disk
from xstilts.hparams import HParams

ASSUMPTIONS: dict = {
    "gpu_peak_tflops": {"V100": 125, "A100": 312, "H100": 989, "H200": 989, "L40S": 362},
    # fraction of peak achieved, per task format (typical of XLM-R Large at the paper's batch 32
    # and these lengths in bf16; a measured gpu-check.json replaces them)
    "mfu": {
        "classification": 0.08,
        "tagging": 0.06,
        "span_qa": 0.25,
        "multiple_choice": 0.25,
        "retrieval": 0.10,
        "dual_encoder": 0.10,  # short query and candidate passes, like retrieval's
    },
    "model_params": {
        "xlm-roberta-base": 270e6,
        "xlm-roberta-large": 560e6,
        "xlm-roberta-xl": 3.5e9,
        "xlm-roberta-xxl": 10.7e9,
    },
    "non_embedding_params": {
        "xlm-roberta-base": 86e6,
        "xlm-roberta-large": 303e6,
        "xlm-roberta-xl": 2.84e9,
        "xlm-roberta-xxl": 9.7e9,
    },
    "default_model_params": 560e6,
    "default_train_examples": 50_000,
    "mean_tokens": {
        "classification": 50,
        "tagging": 32,
        "span_qa": 200,
        "multiple_choice": 250,
        "retrieval": 32,
        "dual_encoder": 220,  # a question and its sentence + paragraph (LAReQA's pairs)
    },
    "default_eval_sequences": 5_000,
    "training_overhead": 1.1,
    "weight_bytes": 4,
    "checkpoint_weight_bytes": 2,
    "optimizer_bytes": 12,
    "concurrent_jobs": None,  # None: the SLURM profile's `jobs`
}
TRAINING = ("train_intermediate", "train_before_target", "finetune")
RULES = (
    "download",
    "build_tokenizer",
    "build_model",
    "prepare_data",
    "tokenize",
    "train_intermediate",
    "train_before_target",
    "finetune",
    "score",
    "retrieve",
    "aggregate",
    "report_tables",
)


@dataclass(frozen=True)
class Planned:
    """One job: its rule, model, what it trains on ((data task, phase, hparams task) triples) and
    the target it evaluates."""

    rule: str
    model: str | None = None
    train: tuple[tuple[str, str, str], ...] = ()
    evaluate: str | None = None


@dataclass
class Estimate:
    """Jobs and GPU-hours per rule, longest training job per model, disk, assumed values."""

    jobs: dict[str, int] = field(default_factory=dict)
    model_jobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, rule)
    gpu_hours: dict[str, float] = field(default_factory=dict)
    longest_h: dict[str, float] = field(default_factory=dict)
    disk: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_gpu_hours(self) -> float:
        return sum(self.gpu_hours.values())


def plan(study) -> list[Planned]:
    """Every job the workflow would run for ``study`` (an ``xstilts.Study``)."""
    grid = study.grid
    from xstilts import download

    jobs = [Planned("download") for _ in download.snapshots(study)]  # the hub mirror
    built = [m for m in grid["models"] if study.is_built(m)]
    jobs += [Planned(rule, m) for rule in ("build_tokenizer", "build_model") for m in built]
    jobs += [Planned("prepare_data", evaluate=t) for t in study.data_tasks()]
    jobs += [
        Planned("tokenize", m, evaluate=t) for m in grid["models"] for t in study.data_tasks(m)
    ]
    for model in grid["models"]:
        mgrid = study.model_grid(model)  # grid.per_model
        for _seed in mgrid["seeds"]:
            jobs += [
                Planned("train_intermediate", model, _members(study, inter))
                for inter in study.trained_intermediates(model)
            ]
            jobs += [
                job
                for _inter in mgrid["intermediate"]
                for target in mgrid["targets"]
                for job in _target_jobs(study, model, target)
            ]
        jobs.append(Planned("aggregate", model))
    jobs += [Planned(name, m) for name, models, _ in study.report_rules() for m in models]
    return jobs + _analysis_jobs(study)


def _analysis_jobs(study) -> list[Planned]:
    """The follow-up analyses (xstilts.analysis): one CPU job each, and an inference benchmark
    per model for the throughput analysis."""
    from xstilts import analysis

    names = [n for n in analysis.ANALYSES if analysis.applicable(n, study)]
    jobs = [Planned("throughput", m) for m in study.grid["models"] if "throughput" in names]
    return jobs + [Planned(f"analyse_{n}") for n in names]


def _members(study, inter: str) -> tuple[tuple[str, str, str], ...]:
    """(data task, phase, hparams task) of an intermediate job: multi-task jobs train every member
    under the multi-task hyper-parameters."""
    return tuple((t, "intermediate", inter) for t in study.intermediate_members(inter))


def _target_jobs(study, model: str, target: str) -> list[Planned]:
    """retrieve, or train_before_target per earlier task (XCOPA: SIQa), then finetune (train
    and predict); then score, for one (intermediate, target, seed)."""
    from xstilts import registry

    if not registry.trains(target):
        return [Planned("retrieve", model, evaluate=target), Planned("score", model)]
    before = [
        Planned("train_before_target", model, ((stage, "target", stage),))
        for stage in study.train_before(target)
    ]
    train = ((registry.get(target).train_task, "target", target),)
    return [*before, Planned("finetune", model, train, evaluate=target), Planned("score", model)]


def defaults() -> dict:
    """``ASSUMPTIONS`` with the sizes each task declares (``registry.Task``): ``train_examples``,
    ``eval_sequences_per_language`` and task entries of ``mean_tokens``."""
    from xstilts import registry

    out = {k: dict(v) if isinstance(v, dict) else v for k, v in ASSUMPTIONS.items()}
    tasks = [t for t in registry.TASKS.values() if registry.english_base(t.name) == t.name]
    out["train_examples"] = {t.name: t.train_examples for t in tasks if t.train_examples}
    out["mean_tokens"].update({t.name: t.mean_tokens for t in tasks if t.mean_tokens})
    out["eval_sequences_per_language"] = {t.name: t.eval_examples for t in tasks if t.eval_examples}
    return out


def load_assumptions(path: str | Path | None) -> dict:
    """The defaults, with a YAML file's values over them (mappings merged key by key)."""
    import yaml

    out = defaults()
    if path is None:
        return out
    override = yaml.safe_load(Path(path).read_text()) or {}
    unknown = sorted(set(override) - set(out))
    if unknown:
        raise ValueError(f"{path}: unknown assumption(s) {unknown}; known: {sorted(out)}")
    for key, value in override.items():
        both = isinstance(out[key], dict) and isinstance(value, dict)
        out[key] = {**out[key], **value} if both else value
    return out


class CostModel:
    """Parameters, tokens and FLOPs of planned jobs under a set of assumptions."""

    def __init__(self, study, assumptions: dict, gpu_type: str):
        peaks = assumptions["gpu_peak_tflops"]
        if gpu_type not in peaks:
            raise ValueError(f"unknown GPU type {gpu_type!r}; known: {', '.join(peaks)}")
        self.study = study
        self.a = assumptions
        self.peak_flops = peaks[gpu_type] * 1e12
        self.notes: dict[str, str] = {}

    def mfu(self, task: str) -> float:
        """Achieved fraction of peak for a task's format (one number applies to every format)."""
        from xstilts import registry

        return self.format_mfu(registry.get(task).format)

    def format_mfu(self, fmt: str) -> float:
        mfu = self.a["mfu"]
        return float(mfu if isinstance(mfu, int | float) else mfu[fmt])

    def _lookup(self, model: str, table: str) -> float | None:
        """A count from an assumptions table, by model name, hub id or the id's last part."""
        hub = self.study.model(model).get("hub", "")
        for key in (model, hub, hub.rsplit("/", 1)[-1].lower()):
            if key in self.a[table]:
                return float(self.a[table][key])
        return None

    def flop_params(self, model: str) -> float:
        """Parameters that cost FLOPs per token: all but the embedding table."""
        spec = self.study.model(model)
        known = self._lookup(model, "non_embedding_params")
        if known is not None:
            return known
        if "build" in spec:
            arch = spec["build"]["architecture"]
            return 12.0 * arch["num_hidden_layers"] * arch["hidden_size"] ** 2
        return self.params(model)

    def params(self, model: str) -> float:
        """Parameter count: assumptions by name or hub id, known hub ids, else the architecture."""
        spec = self.study.model(model)
        known = self._lookup(model, "model_params")
        if known is not None:
            return known
        if "build" in spec:
            arch = spec["build"]["architecture"]
            layers, hidden = arch["num_hidden_layers"], arch["hidden_size"]
            return 12.0 * layers * hidden**2 + spec["build"]["vocab_size"] * hidden
        n = float(self.a["default_model_params"])
        hub = spec.get("hub", "")
        self.notes[model] = f"unknown model size for {model} ({hub}): assumed {n / 1e6:,.0f}M"
        return n

    def _language_sizes(self, task: str) -> tuple[float, int]:
        """(training examples per language, languages) of a data task (synthetic size, known
        size, else the default): a translated variant has its English task's in each language."""
        from xstilts import registry

        base = registry.english_base(task)
        languages = len(registry.get(task).languages) if base != task else 1
        source = self.study.data_source(task)
        if source["source"] == "synthetic":
            return float(source["synthetic"]["train_size"]), languages
        table = self.a["train_examples"]
        if base in table:
            return float(table[base]), languages
        n = float(self.a["default_train_examples"])
        self.notes[base] = f"unknown size: {base}: assumed {n:,.0f} training examples"
        return n, languages

    def examples(self, task: str) -> float:
        """Training examples of a data task, every language's together."""
        per_language, languages = self._language_sizes(task)
        return per_language * languages

    def epoch_examples(self, task: str, hp: HParams) -> float:
        """Examples an epoch of ``task`` covers under ``hp``: a mixed translate-train variant's
        languages each capped at ``language_cap`` (as ``train.language_plan`` draws them), then
        at most ``max_train_examples``."""
        per_language, languages = self._language_sizes(task)
        cap = hp.language_cap or per_language
        n = languages * min(per_language, cap)
        return min(n, hp.max_train_examples or n)

    def mean_tokens(self, task: str) -> float:
        from xstilts import registry

        table = self.a["mean_tokens"]
        return float(table.get(task, table[registry.get(task).format]))

    def member_tokens(
        self, train: tuple[tuple[str, str, str], ...], model=None
    ) -> dict[str, float]:
        """Tokens a training job processes per member task (members share ``max_steps``) under
        ``model``'s hyper-parameters (``hparams.models``)."""
        sizes = {data: self.examples(data) for data, _, _ in train}
        total = sum(sizes.values())
        tokens = {}
        for data, phase, hp_task in train:
            hp = self.study.hparams(phase, hp_task, model)
            n = self.epoch_examples(data, hp)
            if hp.max_steps > 0:
                n = hp.max_steps * hp.batch_size * sizes[data] / total
            else:
                n *= hp.epochs
            tokens[data] = n * self.mean_tokens(data)
        return tokens

    def train_tokens(self, train: tuple[tuple[str, str, str], ...]) -> float:
        return sum(self.member_tokens(train).values())

    def eval_tokens(self, target: str) -> float:
        source = self.study.data_source(target)
        if source["source"] == "synthetic":
            per_lang = float(source["synthetic"]["eval_size"])
        else:
            per_lang = float(
                self.a["eval_sequences_per_language"].get(target, self.a["default_eval_sequences"])
            )
        if source["max_eval_examples"]:
            per_lang = min(per_lang, source["max_eval_examples"])
        return per_lang * len(self.study.task_languages(target)) * self.mean_tokens(target)

    def gpu_hours(self, job: Planned) -> float:
        """Training (each member at its format's MFU) plus predicting the target's languages."""
        seconds = 0.0
        n = self.flop_params(job.model) if job.model else 0.0
        for data, tokens in self.member_tokens(job.train, job.model).items():
            flops = 6 * n * tokens * self.a["training_overhead"]
            seconds += flops / (self.peak_flops * self.mfu(data))
        if job.evaluate and job.rule in ("finetune", "retrieve"):
            flops = 2 * n * self.eval_tokens(job.evaluate)
            seconds += flops / (self.peak_flops * self.mfu(job.evaluate))
        if job.rule == "throughput":  # timed forward passes at the eval length
            t = self.study.config.get("analysis", {}).get("throughput", {})
            batches = t.get("batches", 20) + t.get("warmup_batches", 3)
            tokens = batches * t.get("batch_size", 32) * self.a["mean_tokens"]["classification"]
            seconds += 2 * n * tokens / (self.peak_flops * self.format_mfu("classification"))
        return seconds / 3600


def estimate(study, assumptions: dict, gpu_type: str) -> Estimate:
    """Jobs and GPU-hours per rule, and disk, for every planned job of ``study``."""
    cost = CostModel(study, assumptions, gpu_type)
    out = Estimate()
    for job in plan(study):
        hours = cost.gpu_hours(job)
        out.jobs[job.rule] = out.jobs.get(job.rule, 0) + 1
        if job.model is not None:
            key = (job.model, job.rule)
            out.model_jobs[key] = out.model_jobs.get(key, 0) + 1
        out.gpu_hours[job.rule] = out.gpu_hours.get(job.rule, 0.0) + hours
        if job.train:  # wall-clock hours on the model's GPUs
            wall = hours / max(1, study.model(job.model)["gpus"])
            out.longest_h[job.model] = max(out.longest_h.get(job.model, 0.0), wall)
    out.disk = _disk(study, cost, out.jobs, out.model_jobs)
    out.notes = list(cost.notes.values())
    return out


def _gb(n: float) -> str:
    """Bytes in GB, or MB below 1 GB."""
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _disk(
    study, cost: CostModel, jobs: dict[str, int], model_jobs: dict[tuple[str, str], int]
) -> list[str]:
    """Kept weights per model at that model's size (lines that add up to the total); checkpoints
    at the largest model's size (any running training job may be one of its)."""
    a = cost.a
    keep = study.config["keep_target_models"]
    kept = "kept" if keep else "temporary: deleted by the job that trains and predicts"
    per_model, total = [], 0.0
    for model in study.grid["models"]:
        weights = cost.params(model) * a["weight_bytes"]
        n_enc = model_jobs.get((model, "train_intermediate"), 0)
        n_tgt = model_jobs.get((model, "finetune"), 0)
        total += (n_enc + keep * n_tgt) * weights
        per_model += [
            f"{model}: kept {_gb((n_enc + keep * n_tgt) * weights)}; "
            f"intermediate encoders (kept): {n_enc} x {_gb(weights)} = {_gb(n_enc * weights)}; "
            f"target models ({kept}): {n_tgt} x {_gb(weights)} = {_gb(n_tgt * weights)}"
        ]
    params = max(cost.params(m) for m in study.grid["models"])
    checkpoint = params * (a["checkpoint_weight_bytes"] + a["optimizer_bytes"])
    training = sum(jobs.get(r, 0) for r in TRAINING)
    concurrent = min(training, a["concurrent_jobs"] or profile_jobs())
    peak = disk.peak_checkpoint_bytes(checkpoint, concurrent, select=True)
    return [
        f"kept when the study is done: {_gb(total)}, per model:",
        *(f"  {line}" for line in per_model),
        f"resumable checkpoints: up to {disk.checkpoints_at_peak(True)} x {_gb(checkpoint)} = "
        f"{_gb(disk.peak_checkpoint_bytes(checkpoint, 1, True))} per running training job "
        "of the largest model (removed when it finishes)",
        f"peak checkpoint disk, {concurrent} training jobs at once: {_gb(peak)}",
    ]


def profile_jobs() -> int:
    """How many jobs the SLURM profile runs at once (its ``jobs:``)."""
    from importlib import resources

    import yaml

    path = resources.files("xstilts.workflow") / "profiles" / "slurm" / "config.v8+.yaml"
    return int(yaml.safe_load(path.read_text())["jobs"])


def _hparam_lines(study) -> list[str]:
    """Epochs (or max_steps) and batch size of every trained task, as the config resolves them."""
    from xstilts import registry

    phases = [("intermediate", t) for t in study.trained_intermediates()]
    phases += [("target", t) for t in study.grid["targets"] if registry.trains(t)]
    lines = []
    for phase, task in phases:
        hp = study.hparams(phase, task)
        length = f"max_steps {hp.max_steps}" if hp.max_steps > 0 else f"{hp.epochs:g} epochs"
        lines.append(f"{phase} {task}: {length}, batch {hp.batch_size}")
    return lines


def _assumption_lines(study, cost: CostModel, gpu_type: str) -> list[str]:
    from xstilts import registry

    a = cost.a
    peak = a["gpu_peak_tflops"][gpu_type]
    sizes = ", ".join(
        f"{m} {cost.params(m) / 1e6:,.1f}M ({cost.flop_params(m) / 1e6:,.1f}M non-embedding)"
        for m in study.grid["models"]
    )
    mfu = a["mfu"]
    mfu_text = (
        f"{mfu:.0%} MFU"
        if isinstance(mfu, int | float)
        else "MFU " + ", ".join(f"{k} {v:.0%}" for k, v in mfu.items())
    )
    trained = sorted({data for job in plan(study) for data, _, _ in job.train})
    per_lang = {
        t: cost.eval_tokens(t) / cost.mean_tokens(t) / len(registry.get(t).languages)
        for t in study.grid["targets"]
    }
    return [
        f"throughput: {gpu_type} {peak} TFLOP/s peak x {mfu_text}"
        + (f" (measured: {a['measured']})" if a.get("measured") else ""),
        f"model parameters: {sizes}",
        f"FLOPs: training 6 x non-embedding params x tokens x {a['training_overhead']} "
        "overhead; evaluation 2 x non-embedding params x tokens",
        "training examples: " + ", ".join(f"{t} {cost.examples(t):,.0f}" for t in trained),
        "mean tokens per example: " + ", ".join(f"{k} {v}" for k, v in a["mean_tokens"].items()),
        "evaluation sequences per language: "
        + ", ".join(f"{t} {n:,.0f}" for t, n in per_lang.items()),
        *_hparam_lines(study),
        f"disk: weights {a['weight_bytes']} B/param, resumable checkpoint "
        f"{a['checkpoint_weight_bytes']} + {a['optimizer_bytes']} B/param, up to "
        f"{disk.checkpoints_at_peak(True)} per running training job, at most "
        f"{a['concurrent_jobs'] or profile_jobs()} jobs at once",
        *cost.notes.values(),
    ]


def report(study, assumptions: dict, gpu_type: str, source: str) -> str:
    """The printed estimate: assumptions, a table per rule, totals, disk."""
    cost = CostModel(study, assumptions, gpu_type)
    est = estimate(study, assumptions, gpu_type)
    lines = [f"Estimate for {source} on {gpu_type}", "", "Assumptions (override: --assumptions):"]
    lines += [f"  {line}" for line in _assumption_lines(study, cost, gpu_type)]
    lines += ["", f"{'rule':<20}{'jobs':>6}{'GPU-hours':>12}"]
    for rule in [*RULES, *sorted(set(est.jobs) - set(RULES))]:
        if rule in est.jobs:
            hours = est.gpu_hours[rule]
            shown = f"{hours:,.1f}" if hours or rule in TRAINING else "cpu"
            lines.append(f"{rule:<20}{est.jobs[rule]:>6}{shown:>12}")
    lines.append(f"{'total':<20}{sum(est.jobs.values()):>6}{est.total_gpu_hours:>12,.1f}")
    lines += ["", "Disk:", *(f"  {d}" for d in est.disk), ""]
    lines += [_runtime_line(study, m, h) for m, h in est.longest_h.items()]
    return "\n".join(lines)


def _runtime_line(study, model: str, hours: float) -> str:
    spec = study.model(model)
    line = f"longest training job of {model}: ~{hours:,.2f} h on {max(1, spec['gpus'])} GPU(s)"
    limit = spec.get("runtime_h")
    if limit and hours > limit:
        line += f" (warning: exceeds runtime_h {limit})"
    return line


MEASURED = Path("gpu-check.json")  # written by `make gpu-check` in the repository root


def apply_measured(assumptions: dict, path: str | Path) -> tuple[dict, str | None]:
    """The assumptions with the MFU measured by ``make gpu-check`` over the assumed one, and the
    GPU type it was measured on (a key of ``gpu_peak_tflops`` found in its device name)."""
    import json

    measured = json.loads(Path(path).read_text())
    mfu = measured.get("mfu") if isinstance(measured, dict) else None
    if isinstance(mfu, dict):
        unknown = sorted(set(mfu) - set(ASSUMPTIONS["mfu"]))
        if unknown:
            raise ValueError(f"{path}: 'mfu' has unknown format(s) {unknown}")
        base = assumptions["mfu"]
        mfu = {**(base if isinstance(base, dict) else dict.fromkeys(mfu, base)), **mfu}
    elif not isinstance(mfu, int | float):
        raise ValueError(f"{path}: expected 'mfu': a number or one per task format")
    name = str(measured.get("gpu_type", ""))
    gpu = next((g for g in assumptions["gpu_peak_tflops"] if g.lower() in name.lower()), None)
    return {**assumptions, "mfu": mfu, "measured": str(path)}, gpu


def cmd_estimate(args) -> None:
    from xstilts import config
    from xstilts.study import Study

    study = Study(config.load(args.configfile))
    try:
        assumptions = load_assumptions(args.assumptions)
        if args.concurrent_jobs:
            assumptions["concurrent_jobs"] = args.concurrent_jobs
        measured = args.measured or (MEASURED if MEASURED.is_file() else None)
        gpu = None
        if measured:
            assumptions, gpu = apply_measured(assumptions, measured)
        print(report(study, assumptions, args.gpu_type or gpu or "A100", args.configfile))
    except ValueError as e:
        raise SystemExit(f"xstilts estimate: error: {e}") from None


def register(subparsers) -> None:
    p = subparsers.add_parser("estimate", help="planned jobs, GPU-hours and disk of a config")
    p.add_argument("--configfile", required=True)
    p.add_argument(
        "--gpu-type", help="a key of gpu_peak_tflops (default: the measured GPU, else A100)"
    )
    p.add_argument("--assumptions", help="YAML overriding the cost model's assumptions")
    p.add_argument("--measured", help=f"MFU measured by make gpu-check (default: {MEASURED})")
    p.add_argument(
        "--concurrent-jobs", type=int, help="training jobs at once (default: the profile's jobs)"
    )
    p.set_defaults(func=cmd_estimate)
