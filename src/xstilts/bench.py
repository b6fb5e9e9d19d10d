"""``xstilts bench``: the project's speed choices against the plain way, reported as ratios.

Four measurements on the local CPU, each printed as it runs and summarised in one table (also
written to ``benchmarks/bench.json``):

1. target training with ``transformers.Trainer``: dynamic padding + length-grouped batches vs
   every example padded to ``max_length`` + random batches (tokens/s of real, non-pad tokens);
2. per-job fixed overhead: start-up of the ``xstilts`` CLI vs a bare ``import torch,
   transformers``, and a full no-op job (imports + model load);
3. evaluation: length-sorted, dynamically padded prediction vs unsorted, padded to
   ``max_length`` (span QA and tagging, examples/s);
4. nearest-neighbour retrieval: faiss ``IndexFlatIP`` vs a numpy matrix product + argpartition.

The model is a small randomly initialised XLM-R with a tokenizer trained on the benchmark's own
texts. Real data slices are used where ``shared/data`` holds them, synthetic data otherwise. A
ratio above 1 means the project's way is faster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
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

from xstilts import config, formats, loaders, registry, synthetic

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
OUTPUT = Path("benchmarks") / "bench.json"
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

    ``repeats``: timed runs per way, the fastest counts (other processes only ever slow a run).
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
    repeats=2,
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
    retrieval_dim=256,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the summary table: a throughput, or seconds when ``lower_is_better``."""

    measurement: str
    project: float
    plain: float | None = None
    lower_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """How many times faster the project's way is (None without a plain way)."""
        if self.plain is None:
            return None
        return self.plain / self.project if self.lower_is_better else self.project / self.plain


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
    """Wall time of ``steps`` optimizer steps of a fresh model with ``transformers.Trainer``."""
    from transformers import PrinterCallback, Trainer, set_seed

    from xstilts import train

    hp = dict(
        config.BASE_HPARAMS, batch_size=batch, max_steps=steps, learning_rate=1e-4, eval_steps=steps
    )
    with tempfile.TemporaryDirectory() as out:
        args = train.training_arguments(hp, Path(out), 0, False, formats.get(task.format))
        args = dataclasses.replace(args, train_sampling_strategy=strategy, save_strategy="no")
        set_seed(0)
        trainer = Trainer(
            model=train.load_model(str(model_dir), task),
            args=args,
            train_dataset=feats,
            data_collator=collator,
        )
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start


def _timed_training(model_dir, task, feats, collator, strategy, sizes) -> float:
    """Fewest seconds of one epoch over ``feats`` in ``sizes.repeats`` runs, after one step."""
    _train_seconds(model_dir, task, feats, collator, strategy, 1, sizes.train_batch)
    return min(
        _train_seconds(
            model_dir, task, feats, collator, strategy, sizes.train_steps, sizes.train_batch
        )
        for _ in range(sizes.repeats)
    )


def bench_training(model_dir: Path, tokenizer, rows: list[dict], sizes: Sizes) -> list[Row]:
    """Tokens/s of the project's batching against padding to each of ``sizes.plain_lengths``."""
    task = registry.get("xnli")
    fmt = formats.get(task.format)
    sample = random.Random(0).sample(rows, sizes.train_steps * sizes.train_batch)
    sample = [{**r, "label": task.labels.index(r["label"])} for r in sample]
    print(
        f"  {len(sample)} pairs = {sizes.train_steps} steps x batch {sizes.train_batch}, "
        "one epoch each way"
    )
    feats = _features(sample, tokenizer, task, task.max_length, train=True)
    seconds = _timed_training(
        model_dir, task, feats, fmt.collator(tokenizer), "group_by_length", sizes
    )
    project = sum(feats["length"]) / seconds
    print(
        f"  project (dynamic padding, group_by_length, max {task.max_length}): "
        f"{seconds:.2f} s, {project:,.0f} tokens/s"
    )
    out = []
    for length in sizes.plain_lengths:
        plain_feats = _features(sample, tokenizer, task, length, train=True)
        collator = _padding_collator(fmt, tokenizer, length)
        seconds = _timed_training(model_dir, task, plain_feats, collator, "random", sizes)
        plain = sum(plain_feats["length"]) / seconds
        print(f"  plain (padded to {length}, random): {seconds:.2f} s, {plain:,.0f} tokens/s")
        out.append(Row(f"train XNLI tokens/s, plain pads to {length}", project, plain))
    return out


# --- 2. start-up ---
def _subprocess_seconds(code: str, repeats: int) -> float:
    """Median wall time of ``python -c code`` over ``repeats`` runs, after one warm-up run."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def bench_startup(model_dir: Path, sizes: Sizes) -> list[Row]:
    """Fixed per-job cost: bare heavy imports, the CLI's start-up, imports + model load."""
    full_job = (
        "import torch, transformers\n"
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer\n"
        f"AutoModelForSequenceClassification.from_pretrained({str(model_dir)!r}, num_labels=3)\n"
        f"AutoTokenizer.from_pretrained({str(model_dir)!r})\n"
    )
    bare = _subprocess_seconds("import torch, transformers", sizes.startup_repeats)
    cli = _subprocess_seconds("import xstilts.cli", sizes.startup_repeats)
    full = _subprocess_seconds(full_job, sizes.startup_repeats)
    print(f"  bare `import torch, transformers`: {bare:.2f} s")
    print(f"  xstilts CLI start-up (`import xstilts.cli`): {cli:.2f} s")
    print(f"  full no-op job (imports + model and tokenizer load): {full:.2f} s")
    return [
        Row("job start-up s (CLI vs bare torch import)", cli, bare, lower_is_better=True),
        Row("full no-op job s (imports + model load)", full, lower_is_better=True),
    ]


