# The report of each model: tables with bootstrap intervals, figures, the reproduction table.
# Its outputs (`report_outputs` in common.smk) make up `snakemake --report report.html`.
# A report covers its model's targets: one rule per distinct target set (``grid.per_model``),
# `report_tables` for the first model's, `report_tables_<model>` for another's.
for _name, _models, _targets in STUDY.report_rules():

    rule:
        name:
            _name
        input:
            scores=paths.SCORES,
            metrics=model_metrics,
            predictions=model_predictions,
        output:
            report_outputs(_targets),
        log:
            study_log("report_tables/{model}.log"),
        benchmark:
            study_timing("report_tables/{model}.tsv")
        wildcard_constraints:
            model=_alternatives(_models),
        conda:
            SOFTWARE_ENV
        resources:
            **CPU_RESOURCES,
        params:
            out=output_folder,
            wildcards=wildcards_json,
        shell:
            "xstilts report --model {wildcards.model} --scores {input.scores}"
            " --metrics {input.metrics} --out {params.out}"
            " --rule report_tables --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
