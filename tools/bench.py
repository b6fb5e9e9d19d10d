"""``make bench``: the project's speed choices against what the peers do by default.

Every comparison interleaves the two ways (A, B, A, B, ...) over ``repeats`` repetitions, so
drift of the machine touches both alike, and prints min/median/max of each; the ratio is of the
medians. Beside each ratio stands its padded-token limit: the padded tokens the plain way
computes over those the project's way computes (the speed-up if time were proportional to
tokens). Measurements, on the local CPU, summarised in one table (also ``timings/bench.json``):

1. target training with ``transformers.Trainer``: dynamic padding + length-grouped batches vs
   run_glue's default (every pair padded to 128, random batches) and jiant's (256);
2. evaluation: length-sorted, dynamically padded prediction vs run_ner's default for tagging
   (dynamic padding, unsorted) and run_qa's for span QA (unsorted, padded to 384);
3. nearest-neighbour retrieval: faiss ``IndexFlatIP`` vs a numpy matrix product + argpartition;
4. a real job's fixed cost (imports, model, tokenizer and data load of a fine-tuning job) beside
   a bare ``import torch, transformers``, and the share of the demo's job-seconds that fixed
   costs take, from Snakemake's ``timings/*/*.tsv`` when a demo has run here.

The model is a small randomly initialised XLM-R with a tokenizer trained on the benchmark's own
texts: real benchmark slices (realistic lengths) from the folder ``XSTILTS_BENCH_DATA`` names (in
development, the data slices beside the repository), synthetic data where there are none: a
fresh clone benches on synthetic data. A ratio above 1 means the project's way is faster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xstilts import formats, loaders, provenance, registry, synthetic
from xstilts.hparams import HParams

BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data"  # a development checkout's
DATA = Path(os.environ.get("XSTILTS_BENCH_DATA", BESIDE))
OUTPUT = Path("timings") / "bench.json"
THREADS = 2
ARCHITECTURE = {
    "hidden_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 256,
}
QA_LANGS = ("en", "de", "zh")
WARMUP_FEATURES = 16
NEIGHBOURS = 4
NOISY = 0.1  # share of the CPUs used by other processes above which timings are noisy


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much work each measurement does (full run or ``--quick``).

    ``repeats``: interleaved timed runs per way (after a warm-up).
    """

    repeats: int
    vocab: int
    train_steps: int
    train_batch: int
    plain_lengths: tuple[int, ...]
    startup_repeats: int
    qa_per_lang: int
    tagging_per_lang: int
    eval_batch: int
    retrieval_rows: int
    retrieval_dim: int


