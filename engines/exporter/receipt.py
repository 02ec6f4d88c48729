"""What makes an `apr bench` receipt evidence: the compute path it took, raw samples, honest comparisons.

* ``provenance.compute_class`` names the dispatch path the measurement TOOK (the device the
  model's weights and kernels ran on), derived at run time, never typed by the user; the
  ``feature_set`` lists what the runtime build can do. A class the build cannot reach (cuda
  without cuda compiled in) is refused.
* A comparison with a baseline receipt from another compute class may record its ratio but
  never arm a threshold on it (``comparability = cross-class-existence-only``).
* Each phase keeps its raw ``samples_ms``; ``n`` equals their count; more than one identical
  sample is not a timing distribution; the median must be recomputable from the samples.

The validator is believed only after it sorts its own case table (:meth:`ReceiptValidator.cases`)
exactly as declared, and the table has at least :data:`CASE_FLOOR` cases (`apr bench --check`).
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CLASSES = ("cpu", "cuda", "metal", "wgpu", "unknown")
FEATURE_GATED = ("cuda", "metal", "wgpu")  # a class a build reaches only with that feature compiled in
PROVENANCE_REQUIRED = ("compute_class", "feature_set")
SAME_CLASS, CROSS_CLASS, SINGLE_RUN = "same-class", "cross-class-existence-only", "single-run"
COMPARABILITY = (SINGLE_RUN, SAME_CLASS, CROSS_CLASS)
PHASES = ("prefill", "decode")
CASE_FLOOR = 14
GREEN, RED = "GREEN", "RED"
MEDIAN_ABS_TOL = 1e-3  # the median rate is written rounded to 3 decimals (error <= 5e-4), from the samples as written


def torch_features() -> list[str]:
    """What this torch build can dispatch to (compiled in, not merely present on the host)."""
    import torch

    features = ["cpu"]
    if torch.backends.cuda.is_built():
        features.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_built():
        features.append("metal")
    return features


def compute_class(device_type: str, features: list[str]) -> str:
    """The class of the path taken: the device the work ran on, if the build can reach it."""
    cls = {"cpu": "cpu", "cuda": "cuda", "mps": "metal", "metal": "metal", "wgpu": "wgpu"}.get(device_type, "unknown")
    return cls if cls == "cpu" or cls in features else "unknown"


def compare(receipt: dict[str, Any], baseline: dict[str, Any], threshold: float | None) -> dict[str, Any]:
    """The comparison fields of ``receipt`` against ``baseline``: ratio of decode medians, threshold if same class."""
    ours = receipt["provenance"]["compute_class"]
    theirs = (baseline.get("provenance") or {}).get("compute_class", "unknown")
    base_rate = float(baseline["decode"]["median_tokens_per_s"])
    ratio = round(float(receipt["decode"]["median_tokens_per_s"]) / base_rate, 4) if base_rate > 0 else None
    same = ours == theirs and ours != "unknown"
    out: dict[str, Any] = {
        "comparability": SAME_CLASS if same else CROSS_CLASS,
        "comparison": {"baseline_sha256": (baseline.get("model") or {}).get("sha256"), "baseline_compute_class": theirs,
                       "compute_class": ours, "decode_median_ratio": ratio},
    }
    if threshold is not None:
        if same and ratio is not None:
            out["threshold"] = {"min_decode_median_ratio": threshold, "passed": ratio >= threshold}
        else:
            out["notes"] = [f"threshold {threshold} NOT armed: the baseline ran on compute class {theirs!r}, this run "
                            f"on {ours!r}; the ratio is recorded as existence-only"]
    return out


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    expected: str  # GREEN (valid) | RED (rejected)
    receipt: dict[str, Any]


class ReceiptValidator:
    """The one validator; each rule is a method so a broken engine can drop exactly one."""

    def validate(self, r: Any) -> list[str]:
        if not isinstance(r, dict):
            return [f"a receipt is a JSON object, got {type(r).__name__}"]
        return [*self.provenance(r), *self.comparability(r), *(p for ph in PHASES for p in self.samples(r, ph))]

    def provenance(self, r: dict[str, Any]) -> list[str]:
        prov = r.get("provenance")
        if not isinstance(prov, dict):
            return ["provenance is missing: the receipt does not say which path produced its numbers"]
        problems = [f"provenance.{k} is missing" for k in PROVENANCE_REQUIRED if k not in prov]
        cls, features = prov.get("compute_class"), prov.get("feature_set")
        if "compute_class" in prov and cls not in CLASSES:
            problems.append(f"provenance.compute_class {cls!r} is not one of {', '.join(CLASSES)}")
        if "feature_set" in prov and not isinstance(features, list):
            problems.append("provenance.feature_set must be a list of feature names")
        elif cls in FEATURE_GATED and cls not in (features or []):
            problems.append(f"provenance.compute_class {cls!r} is unreachable: the feature_set {features} lacks {cls!r}")
        return problems

    def comparability(self, r: dict[str, Any]) -> list[str]:
        comp = r.get("comparability", SINGLE_RUN)
        if comp not in COMPARABILITY:
            return [f"comparability {comp!r} is not one of {', '.join(COMPARABILITY)}"]
        if comp == CROSS_CLASS and "threshold" in r:
            return ["a cross-class comparison carries a threshold: a ratio across compute classes may be recorded, "
                    "never gated on"]
        if comp == SINGLE_RUN and "threshold" in r:
            return ["a threshold without a baseline comparison"]
        return []

    def samples(self, r: dict[str, Any], phase: str) -> list[str]:
        ph = r.get(phase)
        if not isinstance(ph, dict):
            return [f"{phase} is missing"]
        samples = ph.get("samples_ms")
        if not isinstance(samples, list):
            return [f"{phase}.samples_ms is missing: summary statistics alone cannot be re-sampled"]
        if not samples:
            return [f"{phase}.samples_ms is empty"]
        if not all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in samples):
            return [f"{phase}.samples_ms holds a non-positive or non-finite value"]
        problems = []
        if ph.get("n") != len(samples):
            problems.append(f"{phase}.n = {ph.get('n')!r} but samples_ms holds {len(samples)} samples")
        if len(samples) > 1 and len(set(samples)) == 1:
            problems.append(f"{phase}.samples_ms is constant ({samples[0]} x {len(samples)}): not a timing distribution")
        tokens, median = ph.get("tokens"), ph.get("median_tokens_per_s")
        if isinstance(tokens, int) and isinstance(median, (int, float)):
            derived = statistics.median(tokens / (x / 1000.0) for x in samples)
            if abs(derived - median) > MEDIAN_ABS_TOL:
                problems.append(f"{phase}.median_tokens_per_s {median} is not the median of the samples ({derived:.3f})")
        discarded = ph.get("runs_discarded", 0)
        if discarded and not ph.get("discard_reason"):
            problems.append(f"{phase}: {discarded} run(s) discarded without a discard_reason")
        return problems

    def cases(self) -> list[Case]:
        return build_cases()


def base_receipt() -> dict[str, Any]:
    """A small valid receipt (the shape `apr bench --format json` writes) the cases start from."""
    def phase(tokens: int, samples: list[float]) -> dict[str, Any]:
        rates = [tokens / (s / 1000.0) for s in samples]
        return {"tokens": tokens, "samples_ms": samples, "n": len(samples), "runs_discarded": 0,
                "median_tokens_per_s": round(statistics.median(rates), 3)}

    return {"version": 2, "target": "model", "provenance": {"compute_class": "cpu", "feature_set": ["cpu"]},
            "comparability": SINGLE_RUN, "prefill": phase(128, [41.2, 40.7, 43.9]), "decode": phase(32, [88.1, 90.4, 87.6])}


def _case(cid: str, description: str, expected: str, change: Callable[[dict[str, Any]], None]) -> Case:
    r = base_receipt()
    change(r)
    return Case(cid, description, expected, r)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(r: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = r
        for p in parents:
            node = node[p]
        node[leaf] = copy.deepcopy(value)
    return apply


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(r: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = r
        for p in parents:
            node = node[p]
        del node[leaf]
    return apply


def _all(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(r: dict[str, Any]) -> None:
        for c in changes:
            c(r)
    return apply


def _one_sample(r: dict[str, Any]) -> None:
    r["decode"].update(samples_ms=[88.1], n=1, median_tokens_per_s=round(32 / 0.0881, 3))


def build_cases() -> list[Case]:
    cross = _all(_set("comparability", CROSS_CLASS),
                 _set("comparison", {"baseline_compute_class": "cuda", "compute_class": "cpu", "decode_median_ratio": 0.07}))
    return [
        _case("01", "decode.samples_ms missing (summary only)", RED, _drop("decode.samples_ms")),
        _case("02", "decode.samples_ms empty", RED, _all(_set("decode.samples_ms", []), _set("decode.n", 0))),
        _case("03", "decode.samples_ms constant", RED, _set("decode.samples_ms", [88.0, 88.0, 88.0])),
        _case("04", "provenance without compute_class", RED, _drop("provenance.compute_class")),
        _case("05", "compute_class cuda, feature_set without cuda", RED, _set("provenance.compute_class", "cuda")),
        _case("06", "compute_class outside the vocabulary", RED, _set("provenance.compute_class", "gpu")),
        _case("07", "cross-class comparison with a threshold", RED,
              _all(cross, _set("threshold", {"min_decode_median_ratio": 0.9, "passed": False}))),
        _case("08", "no provenance at all", RED, _drop("provenance")),
        _case("09", "median not recomputable from the samples", RED, _set("decode.median_tokens_per_s", 999.0)),
        _case("10", "n disagrees with the sample count", RED, _set("prefill.n", 5)),
        _case("11", "runs discarded without a reason", RED, _set("decode.runs_discarded", 2)),
        _case("12", "a zero-millisecond sample", RED, _set("prefill.samples_ms", [41.2, 0.0, 43.9])),
        _case("13", "cross-class comparison recorded without a threshold", GREEN, cross),
        _case("14", "the base receipt", GREEN, lambda r: None),
        _case("15", "a single sample", GREEN, _one_sample),
        _case("16", "compute_class cuda with cuda compiled in", GREEN,
              _all(_set("provenance.compute_class", "cuda"), _set("provenance.feature_set", ["cpu", "cuda"]))),
        _case("17", "runs discarded with a reason", GREEN,
              _all(_set("decode.runs_discarded", 1), _set("decode.discard_reason", "token count differed"))),
        _case("18", "same-class comparison with a threshold", GREEN,
              _all(_set("comparability", SAME_CLASS), _set("threshold", {"min_decode_median_ratio": 0.9, "passed": True}))),
        _case("19", "feature_set missing", RED, _drop("provenance.feature_set")),
        _case("20", "a threshold without any comparison", RED, _set("threshold", {"min_decode_median_ratio": 0.9})),
    ]


@dataclass(frozen=True)
class SelfTest:
    cases: int
    misbehaving: list[str]  # "id: expected X, got Y (description)"
    floor: int

    @property
    def ok(self) -> bool:
        return not self.misbehaving and self.cases >= self.floor

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "floor": self.floor, "misbehaving": self.misbehaving, "ok": self.ok}


def self_test(validate: Callable[[Any], list[str]], cases: list[Case], floor: int = CASE_FLOOR) -> SelfTest:
    """Run the validator over its case table: every case must get its declared verdict."""
    bad = []
    for case in cases:
        got = RED if validate(case.receipt) else GREEN
        if got != case.expected:
            bad.append(f"{case.id}: expected {case.expected}, got {got} ({case.description})")
    return SelfTest(len(cases), bad, floor)
