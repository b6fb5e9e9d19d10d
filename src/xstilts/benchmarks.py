"""Benchmark definitions: XTREME (Hu et al., 2020) and XTREME-R (Ruder et al., 2021) as data.

A benchmark names its member tasks, the languages each is scored in, its task groups, and how the
numbers aggregate, as google-research/xtreme's ``evaluate.py`` scores them:

* a task's score is the mean over its languages of each of its metrics (the registry's
  ``metrics``), averaged over those metrics (QA: (mean EM + mean F1) / 2);
* a group's score is the mean of its member tasks' scores, reported only when every member is
  there; the overall score is the mean over all member tasks, reported only when all are there.

Strict as that scorer: a task with a language missing is an error that names it
(``BenchmarkError``), and a group or overall score over an incomplete set of tasks is not
reported (``Scores.missing`` names what it lacks). ``partial=True`` looks at a running study:
means over what is there, each one computed from an incomplete set named in ``Scores.partial``.
A target outside the benchmark still gets a task score (over the registry's languages) but
counts in no group and not in the overall score.

A benchmark selects and groups its members; each member's languages are its registry
declaration's (``Task.benchmark_languages``: XTREME-R adds languages to UD-POS, PAN-X, Tatoeba
and XQuAD through their ``extra_languages``). XTREME-R's groups follow its paper (Table 1:
retrieval = Tatoeba, Mewsli-X, LAReQA); its scorer puts XCOPA in an extra "multi_choice" group
and scores LAReQA outside it (no languages listed), so the overall mean here includes LAReQA as
the paper's does. A task file (``registry.declare``) may add a benchmark of its own (``register``).
Imports nothing heavy: the Snakefile reads it while planning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import fmean

from xstilts import registry

DEFAULT = "xtreme"


class BenchmarkError(ValueError):
    """Results that the benchmark's scorer would refuse (a language or metric missing)."""


@dataclass(frozen=True)
class Scores:
    """A benchmark's scores. ``groups`` and ``overall`` hold only complete aggregates unless
    scored with ``partial=True``; ``missing`` maps each aggregate ("overall" or a group) that
    lacks tasks to those tasks; ``partial`` names the aggregates (and tasks) computed from an
    incomplete set."""

    benchmark: str
    tasks: dict[str, float]
    groups: dict[str, float]
    overall: float | None
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    partial: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing and not self.partial

    def row(self) -> dict:
        """Task, group and overall scores as one flat record (None where not reported), plus a
        ``missing`` note naming what each unreported or partial aggregate lacks."""
        note = "; ".join(f"{k}: no {', '.join(v)}" for k, v in self.missing.items())
        if self.partial:
            note = f"partial ({', '.join(self.partial)})" + (f"; {note}" if note else "")
        return {**self.tasks, **self.groups, "overall": self.overall, "missing": note}