FULL = Sizes(
    repeats=3,
    vocab=8000,
    train_steps=32,
    train_batch=32,
    plain_lengths=(128, 256),
    startup_repeats=3,
    qa_per_lang=105,
    tagging_per_lang=200,
    eval_batch=64,
    retrieval_rows=10_000,
    retrieval_dim=768,
)
QUICK = dataclasses.replace(
    FULL,
    repeats=1,
    vocab=2000,
    train_steps=3,
    train_batch=16,
    startup_repeats=1,
    qa_per_lang=6,
    tagging_per_lang=4,
    eval_batch=16,
    retrieval_rows=2_000,
    retrieval_dim=256,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the summary table: min/median/max of a throughput (or of seconds when
    ``lower_is_better``) for each way, and the padded-token limit of the ratio."""

    measurement: str
    project: tuple[float, float, float]
    plain: tuple[float, float, float] | None = None
    lower_is_better: bool = False
    limit: float | None = None

    @property
    def ratio(self) -> float | None:
        """How many times faster the project's way is, from the medians (None without a plain
        way)."""
        if self.plain is None:
            return None
        a, b = self.project[1], self.plain[1]
        return b / a if self.lower_is_better else a / b


def spread(values) -> tuple[float, float, float]:
    values = list(values)
    return min(values), statistics.median(values), max(values)


def interleaved(ways: list, repeats: int, warm_up: bool = True) -> list[list[float]]:
    """Seconds of each of ``ways`` (callables) in ``repeats`` rounds, each round running every way
    once in turn (after one warm-up call of each, unless the caller warmed them up). A way that
    returns a float reports its own seconds (of the part worth timing)."""
    for way in ways if warm_up else ():
        way()
    times: list[list[float]] = [[] for _ in ways]
    for _ in range(repeats):
        for i, way in enumerate(ways):
            start = time.perf_counter()
            result = way()
            elapsed = time.perf_counter() - start
            times[i].append(result if isinstance(result, float) else elapsed)
    return times


class CountingCollator:
    """A collator that counts the (padded) tokens of the batches it builds."""

    def __init__(self, collator):
        self.collator, self.tokens = collator, 0

    def __call__(self, features):
        batch = self.collator(features)
        self.tokens += int(batch["input_ids"].numel())
        return batch


def padded_tokens(collator, feats, batch: int, order=None) -> int:
    """Padded tokens ``collator`` builds for ``feats`` in batches of ``batch`` (in ``order``)."""
    counting = CountingCollator(collator)
    columns = [c for c in feats.column_names if c in ("input_ids", "attention_mask")]
    order = list(range(len(feats))) if order is None else list(order)
    for first in range(0, len(order), batch):
        rows = feats.select_columns(columns)[order[first : first + batch]]
        counting([dict(zip(rows, v, strict=True)) for v in zip(*rows.values(), strict=True)])
    return counting.tokens


# --- data and model ---
def _classification_rows() -> tuple[list[dict], str]:
    files = sorted((DATA / "xnli").glob("dev-*.tsv"))
    if files:
        rows = [r for f in files for r in loaders.load_xtreme_pair_tsv(f)]
        return rows, f"XNLI dev, real ({len(rows)} pairs, {len(files)} languages)"
    labels = registry.NLI_LABELS
    rows = [
        r for lang in registry.XNLI_LANGS for r in synthetic.classification(lang, 200, 0, labels)
    ]
    return rows, f"synthetic NLI ({len(rows)} pairs)"


def _qa_rows(per_lang: int) -> tuple[list[dict], str]:
    files = [DATA / "xquad" / f"xquad.{lang}.json" for lang in QA_LANGS]
    if all(f.is_file() for f in files):
        rows = [r for f in files for r in loaders.load_squad_json(f)[:per_lang]]
        return rows, f"XQuAD {'/'.join(QA_LANGS)}, real ({len(rows)} questions)"
    rows = [r for lang in QA_LANGS for r in synthetic.span_qa(lang, per_lang, 0)]
    return rows, f"synthetic span QA ({len(rows)} questions)"


def _tagging_rows(per_lang: int) -> tuple[list[dict], str]:
    files = sorted((DATA / "udpos").glob("*-ud-test.conllu"))
    if files:
        rows = [r for f in files for r in loaders.load_conllu(f)[:per_lang]]
        return rows, f"UD test, real ({len(rows)} sentences, {len(files)} treebanks)"
    labels = registry.UPOS_LABELS
    rows = [
        r for lang in registry.UDPOS_LANGS for r in synthetic.tagging(lang, per_lang, 0, labels)
    ]
    return rows, f"synthetic tagging ({len(rows)} sentences)"


def _texts(nli: list[dict], qa: list[dict], tagging: list[dict]) -> list[str]:
    """Every text the benchmark tokenises (the tokenizer is trained on them)."""
    return (
        [r["text_a"] + " " + r["text_b"] for r in nli]
        + [r["question"] + " " + r["context"] for r in qa]
        + [" ".join(r["tokens"]) for r in tagging]
    )


def _build_model(out: Path, texts: list[str], vocab: int) -> Path:
    """Save a random small XLM-R encoder and a tokenizer trained on ``texts`` to ``out``."""
    import torch

    from xstilts import demo_model

    tokenizer = demo_model.train_tokenizer(texts, vocab)
    torch.manual_seed(0)
    demo_model.build_model(tokenizer, ARCHITECTURE).base_model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _features(rows: list[dict], tokenizer, task, max_length: int, train: bool):
    """The format's (unpadded) features of ``rows`` with a ``length`` column."""
    import datasets

    fmt = formats.get(task.format)
    feats = fmt.featurize(datasets.Dataset.from_list(rows), tokenizer, task, max_length, train)
    return feats.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True)


