"""The Snakemake workflow (Snakefile, rules, schemas, DeepSpeed configs, environments, report
captions, the SLURM profile), installed with the package as ``xstilts.workflow``."""