# --- 3. evaluation ---
def _fastest(call, repeats: int):
    """``(fewest seconds, last result)`` of ``repeats`` calls of ``call()``."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def _predict_seconds(model, feats, collator, batch: int, sort: bool, repeats: int) -> float:
    """Fewest seconds of ``evaluate.predict`` in ``repeats`` runs, after a warm-up."""
    from xstilts import evaluate

    warm = feats.select(range(min(len(feats), WARMUP_FEATURES)))
    evaluate.predict(model, warm, collator, batch, sort=sort)
    return _fastest(lambda: evaluate.predict(model, feats, collator, batch, sort=sort), repeats)[0]


def _bench_eval(name: str, model_dir: Path, tokenizer, task, rows: list[dict], sizes) -> Row:
    """Examples/s of evaluation sorted by length with dynamic padding vs unsorted, padded to
    max_length (the same inference loop)."""
    from xstilts import train

    fmt = formats.get(task.format)
    feats = _features(rows, tokenizer, task, task.max_length, train=False)
    model = train.load_model(str(model_dir), task)
    dynamic = fmt.collator(tokenizer)
    padded = _padding_collator(fmt, tokenizer, task.max_length)
    project = _predict_seconds(model, feats, dynamic, sizes.eval_batch, True, sizes.repeats)
    plain = _predict_seconds(model, feats, padded, sizes.eval_batch, False, sizes.repeats)
    print(
        f"  {name}: {len(rows)} examples, {len(feats)} features, mean length "
        f"{np.mean(feats['length']):.0f} of max {task.max_length}: sorted + dynamic "
        f"{project:.2f} s, unsorted + padded {plain:.2f} s"
    )
    return Row(f"eval {name} examples/s", len(rows) / project, len(rows) / plain)


def bench_evaluation(
    model_dir: Path, tokenizer, qa: list[dict], tagging: list[dict], sizes: Sizes
) -> list[Row]:
    return [
        _bench_eval("span QA", model_dir, tokenizer, registry.get("xquad"), qa, sizes),
        _bench_eval("tagging", model_dir, tokenizer, registry.get("udpos"), tagging, sizes),
    ]


# --- 4. retrieval ---
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


def _timed_knn(search, x: np.ndarray, y: np.ndarray, repeats: int):
    """``(fewest seconds, result)`` of ``search(x, y, k)`` in ``repeats`` runs, after a warm-up.

    The warm-up is a full run: the first touch of a fresh ``len(x) x len(y)`` buffer alone can
    take seconds.
    """
    search(x, y, NEIGHBOURS)
    return _fastest(lambda: search(x, y, NEIGHBOURS), repeats)


def bench_retrieval(sizes: Sizes) -> list[Row]:
    """faiss exact inner-product search vs numpy, checking that both find the same neighbours."""
    import faiss

    from xstilts.metrics.retrieval import knn

    faiss.omp_set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    n, dim = sizes.retrieval_rows, sizes.retrieval_dim
    x, y = _unit_rows(rng, n, dim), _unit_rows(rng, n, dim)
    project, (f_sims, f_idx) = _timed_knn(knn, x, y, sizes.repeats)
    plain, (n_sims, n_idx) = _timed_knn(_numpy_knn, x, y, sizes.repeats)
    same = float(np.mean(np.all(np.sort(f_idx, 1) == np.sort(n_idx, 1), axis=1)))
    if not np.allclose(f_sims, n_sims, atol=1e-5) or same < 0.999:
        raise RuntimeError(f"faiss and numpy disagree: same neighbours for {same:.2%} of rows")
    print(
        f"  {n:,} x {n:,} at dim {dim}, top-{NEIGHBOURS}: faiss {project:.2f} s, numpy "
        f"{plain:.2f} s; same neighbours for {same:.2%} of rows"
    )
    return [
        Row(f"retrieval {n // 1000}k x {n // 1000}k d{dim} s", project, plain, lower_is_better=True)
    ]


# --- report ---
def _fmt(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}{suffix}"
    return f"{value:.2f}{suffix}"


def table(rows: list[Row]) -> str:
    """The summary as an aligned text table."""
    lines = [("measurement", "project way", "plain way", "ratio")]
    lines += [(r.measurement, _fmt(r.project), _fmt(r.plain), _fmt(r.ratio, "x")) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        out.append(" | ".join(cells))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(path: Path, report: dict) -> None:
    """Write ``report`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, path)


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
    print(f"model: XLM-R {ARCHITECTURE}, vocab {len(tokenizer)}")
    print("[1/4] target training (transformers.Trainer)")
    rows = bench_training(model_dir, tokenizer, nli, sizes)
    print("[2/4] per-job start-up (subprocesses)")
    rows += bench_startup(model_dir, sizes)
    print("[3/4] evaluation")
    rows += bench_evaluation(model_dir, tokenizer, qa, tagging, sizes)
    print("[4/4] retrieval search")
    rows += bench_retrieval(sizes)
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


def main(args) -> None:
    """Run the benchmark (``args.quick``: smaller sizes), print the table, write the JSON."""
    import torch

    sizes = QUICK if args.quick else FULL
    torch.set_num_threads(THREADS)
    print(
        f"xstilts bench{' --quick' if args.quick else ''}: {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}"
    )
    cpu_before, start = _cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xstilts-bench-") as work, _quiet():
        rows, data = run(sizes, Path(work))
    elapsed = time.perf_counter() - start
    other = _other_load(cpu_before, elapsed)
    print(f"\nratio = how many times faster the project's way is (total {elapsed:.0f} s)")
    print(table(rows))
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
    write_json(OUTPUT, report)
    print(f"written {OUTPUT}")
