# The follow-up analyses across models, languages and intermediate variants (xstilts.analysis):
# one job each, reading every model's scores table; and one inference benchmark per model.


rule throughput:
    input:
        model=built_model,
        caches=throughput_caches,
    output:
        directory(paths.THROUGHPUT),
    log:
        study_log("throughput/{model}.log"),
    benchmark:
        study_timing("throughput/{model}.tsv")
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_EVAL_RESOURCES,
    params:
        model_ref=model_ref,
        options=throughput_options,
        wildcards=wildcards_json,
    shell:
        "xstilts throughput --model {wildcards.model} --model-ref {params.model_ref:q}"
        " --caches {input.caches} {params.options} --out {output}"
        " --rule throughput --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


for _name in ANALYSES:

    rule:
        name:
            f"analyse_{_name}"
        input:
            scores=all_scores(),
            throughput=throughput_inputs(_name),
            models=built_models(),
        output:
            analysis_outputs(_name),
        log:
            study_log(f"analyse/{_name}.log"),
        benchmark:
            study_timing(f"analyse/{_name}.tsv")
        conda:
            SOFTWARE_ENV
        resources:
            **CPU_RESOURCES,
        params:
            name=_name,
            study=as_json(STUDY.analysis_config()),
            out=output_folder,
            wildcards=as_json({"name": _name}),
        shell:
            "xstilts analyse --name {params.name} --study {params.study:q}"
            " --scores {input.scores} --throughput {input.throughput} --models {input.models}"
            " --out {params.out} --rule analyse_{params.name} --wildcards {params.wildcards:q}"
            " --log {log} > {log} 2>&1"
