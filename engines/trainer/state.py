"""The training state beside each intermediate checkpoint: step, tokens seen, optimizer state.

Written with ``torch.save`` and read back with ``torch.load(weights_only=True)``, so `--resume`
never unpickles arbitrary objects: a state file is data from disk, and a tampered or foreign one
must not run code. What is stored is therefore only tensors and plain containers and scalars
(an AdamW ``state_dict`` is exactly that; batches depend on (seed, step) alone, so no RNG state
is needed). A file that cannot be read that way is refused, naming it and saying what to do;
there is deliberately no fallback to a full unpickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apr_contracts.atomic import atomic_path
from engines.errors import AprError

STATE_FILE = "trainer_state.pt"
_PLAIN = (str, int, float, bool, type(None))


@dataclass
class TrainerState:
    step: int
    tokens_seen: int
    optimizer: dict[str, Any]


def _check_plain(value: Any, where: str) -> None:
    """Refuse, at save time, anything ``weights_only`` loading would refuse at resume time."""
    import torch

    if isinstance(value, (torch.Tensor, *_PLAIN)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, where)
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    else:
        raise TypeError(f"training state {where} is a {type(value).__name__}: only tensors, dicts, lists, "
                        "tuples and plain scalars can be resumed with weights_only=True")


def save_state(path: Path, state: TrainerState) -> None:
    import torch

    data = {"step": int(state.step), "tokens_seen": int(state.tokens_seen), "optimizer": state.optimizer}
    _check_plain(data, "state")
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def load_state(path: Path) -> TrainerState:
    import pickle

    import torch

    redo = (f"remove {path.parent} to resume from the checkpoint before it, or start over without --resume "
            "(with --force); never load a state file you did not write yourself with weights_only=False")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # what weights_only=True raises for a class or a callable
        raise AprError(f"{path}: refusing to resume from this training state: it holds objects other than "
                       f"tensors and plain values ({str(exc).splitlines()[0]})", hint=redo) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:  # truncated, not a torch file
        raise AprError(f"{path}: cannot read this training state ({exc})", hint=redo) from exc
    ok = (isinstance(data, dict) and isinstance(data.get("step"), int) and isinstance(data.get("tokens_seen"), int)
          and isinstance(data.get("optimizer"), dict))
    if not ok:
        raise AprError(f"{path}: not a training state written by `apr pretrain` (expected step, tokens_seen "
                       "and optimizer)", hint=redo)
    return TrainerState(data["step"], data["tokens_seen"], data["optimizer"])
