"""Seven encoder families, each laid out as its hub repository is, through the download stage's
verification (hub offline, network blocked) and every format: tiny bert (``vocab.txt`` only),
xlm-roberta, xlm-roberta-xl, deberta-v2 laid out as ``microsoft/mdeberta-v3-base`` (``spm.model``,
fp16 ``pytorch_model.bin``, generator and TensorFlow files beside), modernbert, rembert, electra.
Each is built by :func:`xstilts.demo_model.build_model` from its ``model_type``."""

from __future__ import annotations

import json
import socket

import pytest
import torch
from conftest import tiny_hparams

from xstilts import demo_model, download, evaluate, features, models, provenance, synthetic, train
from xstilts.prepare import prepare, resolve

LANGS = ["en", "de", "zh"]
SPEC = {
    "source": "synthetic",
    "synthetic": {"train_size": 48, "eval_size": 8, "seed": 0},
    "max_eval_examples": None,
}
INTERMEDIATE = "mnli"
TARGETS = ("udpos", "squad_v1", "copa", "squad_v1_retrieval")  # tagging, QA, MC, dual encoder
SIZE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
FAMILIES = {
    "bert": {"model_type": "bert", **SIZE, "intermediate_size": 64},
    "xlm-roberta": {"model_type": "xlm-roberta", **SIZE, "intermediate_size": 64},
    "xlm-roberta-xl": {"model_type": "xlm-roberta-xl", **SIZE, "intermediate_size": 64},
    "deberta-v2": {
        "model_type": "deberta-v2",
        **SIZE,
        "intermediate_size": 64,
        "relative_attention": True,
        "position_buckets": 16,
        "max_relative_positions": -1,
        "pos_att_type": ["p2c", "c2p"],
        "position_biased_input": False,
    },
    "modernbert": {"model_type": "modernbert", **SIZE, "intermediate_size": 64},
    "rembert": {
        "model_type": "rembert",
        **SIZE,
        "intermediate_size": 64,
        "input_embedding_size": 16,
        "output_embedding_size": 16,
    },
    "electra": {"model_type": "electra", **SIZE, "intermediate_size": 64, "embedding_size": 16},
}
# microsoft/mdeberta-v3-base's tokenizer_config.json, byte for byte (52 bytes)
MDEBERTA_TOKENIZER_CONFIG = '{\n  "do_lower_case": false,\n  "vocab_type": "spm"\n}\n'


def _texts() -> list[str]:
    return list(synthetic.corpus(LANGS, 40, 0))


def _vocab_txt(folder, texts):
    """A BERT WordPiece vocabulary of the corpus' words and characters: ``vocab.txt`` only."""
    from transformers import BertTokenizerFast

    words = sorted({w.lower() for t in texts for w in t.split()})
    chars = sorted({c.lower() for t in texts for c in t if not c.isspace()})
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    pieces += [w for w in words if w not in pieces][:1500]
    (folder / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return BertTokenizerFast.from_pretrained(str(folder))


def _spm_model(folder, texts):
    """A SentencePiece ``spm.model`` with DeBERTa-v3's special tokens."""
    import sentencepiece as spm
    from transformers import DebertaV2Tokenizer

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spm"),
        vocab_size=400,
        hard_vocab_limit=False,
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        unk_piece="[UNK]",
        user_defined_symbols=["[MASK]"],
        character_coverage=1.0,
        minloglevel=2,
    )
    corpus.unlink()
    (folder / "spm.vocab").unlink()
    return DebertaV2Tokenizer.from_pretrained(str(folder))


