"""apr_contracts.hashing: the one sha256 helper gives the digests the recorded evidence already holds."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from apr_contracts.hashing import CHUNK, sha256_bytes, sha256_file, sha256_text


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_file_digest_is_hashlib_over_the_whole_file_whatever_the_chunking(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    data = bytes(i * 31 % 251 for i in range(size))
    path.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == sha256_file(str(path)) == sha256_file(path, chunk=4096) == want
    assert sha256_bytes(data) == sha256_bytes(memoryview(data)) == want


def test_text_digest_is_of_its_utf8_bytes_unless_told() -> None:
    assert sha256_text("Grüße") == hashlib.sha256("Grüße".encode()).hexdigest()
    assert sha256_text("abc", encoding="ascii") == hashlib.sha256(b"abc").hexdigest()


def test_an_unreadable_file_raises_so_the_caller_picks_its_placeholder(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        sha256_file(tmp_path / "missing")
    from apr_contracts.fingerprint import file_sha256

    assert file_sha256(tmp_path / "missing") == "missing"  # the fingerprint's placeholder, unchanged


def test_importing_it_pulls_in_nothing_heavy() -> None:
    code = "import sys, apr_contracts.hashing; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
