# Phase 3: zero-shot scores in every language of the target task, from the predictions the
# fine-tuning job (or, for retrieval targets, the encoder) wrote: no model, no torch.


rule score:
    input:
        paths.PREDICTIONS,
    output:
        metrics=paths.METRICS,
        manifest=paths.RUN_MANIFEST,
    log:
        study_log("score/{model}/{inter}/{target}/seed{seed}.log"),
    benchmark:
        study_timing("score/{model}/{inter}/{target}/seed{seed}.tsv")
    localrule: True
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        scorer=scorer,
        wildcards=wildcards_json,
    shell:
        "xstilts score --task {wildcards.target} --predictions {input}"
        " --metrics {output.metrics} --manifest {output.manifest}"
        " --rule score --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


rule retrieve:
    input:
        encoder=encoder_input,
        cache=target_cache,
    output:
        predictions=directory(paths.PREDICTIONS),
    log:
        study_log("retrieve/{model}/{inter}/{target}/seed{seed}.log"),
    benchmark:
        study_timing("retrieve/{model}/{inter}/{target}/seed{seed}.tsv")
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
        "xstilts retrieve --model {params.encoder:q} --task {wildcards.target}"
        " --cache {input.cache} {params.options} --predictions {output.predictions}"
        " --rule retrieve --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
