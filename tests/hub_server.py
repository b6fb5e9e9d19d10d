"""A stand-in for the Hugging Face hub on 127.0.0.1: the few endpoints ``huggingface_hub``
(``HfApi.repo_info``, ``snapshot_download``, ``hf_hub_download``) calls, serving repositories
from a local folder, so the download stage runs its real code with ``HF_ENDPOINT`` pointing here.

``root`` is laid out as a mirror (``{root}/models/{org}/{name}/{rev}/``, ``{root}/datasets/...``,
e.g. a fixture mirror of tests/hub_mirror.py): each revision folder is served as that branch
(``refs--convert--parquet`` as ``refs/convert/parquet``) at one commit; every request is logged
(method, path).
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

KINDS = {"models": "models", "datasets": "datasets"}


def commit_of(repo: str, revision: str = "main") -> str:
    return hashlib.sha1(f"stand-in {repo}@{revision}".encode()).hexdigest()


class HubStandIn:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    def _repo(self, kind: str, repo: str, rev: str) -> tuple[Path, str] | None:
        """(folder, commit) of ``repo`` at a branch or commit, None if not served."""
        base = self.root / kind / repo
        for folder in sorted(base.iterdir()) if base.is_dir() else []:
            branch = folder.name.replace("--", "/")
            if rev in (branch, commit_of(repo, branch)):
                return folder, commit_of(repo, branch)
        return None

    def _files(self, folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file())

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, obj):
                self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})

            def _not_found(self, what: str):
                self._send(
                    404, json.dumps({"error": what}).encode(), {"X-Error-Code": "RepoNotFound"}
                )

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                path = urlsplit(self.path).path
                stand_in.requests.append((self.command, unquote(path)))
                parts = [unquote(p) for p in path.strip("/").split("/")]
                if parts[0] == "api" and len(parts) >= 6:  # api/{kind}/{org}/{name}/{op}/{rev}
                    kind, repo, op, rev = parts[1], "/".join(parts[2:4]), parts[4], parts[5]
                    found = stand_in._repo(kind, repo, rev)
                    if found is None or kind not in KINDS:
                        return self._not_found(f"{kind} {repo}@{rev}")
                    folder, commit = found
                    files = stand_in._files(folder)
                    if op == "revision":
                        siblings = [
                            {"rfilename": str(f.relative_to(folder)), "size": f.stat().st_size}
                            for f in files
                        ]
                        return self._json(
                            {"id": repo, "sha": commit_of(repo), "siblings": siblings}
                        )
                    if op == "tree":
                        return self._json(
                            [
                                {
                                    "type": "file",
                                    "path": str(f.relative_to(folder)),
                                    "size": f.stat().st_size,
                                    "oid": hashlib.sha1(f.read_bytes()).hexdigest(),
                                }
                                for f in files
                            ]
                        )
                    return self._not_found(op)
                # file download: [datasets/]{org}/{name}/resolve/{rev}/{file...}
                kind = "datasets" if parts[0] == "datasets" else "models"
                parts = parts[1:] if kind == "datasets" else parts
                if len(parts) < 5 or parts[2] != "resolve":
                    return self._not_found(path)
                repo, rev, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                found = stand_in._repo(kind, repo, rev)
                file = found[0] / name if found else None
                if file is None or not file.is_file():
                    return self._send(404, b"", {"X-Error-Code": "EntryNotFound"})
                body = file.read_bytes()
                self._send(
                    200,
                    body,
                    {
                        "X-Repo-Commit": found[1],
                        "ETag": f'"{hashlib.sha256(body).hexdigest()}"',
                    },
                )

        return Handler
