"""The MLP activation is the config's ``hidden_act``, run through the engine's kernels; transformers computes the
same logits for every supported name; names we cannot run are refused, by the config and by the GGUF export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from engines.trainer.activations import ACTIVATIONS
from engines.trainer.config import ConfigError, from_hf_config, tiny
from engines.trainer.engine import TorchTrainer

SMALL = tiny().replace(vocab_size=300, num_hidden_layers=2)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_logits_match_transformers_for_every_hidden_act(act: str) -> None:
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = SMALL.replace(hidden_act=act)
    ours = TorchTrainer().build_model(cfg, seed=3)
    hf_cfg = {k: v for k, v in cfg.to_hf_config().items() if k != "architectures"}
    assert hf_cfg["hidden_act"] == act
    hf = AutoModelForCausalLM.from_config(AutoConfig.for_model(**hf_cfg), attn_implementation="sdpa")
    hf.load_state_dict(ours.state_dict(), strict=True)
    ids = torch.randint(0, cfg.vocab_size, (2, 17), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(ids) - hf(ids).logits).abs().max().item()
    assert diff <= 1e-5, f"{act}: max |Δlogit| {diff}"


def test_the_model_runs_the_engines_kernel() -> None:
    """A broken engine's kernel is the one in the model: the MLP output changes with it."""
    calls: list[Any] = []

    class Spy(TorchTrainer):
        def gelu(self, x: Any, *, approximate: str = "none") -> Any:
            calls.append(approximate)
            return super().gelu(x, approximate=approximate)

    model = Spy().build_model(SMALL.replace(hidden_act="gelu_pytorch_tanh"))
    model(torch.zeros(1, 4, dtype=torch.long))
    assert calls == ["tanh", "tanh"]  # once per layer


def test_silu_and_gelu_models_differ_with_the_same_weights() -> None:
    ids = torch.arange(8)[None]
    a = TorchTrainer().build_model(SMALL, seed=1)
    b = TorchTrainer().build_model(SMALL.replace(hidden_act="gelu"), seed=1)
    with torch.no_grad():
        assert not torch.allclose(a(ids), b(ids))


def test_hidden_act_round_trips_through_config_json() -> None:
    for act in ACTIVATIONS:
        cfg = SMALL.replace(hidden_act=act)
        assert from_hf_config(cfg.to_hf_config()) == cfg


def test_an_unsupported_hidden_act_is_refused_with_the_choices() -> None:
    hf = SMALL.to_hf_config() | {"hidden_act": "mish"}
    with pytest.raises(ConfigError) as err:
        from_hf_config(hf, source="init/config.json")
    assert "mish" in err.value.message and "init/config.json" in err.value.message
    assert "gelu_pytorch_tanh" in err.value.hint
    with pytest.raises(ValueError, match="mish"):
        SMALL.replace(hidden_act="mish")
    with pytest.raises(ValueError, match="approximate"):
        TorchTrainer().gelu(torch.zeros(1), approximate="sigmoid")


def test_gguf_export_refuses_a_non_silu_model() -> None:
    """llama.cpp's llama/qwen2 graphs run SiLU whatever the config says: exporting a GELU model would lie."""
    from engines.exporter.layout import LayoutError, hparams_from_config

    assert hparams_from_config(SMALL.to_hf_config()).arch == "qwen2"
    with pytest.raises(LayoutError, match="hidden_act='gelu'"):
        hparams_from_config(SMALL.replace(hidden_act="gelu").to_hf_config())


def test_half_precision_inputs_keep_their_dtype_and_accuracy() -> None:
    x = torch.linspace(-6, 6, 101)
    for dtype in (torch.bfloat16, torch.float16):
        y = TorchTrainer().gelu(x.to(dtype))
        assert y.dtype == dtype
        assert torch.allclose(y.float(), torch.nn.functional.gelu(x.double()).float(), atol=2e-2, rtol=1e-2)


def test_the_config_module_does_not_import_torch() -> None:
    """pv validate imports the config (and so the activation names): torch must stay out."""
    code = "import sys, engines.trainer.config, engines.trainer.alibi; sys.exit('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], check=False)
    assert proc.returncode == 0
