"""The exporter engine: checkpoint -> GGUF (`apr export`), quality gates (`apr qa`), throughput (`apr bench`).

Modules: layout (the GGUF<->HF table shared with `apr import`), tokmeta, gguf_writer, readback,
engine (+ mutants), qa, bench, parity (llama.cpp oracle), fixtures, cli, plugin, protocol.
Heavy libraries are imported inside functions.
"""
