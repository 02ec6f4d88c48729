"""`apr pretrain --synthetic` data and the Chinchilla gate's exemptions (no torch needed)."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from engines.trainer import chinchilla
from engines.trainer.synthetic import ALPHABET, planned_count, synthetic_tokens, write_shards


def test_tokens_are_a_counting_pattern_with_eos() -> None:
    ids = synthetic_tokens(5000, 2001, 0, seed=3)
    assert ids.dtype == np.dtype("<u4") and ids.size == 5000
    assert np.array_equal(ids, synthetic_tokens(5000, 2001, 0, seed=3))  # seed-determined
    assert not np.array_equal(ids, synthetic_tokens(5000, 2001, 0, seed=4))
    docs = np.split(ids, np.flatnonzero(ids == 0) + 1)
    alphabet = [i for i in range(ALPHABET) if i != 0]
    for doc in docs[:-1]:
        body = [alphabet.index(int(t)) for t in doc[:-1]]
        assert 16 <= len(body) <= 128
        assert all((b - a) % len(alphabet) == 1 for a, b in pairwise(body))


def test_small_vocab_and_no_eos() -> None:
    ids = synthetic_tokens(300, 10, None, seed=0)
    assert ids.max() < 10
    with pytest.raises(ValueError, match="no alphabet"):
        synthetic_tokens(10, 1, 0, seed=0)


def test_planned_count_bounds() -> None:
    assert planned_count(1, 1, 8, 0) == 16_384
    assert planned_count(10**6, 64, 2048, 0) == 4_000_000
    assert planned_count(100, 4, 63, 1000) == 100 * 4 * 64 + 2000


def test_write_shards_manifest() -> None:
    ids = synthetic_tokens(1000, 2001, 5, seed=0)
    dest = write_shards(ids, 2001, 5)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["tokens"] == 1000 and manifest["eos_id"] == 5 and manifest["documents"] == int((ids == 5).sum())
    assert np.array_equal(np.fromfile(dest / "shard-00000.bin", dtype="<u4"), ids)


@pytest.mark.parametrize(("synthetic", "has_init", "steps", "exempt"), [
    (True, False, 10, True),  # smoke run without --init
    (True, True, 10, False),  # synthetic fine-tune: N is the init's, gate applies
    (False, False, 10, False),  # real from-scratch run: gated (N is exact from --arch)
    (False, True, 10, False),
    (False, True, 0, True),  # zero steps: nothing to train
    (False, True, 1, False),  # one step: gated
])
def test_exemption(synthetic: bool, has_init: bool, steps: int, exempt: bool) -> None:
    reason = chinchilla.exemption(synthetic=synthetic, has_init=has_init, steps=steps)
    assert (reason is not None) is exempt
    if reason:
        decision = chinchilla.exempt(1000, steps, 64, reason)
        assert decision.verdict == "exempt" and reason in decision.message
        chinchilla.enforce(decision)  # never refuses
