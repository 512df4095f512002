#!/usr/bin/env python3
"""Time Alembic's revision-graph work on a generated `.py` history, in process.

    python3 bench/alembic_graph.py OUT [--runs R] [--timeout T] [--only load,current,plan]

OUT is a folder written by `gen_history.py --format py` (holding versions/);
OUT/versions is accepted too. Three measurements, each the median of R runs
(default 5), each run on a fresh ScriptDirectory:

  load     ScriptDirectory(OUT).get_heads(): imports every revision module and
           builds the revision map (what every alembic command pays first).
  current  script.get_all_current(heads), with the history's head ids as the
           database's current revisions: what `alembic current` calls to show
           them. The map is built before the clock starts.
  plan     script._upgrade_revs("heads", ()): what `alembic upgrade heads`
           plans from an empty database. The map is built before the clock
           starts.

A run that takes longer than --timeout seconds (default 120) is stopped by
SIGALRM; the measurement then reports ">T s" and its remaining runs are skipped.
Prints one JSON line; times are milliseconds.

Bytecode: revision modules are imported with importlib, so whether a `.pyc`
exists changes the load time a lot. Both cases are made explicit, and neither
reads or writes versions/__pycache__ (sys.pycache_prefix points at a fresh
temporary folder): `--pyc yes` (default, like a deployment that has run alembic
once) writes the bytecode during an untimed first load and the timed runs read
it; `--pyc no` (like PYTHONDONTWRITEBYTECODE=1, common in containers) compiles
every module on every load. `load_first_ms` is that untimed first load (it
always compiles).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import alembic
    from alembic.script import ScriptDirectory
except ImportError:  # pragma: no cover
    sys.exit("alembic is not installed: pip install alembic==1.20.1")


class Timeout(BaseException):
    """Raised by SIGALRM; a BaseException so no `except Exception` in Alembic swallows it."""


def _alarm(signum, frame):
    raise Timeout()


def timed(setup, action, timeout: float):
    """Seconds `action(setup())` took (setup not timed), or None past `timeout`."""
    state = setup()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        start = time.perf_counter()
        result = action(state)
        elapsed = time.perf_counter() - start
    except Timeout:
        return None, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return elapsed, result


def measure(name, setup, action, runs, timeout, report, log):
    times = []
    result = None
    for i in range(runs):
        elapsed, result_i = timed(setup, action, timeout)
        if elapsed is None:
            log(f"{name}: run {i + 1} passed {timeout:g} s; skipping the rest")
            report[f"{name}_ms"] = f">{timeout:g} s"
            return None
        times.append(elapsed * 1000)
        result = result_i
        log(f"{name}: run {i + 1}: {elapsed * 1000:.1f} ms")
    report[f"{name}_ms"] = round(statistics.median(times), 2)
    report[f"{name}_runs_ms"] = [round(t, 2) for t in times]
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="history folder (holding versions/)")
    p.add_argument("--runs", "-R", type=int, default=5, help="runs per measurement (default 5)")
    p.add_argument("--timeout", "-T", type=float, default=120.0, help="seconds per run before giving up (default 120)")
    p.add_argument("--only", default="load,current,plan", help="comma-separated subset of load,current,plan")
    p.add_argument("--pyc", choices=["yes", "no"], default="yes",
                   help="timed loads read cached bytecode (yes, default) or compile every module (no)")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-run lines on stderr")
    args = p.parse_args(argv)

    out = args.out.resolve()
    if out.name == "versions" and not (out / "versions").is_dir():
        out = out.parent
    if not (out / "versions").is_dir():
        p.error(f"{out} has no versions/ folder")
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    unknown = wanted - {"load", "current", "plan"}
    if unknown:
        p.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))

    # Bytecode goes to (and is read from) a fresh folder only, never the history's.
    pycache = tempfile.TemporaryDirectory(prefix="alembic_graph_pyc_")
    sys.pycache_prefix = pycache.name
    sys.dont_write_bytecode = args.pyc == "no"

    # Sanity pass (untimed): the history loads, and how big it is.
    script = ScriptDirectory(str(out))
    start = time.perf_counter()
    heads = tuple(script.get_heads())
    first_load = (time.perf_counter() - start) * 1000
    rmap = script.revision_map._revision_map
    n = sum(1 for key, rev in rmap.items() if rev is not None and key == rev.revision)
    report = {
        "tool": "alembic",
        "alembic": alembic.__version__,
        "python": sys.version.split()[0],
        "history": str(out),
        "n": n,
        "heads": len(heads),
        "runs": args.runs,
        "timeout_s": args.timeout,
        "pyc": args.pyc == "yes",
        "load_first_ms": round(first_load, 2),
    }
    del script

    def fresh():
        return ScriptDirectory(str(out))

    def fresh_loaded():
        s = ScriptDirectory(str(out))
        s.get_heads()  # builds the revision map outside the timed part
        return s

    if "load" in wanted:
        measure("load", fresh, lambda s: s.get_heads(), args.runs, args.timeout, report, log)
    if "current" in wanted:
        shown = measure("current", fresh_loaded, lambda s: s.get_all_current(heads),
                        args.runs, args.timeout, report, log)
        if shown is not None:
            report["current_shown"] = len(shown)
    if "plan" in wanted:
        steps = measure("plan", fresh_loaded, lambda s: s._upgrade_revs("heads", ()),
                        args.runs, args.timeout, report, log)
        if steps is not None:
            report["plan_steps"] = len(steps)
    print(json.dumps(report), flush=True)
    pycache.cleanup()


if __name__ == "__main__":
    main()
