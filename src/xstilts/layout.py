"""Where every artefact lives: the file layout of a run, in one place (rules and tools read it)."""

MODEL = "resources/models/{model}"
DATA = "resources/data/{task}"
CACHE = "resources/cache/{model}/{task}"
ENCODER = "results/{model}/intermediate/{inter}/seed{seed}/encoder"
RUN = "results/{model}/{inter}/{target}/seed{seed}"
TARGET_MODEL = RUN + "/model"
BEFORE_MODEL = RUN + "/before/{stage}/model"  # a target's model after a task it trains on first
METRICS = RUN + "/metrics.json"
RUN_MANIFEST = RUN + "/manifest.json"
PREDICTIONS = RUN + "/predictions"
SCORES = "results/{model}/scores.parquet"
MATRIX_CSV = "results/{model}/transfer_matrix.csv"
MATRIX_PNG = "results/{model}/transfer_matrix.png"
LOG = "logs/{rule}/{name}.log"

MANIFEST = "manifest.json"
ANALYSIS = "results/analysis/{name}"  # the follow-up analyses across models (xstilts.analysis)
THROUGHPUT = "results/{model}/throughput"  # one model's inference benchmark
