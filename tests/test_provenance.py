"""Atomic outputs and manifests."""

from __future__ import annotations

import json

import pytest

from xstilts import provenance


def test_staged_output_appears_only_on_success(tmp_path):
    final = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError):
        with provenance.staged(final) as tmp:
            tmp.write_text("{half")
            raise RuntimeError("killed")
    assert not final.exists() and not list(final.parent.iterdir())
    with provenance.staged(final) as tmp:
        tmp.write_text("{}")
        assert not final.exists()
    assert final.read_text() == "{}"


def test_manifest_chains_inputs_and_hashes_outputs(tmp_path):
    upstream = tmp_path / "data"
    upstream.mkdir()
    (upstream / "rows.txt").write_text("x")
    first = provenance.Job("prepare_data", {"task": "t"}, {}, [], log="a.log")
    first.finish({str(upstream): upstream}, upstream / "manifest.json")
    job = provenance.Job(
        "tokenize", {"task": "t"}, {"max_length": 8}, [upstream, "org/model"], log="b.log"
    )
    out = tmp_path / "out.txt"
    out.write_text("y")
    record = job.finish({str(out): out}, tmp_path / "manifest.json")
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(record, default=str))
    assert record["inputs"][0]["run_id"] == first.run_id
    assert record["inputs"][0]["manifest_sha256"] == provenance.sha256_file(
        upstream / "manifest.json"
    )
    assert record["inputs"][1]["reference"].startswith("not a local file")
    assert record["outputs"][str(out)]["out.txt"] == provenance.sha256_file(out)
    assert job.fingerprint() != first.fingerprint()


def test_manifest_records_the_lock_and_explain_shows_it(tmp_path):
    """Beside the package versions: the lock this environment agrees with and its sha256."""
    from xstilts import audit

    record = provenance.Job("score", {}, {}, [], log=None).record
    lock = record["lock"]
    assert lock["file"] == "locks/cpu.txt"  # `make install`'s
    assert lock["sha256"] == provenance.sha256_file(provenance.REPO / lock["file"])
    assert lock["differs"] == []
    lines = dict(audit._environment_lines(record, {}))
    assert lines["lock"] == f"locks/cpu.txt sha256 {lock['sha256']} (agrees)"
    assert dict(audit._environment_lines(record, record))["lock"] == "(as above)"
    older = {**record, "lock": {**lock, "differs": ["torch"]}}
    assert "1 package(s) differ: torch" in dict(audit._environment_lines(older, {}))["lock"]
