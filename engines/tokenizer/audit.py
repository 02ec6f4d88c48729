"""The audit: a spread of documents from the whole corpus re-encoded by `tokenizers` during the run.

The start-up check compares a fast backend with `tokenizers` on the first ~128 KB of the
corpus. The audit extends that comparison to the rest of it: one document in
``--audit-every`` (default 128; of at most ``AUDIT_DOC_CHARS`` characters) and the first
document of every shard go to the reference process, and the ids it returns are compared
with the ids written to the shard. A single difference fails the run before
manifest.json is written, naming the document's file:line; the partial output is not
resumable (the state file is removed), since every shard written with that backend is
suspect. The manifest records what was audited.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import AprError
from engines.tokenizer.reference import Answer, ReferenceProcess

AUDIT_DOC_CHARS = 64 << 10  # audited documents are at most 64K characters (the reference runs at ~1.5 M tok/s)
AUDIT_BATCH = 4  # documents per request to the reference process (small: a short wait at the end)


class AuditMismatch(AprError):
    """The fast backend's ids differ from `tokenizers`' on an audited document."""


@dataclass
class Audit:
    reference: ReferenceProcess
    compute_in_process: Any  # texts -> list of id lists, when the reference process cannot answer
    backend_name: str
    output: Path
    every: int = 128
    documents: int = 0
    characters: int = 0
    mismatches: list[str] = field(default_factory=list)
    _batch: list[tuple[str, str, Any]] = field(default_factory=list)  # (where, text, ids written)
    _sent: list[tuple[list[tuple[str, str, Any]], Future[Answer]]] = field(default_factory=list)

    def wants(self, index: int, text: str, *, first_in_shard: bool) -> bool:
        return len(text) <= AUDIT_DOC_CHARS and (first_in_shard or index % self.every == 0)

    def offer(self, where: str, text: str, ids: Any) -> None:
        """Queue one written document (``ids`` as written, EOS excluded) for comparison."""
        self._batch.append((where, text, ids))
        if len(self._batch) >= AUDIT_BATCH:
            self._send()

    def _send(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._sent.append((batch, self.reference.ask([text for _w, text, _i in batch])))
            self._compare_ready()

    def _compare_ready(self) -> None:
        while self._sent and self._sent[0][1].done():
            self._compare(*self._sent.pop(0))
        self._raise_on_mismatch()  # as soon as one is known: no need to encode the rest

    def _compare(self, batch: list[tuple[str, str, Any]], answer: Future[Answer]) -> None:
        expected = answer.result()
        if expected is None:
            expected = self.compute_in_process([text for _w, text, _i in batch])
        for (where, text, ids), reference in zip(batch, expected, strict=True):
            self.documents += 1
            self.characters += len(text)
            if ids.tolist() != list(reference):
                self.mismatches.append(where)

    def finish(self) -> dict[str, Any]:
        """Compare everything still pending; raise on any mismatch; the manifest's summary otherwise."""
        self._send()
        self.reference.close()
        while self._sent:
            self._compare(*self._sent.pop(0))
        self._raise_on_mismatch()
        return {"reference": "tokenizers", "documents": self.documents, "characters": self.characters,
                "mismatches": 0, "every": self.every}

    def _raise_on_mismatch(self) -> None:
        if self.mismatches:
            raise AuditMismatch(
                f"the {self.backend_name} backend's ids differ from tokenizers' on {len(self.mismatches)} audited "
                f"document(s), first at {self.mismatches[0]}; the shards in {self.output} are not trustworthy "
                "and no manifest.json was written",
                hint="re-run with --backend hf --force (and please report the document to the backend's authors)",
                falsifier="FALSIFY-TOK-ENCODE-CORPUS-008")
