"""Deliberately broken tokenizer engines ("mutants"): each has one realistic defect and otherwise works.

They exist so that every falsifier can be shown to fail (FALSIFIED) against an engine that is
wrong in the way the falsifier's claim forbids. None of them merely raises: each exits 0 (or
fails exactly where the real engine would) while producing a wrong result. Each is registered
once, in the table of :mod:`engines.tokenizer.plugin` (name -> ``.submodule:Class``, imported
when first built), so this package lists nothing. The families:

* :mod:`.core` -- import-hf, and encode-corpus's shards, resume, verify and fast path;
* :mod:`.shards` -- repair-manifest and the shard format;
* :mod:`.parallel` -- encode-corpus's workers, progress lines, --estimate-only and Parquet input.
"""
