"""Falsifiers of the reference contract data-feed-v1 (FALSIFY-ALM-*, alimentar/): the data-feed record and config
format.

Our data feed is the shard folder `apr tokenize encode-corpus` writes and `apr pretrain` reads:
records are documents of token ids serialized as little-endian uint32 (``to_bytes`` = the
encode-corpus shard writer, ``from_bytes`` = the trainer engine's shard reader, ``open_shards``),
and the config is the folder's ``manifest.json`` (``TrainerEngine.read_manifest``).

* ALM-001 (round trip of every supported value) is read as: documents whose ids cover the whole
  uint32 range — 0, byte/short/sign-bit boundaries, 2^32 - 1, random ids — and lengths 0, 1 and
  many, written by the encode-corpus writer across several shards, come back from the trainer's
  reader identical and in order; writing them twice gives identical bytes. uint32 ids are the one
  value type the feed carries (no floats or strings reach the trainer).
* ALM-002 (a config missing a required field is refused naming it) is read as: a manifest without
  ``shards``, without an entry's ``file`` or without an entry's ``tokens`` is refused by the trainer,
  the message naming that field; the complete manifest, and one without the optional ``dtype`` /
  ``eos_id``, are accepted.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from apr_contracts import RunContext, Verdict, falsifier, hookimpl

EDGE_IDS = (0, 1, 127, 128, 255, 256, 65_535, 65_536, 2**24, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1)


def _documents(ctx: RunContext) -> list[list[int]]:
    rng = ctx.rng()
    docs: list[list[int]] = [[], list(EDGE_IDS), [2**32 - 1], [0], []]
    docs += [[rng.randrange(2**32) for _ in range(rng.randrange(1, 40))] for _ in range(int(ctx.params.get("docs", 30)))]
    docs.append(list(reversed(EDGE_IDS)))
    return docs


def _write(folder: Path, docs: list[list[int]], *, shard_tokens: int = 64) -> dict[str, Any]:
    """The documents through encode-corpus's shard writer (rotating shards) + a manifest; returns the manifest."""
    import numpy as np

    from engines.tokenizer.shards import ShardWriter

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    writer = ShardWriter(folder, shard_tokens)
    records: list[dict[str, Any]] = []
    for doc in docs:
        records += writer.add([np.asarray(doc, dtype=np.uint32)])
    if writer.documents:
        records.append(writer.flush())
    manifest = {"dtype": "uint32-le", "eos_id": None, "tokens": sum(len(d) for d in docs), "documents": len(docs),
                "shards": records}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


@falsifier("FALSIFY-ALM-001", level="algorithm", engines=["trainer"])
def shard_round_trip(ctx: RunContext) -> Verdict:
    """from_bytes(to_bytes(docs)) == docs over the uint32 range, across shard boundaries; to_bytes deterministic."""
    docs = _documents(ctx)
    first = _write(ctx.workspace / "a", docs)
    second = _write(ctx.workspace / "b", docs)
    shards = ctx.engine("trainer").open_shards([str(ctx.workspace / "a")])
    back = [int(x) for array in shards.arrays for x in array]
    sent = [x for doc in docs for x in doc]
    measured = {"documents": len(docs), "ids": len(sent), "shards": len(first["shards"])}
    if len(first["shards"]) < 2:
        raise RuntimeError("the fixture must span several shards")
    if back != sent:
        at = next((i for i, (a, b) in enumerate(zip(sent, back, strict=False)) if a != b), min(len(sent), len(back)))
        return ctx.falsified(f"id {at}: wrote {sent[at] if at < len(sent) else 'nothing'}, the trainer read "
                             f"{back[at] if at < len(back) else 'nothing'} ({len(sent)} ids written, {len(back)} read)",
                             counterexample={"index": at, "written": sent[at:at + 3], "read": back[at:at + 3]},
                             measured=measured)
    digests = [[r["sha256"] for r in m["shards"]] for m in (first, second)]
    if digests[0] != digests[1]:
        return ctx.falsified("writing the same documents twice gave different shard bytes",
                             counterexample=digests, measured=measured)
    return ctx.held(f"{len(sent)} ids in {len(docs)} documents (0 .. 2^32-1, empty ones included) round-tripped "
                    f"through {len(first['shards'])} shards; bytes deterministic", measured=measured)


# (label, how to remove it from a manifest dict) for each field the trainer requires.
REQUIRED: tuple[tuple[str, Any], ...] = (
    ("shards", lambda m: m.pop("shards")),
    ("shards[1].file", lambda m: m["shards"][1].pop("file")),
    ("shards[1].tokens", lambda m: m["shards"][1].pop("tokens")),
)
OPTIONAL: tuple[tuple[str, Any], ...] = (
    ("dtype", lambda m: m.pop("dtype")),
    ("eos_id", lambda m: m.pop("eos_id")),
)


def _open_with(ctx: RunContext, folder: Path, manifest: dict[str, Any]) -> str | None:
    """None when the trainer accepts the folder with this manifest, else its error message."""
    from engines.errors import AprError

    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        ctx.engine("trainer").open_shards([str(folder)])
    except AprError as exc:
        return str(exc)
    return None


@falsifier("FALSIFY-ALM-002", level="algorithm", engines=["trainer"])
def manifest_required_fields(ctx: RunContext) -> Verdict:
    """Each required manifest field omitted in turn: refused, naming it; complete / optional-less manifests accepted."""
    folder = ctx.workspace / "feed"
    complete = _write(folder, _documents(ctx))
    if len(complete["shards"]) < 2:
        raise RuntimeError("the fixture must have at least two shards")
    problems = []
    if (msg := _open_with(ctx, folder, complete)) is not None:
        problems.append(f"the complete manifest was refused: {msg}")
    for label, drop in OPTIONAL:
        manifest = copy.deepcopy(complete)
        drop(manifest)
        if (msg := _open_with(ctx, folder, manifest)) is not None:
            problems.append(f"without the optional {label!r}: refused ({msg.splitlines()[0]})")
    refused = {}
    for label, drop in REQUIRED:
        manifest = copy.deepcopy(complete)
        drop(manifest)
        msg = _open_with(ctx, folder, manifest)
        refused[label] = msg is not None
        if msg is None:
            problems.append(f"without the required {label!r}: accepted (silently defaulted)")
        elif f"'{label}'" not in msg or str(folder / "manifest.json") not in msg:
            problems.append(f"without {label!r}: refused, but the message does not name the field and the file: "
                            f"{msg.splitlines()[0]}")
    measured = {"required_fields": len(REQUIRED), "refused": sum(refused.values())}
    if problems:
        return ctx.falsified("; ".join(problems), counterexample=problems[0], measured=measured)
    return ctx.held(f"each of {', '.join(label for label, _ in REQUIRED)} omitted: refused naming it; complete "
                    "manifest and one without dtype / eos_id accepted", measured=measured)


CONTRACT = "data-feed-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(sys.modules[__name__], contract=CONTRACT)
