# The report of each model: tables with bootstrap intervals, figures, the reproduction table.
# Its outputs (`report_outputs` in common.smk) make up `snakemake --report report.html`.
# One rule per model: a model's report covers its own targets (``grid.per_model``).
for _model in STUDY.grid["models"]:

    rule:
        name:
            f"report_tables_{_model}"
        input:
            scores=layout.SCORES.format(model=_model),
            metrics=model_metrics(_model),
            predictions=model_predictions(_model),
        output:
            report_outputs(_model),
        log:
            f"logs/report_tables/{_model}.log",
        benchmark:
            f"benchmarks/report_tables/{_model}.tsv"
        conda:
            SOFTWARE_ENV
        resources:
            **CPU_RESOURCES,
        params:
            model=_model,
            out=output_folder,
            wildcards=as_json({"model": _model}),
        shell:
            "xstilts report --model {params.model} --scores {input.scores}"
            " --metrics {input.metrics} --out {params.out}"
            " --rule report_tables --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
