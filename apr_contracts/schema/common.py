"""Shared building blocks of the contract models.

The models describe what real contracts contain, not an ideal: every section keeps
unknown keys (``extra="allow"``) so that nothing is silently dropped, and types are
as wide as the contracts in the wild (versions written as strings, floats or
integers; dates quoted or not). Which keys are *unknown* is reported by the
validator (PV-SCHEMA-003), not by refusing the file.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _version_text(value: Any) -> Any:
    # `version: 1.10` is read by YAML as the float 1.1; the author's text is lost either
    # way, so keep what str() gives and let PV-VERSION-001 judge the shape.
    if isinstance(value, bool):
        return value  # a bool is not a version: let pydantic report the type
    if isinstance(value, int | float):
        return str(value)
    return value


Version = Annotated[str, BeforeValidator(_version_text)]
DateLike = str | _dt.datetime | _dt.date
Text = str
StrList = list[str]


class Section(BaseModel):
    """Base of every contract section: unknown keys are kept, never dropped."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)