def _repository(folder, family: str, texts) -> None:
    """Fill ``folder`` as the family's hub repository holds it."""
    folder.mkdir(parents=True)
    if family == "bert":
        tokenizer = _vocab_txt(folder, texts)
    elif family == "deberta-v2":
        tokenizer = _spm_model(folder, texts)
    else:
        tokenizer = demo_model.train_tokenizer(texts, 800)
    arch = dict(FAMILIES[family])
    if family == "modernbert":  # its default special ids lie past a tiny vocabulary
        arch.update(
            {
                f"{k}_token_id": tokenizer.convert_tokens_to_ids(t)
                for k, t in (("cls", "<s>"), ("sep", "</s>"), ("bos", "<s>"), ("eos", "</s>"))
            }  # fmt: skip
        )
    torch.manual_seed(0)
    model = demo_model.build_model(tokenizer, arch)
    if family == "deberta-v2":  # mdeberta-v3-base: fp16 .bin, generator, TF weights
        model.config.save_pretrained(folder)
        state = {k: v.half() for k, v in model.state_dict().items()}
        torch.save(state, folder / "pytorch_model.bin")
        torch.save({"junk": torch.zeros(2)}, folder / "pytorch_model.generator.bin")
        (folder / "generator_config.json").write_text(model.config.to_json_string())
        (folder / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n stand-in")
        (folder / "tokenizer_config.json").write_text(MDEBERTA_TOKENIZER_CONFIG)
        assert (folder / "tokenizer_config.json").stat().st_size == 52
    else:
        model.save_pretrained(folder)
        if family != "bert":  # bert: vocab.txt and nothing else
            tokenizer.save_pretrained(folder)
        (folder / "flax_model.msgpack").write_bytes(b"stand-in")  # never fetched or read


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for task in (INTERMEDIATE, *TARGETS, "tatoeba"):
        prepare(task, SPEC, root / task)
    return root


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _falls(log_history) -> bool:
    losses = [e["loss"] for e in log_history if "loss" in e]
    return len(losses) >= 4 and sum(losses[-2:]) < 0.9 * sum(losses[:2])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_through_download_and_every_format(family, prepared, tmp_path, no_network):
    mirror = tmp_path / "mirror"
    snapshot = download.Snapshot(
        "models", f"tiny/{family}", "main", download.MODEL_PATTERNS, str(mirror)
    )
    _repository(snapshot.folder, family, _texts())
    job = provenance.Job("download", {}, {}, [], None)
    record = download.download(snapshot, job)
    kept = set(record["outputs"][str(snapshot.folder)])
    assert not {f for f in kept if "generator" in f or f.endswith((".h5", ".msgpack"))}
    if family == "deberta-v2":
        assert kept == {"config.json", "spm.model", "tokenizer_config.json", "pytorch_model.bin"}
    if family == "bert":
        assert kept == {"config.json", "vocab.txt", "model.safetensors"}
    encoder = str(snapshot.folder)

    def fit(task, start, steps, encoder_only, **hp):
        cache = tmp_path / "cache" / task
        features.tokenize(start, prepared / task, task, 128 if "squad" in task else 48, cache)
        hp = tiny_hparams(max_steps=steps, eval_steps=1, learning_rate=2e-3, **hp)
        info = train.train(
            encoder=start,
            task_name=task,
            train_cache=cache,
            select_cache=None,
            out_dir=tmp_path / "out" / task,
            checkpoint_dir=tmp_path / "ckpt" / task,
            hp=hp,
            seed=1,
            encoder_only=encoder_only,
            fingerprint="test",
        )
        losses = [e["loss"] for e in info["log_history"] if "loss" in e]
        assert losses and all(map(torch.isfinite, torch.tensor(losses))), (family, task)
        return info

    fit(INTERMEDIATE, encoder, 3, True)
    loaded = models.load_model(encoder, resolve(INTERMEDIATE, prepared / INTERMEDIATE))
    assert all(p.dtype == torch.float32 for p in loaded.parameters())  # fp16 on disk
    intermediate = str(tmp_path / "out" / INTERMEDIATE)
    for task in TARGETS:
        info = fit(task, intermediate, 12 if task == "udpos" else 3, False)
        if task == "udpos":  # the tag prior alone is learnt in a few steps from any encoder
            assert _falls(info["log_history"]), (family, info["log_history"])
    features.tokenize(intermediate, prepared / "tatoeba", "tatoeba", 48, tmp_path / "cache" / "t")
    result = evaluate.predict_retrieval(
        encoder=intermediate,
        task_name="tatoeba",
        cache_dir=tmp_path / "cache" / "t",
        predictions_dir=tmp_path / "pred",
    )
    assert result["layer"] == 1 and result["pooling"] == "mean"
    assert json.loads((tmp_path / "out" / INTERMEDIATE / "config.json").read_text())


MDEBERTA_FILES = [
    ".gitattributes",
    "README.md",
    "config.json",
    "generator_config.json",
    "pytorch_model.bin",
    "pytorch_model.generator.bin",
    "spm.model",
    "tf_model.h5",
    "tokenizer_config.json",
]
XLMR_FILES = [
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tf_model.h5",
    "flax_model.msgpack",
    "onnx/model.onnx",
    "sentencepiece.bpe.model",
    "tokenizer.json",
]


def test_model_files_fetched_and_required_per_repository_layout(tmp_path):
    snap = download.Snapshot("models", "o/m", "main", download.MODEL_PATTERNS, str(tmp_path))
    assert download.selected(snap, MDEBERTA_FILES) == [
        "config.json",
        "pytorch_model.bin",
        "spm.model",
        "tokenizer_config.json",
    ]
    assert download.missing(snap, MDEBERTA_FILES) == []
    command = download.hand_command(snap, MDEBERTA_FILES)
    assert "'spm.model'" in command and "generator" not in command and "safetensors" not in command
    assert download.selected(snap, XLMR_FILES) == [
        "config.json",
        "model.safetensors",
        "sentencepiece.bpe.model",
        "tokenizer.json",
    ]
    shards = ["config.json", "vocab.txt", "pytorch_model-00001-of-00002.bin"]
    assert download.missing(snap, shards) == [
        "pytorch_model.bin.index.json (the index of the pytorch_model-*-of-*.bin shards)"
    ]
    assert download.missing(snap, ["config.json", "vocab.json", "model.safetensors"]) == [
        "merges.txt (the BPE merges beside vocab.json)"
    ]
    gaps = download.missing(snap, ["config.json", "tf_model.h5", "tokenizer.json"])
    assert gaps == [" or ".join(download.MODEL_REQUIRED[2])]


@pytest.mark.parametrize(
    "modes, layer, pooling, expected",
    [
        (None, None, None, (7, "mean")),  # no pooling files: 14/24 of 12
        ({"pooling_mode_cls_token": True}, None, None, (12, "cls")),
        ({"pooling_mode_mean_tokens": True}, None, None, (12, "mean")),
        ({"pooling_mode_mean_tokens": True}, 4, "cls", (4, "cls")),  # the config says otherwise
    ],
)
def test_retrieval_pools_as_a_sentence_transformers_model_was_trained(
    tmp_path, modes, layer, pooling, expected
):
    from xstilts.formats import retrieval

    if modes is not None:
        module = {"idx": 1, "name": "1", "path": "1_Pooling", "type": "x.models.Pooling"}
        (tmp_path / "modules.json").write_text(json.dumps([module]))
        (tmp_path / "1_Pooling").mkdir()
        config = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False, **modes}
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    assert retrieval.choose(tmp_path, layer, pooling, 12)[:2] == expected


def test_unsupported_trained_pooling_is_a_clear_error(tmp_path):
    from xstilts.formats import retrieval

    module = {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
    (tmp_path / "modules.json").write_text(json.dumps([module]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_max_tokens": true}')
    with pytest.raises(ValueError, match=r"1_Pooling/config.json: pooling .*max_tokens"):
        retrieval.choose(tmp_path, None, None, 12)
