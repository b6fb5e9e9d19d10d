"""A task restricted to the languages a study uses."""

from __future__ import annotations

import dataclasses

from xstilts.loaders import DataFormatError


def restrict(task, languages, local: bool = False):
    """The task in ``languages`` (None: the registry's): some of the registry's (smoke runs,
    tests, a study's own data), those a benchmark adds (XTREME-R's extras, after the
    registry's) and, from ``local`` files, any other (after those)."""
    if not languages:
        return task
    from xstilts import benchmarks

    extra = [
        lang
        for bench in benchmarks.BENCHMARKS.values()
        for lang in bench.languages.get(task.name, ())
        if lang not in task.languages
    ]
    unknown = sorted(set(languages) - set(task.languages) - set(extra))
    if unknown and local:
        extra += [lang for lang in languages if lang in unknown]
    elif unknown:
        raise DataFormatError(
            f"task {task.name}: languages {unknown} are not the task's "
            f"({', '.join(task.languages)}) nor a benchmark's ({', '.join(extra) or 'none'}); "
            f"a language of your own needs local files (data.tasks.{task.name}.source: local)"
        )
    keep = tuple(lang for lang in (*task.languages, *dict.fromkeys(extra)) if lang in languages)
    gaps = tuple(
        dataclasses.replace(g, languages=tuple(x for x in g.languages if x in keep))
        for g in task.gaps
        if not g.languages or set(g.languages) & set(keep)
    )
    return dataclasses.replace(task, languages=keep, gaps=gaps)
