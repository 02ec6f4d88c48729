"""`tokenizers`' own ids, computed in a child process that serves a run from start to end.

encode-corpus checks a fast backend against Hugging Face `tokenizers` before it writes
anything (the start-up check) and re-encodes a spread of documents while it runs (the
audit, :mod:`engines.tokenizer.audit`). Building a large `tokenizers` object (Qwen2:
~0.3 s) holds the GIL, which would stall reading and writing in the encoding process;
in a child it takes the other core while the first chunks encode, and it is built once.

Protocol (``python -m engines.tokenizer.reference TOKENIZER_JSON SHA256``): one JSON line
per request on stdin (a list of texts), one JSON line per answer on stdout, in order:
``{"ids": [[...], ...]}`` or ``{"error": "..."}``. The sha256 makes sure the child reads
the very bytes the parent loaded. Any failure of the child resolves the pending answers
to None; callers then compute the ids in-process (same answer, slower start-up).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

Answer = list[list[int]] | None


class ReferenceProcess:
    """Client of one child process; :meth:`ask` returns a future of the ids (None if the child failed)."""

    def __init__(self, tokenizer: Path, sha256: str) -> None:
        self.sha256 = sha256  # of the bytes the child must find (compared by start_backend)
        env = {**os.environ, "RAYON_NUM_THREADS": "1"}  # the parent's threads already use the cores
        self._pending: deque[tuple[Future[Answer], int]] = deque()
        self._lock = threading.Lock()  # guards _pending and _failed
        self._write_lock = threading.Lock()  # keeps requests in the order of _pending
        self._failed = False
        try:
            self._proc: subprocess.Popen[str] | None = subprocess.Popen(
                [sys.executable, "-m", "engines.tokenizer.reference", str(tokenizer), sha256],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                encoding="utf-8", env=env)
        except OSError:
            self._proc, self._failed = None, True
            return
        self._reader = threading.Thread(target=self._read_answers, name="apr-reference", daemon=True)
        self._reader.start()

    def ask(self, texts: list[str]) -> Future[Answer]:
        future: Future[Answer] = Future()
        # Two locks: the answer reader must never wait for a writer blocked on a full pipe
        # (the child stops reading requests while its own answers are not read).
        with self._write_lock:
            with self._lock:
                if self._failed or self._proc is None or self._proc.stdin is None:
                    future.set_result(None)
                    return future
                self._pending.append((future, len(texts)))
            try:
                self._proc.stdin.write(json.dumps(texts) + "\n")
                self._proc.stdin.flush()
            except (OSError, ValueError):
                with self._lock:
                    self._fail_all()
        return future

    def close(self) -> None:
        """No more requests; answers already asked for still arrive."""
        if self._proc is not None and self._proc.stdin is not None:
            with self._write_lock, contextlib.suppress(OSError, ValueError):
                self._proc.stdin.close()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        with self._lock:
            self._fail_all()

    def _fail_all(self) -> None:  # with the lock held
        self._failed = True
        while self._pending:
            future, _ = self._pending.popleft()
            future.set_result(None)

    def _read_answers(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._lock:
                if not self._pending:
                    break
                future, count = self._pending.popleft()
            try:
                ids = json.loads(line).get("ids")
            except (ValueError, AttributeError):
                ids = None
            future.set_result(ids if isinstance(ids, list) and len(ids) == count else None)
        self._proc.wait()
        with self._lock:
            self._fail_all()  # the child ended: whatever is still pending gets no answer


def _serve(tokenizer: str, sha256: str) -> int:
    try:
        data = Path(tokenizer).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"{tokenizer} changed since it was loaded (sha256 differs)")
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # the parent falls back to computing in-process and reports from there
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    for line in sys.stdin:
        texts: list[Any] = json.loads(line)
        encodings = tok.encode_batch_fast([str(t) for t in texts], add_special_tokens=False)
        print(json.dumps({"ids": [e.ids for e in encodings]}, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_serve(*sys.argv[1:3]))
