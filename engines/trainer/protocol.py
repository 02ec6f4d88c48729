"""The trainer engine kind: what any implementation must offer (light module, no heavy imports).

A falsifier gets an engine with ``ctx.engine("trainer")``; `apr pretrain/import/inspect` get
the same object through :func:`engines.cli.engine_for` (hidden ``--engine-impl trainer=NAME``),
so every decision the command makes — architecture, gates, attention, initialisation, import,
learning-rate schedule — goes through these members and a swapped-in engine is tested by the
same falsifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engines.trainer.chinchilla import GateDecision
    from engines.trainer.config import ArchConfig
    from engines.trainer.importer import ImportResult
    from engines.trainer.preflight import VocabCheck


@runtime_checkable
class TrainerEngine(Protocol):
    name: str  # the registered name

    def preset(self, name: str) -> ArchConfig:
        """A named architecture (``tiny``, ``default``, ``qwen2-0.5b``)."""
        ...

    def resolve_arch(self, arch: str | None, vocab_size: int | None = None) -> ArchConfig:
        """``--arch`` (preset or config.json; None = the from-scratch default) + ``--vocab-size``."""
        ...

    def config_from_hf(self, config: dict[str, Any], source: str = "config.json") -> ArchConfig:
        """Strict extraction from an HF config dict: every field read, encoders refused."""
        ...

    def config_from_init(self, init: Path) -> ArchConfig:
        """The architecture of an init checkpoint dir / config.json / GGUF, without reading weights."""
        ...

    def count_parameters(self, config: ArchConfig) -> int:
        """Exact N, tied head counted once, no allocation."""
        ...

    def planned_tokens(self, steps: int, batch_size: int, seq_length: int, *, grad_accum: int = 1,
                       world_size: int = 1) -> int:
        """D = steps x (batch x processes x grad-accum) x seq."""
        ...

    def chinchilla(self, n_params: int, steps: int, tokens_per_step: int, *, force: bool = False) -> GateDecision:
        """The Chinchilla decision (ok / warn / refuse / forced) for a planned run."""
        ...

    def chinchilla_exemption(self, *, synthetic: bool, has_init: bool, steps: int) -> str | None:
        """Why the gate does not apply (a --synthetic run without --init, zero steps), or None."""
        ...

    def resolve_init(self, init: Path | None) -> Path | None:
        """``--init`` as given; a missing path is refused (exit 2), never replaced by a random init."""
        ...

    def init_optimizer_state(self, init: Path) -> dict[str, Any] | None:
        """Optimizer state a fine-tune from ``init`` starts with (None: fresh; only weights are inherited)."""
        ...

    def synthetic_tokens(self, count: int, vocab_size: int, eos_id: int | None, seed: int) -> Any:
        """``--synthetic`` data: ``count`` uint32 ids of a learnable pattern, EOS-delimited, seed-determined."""
        ...

    def check_vocab(self, tokenizer_vocab: int, model_vocab: int, *, init: bool, tokenizer: str = "") -> VocabCheck:
        """Preflight vocab gate; raises PreflightError naming the falsifier id."""
        ...

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        """Causal GQA attention: q [B,H,T,D], k/v [B,KV,T,D] -> [B,H,T,D]."""
        ...

    def gqa_attention(self, q: Any, k: Any, v: Any) -> Any:
        """:meth:`attention` after refusing shapes that do not fit and H % KV != 0 (HeadRatioError)."""
        ...

    def attention_weights(self, q: Any, k: Any) -> Any:
        """The causal softmax weights [B, H, T, S] :meth:`attention` applies to V."""
        ...

    def sinusoidal_positions(self, positions: Any, dim: int, *, base: float = 10_000.0) -> Any:
        """Sinusoidal absolute position encoding PE(pos) [..., dim] for integer or real positions."""
        ...

    def add_positions(self, token_embed: Any, pos_table: Any, positions: Any = None) -> Any:
        """Additive absolute position embedding; positions outside [0, len(pos_table)) are refused."""
        ...

    def gelu(self, x: Any, *, approximate: str = "none") -> Any:
        """GELU of a tensor: exact x·Φ(x) or (``approximate="tanh"``) the tanh approximation."""
        ...

    def silu(self, x: Any) -> Any:
        """SiLU (swish) x·σ(x) of a tensor."""
        ...

    def relu(self, x: Any) -> Any:
        """ReLU max(0, x) of a tensor (+0.0, never -0.0, for x <= 0)."""
        ...

    def leaky_relu(self, x: Any, *, negative_slope: float = 0.01) -> Any:
        """Leaky ReLU: x where x >= 0, negative_slope·x where x < 0."""
        ...

    def activation(self, name: str) -> Any:
        """The MLP activation for an HF ``hidden_act`` name, built from the kernels above."""
        ...

    def alibi_slopes(self, n_heads: int, *, max_bias: float = 8.0) -> list[float]:
        """ALiBi slopes, head 0 first: m0^(h+1) with m0 = 2^(-max_bias/p) (p = largest power of two <= n),
        interleaved m1^(2(h-p)+1) for the heads past p (ggml's rule)."""
        ...

    def alibi_bias(self, n_heads: int, seq_len: int, *, max_bias: float = 8.0, dtype: Any = None) -> Any:
        """ALiBi's additive attention bias [H, T, T] = -slope[h]·|i - j|."""
        ...

    def build_model(self, config: ArchConfig, *, seed: int = 0) -> Any:
        """A freshly initialised CausalLM (HF parameter names) using :meth:`attention` and :meth:`activation`."""
        ...

    def load_init(self, model: Any, init: Path, *, device: str) -> dict[str, Any]:
        """Load init weights into ``model`` (``device`` is what the user asked for); returns facts."""
        ...

    def import_model(self, source: Path, output: Path, *, force: bool = False) -> ImportResult:
        """`apr import`: HF dir or GGUF -> checkpoint directory."""
        ...

    def lr_factor(self, step: int, *, warmup: int, total: int | None, min_ratio: float) -> float:
        """Multiplier of --lr at 0-based ``step``: linear warm-up then cosine to ``min_ratio`` over ``total``
        optimizer steps (``total`` None: constant after warm-up)."""
        ...

    def learning_rate(self, step: int, *, lr_max: float, warmup: int, total: int | None,
                      min_ratio: float = 0.0) -> float:
        """``lr_max`` x :meth:`lr_factor`: the lr optimizer ``step`` trains with."""
        ...

    def lr_horizon(self, num_steps: int, grad_accum: int) -> int:
        """The cosine horizon of a run: the number of optimizer steps it takes."""
        ...

    def set_lr(self, optimizer: Any, lr: float) -> None:
        """Give every parameter group of ``optimizer`` this step's lr."""
        ...

    def read_manifest(self, path: Path) -> Any:
        """A shard folder's manifest.json (engines.trainer.feed.ShardManifest); missing required fields refused."""
        ...

    def open_val_shards(self, specs: Any, seq_length: int) -> Any:
        """``--val-shards`` as a ShardSet; refused naming the path when it yields no window."""
        ...

    def held_out(self, shards: Any, val: Any, *, seq_length: int, max_tokens: int, eos_id: int | None) -> Any:
        """Training ranges + validation windows (engines.trainer.validation.HeldOut)."""
        ...
