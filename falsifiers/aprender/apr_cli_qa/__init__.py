"""Falsifiers of the reference contract apr-cli-qa-v1 (FALSIFY-QA-*): the `apr` command surface.

Read on our `apr` (engines/cli.py plus each engine's cli.py):

* ``surface`` — claims about the command set itself (001 --help everywhere, 005 version carries
  the checked-out commit, 007 --format json changes the output, 008 no phantom commands). They
  run the command in-process from the parser, so a broken `apr` can be handed in through
  ``params.apr_cli`` (a module with ``build_parser`` and ``main``).
* ``commands`` — claims about what model commands print (002 missing model, 003 valid JSON,
  004 no NaN/Inf, 006 exit-code honesty, 009 three input formats, 010 one architecture
  across commands), on tiny real checkpoints and GGUFs, through the real command.
* ``parity`` — 011-014: `apr qa`'s format-parity gate (engines/exporter/format_parity.py).
"""

from __future__ import annotations

from typing import Any

from apr_contracts import hookimpl
from falsifiers.aprender.apr_cli_qa import commands, parity, surface

CONTRACT = "apr-cli-qa-v1"  # the contract whose falsifier ids this family binds


@hookimpl
def apr_register_falsifiers(registry: Any) -> None:
    registry.add_module(surface, contract=CONTRACT)
    registry.add_module(commands, contract=CONTRACT)
    registry.add_module(parity, contract=CONTRACT)
