# Phase 1: one intermediate encoder per (model, task, seed), shared by every target.
# Phase 2: fine-tune that encoder, with a new head, on each target's English training data, and
# predict every language of the target in the same job (the model is deleted unless kept).


rule train_intermediate:
    input:
        model=built_model,
        train=intermediate_caches,
    output:
        directory(layout.ENCODER),
    log:
        "logs/train_intermediate/{model}/{inter}/seed{seed}.log",
    benchmark:
        "benchmarks/train_intermediate/{model}/{inter}/seed{seed}.tsv"
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_TRAIN_RESOURCES,
    params:
        model_ref=model_ref,
        hparams=intermediate_hparams,
        select=selection_option,
        multitask=multitask_spec,
        wildcards=wildcards_json,
        checkpoints="checkpoints/intermediate/{model}/{inter}/seed{seed}",
        gpus=model_gpus,
        zero_stage=zero_stage,
        micro_batch=micro_batch,
    shell:
        "python -m xstilts.launch --gpus {params.gpus} --zero-stage {params.zero_stage} --"
        " --encoder {params.model_ref:q} --task {wildcards.inter} {params.micro_batch}"
        " --train-cache {input.train} {params.select} {params.multitask} --encoder-only"
        " --hparams {params.hparams:q} --seed {wildcards.seed}"
        " --checkpoints {params.checkpoints} --out {output}"
        " --rule train_intermediate --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


rule finetune:
    input:
        encoder=encoder_input,
        train=target_train_cache,
        select=selection_cache,
        data=target_data,
        cache=target_cache,
    output:
        **FINETUNE_OUTPUTS,
    log:
        "logs/finetune/{model}/{inter}/{target}/seed{seed}.log",
    benchmark:
        "benchmarks/finetune/{model}/{inter}/{target}/seed{seed}.tsv"
    wildcard_constraints:
        target=TRAINED_TARGETS,
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_TRAIN_RESOURCES,
    params:
        encoder=encoder,
        hparams=target_hparams,
        wildcards=wildcards_json,
        checkpoints="checkpoints/target/{model}/{inter}/{target}/seed{seed}",
        gpus=model_gpus,
        zero_stage=zero_stage,
        micro_batch=micro_batch,
        keep=target_model_option,
    shell:
        "exec python -m xstilts.launch --gpus {params.gpus} --zero-stage {params.zero_stage}"
        " --command finetune --"
        " --encoder {params.encoder:q} --task {wildcards.target} {params.micro_batch}"
        " --train-cache {input.train} --select-cache {input.select}"
        " --data {input.data} --cache {input.cache} --predictions {output.predictions}"
        " {params.keep} --hparams {params.hparams:q} --seed {wildcards.seed}"
        " --checkpoints {params.checkpoints}"
        " --rule finetune --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
