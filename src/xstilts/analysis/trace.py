"""``xstilts explain`` on an analysis table: the rows of one (intermediate, target) and the runs
they summarise (every row lists its ``run_ids``), each traced through its manifests."""

from __future__ import annotations

from pathlib import Path

from xstilts import layout

FOLDER = Path(layout.ANALYSIS).parent.name  # "analysis"


def is_analysis_table(path: Path) -> bool:
    return FOLDER in Path(path).parts and Path(path).suffix in (".csv", ".parquet")


def rows(table: Path, inter: str, target: str, lang=None, model=None) -> list[dict]:
    """The table's rows of ``inter`` and ``target`` (and ``lang``, ``model`` when given)."""
    import pandas as pd

    frame = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    wanted = {"intermediate": inter, "target": target, "lang": lang, "model": model}
    for column, value in wanted.items():
        if value is None or column not in frame:
            continue
        match = frame[frame[column].astype(str) == str(value)]
        if match.empty:
            values = ", ".join(sorted(map(str, set(frame[column]))))
            raise LookupError(f"{table}: no {column} {value!r}; available {column}s: {values}")
        frame = match
    return frame.to_dict("records")


def value(table: Path, inter: str, target: str, lang=None, model=None) -> dict:
    records = rows(Path(table), inter, target, lang, model)
    ids = sorted({i for r in records for i in str(r.get("run_ids", "")).split(";") if i})
    return {"kind": "analysis", "rows": records, "run_ids": ids, "seeds": []}


def run_manifests(workdir: Path, run_ids: list[str]) -> list[Path]:
    """The manifests (under ``results/``) of the jobs with these run ids."""
    import json

    wanted, out = set(run_ids), []
    for m in sorted((workdir / "results").rglob(layout.MANIFEST)):
        try:
            if json.loads(m.read_text()).get("run_id") in wanted:
                out.append(m)
        except ValueError:
            continue
    return out


def describe(value: dict) -> str:
    lines = [f"{len(value['rows'])} row(s)"]
    for r in value["rows"]:
        shown = {k: v for k, v in r.items() if k != "run_ids"}
        lines.append(
            "  "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
            )
        )
    return "\n".join(lines)
