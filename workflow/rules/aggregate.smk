# The intermediate x target transfer matrix and the long scores table, per model.


rule aggregate:
    input:
        model_metrics,
    output:
        scores=paths.SCORES,
        csv=paths.MATRIX_CSV,
        png=paths.MATRIX_PNG,
        manifest=paths.AGGREGATE_MANIFEST,
    log:
        study_log("aggregate/{model}.log"),
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        wildcards=wildcards_json,
        benchmark=STUDY.config["benchmark"],
        subset=as_json(STUDY.subset()),
    shell:
        "xstilts aggregate --model {wildcards.model} --metrics {input} --scores {output.scores}"
        " --csv {output.csv} --png {output.png} --manifest {output.manifest}"
        " --benchmark {params.benchmark} --subset {params.subset:q}"
        " --rule aggregate --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
