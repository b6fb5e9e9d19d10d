# Phase 0: the encoder (built locally for the demo), task data, tokenised caches.


# First in the queue: every tokenize and training job of its model waits for the MLM warm-up.
rule build_tokenizer:
    output:
        directory(layout.TOKENIZER),
    log:
        "logs/build_tokenizer/{model}/{build}.log",
    benchmark:
        "timings/build_tokenizer/{model}/{build}.tsv"
    priority: 10
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        spec=model_spec,
        languages=model_languages,
        wildcards=wildcards_json,
    shell:
        "xstilts build-tokenizer --spec {params.spec:q} --languages {params.languages}"
        " --out {output} --rule build_tokenizer --wildcards {params.wildcards:q} --log {log}"
        " > {log} 2>&1"


rule build_model:
    input:
        tokenizer=layout.TOKENIZER,
    output:
        directory(layout.MODEL),
    log:
        "logs/build_model/{model}/{build}.log",
    benchmark:
        "timings/build_model/{model}/{build}.tsv"
    priority: 10
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        spec=model_spec,
        languages=model_languages,
        wildcards=wildcards_json,
    shell:
        "xstilts build-model --spec {params.spec:q} --languages {params.languages}"
        " --tokenizer {input.tokenizer} --out {output} --rule build_model --wildcards {params.wildcards:q} --log {log}"
        " > {log} 2>&1"


rule prepare_data:
    input:
        hub=dataset_snapshots,
    output:
        directory(layout.DATA),
    log:
        "logs/prepare_data/{task}/{data}.log",
    benchmark:
        "timings/prepare_data/{task}/{data}.tsv"
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        spec=data_spec,
        hub=dataset_folders,
        wildcards=wildcards_json,
    shell:
        "xstilts prepare-data --task {wildcards.task} --spec {params.spec:q} {params.hub}"
        " --out {output}"
        " --rule prepare_data --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


rule tokenize:
    input:
        data=layout.DATA,
        tokenizer=built_tokenizer,
    output:
        directory(layout.CACHE),
    log:
        "logs/tokenize/{model}/{build}/{task}/{data}/len{length}.log",
    benchmark:
        "timings/tokenize/{model}/{build}/{task}/{data}/len{length}.tsv"
    conda:
        SOFTWARE_ENV
    resources:
        **CPU_RESOURCES,
    params:
        model_ref=tokenizer_ref,
        max_length=lambda wildcards: wildcards.length,
        wildcards=wildcards_json,
    shell:
        "xstilts tokenize --model-ref {params.model_ref:q} --data {input.data}"
        " --task {wildcards.task} --max-length {params.max_length} --out {output}"
        " --rule tokenize --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