@dataclass(frozen=True)
class Benchmark:
    """Task groups (their members, in order, are the benchmark's tasks); each member's languages
    are the registry's (``Task.benchmark_languages``)."""

    name: str
    groups: dict[str, tuple[str, ...]]
    description: str = ""
    subset: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def over(self, subset: Mapping[str, tuple[str, ...]]) -> Benchmark:
        """The benchmark as a study scores it that has only ``subset``'s languages of some tasks
        (its own data): those tasks are scored over them, and no group or overall score
        counts them (``score`` names what they lack)."""
        own = {
            t: tuple(langs) for t, langs in subset.items() if tuple(langs) != self.languages_of(t)
        }
        return Benchmark(self.name, self.groups, self.description, own)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for members in self.groups.values() for t in members)

    @property
    def languages(self) -> dict[str, tuple[str, ...]]:
        """Each member's languages in this benchmark, as its registry declaration says."""
        return {t: registry.get(t).benchmark_languages(self.name) for t in self.tasks}

    def task_languages(self, task: str) -> tuple[str, ...]:
        """The languages ``task`` is scored in; KeyError naming the members if not one."""
        if task not in self.languages:
            raise KeyError(
                f"task {task!r} is not part of benchmark {self.name!r}; members: "
                + ", ".join(self.tasks)
            )
        return self.languages[task]

    def languages_of(self, task: str) -> tuple[str, ...]:
        """The languages ``task`` is scored in: the benchmark's for its members, the registry's
        for any other target (scored as a task, outside every group and the overall score)."""
        if task in self.subset:
            return self.subset[task]
        return self.languages[task] if task in self.languages else registry.get(task).languages

    def subset_note(self, task: str) -> str:
        """What a task scored over a subset of the benchmark's languages lacks ('' if none)."""
        if task not in self.subset or task not in self.languages:
            return ""
        lacks = [lang for lang in self.languages[task] if lang not in self.subset[task]]
        return f"{task} over a subset of its languages (no {' '.join(lacks) or 'benchmark set'})"

    def subset_text(self) -> str:
        """The targets scored over a subset of the benchmark's languages, with those languages."""
        return "; ".join(f"{t} in {' '.join(langs)}" for t, langs in self.subset.items())

    def group_of(self, task: str) -> str | None:
        return next((g for g, ts in self.groups.items() if task in ts), None)

    def task_score(
        self,
        task: str,
        per_language: Mapping[str, Mapping[str, float]],
        *,
        partial: bool = False,
    ) -> float:
        """Mean over the task's languages of each of its metrics, then over those metrics; for a
        ``pooled`` task (LAReQA) the languages' means are weighted by their example counts
        (``per_language[lang]["n"]``): one mean over every example, as XTREME scores it.

        Every language of the task (``languages_of``) must be there (``BenchmarkError`` naming
        the missing ones) unless ``partial``; languages outside that set are ignored.
        """
        langs = self.languages_of(task)
        present = [lang for lang in langs if lang in per_language]
        missing = [lang for lang in langs if lang not in per_language]
        if missing and not partial:
            raise BenchmarkError(
                f"{self.name}: task {task!r} has no result for language(s) {', '.join(missing)} "
                f"(it is scored over {len(langs)}: {', '.join(langs)})"
            )
        if not present:
            raise BenchmarkError(f"{self.name}: task {task!r} has no result in any language")
        weights = None
        if registry.get(task).pooled:
            if unknown := [lang for lang in present if not per_language[lang].get("n")]:
                raise BenchmarkError(
                    f"{self.name}: task {task!r} is scored over all its examples at once, but "
                    f"language(s) {', '.join(unknown)} have no example count 'n' (re-score them)"
                )
            weights = [per_language[lang]["n"] for lang in present]
        means = []
        for metric in registry.get(task).metrics:
            values = []
            for lang in present:
                if metric not in per_language[lang]:
                    raise BenchmarkError(
                        f"{self.name}: task {task!r}, language {lang!r}: missing metric {metric!r}"
                    )
                values.append(per_language[lang][metric])
            means.append(fmean(values, weights))
        return fmean(means)

    def score(
        self,
        task_scores: Mapping[str, float],
        *,
        partial: bool = False,
        partial_tasks: tuple[str, ...] = (),
    ) -> Scores:
        """Group and overall scores from task scores (as ``task_score`` gives them).

        Tasks outside the benchmark are ignored. Without ``partial``, an aggregate whose tasks are
        not all there is not reported and ``missing`` names what it lacks; with it, the aggregate
        is the mean of the tasks present and its name is listed in ``partial``.
        ``partial_tasks``: tasks whose own scores cover only some languages (``partial``).
        """
        tasks = {t: float(task_scores[t]) for t in self.tasks if t in task_scores}
        # a task over a subset of its languages is not the benchmark's task: no aggregate has it
        subsets = {t: self.subset_note(t) for t in tasks if self.subset_note(t)}
        scored = {t: v for t, v in tasks.items() if t not in subsets}
        missing: dict[str, tuple[str, ...]] = {}
        flagged = [t for t in partial_tasks if t in tasks]
        aggregates = {**self.groups, "overall": self.tasks}
        values: dict[str, float | None] = {}
        for name, members in aggregates.items():
            absent = tuple(subsets.get(t, t) for t in members if t not in scored)
            present = [scored[t] for t in members if t in scored]
            if absent:
                missing[name] = absent
            incomplete = bool(absent) or any(t in flagged for t in members)
            if (absent and not partial) or not present:
                values[name] = None
                continue
            values[name] = fmean(present)
            if incomplete:
                flagged.append(name)
        overall = values.pop("overall")
        return Scores(
            benchmark=self.name,
            tasks=tasks,
            groups={g: v for g, v in values.items() if v is not None},
            overall=overall,
            missing=missing,
            partial=tuple(flagged),
        )


XTREME = Benchmark(
    name="xtreme",
    groups={
        "classification": ("xnli", "pawsx"),
        "structured_prediction": ("udpos", "panx"),
        "question_answering": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("bucc", "tatoeba"),
    },
    description="XTREME (Hu et al., 2020): 9 tasks, 40 languages",
)

XTREME_R = Benchmark(
    name="xtreme-r",
    groups={
        "classification": ("xnli", "xcopa"),
        "structured_prediction": ("udpos", "panx"),
        "question_answering": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("tatoeba", "mewslix", "lareqa"),
    },
    description="XTREME-R (Ruder et al., 2021): 10 tasks, 50 languages",
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (XTREME, XTREME_R)}


def register(benchmark: Benchmark) -> None:
    """Add a benchmark (a task file's, see ``registry.declare``); ValueError on a clash or a
    member the registry does not have."""
    if benchmark.name in BENCHMARKS:
        raise ValueError(f"benchmark {benchmark.name!r} is already declared")
    for task in benchmark.tasks:
        registry.get(task)
    BENCHMARKS[benchmark.name] = benchmark


def get(name: str) -> Benchmark:
    """The benchmark called ``name``; a KeyError that lists the known ones otherwise."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}") from None
