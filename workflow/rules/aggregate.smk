# The intermediate x target transfer matrix and the long scores table, per model.


rule aggregate:
    input:
        model_metrics,
    output:
        scores=layout.SCORES,
        csv=layout.MATRIX_CSV,
        png=layout.MATRIX_PNG,
        manifest="results/{model}/manifest.json",
    log:
        "logs/aggregate/{model}.log",
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        wildcards=wildcards_json,
        benchmark=STUDY.config["benchmark"],
    shell:
        "xstilts aggregate --model {wildcards.model} --metrics {input} --scores {output.scores}"
        " --csv {output.csv} --png {output.png} --manifest {output.manifest}"
        " --benchmark {params.benchmark}"
        " --rule aggregate --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
