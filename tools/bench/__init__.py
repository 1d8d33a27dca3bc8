"""Side-by-side benchmark of zmtp against pyzmq (libzmq).

``python -m tools.bench --help`` for the command line; README.md, section "Performance",
for what each scenario measures.

Layout:

- ``cli``        command line, the run loop, table / JSON / plot output
- ``scenarios``  what each scenario does, seen from the orchestrator (which roles, in
                 which worker processes, in which order; what counts as success)
- ``control``    the JSON-lines control channel between orchestrator and workers, and
                 the orchestrator's handle on a worker process (started and killed by PID)
- ``worker``     ``python -m tools.bench.worker IMPL``: one process serving roles for one
                 implementation
- ``impls``      the implementation registry; one small module per implementation
- ``stats``      medians, percentiles, spreads, RSS
"""
