"""Subprocess entry point that runs falsifiers: ``python -m apr_contracts.worker JOB.json``
runs one; ``python -m apr_contracts.worker --serve`` runs the job files named on stdin
(the runner's pool mode, see ``apr_contracts.isolation``).

Falsifiers run outside the `pv` process so that a crash, ``sys.exit``, a segfault
in a native library or a hang (killed at the timeout) only ever costs that
falsifier: it becomes an ERROR result and the run goes on. The worker loads the
same plugin set as the parent (once per process) and writes each outcome as JSON
to the job's ``result_file`` (never to stdout, which belongs to the falsifier).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from apr_contracts.atomic import write_text_atomic
from apr_contracts.execute import execute
from apr_contracts.fingerprint import TRACE_ENV, TRACE_OWNER_ENV, read_trace
from apr_contracts.outcomes import Level
from apr_contracts.plugins import Plugins, PluginSettings, load_plugins

# The folder the falsifiers of one `pv run` share for deterministic fixtures (the runner makes it
# and empties it every run; engines.tokenizer.fixtures caches there).
RUN_CACHE_ENV = "PV_RUN_CACHE"

_PLUGINS: dict[str, Plugins] = {}  # loaded once per worker process, by settings


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    key = json.dumps(job["plugin_settings"], sort_keys=True)
    if key not in _PLUGINS:
        _PLUGINS[key] = load_plugins(PluginSettings.from_dict(job["plugin_settings"]))
    plugins = _PLUGINS[key]
    spec = plugins.falsifiers.get(job["contract_id"], job["falsifier_id"])
    if spec is None:
        failures = "; ".join(f"{f.plugin}: {f.error}" for f in plugins.failures)
        return {
            "outcome": "ERROR",
            "message": f"{job['falsifier_id']} of {job['contract_id']} is not registered in the worker"
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
    trace_dir = Path(job["trace_dir"]) if job.get("trace_dir") else None
    if trace_dir is not None:  # the `apr`/`pv` subprocesses of this falsifier report what they load
        os.environ[TRACE_ENV] = str(trace_dir)
        os.environ[TRACE_OWNER_ENV] = str(os.getpid())
    if job.get("run_cache"):
        os.environ[RUN_CACHE_ENV] = job["run_cache"]
    try:
        execution = _execute(spec, factories, workspace, job)
    finally:
        for name in (TRACE_ENV, TRACE_OWNER_ENV, RUN_CACHE_ENV):
            os.environ.pop(name, None)
    return {
        "outcome": execution.outcome.value,
        "message": execution.message,
        "measured": _jsonable(execution.measured),
        "counterexample": _jsonable(execution.counterexample),
        "traceback": execution.traceback,
        "engines": chosen,
        "inputs": read_trace(trace_dir) if trace_dir is not None else {},
    }


def _execute(spec: Any, factories: dict[str, Any], workspace: Path, job: dict[str, Any]) -> Any:
    return execute(
        spec,
        engines=factories,
        workspace=workspace,
        seed=int(job["seed"]),
        level=Level(job["level"]) if job.get("level") else None,
        params=job.get("params") or {},
        thresholds=job.get("thresholds") or [],
        contract_file=Path(job["contract_file"]) if job.get("contract_file") else None,
    )


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


def run_job_file(job_file: Path) -> None:
    job = json.loads(job_file.read_text(encoding="utf-8"))
    result = run_job(job)
    write_text_atomic(Path(job["result_file"]), json.dumps(result))


def serve() -> int:
    """Pool mode: run the job files named on stdin, one per line, until stdin closes.

    Each falsifier gets the working directory and environment the worker started with,
    so one cannot leave a changed cwd or variable behind for the next.
    """
    cwd, environ = os.getcwd(), dict(os.environ)
    for line in sys.stdin:
        job_file = line.strip()
        if not job_file:
            continue
        try:
            run_job_file(Path(job_file))
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(environ)
            sys.stdout.flush()
            sys.stderr.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve()
    run_job_file(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
