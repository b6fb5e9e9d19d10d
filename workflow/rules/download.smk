# Phase -1: the hub mirror. One download job per repository and revision (models, data sets),
# run where Snakemake runs (the login node: compute nodes may have no internet); every other job
# runs with the hub offline and reads only the mirror (common.smk sets HF_HUB_OFFLINE).


localrules:
    download,
    mirror,


rule mirror:
    input:
        [s.manifest for s in SNAPSHOTS.values()],


rule download:
    output:
        f"{MIRROR}/{{kind}}/{{repo}}/{{rev}}/{DOWNLOAD_MANIFEST}",
    log:
        "logs/download/{kind}/{repo}/{rev}.log",
    wildcard_constraints:
        kind="models|datasets",
        repo=r"[^/]+/[^/]+",
        rev=r"[^/]+",
    conda:
        SOFTWARE_ENV
    params:
        snapshot=snapshot_args,
        offline=HUB_OFFLINE_HERE,
        wildcards=wildcards_json,
    shell:
        "HF_HUB_OFFLINE={params.offline} HF_DATASETS_OFFLINE={params.offline}"
        " xstilts download {params.snapshot} --rule download"
        " --wildcards {params.wildcards:q} --log {log} > {log} 2>&1"
