"""Subprocess entry point that runs exactly one falsifier: ``python -m apr_contracts.worker JOB.json``.

The runner starts one worker per falsifier so that a crash, ``sys.exit``, a
segfault in a native library or a hang (killed at the timeout) only ever costs
that falsifier: it becomes an ERROR result and the run goes on. The worker
reloads the same plugin set as the parent and writes its outcome as JSON to the
job's ``result_file`` (never to stdout, which belongs to the falsifier).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from apr_contracts.execute import execute
from apr_contracts.outcomes import Level
from apr_contracts.plugins import PluginSettings, load_plugins


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    plugins = load_plugins(PluginSettings.from_dict(job["plugin_settings"]))
    spec = plugins.falsifiers.get(job["falsifier_id"])
    if spec is None:
        failures = "; ".join(f"{f.plugin}: {f.error}" for f in plugins.failures)
        return {
            "outcome": "ERROR",
            "message": f"{job['falsifier_id']} is not registered in the worker"
            + (f" (plugin failures: {failures})" if failures else ""),
        }
    factories = {}
    chosen: dict[str, str] = {}
    for kind in spec.engines:
        engine_spec = plugins.engines.choose(kind, job["engines"].get(kind))
        factories[kind] = engine_spec.create
        chosen[kind] = engine_spec.name
    workspace = Path(job["workspace"])
    workspace.mkdir(parents=True, exist_ok=True)
    execution = execute(
        spec,
        engines=factories,
        workspace=workspace,
        seed=int(job["seed"]),
        level=Level(job["level"]) if job.get("level") else None,
        params=job.get("params") or {},
        thresholds=job.get("thresholds") or [],
        contract_file=Path(job["contract_file"]) if job.get("contract_file") else None,
    )
    return {
        "outcome": execution.outcome.value,
        "message": execution.message,
        "measured": _jsonable(execution.measured),
        "counterexample": _jsonable(execution.counterexample),
        "traceback": execution.traceback,
        "engines": chosen,
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_jsonable(v) for v in value]
        if hasattr(value, "item"):  # numpy / torch scalars
            try:
                return value.item()
            except Exception:
                pass
        return repr(value)


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result = run_job(job)
    write_atomic(Path(job["result_file"]), json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
