# The report of each model: tables with bootstrap intervals, figures, the reproduction table.
# Files flagged report() below make up `snakemake --report report.html`.
from xstilts import report as xreport

# report file stem -> (caption, category, subcategory) in the HTML report, which shows the PNG
# of a figure, and the HTML of a table (with its CSV to download)
SHOWN = {
    "figures/transfer_matrix": ("transfer_matrix", "1. Matrix", "heatmap"),
    "tables/transfer_matrix": ("matrix_table", "1. Matrix", "table"),
    "tables/xtreme_scores": ("xtreme_scores", "1. Matrix", "XTREME scores"),
    "figures/best_vs_baseline": ("best_vs_baseline", "2. Best intermediate", None),
    "tables/reproduction": ("reproduction", "3. Reproduction", None),
}
for _t in STUDY.grid["targets"]:
    SHOWN[f"figures/gains_{_t}"] = ("gains", "4. Per-language gains", _t)
    SHOWN[f"tables/per_language_{_t}"] = ("per_language", "5. Per language", _t)


def report_outputs():
    """Every file of one model's report ({model} left as wildcard), SHOWN ones flagged."""
    files = []
    for name in xreport.files(STUDY.grid["targets"]):
        path = f"{xreport.FOLDER}/{name}"
        stem, _, ext = name.rpartition(".")
        if stem in SHOWN and ext in ("png", "html", "csv"):
            caption, category, subcategory = SHOWN[stem]
            path = report(
                path,
                caption=f"../report/{caption}.rst",
                category=category,
                subcategory=subcategory,
            )
        files.append(path)
    return files


def report_files():
    """Every report file of every model (for `rule all`)."""
    return expand(
        f"{xreport.FOLDER}/{{name}}",
        model=STUDY.grid["models"],
        name=xreport.files(STUDY.grid["targets"]),
    )


def model_predictions(wildcards):
    """Every predictions folder of one model (paired with ``model_metrics``)."""
    return expand(
        layout.PREDICTIONS,
        model=wildcards.model,
        inter=STUDY.grid["intermediate"],
        target=STUDY.grid["targets"],
        seed=STUDY.grid["seeds"],
    )


rule report_tables:
    input:
        scores=layout.SCORES,
        metrics=model_metrics,
        predictions=model_predictions,
    output:
        report_outputs(),
    log:
        "logs/report_tables/{model}.log",
    benchmark:
        "benchmarks/report_tables/{model}.tsv"
    resources:
        **CPU_RESOURCES,
    params:
        out=xreport.FOLDER,
        wildcards=wildcards_json,
    shell:
        "xstilts report --model {wildcards.model} --scores {input.scores}"
        " --metrics {input.metrics} --out {params.out}"
        " --rule report_tables --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
