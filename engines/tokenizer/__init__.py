"""Tokenizer engine: import-hf, encode-corpus, verify-shards; `load.load_tokenizer` for other engines."""
