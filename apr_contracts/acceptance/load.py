"""Reading acceptance files: recognized by the loader's file discovery, located like contracts.

``apr_contracts.loader.load_file`` hands a YAML mapping here when it has a top-level
``acceptance:`` key and no contract section. The products and criteria are extracted
tolerantly from the raw data (one malformed criterion is a finding, not a lost file),
each with the key path that locates it for file:line:column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from yaml.nodes import Node

from apr_contracts.schema.acceptance import AcceptanceFile
from apr_contracts.schema.yamlsrc import SourceDoc, compose_root, locate

if TYPE_CHECKING:
    from apr_contracts.loader import LoadResult

ACCEPTANCE_MARKER = "acceptance"
PathKey = tuple[str | int, ...]


@dataclass
class CriterionEntry:
    id: str
    product: str
    title: str | None
    weight: float
    live: bool
    falsifiers: list[tuple[int, str]]  # (index in the `falsifiers:` list, falsifier id)
    contracts: list[tuple[int, str]]  # (index in the `contracts:` list, contract id)
    path: PathKey


@dataclass
class StatusEntry:
    """A product's hand-typed ``status: {count, of, ids}`` (None where a value is not usable)."""

    count: int | None
    of: int | None
    ids: list[str]
    path: PathKey


@dataclass
class ProductEntry:
    id: str
    title: str | None
    criteria: list[CriterionEntry]
    status: StatusEntry | None
    path: PathKey


@dataclass
class LoadedAcceptance:
    path: Path
    id: str
    version: str | None
    products: list[ProductEntry]
    raw: dict[str, Any]
    model: AcceptanceFile | None  # None when the file has schema errors
    root: Node | None = field(default=None, repr=False)
    text: str = field(default="", repr=False)

    def position(self, path: PathKey, key: bool = False) -> tuple[int, int]:
        if self.root is None and self.text:
            self.root = compose_root(self.text)
        return locate(self.root, path, key)

    def line_of(self, path: PathKey, key: bool = False) -> int:
        return self.position(path, key)[0]

    def release_nodes(self) -> None:
        self.root = None


def is_acceptance(data: dict[str, Any]) -> bool:
    return ACCEPTANCE_MARKER in data


def load_acceptance(path: Path, doc: SourceDoc, result: LoadResult) -> None:
    """Append the acceptance file in ``doc`` (and its schema findings) to ``result``."""
    from apr_contracts.loader import _issue, schema_issues
    from apr_contracts.schema.known_keys import unknown_keys_with_suggestions

    data: dict[str, Any] = doc.data
    header = data.get(ACCEPTANCE_MARKER)
    header = header if isinstance(header, dict) else {}
    ident = _text(header.get("id")) or path.stem
    version = header.get("version")
    loaded = LoadedAcceptance(
        path=path, id=ident, version=None if version is None or isinstance(version, bool) else str(version),
        products=list(_products(data)), raw=data, model=None, root=doc.root, text=doc.text,
    )
    try:
        loaded.model = AcceptanceFile.model_validate(data)
    except ValidationError as exc:
        result.issues.extend(schema_issues(loaded, exc))
    for where, name, suggestion in unknown_keys_with_suggestions(data, AcceptanceFile):
        line, col = loaded.position((*where, name), key=True)
        dotted = ".".join(str(p) for p in where) or "top level"
        mean = f"; did you mean `{suggestion}`?" if suggestion else ""
        rename = f"rename it to `{suggestion}`" if suggestion else "rename it to a known key (`pv schema --kind acceptance`)"
        result.issues.append(_issue("PV-SCHEMA-003", path, line, col, f"unknown key `{name}` in {dotted}{mean}",
                                    f"{rename} or suppress it with `# pv: ignore[PV-SCHEMA-003]`"))
    result.acceptance.append(loaded)


def _products(data: dict[str, Any]) -> list[ProductEntry]:
    out: list[ProductEntry] = []
    products = data.get("products")
    for i, p in enumerate(products if isinstance(products, list) else []):
        pid = _text(p.get("id")) if isinstance(p, dict) else None
        if pid is None or not isinstance(p, dict):
            continue  # reported by the schema check; nothing to derive for it
        criteria = []
        raw_criteria = p.get("criteria")
        for j, c in enumerate(raw_criteria if isinstance(raw_criteria, list) else []):
            cid = _text(c.get("id")) if isinstance(c, dict) else None
            if cid is None or not isinstance(c, dict):
                continue
            weight = c.get("weight", 1)
            usable = isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0
            criteria.append(CriterionEntry(
                id=cid, product=pid, title=_text(c.get("title")), weight=float(weight) if usable else 1.0,
                live=c.get("live") is True, falsifiers=_ids(c.get("falsifiers")), contracts=_ids(c.get("contracts")),
                path=("products", i, "criteria", j),
            ))
        out.append(ProductEntry(pid, _text(p.get("title")), criteria, _status(p.get("status"), ("products", i, "status")),
                                ("products", i)))
    return out


def _status(value: Any, path: PathKey) -> StatusEntry | None:
    if not isinstance(value, dict):
        return None

    def number(v: Any) -> int | None:
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None

    ids = value.get("ids")
    return StatusEntry(number(value.get("count")), number(value.get("of")),
                       [str(x).strip() for x in ids] if isinstance(ids, list) else [], path)


def _ids(value: Any) -> list[tuple[int, str]]:
    if isinstance(value, str):  # `falsifiers: FALSIFY-X` is one id, not a list of letters
        value = [value]
    return [(i, t) for i, v in enumerate(value if isinstance(value, list) else []) if (t := _text(v))]


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
