#!/usr/bin/env python3
"""Generate a synthetic, deterministic migration history for benchmarks.

    python3 bench/gen_history.py N OUT --format sql|py [--seed S] [--heads K] [--force]

writes N revisions to OUT/versions/<id>_<slug>.<sql|py>. The same N, seed and
--heads give the same graph, ids, messages and dates in both formats, so a
`.sql` history and a `.py` history can be compared revision for revision.

Shape ("branches and merges"):
  * one main line from a single base;
  * every ~50 revisions a side branch of 2-6 revisions forks off the main
    line's tip; the main line goes on for a few revisions, then a merge
    revision (two down_revisions: main tip, branch tip) joins them;
  * about one fork in eight opens two side branches at the same point, joined
    by one 3-way merge;
  * about every 500 revisions, the root of the next side branch gets a branch
    label;
  * about every 250 revisions, a side-branch revision depends_on a revision it
    does not descend from (a main-line revision made after its fork, or one on
    its sibling branch);
  * exactly one head, or K heads with --heads K (K-1 short branches left open
    at the end).

Files besides versions/:
  * both formats: OUT/retort.toml (database `bench`, sqlite://retort.db) and
    OUT/shape.json (the statistics printed on stdout);
  * --format py: a working Alembic environment: OUT/alembic.ini
    (script_location and sqlalchemy.url = sqlite:///OUT/bench.db via %(here)s),
    OUT/env.py and OUT/script.py.mako.

Every revision's upgrade creates table t_<id> and its downgrade drops it, valid
SQLite in both formats, so `alembic upgrade head` / `retort upgrade head` run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import sys
from pathlib import Path

FORK_GAP = (40, 60)          # revisions between two forks ("every ~50")
BRANCH_LEN = (2, 6)          # revisions on one side branch
MERGE_DELAY = (1, 8)         # main-line revisions at least between fork and merge
THREE_WAY_EVERY = 8          # about one fork in this many opens two branches
LABEL_EVERY = 500            # a branch label on the next branch root after each multiple
DEPENDS_EVERY = 250          # a depends_on on the next eligible branch revision after each multiple
EXTEND_PROBABILITY = 0.5     # while a branch is open: chance a step goes to the branch

LABEL_NAMES = [
    "billing", "search", "audit", "reporting", "auth", "inventory", "shipping",
    "notifications", "analytics", "payments", "catalog", "messaging", "scheduling",
    "tenancy", "exports", "imports", "webhooks", "sessions", "ledger", "geo",
]
VERBS = ["add", "create", "drop", "alter", "backfill", "rename", "index", "extend",
         "split", "normalize", "add constraint to", "add column to", "remove column from"]
NOUNS = ["users", "orders", "invoices", "products", "accounts", "payments", "sessions",
         "customers", "shipments", "addresses", "audit log", "events", "permissions",
         "roles", "tenants", "subscriptions", "line items", "coupons", "reviews", "carts"]
TAILS = ["table", "", "", "email", "status", "created at", "foreign keys", "unique key",
         "index", "defaults", "timestamps", "soft delete"]


class Rev:
    __slots__ = ("id", "down", "labels", "deps", "message", "date", "kind")

    def __init__(self, id_, down, kind, message, date):
        self.id = id_
        self.down = list(down)
        self.labels: list[str] = []
        self.deps: list[str] = []
        self.kind = kind
        self.message = message
        self.date = date


class Branch:
    __slots__ = ("tip", "left", "revs")

    def __init__(self, left):
        self.tip: Rev | None = None
        self.left = left
        self.revs: list[Rev] = []


class Group:
    """Side branches forked at one main-line revision, merged by one merge revision."""

    __slots__ = ("fork", "fork_main_len", "branches", "delay", "label")

    def __init__(self, fork, fork_main_len, sizes, delay, label):
        self.fork = fork
        self.fork_main_len = fork_main_len
        self.branches = [Branch(s) for s in sizes]
        self.delay = delay
        self.label = label


class Generator:
    def __init__(self, n: int, heads: int, seed: int):
        self.n = n
        self.heads = heads
        self.rng = random.Random(f"{seed}:graph")
        self.id_rng = random.Random(f"{seed}:ids")
        self.text_rng = random.Random(f"{seed}:text")
        self.revs: list[Rev] = []
        self.ids: set[str] = set()
        self.main: list[Rev] = []
        self.groups: list[Group] = []
        self.clock = dt.datetime(2019, 3, 4, 9, 12, 31)
        self.labels_used = 0
        self.next_label_at = LABEL_EVERY
        self.next_depends_at = DEPENDS_EVERY
        self.forks = 0

    # -- helpers ---------------------------------------------------------------
    def new_id(self) -> str:
        while True:
            rid = "%012x" % self.id_rng.getrandbits(48)
            if rid not in self.ids and not rid.isdigit():
                self.ids.add(rid)
                return rid

    def message(self) -> str:
        r = self.text_rng
        words = [r.choice(VERBS), r.choice(NOUNS), r.choice(TAILS)]
        return " ".join(w for w in words if w)

    def add(self, down, kind, message=None) -> Rev:
        self.clock += dt.timedelta(seconds=self.text_rng.randint(600, 36 * 3600))
        rev = Rev(self.new_id(), [d.id for d in down], kind, message or self.message(), self.clock)
        self.revs.append(rev)
        return rev

    def add_main(self) -> Rev:
        rev = self.add([self.main[-1]], "main")
        self.main.append(rev)
        return rev

    def advanced(self, g: Group) -> bool:
        return len(self.main) > g.fork_main_len

    def close_cost(self, g: Group) -> int:
        return sum(b.left for b in g.branches) + (0 if self.advanced(g) else 1) + 1

    def ready(self, g: Group) -> bool:
        return all(b.left == 0 for b in g.branches) and len(self.main) - g.fork_main_len >= g.delay

    def extend(self, g: Group, b: Branch) -> Rev:
        down = b.tip or g.fork
        rev = self.add([down], "branch")
        if b.tip is None and g.label and b is g.branches[0]:
            rev.labels.append(g.label)
        elif b.tip is not None and len(self.revs) >= self.next_depends_at:
            # Something this revision does not descend from: a main-line revision
            # made after the fork, or a revision on a sibling branch.
            candidates = self.main[g.fork_main_len:]
            candidates += [r for other in g.branches if other is not b for r in other.revs]
            if candidates:
                rev.deps.append(self.rng.choice(candidates).id)
                self.next_depends_at = len(self.revs) + DEPENDS_EVERY
        b.tip = rev
        b.left -= 1
        b.revs.append(rev)
        return rev

    def merge(self, g: Group) -> Rev:
        tips = [b.tip for b in g.branches]
        what = g.label or "side branch from %s" % g.fork.id[:7]
        rev = self.add([self.main[-1], *tips], "merge", "merge %s" % what)
        self.main.append(rev)
        self.groups.remove(g)
        return rev

    def fork(self, sizes) -> None:
        label = None
        if len(self.revs) >= self.next_label_at:
            label = LABEL_NAMES[self.labels_used % len(LABEL_NAMES)]
            if self.labels_used >= len(LABEL_NAMES):
                label += "_%d" % (self.labels_used // len(LABEL_NAMES) + 1)
            self.labels_used += 1
            self.next_label_at += LABEL_EVERY
        g = Group(self.main[-1], len(self.main), sizes, self.rng.randint(*MERGE_DELAY), label)
        self.groups.append(g)
        self.forks += 1
        self.extend(g, g.branches[0])

    # -- the walk --------------------------------------------------------------
    def run(self) -> list[Rev]:
        extra = 2 * (self.heads - 1)
        if self.n < 1 + 2 * extra:
            sys.exit(f"N={self.n} is too small for {self.heads} heads (need at least {1 + 2 * extra})")
        self.main.append(self.add([], "base", "initial schema"))
        next_fork = len(self.revs) + self.rng.randint(*FORK_GAP)
        while True:
            slack = self.n - len(self.revs) - extra - sum(self.close_cost(g) for g in self.groups)
            if slack <= 0:
                break
            ready = [g for g in self.groups if self.ready(g)]
            if ready:
                self.merge(ready[0])
                continue
            pending = [(g, b) for g in self.groups for b in g.branches if b.left > 0]
            if pending and self.rng.random() < EXTEND_PROBABILITY:
                self.extend(*self.rng.choice(pending))
                continue
            if len(self.revs) >= next_fork:
                sizes = [self.rng.randint(*BRANCH_LEN)]
                if self.rng.randrange(THREE_WAY_EVERY) == 0:
                    sizes.append(self.rng.randint(*BRANCH_LEN))
                if slack >= sum(sizes) + 2:
                    self.fork(sizes)
                    next_fork = len(self.revs) + self.rng.randint(*FORK_GAP)
                    continue
            self.add_main()
        # Close what is open, fill with main-line revisions, then the extra heads.
        for g in list(self.groups):
            for b in g.branches:
                while b.left > 0:
                    self.extend(g, b)
            if not self.advanced(g):
                self.add_main()
            self.merge(g)
        while len(self.revs) < self.n - extra:
            self.add_main()
        for i in range(self.heads - 1):
            at = self.main[max(0, len(self.main) - 2 - i)]
            root = self.add([at], "branch")
            self.add([root], "branch")
        assert len(self.revs) == self.n, (len(self.revs), self.n)
        return self.revs


# -- statistics --------------------------------------------------------------------
def shape(revs: list[Rev]) -> dict:
    children: dict[str, int] = {r.id: 0 for r in revs}
    for r in revs:
        for d in r.down:
            children[d] += 1
    depth: dict[str, int] = {}
    for r in revs:  # revisions are in creation order: parents come first
        depth[r.id] = 1 + max((depth[d] for d in r.down), default=0)
    merges = [r for r in revs if len(r.down) >= 2]
    return {
        "revisions": len(revs),
        "bases": sum(1 for r in revs if not r.down),
        "heads": sum(1 for r in revs if children[r.id] == 0),
        "merges": len(merges),
        "merges_2way": sum(1 for r in merges if len(r.down) == 2),
        "merges_3way": sum(1 for r in merges if len(r.down) == 3),
        "branch_points": sum(1 for c in children.values() if c >= 2),
        "branch_points_3way": sum(1 for c in children.values() if c >= 3),
        "branch_labels": sum(len(r.labels) for r in revs),
        "labels": [l for r in revs for l in r.labels],
        "depends_on": sum(len(r.deps) for r in revs),
        "longest_path": max(depth.values(), default=0),
    }


# -- writing -------------------------------------------------------------------------
def slug(message: str, length: int = 40) -> str:
    """Alembic's file-name slug: non-word characters to spaces, words joined by
    `_`, cut at a word boundary near `length` (truncate_slug_length)."""
    words = re.sub(r"\W", " ", message).lower().split()
    out = "_".join(words)
    if len(out) > length:
        out = out[:length].rsplit("_", 1)[0]
    return out


def date_text(rev: Rev) -> str:
    return rev.date.strftime("%Y-%m-%d %H:%M:%S")


def render_sql(rev: Rev) -> str:
    lines = [
        f"-- {rev.message}",
        "--",
        f"-- Revision ID: {rev.id}",
        f"-- Revises: {', '.join(rev.down)}".rstrip(),
    ]
    if rev.labels:
        lines.append(f"-- Branch Labels: {', '.join(rev.labels)}")
    if rev.deps:
        lines.append(f"-- Depends On: {', '.join(rev.deps)}")
    lines.append(f"-- Create Date: {date_text(rev)}")
    lines += [
        "",
        "-- migrate:up",
        f"CREATE TABLE t_{rev.id} (id INTEGER PRIMARY KEY);",
        "",
        "-- migrate:down",
        f"DROP TABLE t_{rev.id};",
        "",
    ]
    return "\n".join(lines)


def render_py(rev: Rev) -> str:
    # What Alembic's generic script.py.mako renders for `alembic revision`
    # (down_revision: a str, or a tuple for a merge; branch_labels a tuple;
    # depends_on a list, as `--depends-on` produces).
    if not rev.down:
        down = "None"
    elif len(rev.down) == 1:
        down = repr(rev.down[0])
    else:
        down = repr(tuple(rev.down))
    labels = repr(tuple(rev.labels)) if rev.labels else "None"
    deps = repr(list(rev.deps)) if rev.deps else "None"
    micro = rev.date.strftime("%Y-%m-%d %H:%M:%S") + ".%06d" % (int(rev.id[:5], 16) % 1000000)
    return f'''"""{rev.message}

