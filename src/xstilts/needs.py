"""Which hub files a study needs: per task, the repositories, revisions and file patterns its
hub data are read from (what the download stage fetches into the mirror)."""

from __future__ import annotations

from dataclasses import dataclass

from xstilts import registry
from xstilts.hub import sources_for
from xstilts.registry import restrict
from xstilts.splits import wanted_splits


@dataclass(frozen=True)
class HubFiles:
    """What one repository contributes to the mirror: ``allow_patterns`` at ``revision``."""

    repo: str
    revision: str
    allow_patterns: tuple[str, ...]


def requirements(task_name: str, languages=None) -> list[HubFiles]:
    """The repositories (one entry per repo and revision) and files a task's hub data need, in
    ``languages`` (the config's benchmark's; None: the registry's)."""
    task = restrict(registry.get(task_name), languages)
    patterns: dict[tuple[str, str], set[str]] = {}
    for split, lang in wanted_splits(task):
        for source in sources_for(task.hub, lang):
            if split in source.splits:
                key = (source.repo, source.revision)
                patterns.setdefault(key, set()).update(source.allow_patterns(lang))
    return [HubFiles(repo, rev, tuple(sorted(p))) for (repo, rev), p in patterns.items()]
