# The report of each model: tables with bootstrap intervals, figures, the reproduction table.
# Its outputs (`report_outputs` in common.smk) make up `snakemake --report report.html`.
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
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        out=xreport.FOLDER,
        wildcards=wildcards_json,
    shell:
        "xstilts report --model {wildcards.model} --scores {input.scores}"
        " --metrics {input.metrics} --out {params.out}"
        " --rule report_tables --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
