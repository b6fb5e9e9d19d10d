"""XTREME score aggregation (Hu et al., 2020).

A task's score is the mean over its languages of the task's metric; for the QA tasks it
is the average of mean exact match and mean F1. Group scores average the tasks present
in each XTREME task group, and the overall score averages all tasks present. Each task's metrics
and group are read from the task registry.
"""

from collections.abc import Mapping
from statistics import fmean

from xstilts import registry


def _check_task(task: str) -> None:
    if task not in registry.TASKS or registry.TASKS[task].group is None:
        known = sorted(n for n, t in registry.TASKS.items() if t.group)
        raise KeyError(f"unknown XTREME task {task!r}; known: {known}")


def task_score(task: str, per_language: Mapping[str, Mapping[str, float]]) -> float:
    """Mean over languages of the task's metric(s); QA tasks average mean EM and mean F1."""
    _check_task(task)
    if not per_language:
        raise ValueError(f"task {task!r}: no per-language results")
    metric_means = []
    for metric in registry.get(task).metrics:
        values = []
        for lang, metrics in per_language.items():
            if metric not in metrics:
                raise KeyError(f"task {task!r}, language {lang!r}: missing metric {metric!r}")
            values.append(metrics[metric])
        metric_means.append(fmean(values))
    return fmean(metric_means)


def group_scores(task_scores: Mapping[str, float]) -> dict[str, float]:
    """Mean score of the tasks present in each group; groups with no task are omitted."""
    for task in task_scores:
        _check_task(task)
    groups = {group: registry.group_tasks(group) for group in registry.GROUPS}
    return {
        group: fmean(task_scores[task] for task in tasks if task in task_scores)
        for group, tasks in groups.items()
        if any(task in task_scores for task in tasks)
    }


def overall_score(task_scores: Mapping[str, float]) -> float:
    """Mean over the tasks present of their task scores."""
    if not task_scores:
        raise ValueError("no task scores to average")
    for task in task_scores:
        _check_task(task)
    return fmean(task_scores.values())
