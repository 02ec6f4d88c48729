"""Evidence from the tests a team already runs (issue 17).

* :mod:`.cases` — the test case model every reader produces;
* :mod:`.junit`, :mod:`.libtest` — readers for JUnit XML and libtest's JSON event stream;
* :mod:`.refs` — what a falsifier's ``test:`` field names (pytest node ids, Rust paths,
  ``cargo test`` filters);
* :mod:`.link` — test cases → (contract id, falsifier id), explicit id first, then ``test:``,
  then the naming convention; ambiguity is reported, never resolved by guessing;
* :mod:`.importer` — linked cases → :class:`apr_contracts.results.Result`;
* :mod:`.tree` — the project tree a result was produced on (staleness);
* :mod:`.commands` — running a falsifier's own ``test:`` command (opt-in).

Nothing here imports more than the standard library and apr_contracts' core.
"""
