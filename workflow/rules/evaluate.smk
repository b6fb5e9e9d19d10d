# Phase 3: zero-shot evaluation in every language of the target task.


rule evaluate:
    input:
        model=layout.TARGET_MODEL,
        data=target_data,
        cache=target_cache,
    output:
        metrics=layout.METRICS,
        manifest=layout.RUN_MANIFEST,
        predictions=directory(layout.PREDICTIONS),
    log:
        "logs/evaluate/{model}/{inter}/{target}/seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{model}/{inter}/{target}/seed{seed}.tsv"
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_EVAL_RESOURCES,
    params:
        wildcards=wildcards_json,
    shell:
        "xstilts evaluate --model {input.model} --task {wildcards.target} --data {input.data}"
        " --cache {input.cache} --metrics {output.metrics} --predictions {output.predictions}"
        " --manifest {output.manifest} --rule evaluate --wildcards {params.wildcards:q}"
        " --log {log} > {log} 2>&1"


rule retrieve:
    input:
        encoder=encoder_input,
        data=target_data,
    output:
        metrics=layout.METRICS,
        manifest=layout.RUN_MANIFEST,
        predictions=directory(layout.PREDICTIONS),
    log:
        "logs/retrieve/{model}/{inter}/{target}/seed{seed}.log",
    benchmark:
        "benchmarks/retrieve/{model}/{inter}/{target}/seed{seed}.tsv"
    wildcard_constraints:
        target=RETRIEVAL_TARGETS,
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_EVAL_RESOURCES,
    params:
        encoder=encoder,
        options=retrieval_options,
        wildcards=wildcards_json,
    shell:
        "xstilts evaluate --model {params.encoder:q} --task {wildcards.target}"
        " --data {input.data} {params.options} --metrics {output.metrics}"
        " --predictions {output.predictions} --manifest {output.manifest}"
        " --rule retrieve --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