Revision ID: {rev.id}
Revises: {', '.join(rev.down)}
Create Date: {micro}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = {rev.id!r}
down_revision: Union[str, Sequence[str], None] = {down}
branch_labels: Union[str, Sequence[str], None] = {labels}
depends_on: Union[str, Sequence[str], None] = {deps}


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("CREATE TABLE t_{rev.id} (id INTEGER PRIMARY KEY)")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DROP TABLE t_{rev.id}")
'''


ALEMBIC_INI = """\
# Alembic config for a generated benchmark history (bench/gen_history.py).
[alembic]
script_location = %(here)s
prepend_sys_path = .
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/bench.db

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''\
"""Alembic environment for a generated benchmark history: SQLite URL from
alembic.ini, no target metadata (no autogenerate)."""
from logging.config import fileConfig

from sqlalchemy import engine_from_config, pool

from alembic import context

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = None


def run_migrations_offline() -> None:
    """Emit the SQL to the script output instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against the database in sqlalchemy.url."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''

RETORT_TOML = """\
# retort config for a generated benchmark history (bench/gen_history.py).
[databases.bench]
url = "sqlite://retort.db"
script_location = "."
"""


def write(out: Path, fmt: str, revs: list[Rev], stats: dict, force: bool) -> None:
    versions = out / "versions"
    if versions.exists() and any(versions.iterdir()):
        if not force:
            sys.exit(f"{versions} is not empty; pass --force to replace it")
        shutil.rmtree(versions)
    for name in ("bench.db", "retort.db", "alembic.ini", "env.py", "script.py.mako", "retort.toml"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "__pycache__", ignore_errors=True)
    versions.mkdir(parents=True, exist_ok=True)
    render = render_sql if fmt == "sql" else render_py
    for rev in revs:
        name = f"{rev.id}_{slug(rev.message)}.{fmt}"
        (versions / name).write_text(render(rev), encoding="utf-8")
    if fmt == "py":
        (out / "alembic.ini").write_text(ALEMBIC_INI, encoding="utf-8")
        (out / "env.py").write_text(ENV_PY, encoding="utf-8")
        (out / "script.py.mako").write_text(SCRIPT_MAKO, encoding="utf-8")
    (out / "retort.toml").write_text(RETORT_TOML, encoding="utf-8")
    (out / "shape.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", type=int, help="number of revisions")
    p.add_argument("out", type=Path, help="output folder (revisions go to OUT/versions/)")
    p.add_argument("--format", choices=["sql", "py"], required=True)
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--heads", type=int, default=1, help="final number of heads (default 1)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT/versions/")
    args = p.parse_args(argv)
    if args.n < 1 or args.heads < 1:
        p.error("N and --heads must be at least 1")
    revs = Generator(args.n, args.heads, args.seed).run()
    stats = shape(revs)
    stats.update(format=args.format, seed=args.seed)
    write(args.out.resolve(), args.format, revs, stats, args.force)
    summary = {k: v for k, v in stats.items() if k != "labels"}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