def _padding_collator(fmt, tokenizer, max_length: int):
    """The format's collator, padding every batch to ``max_length`` (the plain way)."""
    return dataclasses.replace(fmt.collator(tokenizer), padding="max_length", max_length=max_length)


# --- 1. training ---
def _train_seconds(
    model_dir: Path, task, feats, collator, strategy: str, steps: int, batch: int
) -> float:
    """Seconds of ``steps`` optimizer steps of a fresh model with ``transformers.Trainer``, from
    the training loop's start to its end (the Trainer's and model's set-up excluded)."""
    from transformers import PrinterCallback, Trainer, TrainerCallback, set_seed

    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, *args, **kwargs):
            marks.append(time.perf_counter())

        def on_train_end(self, *args, **kwargs):
            marks.append(time.perf_counter())

    from xstilts import models, train

    hp = HParams(batch_size=batch, max_steps=steps, learning_rate=1e-4, eval_steps=steps)
    with tempfile.TemporaryDirectory() as out:
        args = train.training_arguments(hp, Path(out), 0, False, formats.get(task.format))
        args = dataclasses.replace(args, train_sampling_strategy=strategy, save_strategy="no")
        set_seed(0)
        trainer = Trainer(
            model=models.load_model(str(model_dir), task),
            args=args,
            train_dataset=feats,
            data_collator=collator,
            callbacks=[Clock()],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        return marks[1] - marks[0]


def bench_training(model_dir: Path, tokenizer, rows: list[dict], sizes: Sizes) -> list[Row]:
    """Real tokens/s of the project's batching against padding to each of ``sizes.plain_lengths``
    with random batches (run_glue: 128, jiant: 256), interleaved."""
    task = registry.get("xnli")
    fmt = formats.get(task.format)
    sample = random.Random(0).sample(rows, sizes.train_steps * sizes.train_batch)
    sample = [{**r, "label": task.labels.index(r["label"])} for r in sample]
    feats = _features(sample, tokenizer, task, task.max_length, train=True)
    real = sum(feats["length"])
    print(
        f"  {len(sample)} pairs = {sizes.train_steps} steps x batch {sizes.train_batch}, "
        f"mean length {real / len(sample):.1f} tokens; one epoch per run"
    )
    ways = [(feats, CountingCollator(fmt.collator(tokenizer)), "group_by_length")]
    for length in sizes.plain_lengths:
        plain_feats = _features(sample, tokenizer, task, length, train=True)
        collator = CountingCollator(_padding_collator(fmt, tokenizer, length))
        ways.append((plain_feats, collator, "random"))

    def run(feats, collator, strategy, steps=sizes.train_steps):
        return lambda: _train_seconds(
            model_dir, task, feats, collator, strategy, steps, sizes.train_batch
        )

    for way in ways:  # warm-up: one step each
        run(*way, steps=1)()
        way[1].tokens = 0
    times = interleaved([run(*way) for way in ways], sizes.repeats, warm_up=False)
    tokens = [way[1].tokens / sizes.repeats for way in ways]  # padded tokens per epoch
    project = spread(real / t for t in times[0])
    print(
        f"  project (dynamic padding, group_by_length, max {task.max_length}): median "
        f"{statistics.median(times[0]):.2f} s, {project[1]:,.0f} real tokens/s, "
        f"{tokens[0]:,.0f} padded tokens"
    )
    out = []
    for length, seconds, padded in zip(sizes.plain_lengths, times[1:], tokens[1:], strict=True):
        plain = spread(real / t for t in seconds)
        print(
            f"  plain (padded to {length}, random): median {statistics.median(seconds):.2f} s, "
            f"{plain[1]:,.0f} real tokens/s, {padded:,.0f} padded tokens"
        )
        out.append(
            Row(
                f"train XNLI real tokens/s vs pad to {length}",
                project,
                plain,
                limit=padded / tokens[0],
            )
        )
    return out


# --- 2. evaluation ---
def _bench_eval(name: str, model_dir: Path, tokenizer, task, rows, sizes, plain_pad) -> Row:
    """Examples/s of evaluation sorted by length with dynamic padding vs the peer's default:
    unsorted, padded dynamically (``plain_pad`` None) or to ``plain_pad``; the same loop."""
    from xstilts import evaluate, models

    fmt = formats.get(task.format)
    feats = _features(rows, tokenizer, task, task.max_length, train=False)
    model = models.load_model(str(model_dir), task)
    dynamic = fmt.collator(tokenizer)
    plain = dynamic if plain_pad is None else _padding_collator(fmt, tokenizer, plain_pad)
    batch = sizes.eval_batch
    times = interleaved(
        [
            lambda: evaluate.predict(model, feats, dynamic, batch, sort=True),
            lambda: evaluate.predict(model, feats, plain, batch, sort=False),
        ],
        sizes.repeats,
    )
    by_length = np.argsort(-np.asarray(feats["length"]), kind="stable")
    limit = padded_tokens(plain, feats, batch) / padded_tokens(dynamic, feats, batch, by_length)
    how = "dynamic padding" if plain_pad is None else f"padded to {plain_pad}"
    print(
        f"  {name}: {len(rows)} examples, {len(feats)} features, mean length "
        f"{np.mean(feats['length']):.0f} of max {task.max_length}: sorted + dynamic median "
        f"{statistics.median(times[0]):.2f} s, unsorted + {how} {statistics.median(times[1]):.2f} s"
    )
    return Row(
        f"eval {name} examples/s vs unsorted, {how}",
        spread(len(rows) / t for t in times[0]),
        spread(len(rows) / t for t in times[1]),
        limit=limit,
    )


def bench_evaluation(
    model_dir: Path, tokenizer, qa: list[dict], tagging: list[dict], sizes: Sizes
) -> list[Row]:
    """run_qa: ``Trainer.predict`` on features padded to 384; run_ner: dynamic padding, unsorted."""
    xquad, udpos = registry.get("xquad"), registry.get("udpos")
    return [
        _bench_eval("span QA", model_dir, tokenizer, xquad, qa, sizes, xquad.max_length),
        _bench_eval("tagging", model_dir, tokenizer, udpos, tagging, sizes, None),
    ]


# --- 3. retrieval ---
def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _numpy_knn(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` inner products and indices, best first: full product + argpartition."""
    sims = x @ y.T
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, idx, axis=1)
    order = np.argsort(-top, axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(idx, order, axis=1)


def bench_retrieval(sizes: Sizes) -> list[Row]:
    """faiss exact inner-product search vs numpy, checking that both find the same neighbours.
    The warm-up is a full run: the first touch of a fresh ``n x n`` buffer alone takes seconds."""
    import faiss

    from xstilts.metrics.retrieval import knn

    faiss.omp_set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    n, dim = sizes.retrieval_rows, sizes.retrieval_dim
    x, y = _unit_rows(rng, n, dim), _unit_rows(rng, n, dim)
    f_sims, f_idx = knn(x, y, NEIGHBOURS)
    n_sims, n_idx = _numpy_knn(x, y, NEIGHBOURS)
    same = float(np.mean(np.all(np.sort(f_idx, 1) == np.sort(n_idx, 1), axis=1)))
    if not np.allclose(f_sims, n_sims, atol=1e-5) or same < 0.999:
        raise RuntimeError(f"faiss and numpy disagree: same neighbours for {same:.2%} of rows")
    times = interleaved(
        [lambda: knn(x, y, NEIGHBOURS), lambda: _numpy_knn(x, y, NEIGHBOURS)],
        sizes.repeats,
        warm_up=False,
    )
    print(
        f"  {n:,} x {n:,} at dim {dim}, top-{NEIGHBOURS}: faiss median "
        f"{statistics.median(times[0]):.2f} s, numpy {statistics.median(times[1]):.2f} s; "
        f"same neighbours for {same:.2%} of rows"
    )
    return [
        Row(
            f"retrieval {n // 1000}k x {n // 1000}k d{dim} s",
            spread(times[0]),
            spread(times[1]),
            lower_is_better=True,
        )
    ]


# --- 4. fixed cost ---
HEAVY_RULES = ("build_model", "tokenize", "train_intermediate", "finetune", "retrieve")
SHARED_RULES = ("download", "build_tokenizer", "build_model", "prepare_data", "tokenize")


def bench_fixed_cost(model_dir: Path, cache: Path, sizes: Sizes) -> list[Row]:
    """What every model job pays before its first step (the fine-tuning job's imports, model,
    tokenizer and data load, with the imports a model job skips skipped), beside a bare
    ``import torch, transformers`` and beside transformers' own floor (its model-loading imports,
    which every ``from_pretrained`` pays, and datasets, which its Trainer imports), and a light
    job's; interleaved. A ratio below 1 is the share of the fixed cost the other way is."""
    load = (
        "from transformers import AutoModelForSequenceClassification\n"
        f"AutoModelForSequenceClassification.from_pretrained({str(model_dir)!r}, num_labels=3)\n"
    )
    real_job = (
        "import xstilts.cli\n"
        "xstilts.cli._model_job()  # as every model job does first\n"
        "import xstilts.evaluate, xstilts.train, datasets\n"
        "from transformers import AutoTokenizer\n"
        + load
        + f"AutoTokenizer.from_pretrained({str(model_dir)!r})\n"
        f"datasets.load_from_disk({str(cache)!r})\n"
    )
    floor = "import torch, transformers, datasets\n" + load
    code = [real_job, "import torch, transformers", floor, "import xstilts.cli, xstilts.score"]
    run = [
        lambda c=c: subprocess.run([sys.executable, "-c", c], check=True, capture_output=True)
        for c in code
    ]
    real, bare, floor_s, light = interleaved(run, sizes.startup_repeats)
    print(
        f"  a real job's fixed cost (imports + model, tokenizer and data load): median "
        f"{statistics.median(real):.2f} s; bare `import torch, transformers` "
        f"{statistics.median(bare):.2f} s; transformers' floor (+ datasets, from_pretrained, "
        "nothing skipped) "
        f"{statistics.median(floor_s):.2f} s; a light job (`xstilts score` imports) "
        f"{statistics.median(light):.2f} s"
    )
    return [
        Row("model job fixed cost s vs bare import", spread(real), spread(bare), True),
        Row(
            "model job fixed cost s vs transformers' floor, nothing skipped",
            spread(real),
            spread(floor_s),
            True,
        ),
        Row("light job fixed cost s (no torch)", spread(light), lower_is_better=True),
    ]


def demo_fixed_share(benchmarks: Path, study: str, heavy: float, light: float) -> str | None:
    """How much of a study's job-seconds (Snakemake's benchmark files: the study's own
    ``timings/{study}/{rule}/...`` and the shared ``timings/{rule}/...``) the fixed costs
    take: ``heavy`` seconds per model job, ``light`` per other job (at most the job's)."""
    total = fixed = 0.0
    jobs = 0
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        parts = tsv.relative_to(benchmarks).parts
        if parts[0] == study:
            rule = parts[1]
        elif parts[0] in SHARED_RULES:
            rule = parts[0]
        else:  # another study's
            continue
        lines = tsv.read_text().splitlines()
        if len(lines) < 2 or not lines[0].startswith("s\t"):
            continue
        seconds = float(lines[1].split("\t")[0])
        total += seconds
        fixed += min(seconds, heavy if rule in HEAVY_RULES else light)
        jobs += 1
    if not jobs:
        return None
    return (
        f"{study} ({benchmarks}): {jobs} jobs, {total:,.0f} job-s, of which fixed costs "
        f"~{fixed:,.0f} job-s ({fixed / total:.0%})"
    )


# --- report ---
def _fmt(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}{suffix}"
    return f"{value:.2f}{suffix}"


def _spread(values: tuple[float, float, float] | None) -> str:
    return "-" if values is None else " / ".join(_fmt(v) for v in values)


def table(rows: list[Row]) -> str:
    """The summary as an aligned text table."""
    lines = [("measurement", "project min / median / max", "plain min / median / max")]
    lines[0] += ("ratio", "padded-token limit")
    lines += [
        (r.measurement, _spread(r.project), _spread(r.plain), _fmt(r.ratio, "x"))
        + (_fmt(r.limit, "x"),)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    out = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        out.append(" | ".join(cells))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


@contextlib.contextmanager
def _quiet():
    """Silence library chatter (progress bars, load reports, faiss's loader) while benchmarking."""
    import datasets
    from transformers.utils import logging as hf_logging

    faiss_log = logging.getLogger("faiss")
    state = (
        hf_logging.get_verbosity(),
        hf_logging.is_progress_bar_enabled(),
        datasets.is_progress_bar_enabled(),
        faiss_log.level,
    )
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    faiss_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        hf_logging.set_verbosity(state[0])
        if state[1]:
            hf_logging.enable_progress_bar()
        if state[2]:
            datasets.enable_progress_bars()
        faiss_log.setLevel(state[3])


def run(sizes: Sizes, work: Path) -> tuple[list[Row], dict]:
    """Every measurement; returns the table rows and a description of the data used."""
    from transformers import AutoTokenizer

    nli, nli_info = _classification_rows()
    qa, qa_info = _qa_rows(sizes.qa_per_lang)
    tagging, tagging_info = _tagging_rows(sizes.tagging_per_lang)
    data = {"training": nli_info, "span_qa": qa_info, "tagging": tagging_info}
    print("data: " + "; ".join(data.values()))
    model_dir = _build_model(work / "model", _texts(nli, qa, tagging), sizes.vocab)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    print(f"model: XLM-R {ARCHITECTURE}, vocab {len(tokenizer)} (trained on these texts)")
    print(f"[1/4] target training (transformers.Trainer), {sizes.repeats} interleaved runs")
    rows = bench_training(model_dir, tokenizer, nli, sizes)
    print("[2/4] evaluation")
    rows += bench_evaluation(model_dir, tokenizer, qa, tagging, sizes)
    print("[3/4] retrieval search")
    rows += bench_retrieval(sizes)
    print("[4/4] fixed cost per job (subprocesses)")
    task = registry.get("xnli")
    cache = work / "cache"
    _features(nli[:64], tokenizer, task, task.max_length, train=False).save_to_disk(str(cache))
    fixed = bench_fixed_cost(model_dir, cache, sizes)
    rows += fixed
    share = demo_fixed_share(Path("timings"), "demo", fixed[0].project[1], fixed[2].project[1])
    data["demo_fixed_cost"] = share or "no demo timings/*/*.tsv here (run make demo first)"
    return rows, data


def _cpu_seconds() -> tuple[float, float]:
    """Busy CPU seconds of the whole machine, and of this process and its children (Linux)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return machine, sum(u.ru_utime + u.ru_stime for u in usage)


def _other_load(before: tuple[float, float], elapsed: float) -> float:
    """Share of the machine's CPU time that other processes used since ``before``."""
    machine, own = (now - then for now, then in zip(_cpu_seconds(), before, strict=True))
    return max(0.0, machine - own) / (elapsed * (os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (``--quick``: smaller sizes), print the table, write the JSON."""
    import argparse

    import torch

    ap = argparse.ArgumentParser(prog="python tools/bench.py", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    torch.set_num_threads(THREADS)
    print(
        f"bench{' --quick' if args.quick else ''}: {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}"
    )
    cpu_before, start = _cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xstilts-bench-") as work, _quiet():
        rows, data = run(sizes, Path(work))
    elapsed = time.perf_counter() - start
    other = _other_load(cpu_before, elapsed)
    print(f"\nratio = how many times faster the project's way is (total {elapsed:.0f} s)")
    print(table(rows))
    print(data["demo_fixed_cost"])
    print(f"other processes used {other:.0%} of the CPUs during the run")
    if other > NOISY:
        print("warning: the machine was busy, timings are noisy; rerun when it is idle")
    report = {
        "quick": bool(args.quick),
        "cpu_count": os.cpu_count(),
        "torch_threads": THREADS,
        "other_cpu_load": other,
        "sizes": dataclasses.asdict(sizes),
        "data": data,
        "rows": [{**dataclasses.asdict(r), "ratio": r.ratio} for r in rows],
        "seconds": elapsed,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    provenance.write_json(OUTPUT, report)
    print(f"written {OUTPUT}")


if __name__ == "__main__":
    main()
