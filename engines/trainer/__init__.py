"""The trainer engine: a Llama/Qwen2-family decoder in plain PyTorch, its gates, loop and checkpoints.

Light at import time: only :mod:`engines.trainer.config`, :mod:`engines.trainer.params`,
:mod:`engines.trainer.preflight`, :mod:`engines.trainer.chinchilla`, the protocol and the
plugin import without torch. ``model``, ``train``, ``checkpoint`` and ``importer`` import
torch / safetensors / gguf (inside functions where it matters for `apr --help`).
"""
