# Phase 1: one intermediate encoder per (model, task, seed), shared by every target.
# Phase 2: fine-tune that encoder, with a new head, on each target's English training data, and
# predict every language of the target in the same job (the model is deleted unless kept).


rule train_intermediate:
    input:
        model=built_model,
        train=intermediate_caches,
    output:
        directory(paths.ENCODER),
    log:
        study_log("train_intermediate/{model}/{inter}/seed{seed}.log"),
    benchmark:
        study_timing("train_intermediate/{model}/{inter}/seed{seed}.tsv")
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
        checkpoints=paths.INTERMEDIATE_CHECKPOINTS,
        gpus=model_gpus,
        zero_stage=zero_stage,
        micro_batch=micro_batch,
    shell:
        "exec python -m xstilts.launch --gpus {params.gpus} --zero-stage {params.zero_stage}"
        " --save-margin-s {resources.save_margin_s} --"
        " --encoder {params.model_ref:q} --task {wildcards.inter} {params.micro_batch}"
        " --train-cache {input.train} {params.select} {params.multitask} --encoder-only"
        " --hparams {params.hparams:q} --seed {wildcards.seed}"
        " --checkpoints {params.checkpoints} --out {output}"
        " --rule train_intermediate --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


rule finetune:
    input:
        encoder=target_encoder_input,
        train=target_train_cache,
        select=selection_cache,
        data=target_data,
        cache=target_cache,
    output:
        **FINETUNE_OUTPUTS,
    log:
        study_log("finetune/{model}/{inter}/{target}/seed{seed}.log"),
    benchmark:
        study_timing("finetune/{model}/{inter}/{target}/seed{seed}.tsv")
    wildcard_constraints:
        target=TRAINED_TARGETS,
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_TRAIN_RESOURCES,
    params:
        encoder=target_encoder,
        hparams=target_hparams,
        wildcards=wildcards_json,
        checkpoints=paths.TARGET_CHECKPOINTS,
        gpus=model_gpus,
        zero_stage=zero_stage,
        micro_batch=micro_batch,
        keep=target_model_option,
    shell:
        "exec python -m xstilts.launch --gpus {params.gpus} --zero-stage {params.zero_stage}"
        " --save-margin-s {resources.save_margin_s} --command finetune --"
        " --encoder {params.encoder:q} --task {wildcards.target} {params.micro_batch}"
        " --train-cache {input.train} --select-cache {input.select}"
        " --data {input.data} --cache {input.cache} --predictions {output.predictions}"
        " {params.keep} --hparams {params.hparams:q} --seed {wildcards.seed}"
        " --checkpoints {params.checkpoints}"
        " --rule finetune --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"


# A target's model trained on other tasks first, head included (XCOPA: SIQa, then COPA, as
# XTREME-R; `target_training` in the config), each stage starting from the previous one.
rule train_before_target:
    input:
        encoder=before_encoder_input,
        train=before_cache,
    output:
        temp(directory(paths.BEFORE_MODEL)),
    log:
        study_log("train_before_target/{model}/{inter}/{target}/seed{seed}/{stage}.log"),
    benchmark:
        study_timing("train_before_target/{model}/{inter}/{target}/seed{seed}/{stage}.tsv")
    wildcard_constraints:
        target=TRAINED_TARGETS,
        stage=_alternatives(registry.TASKS),
    conda:
        SOFTWARE_ENV
    resources:
        **GPU_TRAIN_RESOURCES,
    params:
        encoder=before_encoder,
        hparams=before_hparams,
        wildcards=wildcards_json,
        checkpoints=paths.BEFORE_CHECKPOINTS,
        gpus=model_gpus,
        zero_stage=zero_stage,
        micro_batch=micro_batch,
    shell:
        "exec python -m xstilts.launch --gpus {params.gpus} --zero-stage {params.zero_stage}"
        " --save-margin-s {resources.save_margin_s} --"
        " --encoder {params.encoder:q} --task {wildcards.stage} {params.micro_batch}"
        " --train-cache {input.train} --select-cache {input.train}"
        " --hparams {params.hparams:q} --seed {wildcards.seed}"
        " --checkpoints {params.checkpoints} --out {output}"
        " --rule train_before_target --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
