#!/usr/bin/env python3
"""Record Alembic's behaviour on large real-world revision histories.

Run from the repository root:

    pip install alembic==1.20.1
    python3 tests/conformance/generate_real.py

Each history is the Alembic ``versions`` folder of a pinned PyPI wheel
(see ``PACKAGES``).  The wheel is downloaded with ``pip download`` into a cache
under /tmp (never into the repository) and checked against a pinned sha256.
The real revision modules import their own package, so they are *not* run:
every ``.py`` file is parsed with :mod:`ast`, the module-level ``revision``,
``down_revision``, ``branch_labels`` and ``depends_on`` assignments (plain or
annotated) are evaluated statically, and a stub with exactly those values and
the same relative file name is written into a throw-away Alembic environment
(the same one ``generate.py`` uses).  Alembic then answers every question on
the stubs.  Values that are not literals (neutron's
``branch_labels = (cli.EXPAND_BRANCH,)``) are resolved by following the file's
own ``import`` to the module inside the wheel; each such value is listed under
``source.non_literal`` in the fixture.

Output: ``tests/conformance/fixtures/real_<name>.json``, same schema as the
fixtures of ``generate.py`` plus a ``source`` object.

Options:
    --out DIR        write fixtures to DIR (default tests/conformance/fixtures)
    --only NAME,...  only these histories (stale real_*.json are then kept)
    --cache DIR      download/cache folder (default /tmp/retort_real_cache)
    --hash-seed N    PYTHONHASHSEED of the main run (default 0)
    --raw            skip the stability pass (re-runs under 6 more seeds and
                     marks differing fields in "unstable_fields")
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "fixtures")
DEFAULT_CACHE = "/tmp/retort_real_cache"
MAX_BYTES = 1_500_000
KEYS = ("revision", "down_revision", "branch_labels", "depends_on")

# name -> pinned wheel.  ``versions_dir`` is a folder inside the wheel; its
# ``.py`` files keep their path relative to it (subfolders included).  When
# ``version_locations`` is given, only those subfolders of ``versions_dir`` are
# read (the project configures them as separate Alembic version locations);
# they become subfolders of the fixture's ``versions/``.
PACKAGES = [
    {
        "name": "superset",
        "package": "apache-superset",
        "version": "6.1.0",
        "sha256": "4b5886b2d6389a32df790aeae2532ad72529bce1af93b6edf2d1b2a8bf658748",
        "versions_dir": "superset/migrations/versions",
    },
    {
        "name": "airflow2",
        "package": "apache-airflow",
        "version": "2.10.5",
        "sha256": "4c6d19159bcd85f496fbea70db72ef55d32335f80e4ffb82ae3c252782079ca0",
        "versions_dir": "airflow/migrations/versions",
    },
    {
        "name": "airflow3",
        "package": "apache-airflow-core",
        "version": "3.3.2",
        "sha256": "99258922bccec15be4700ff89f3c942b8acd93407e263c287ce863e671bb3c50",
        "versions_dir": "airflow/migrations/versions",
    },
    {
        "name": "zenml",
        "package": "zenml",
        "version": "0.98.0",
        "sha256": "801ffbe1821bd48dfc03c9fd5519f5a7d4387d86b3d48d08bd2057dfcde5ad30",
        "versions_dir": "zenml/zen_stores/migrations/versions",
    },
    {
        "name": "neutron",
        "package": "neutron",
        "version": "29.0.0",
        "sha256": "6e998e2e55d233ff757f3ae1d53dd8dfd2cb455a01868e494c22fd6b8b0aba36",
        "versions_dir": "neutron/db/migration/alembic_migrations/versions",
    },
    {
        "name": "galaxy",
        "package": "galaxy-data",
        "version": "26.1.2",
        "sha256": "c2a6ae5002f410506328ec748c749c0cf066d7b341f48c5b653b76f825173bf9",
        "versions_dir": "galaxy/model/migrations/alembic",
        "version_locations": ["versions_gxy", "versions_tsi"],
    },
    {
        "name": "keystone",
        "package": "keystone",
        "version": "30.0.0",
        "sha256": "d0fa097278b1c1eda5b2c727766322a6a8afac0ed848d3104253855d4d483515",
        "versions_dir": "keystone/common/sql/migrations/versions",
    },
]

AUDIT_SEEDS = [1, 2, 3, 4, 5, 6]


def G():
    """generate.py, imported lazily (it sits next to this file)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import generate

    return generate


# ---------------------------------------------------------------------------
# wheels
# ---------------------------------------------------------------------------


def fetch_wheel(pkg, cache):
    wheels = os.path.join(cache, "wheels")
    os.makedirs(wheels, exist_ok=True)
    stem = "%s-%s-" % (pkg["package"].replace("-", "_").lower(), pkg["version"])

    def find():
        for fn in sorted(os.listdir(wheels)):
            if fn.lower().startswith(stem) and fn.endswith(".whl"):
                return os.path.join(wheels, fn)
        return None

    path = find()
    if path is None:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--ignore-requires-python", "--quiet", "--disable-pip-version-check",
            "-d", wheels, "%s==%s" % (pkg["package"], pkg["version"]),
        ]
        print("downloading %s==%s" % (pkg["package"], pkg["version"]), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        path = find()
        if path is None:
            sys.exit("pip download gave no wheel for %s==%s" % (pkg["package"], pkg["version"]))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != pkg["sha256"]:
        sys.exit("%s: sha256 %s, expected %s" % (path, digest, pkg["sha256"]))
    return path


# ---------------------------------------------------------------------------
# static reading of the real revision files
# ---------------------------------------------------------------------------


class Unreadable(Exception):
    pass


class Reader:
    """Reads the four Alembic variables of a module without running it."""

    def __init__(self, zf):
        self.zf = zf
        self.names = set(zf.namelist())
        self._module_consts = {}

    def module_consts(self, dotted):
        """Module-level string constants of a module inside the wheel."""
        if dotted not in self._module_consts:
            base = dotted.replace(".", "/")
            consts = None
            for cand in (base + ".py", base + "/__init__.py"):
                if cand in self.names:
                    tree = ast.parse(self.zf.read(cand).decode("utf-8"), cand)
                    consts = {}
                    for st in tree.body:
                        if isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str):
                            for t in st.targets:
                                if isinstance(t, ast.Name):
                                    consts[t.id] = st.value.value
                    break
            self._module_consts[dotted] = consts
        return self._module_consts[dotted]

    def evaluate(self, node, scope, imports):
        """A string, None or list of strings; tuples and lists become lists."""
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            out = [self.evaluate(e, scope, imports) for e in node.elts]
            if not all(isinstance(x, str) for x in out):
                raise Unreadable("non-string element")
            return out
        if isinstance(node, ast.Name) and node.id in scope:
            return scope[node.id]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imports:
            consts = self.module_consts(imports[node.value.id])
            if consts and node.attr in consts:
                return consts[node.attr]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self.evaluate(node.left, scope, imports), self.evaluate(node.right, scope, imports)
            if isinstance(a, str) and isinstance(b, str):
                return a + b
        raise Unreadable(ast.unparse(node))

    def read(self, member):
        """(values, non_literal) for one file; values maps each key that the
        module assigns at top level to its value."""
        src = self.zf.read(member).decode("utf-8-sig")
        tree = ast.parse(src, member)
        scope, imports, values, non_literal = {}, {}, {}, []
        for st in tree.body:
            if isinstance(st, ast.ImportFrom) and st.module and st.level == 0:
                for a in st.names:
                    imports[a.asname or a.name] = "%s.%s" % (st.module, a.name)
            elif isinstance(st, ast.Import):
                for a in st.names:
                    if a.asname:
                        imports[a.asname] = a.name
            elif isinstance(st, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for n in ast.walk(st):
                    tg = n.targets if isinstance(n, ast.Assign) else [getattr(n, "target", None)]
                    if any(isinstance(t, ast.Name) and t.id in KEYS for t in tg):
                        raise Unreadable("%s: %s assigned inside a block" % (member, KEYS))
            if isinstance(st, ast.Assign):
                targets, value = st.targets, st.value
            elif isinstance(st, ast.AnnAssign) and st.value is not None:
                targets, value = [st.target], st.value
            else:
                continue
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if not names:
                for t in targets:
                    if isinstance(t, (ast.Tuple, ast.List)) and any(isinstance(e, ast.Name) and e.id in KEYS for e in t.elts):
                        raise Unreadable("%s: tuple assignment to %s" % (member, ast.unparse(t)))
                continue
            try:
                val = self.evaluate(value, scope, imports)
            except Unreadable:
                if any(n in KEYS for n in names):
                    raise Unreadable("%s line %d: cannot evaluate %s" % (member, st.lineno, ast.unparse(value)))
                continue
            for n in names:
                scope[n] = val
                if n in KEYS:
                    values[n] = val
                    try:
                        ast.literal_eval(value)
                    except ValueError:
                        non_literal.append({"field": n, "expression": ast.unparse(value), "value": val})
        return values, non_literal


def alembic_order(rel_paths):
    """Order in which Alembic (recursive_version_locations) visits files: a
    folder's files sorted by name, then its sub-folders, sorted, depth first."""
    tree = {}
    for p in rel_paths:
        node = tree
        parts = p.split("/")
        for d in parts[:-1]:
            node = node.setdefault(("d", d), {})
        node[("f", parts[-1])] = p
    out = []

    def walk(node):
        for k in sorted(k for k in node if k[0] == "f"):
            out.append(node[k])
        for k in sorted(k for k in node if k[0] == "d"):
            walk(node[k])

    walk(tree)
    return out


def read_history(pkg, wheel):
    zf = zipfile.ZipFile(wheel)
    reader = Reader(zf)
    root = pkg["versions_dir"].rstrip("/") + "/"
    locs = pkg.get("version_locations")
    rels = []
    for name in zf.namelist():
        if not name.startswith(root) or name.endswith("/"):
            continue
        rel = name[len(root):]
        if locs and rel.split("/")[0] not in locs:
            continue
        base = rel.rsplit("/", 1)[-1]
        # Alembic: (?!\.\#|__init__)(.*\.py)(c|o)?$ ; __pycache__ is skipped
        if not base.endswith(".py") or base.startswith("__init__") or base.startswith(".#"):
            continue
        if "__pycache__" in rel.split("/"):
            continue
        rels.append(rel)
    if not rels:
        sys.exit("%s: no revision files under %s" % (wheel, root))
    revisions, non_literal = [], []
    for rel in alembic_order(rels):
        try:
            values, nl = reader.read(root + rel)
        except Unreadable as e:
            sys.exit("cannot read %s: %s" % (rel, e))
        if not isinstance(values.get("revision"), str):
            sys.exit("%s: no module-level revision string" % rel)
        if "down_revision" not in values:
            sys.exit("%s: no module-level down_revision" % rel)
        for n in nl:
            non_literal.append(dict(n, file=rel))
        revisions.append(
            {
                "file": rel,
                "revision": values["revision"],
                "down_revision": values["down_revision"],
                "branch_labels": values.get("branch_labels"),
                "depends_on": values.get("depends_on"),
            }
        )
    return revisions, non_literal


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------


def as_list(v):
    return [] if v is None else ([v] if isinstance(v, str) else list(v))


def make_checks(g, env, name, revisions, heads, labels):
    """Questions to ask, from a seeded RNG; start states come from really
    upgrading an empty database (so they are states Alembic writes)."""
    rng = random.Random(zlib.crc32(name.encode()))
    ids = [r["revision"] for r in revisions]
    by_id = {r["revision"]: r for r in revisions}
    label_of = {}
    for r in revisions:
        for lb in as_list(r["branch_labels"]):
            label_of[lb] = r["revision"]

    def applied(rows):
        seen, todo = set(), list(rows)
        while todo:
            x = todo.pop()
            if x in seen or x not in by_id:
                continue
            seen.add(x)
            todo.extend(as_list(by_id[x]["down_revision"]))
            todo.extend(label_of.get(d, d) for d in as_list(by_id[x]["depends_on"]))
        return seen

    below = {i: applied([i]) for i in ids}
    parallel = [(a, b) for n, a in enumerate(ids) for b in ids[n + 1:] if a not in below[b] and b not in below[a]]

    def pair():
        """Two revisions, mostly ones on parallel branches (neither an
        ancestor of the other) when the history has such pairs."""
        if parallel and rng.random() < 0.7:
            return list(rng.choice(parallel))
        return rng.sample(ids, 2)

    def rand_state(allow_empty=True, k=None):
        if allow_empty and rng.random() < 0.08:
            return []
        if k is None:
            k = 1 if rng.random() < 0.5 else 2
        return g.derive_state(env, [rng.choice(ids)] if k == 1 else pair())

    def pick(rows, prefer):
        if rng.random() < 0.85:
            done = applied(rows)
            pool = [i for i in ids if (i in done) == (prefer == "old")]
            if pool:
                return rng.choice(pool)
        return rng.choice(ids)

    checks = []

    # resolve --------------------------------------------------------------
    res = ["heads", "head", "base"]
    for _ in range(5):
        rid = rng.choice(ids)
        res.append(rid[: rng.randint(4, 6)])
    # a prefix shared by several ids, if the history has one
    shared = {}
    for i in ids:
        if len(i) >= 5:
            shared.setdefault(i[:4], []).append(i)
    amb = sorted(p for p, v in shared.items() if len(v) > 1)
    if amb:
        res.append(rng.choice(amb))
    for _ in range(3):
        res.append("%s@head" % rng.choice(ids))
    for _ in range(2):
        res.append("%s-2" % rng.choice(ids))
    for _ in range(2):
        res.append("%s@-2" % rng.choice(ids))
    for _ in range(2):
        res.append("%s@base" % rng.choice(ids))
    res.append("%s+1" % rng.choice(ids))
    for lb in labels[:3]:
        res += [lb, "%s@head" % lb, "%s@base" % lb]
    if labels:
        res.append("%s@-1" % labels[0])
    res += ["-1", "-2"]
    checks += [("resolve", s) for s in res]

    # upgrade heads from empty ----------------------------------------------
    checks.append(("upgrade", [], "heads"))

    # random upgrades / downgrades -------------------------------------------
    def up_target(rows):
        c = rng.random()
        if c < 0.35:
            return pick(rows, "new")
        if c < 0.45:
            return pick(rows, "new")[:6]
        if c < 0.55:
            return "heads"
        if c < 0.65:
            return "+1"
        if c < 0.72:
            return "+3"
        if c < 0.82:
            return "%s+1" % pick(rows, "new")
        if c < 0.9 and labels:
            return "%s@head" % rng.choice(labels)
        if c < 0.95 and labels:
            return "%s@+1" % rng.choice(labels)
        return "head"

    def down_target(rows):
        c = rng.random()
        if c < 0.4:
            return pick(rows, "old")
        if c < 0.47:
            return "base"
        if c < 0.6:
            return "-1"
        if c < 0.68:
            return "-3"
        if c < 0.8:
            return "%s-1" % pick(rows, "old")
        if c < 0.88 and labels:
            return "%s@base" % rng.choice(labels)
        if c < 0.95 and labels:
            return "%s@-1" % rng.choice(labels)
        return pick(rows, "old")[:5]

    for i in range(20):
        if i % 2 == 0:
            rows = rand_state()
            checks.append(("upgrade", rows, up_target(rows)))
        else:
            rows = rand_state(allow_empty=False)
            checks.append(("downgrade", rows, down_target(rows)))

    # stamp ------------------------------------------------------------------
    for i in range(5):
        rows = rand_state()
        targets = [rng.choice(ids)] if rng.random() < 0.5 else pair()
        checks.append(("stamp", rows, targets, i == 4))

    # current ----------------------------------------------------------------
    for i in range(5):
        checks.append(("current", rand_state(allow_empty=(i == 0), k=1 + (i % 2))))

    # downgrade base from heads -------------------------------------------------
    checks.append(("downgrade", g.derive_state(env, ["heads"]), "base"))
    return checks


# ---------------------------------------------------------------------------
# one history
# ---------------------------------------------------------------------------


def run_history(pkg, cache):
    import alembic

    g = G()
    wheel = fetch_wheel(pkg, cache)
    revisions, non_literal = read_history(pkg, wheel)
    recursive = any("/" in r["file"] for r in revisions)
    spec = {"name": "real_" + pkg["name"], "revisions": revisions, "recursive": recursive}
    labels = sorted({lb for r in revisions for lb in as_list(r["branch_labels"])})
    merges = sum(1 for r in revisions if len(as_list(r["down_revision"])) > 1)
    n_deps = sum(1 for r in revisions if as_list(r["depends_on"]))
    source = {
        "package": pkg["package"],
        "version": pkg["version"],
        "versions_dir": pkg["versions_dir"],
        "wheel": os.path.basename(wheel),
        "sha256": pkg["sha256"],
    }
    if pkg.get("version_locations"):
        source["version_locations"] = pkg["version_locations"]
    if non_literal:
        source["non_literal"] = non_literal

    env = g.Env(spec)
    try:
        fixture = {
            "name": spec["name"],
            "alembic_version": alembic.__version__,
            "source": source,
            "revisions": revisions,
            "load_error": None,
            "heads": [],
            "bases": [],
            "history": [],
            "branches": [],
            "checks": [],
        }
        if recursive:
            fixture["recursive_version_locations"] = True

        def load():
            script = env.script()
            walked = list(script.walk_revisions())
            return (
                list(script.get_heads()),
                list(script.get_bases()),
                [s.revision for s in walked],
                [s.revision for s in walked if s.is_branch_point],
            )

        val, exc, load_ws = g.capture(env, load)
        if load_ws:
            fixture["warnings"] = load_ws
        desc = "%s %s, %s: %d revisions, %d merge(s), %d label(s), %d with depends_on" % (
            pkg["package"], pkg["version"], pkg["versions_dir"], len(revisions), merges, len(labels), n_deps)
        if exc is not None:
            fixture["load_error"] = g.err_text(env, exc)
            fixture["description"] = desc
            return fixture
        heads, bases, history, branches = val
        fixture.update(heads=heads, bases=bases, history=history, branches=branches)
        fixture["description"] = desc + ", %d base(s), %d head(s), %d branch point(s)" % (
            len(bases), len(heads), len(branches))
        seen = set()
        for chk in make_checks(g, env, spec["name"], revisions, heads, labels):
            key = json.dumps(chk)
            if key in seen:
                continue
            seen.add(key)
            fixture["checks"].append(g.run_check(env, chk, load_ws))
        return fixture
    finally:
        env.close()


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def run_under_seed(seed, only, cache):
    tmp = tempfile.mkdtemp(prefix="retort_real_seed_")
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    cmd = [sys.executable, os.path.abspath(__file__), "--raw", "--out", tmp, "--cache", cache, "--quiet"]
    if only:
        cmd += ["--only", ",".join(sorted(only))]
    return tmp, subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def annotate_unstable(fixtures, only, cache):
    g = G()
    others = []
    pending = list(AUDIT_SEEDS)
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = [run_under_seed(sd, only, cache) for sd in batch]
        for tmp, proc in procs:
            if proc.wait() != 0:
                sys.exit("seed run failed")
            got = {}
            for fn in os.listdir(tmp):
                with open(os.path.join(tmp, fn)) as f:
                    got[fn[: -len(".json")]] = json.load(f)
            shutil.rmtree(tmp, ignore_errors=True)
            others.append(got)
    marked = 0
    for name, fx in fixtures.items():
        top = set()
        per_check = [set() for _ in fx["checks"]]
        for other in others:
            ofx = other[name]
            for key in ("heads", "bases", "history", "branches", "load_error", "warnings", "revisions"):
                if fx.get(key) != ofx.get(key):
                    top.add(key)
            if [g.check_identity(c) for c in fx["checks"]] != [g.check_identity(c) for c in ofx["checks"]]:
                top.add("checks")
                continue
            for i, (a, b) in enumerate(zip(fx["checks"], ofx["checks"])):
                for key in set(a) | set(b):
                    if a.get(key) != b.get(key):
                        per_check[i].add(key)
        if top:
            fx["unstable_fields"] = sorted(top)
            marked += 1
        for c, keys in zip(fx["checks"], per_check):
            if keys:
                c["unstable_fields"] = sorted(keys)
                marked += 1
    return marked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", default="")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--hash-seed", default="0")
    ap.add_argument("--raw", action="store_true", help="skip the multi-seed stability pass")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    if os.environ.get("PYTHONHASHSEED") is None:
        env = dict(os.environ, PYTHONHASHSEED=args.hash_seed)
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

    import alembic

    g = G()
    if alembic.__version__ != g.ALEMBIC_VERSION:
        sys.exit("need alembic==%s, found %s" % (g.ALEMBIC_VERSION, alembic.__version__))

    t0 = time.time()
    only = set(x for x in args.only.split(",") if x)
    unknown = only - {p["name"] for p in PACKAGES}
    if unknown:
        sys.exit("unknown history: %s" % ", ".join(sorted(unknown)))
    # download everything first (the seed re-runs then only read the cache)
    pkgs = [p for p in PACKAGES if not only or p["name"] in only]
    for p in pkgs:
        fetch_wheel(p, args.cache)
    fixtures = {}
    for p in pkgs:
        t1 = time.time()
        fixtures["real_" + p["name"]] = fx = run_history(p, args.cache)
        if not args.quiet:
            print("  real_%s: %d revisions, %d checks, %.1fs" % (p["name"], len(fx["revisions"]), len(fx["checks"]), time.time() - t1), file=sys.stderr)
    marked = 0
    if not args.raw:
        marked = annotate_unstable(fixtures, only, args.cache)
    os.makedirs(args.out, exist_ok=True)
    for name, fx in fixtures.items():
        text = json.dumps(fx, sort_keys=True, indent=1) + "\n"
        if len(text.encode()) > MAX_BYTES:
            sys.exit("%s would be %d bytes (limit %d)" % (name, len(text.encode()), MAX_BYTES))
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            f.write(text)
    if not only:
        for fn in os.listdir(args.out):
            if fn.startswith("real_") and fn.endswith(".json") and fn[: -len(".json")] not in fixtures:
                os.remove(os.path.join(args.out, fn))
    if not args.quiet:
        nchecks = sum(len(fx["checks"]) for fx in fixtures.values())
        print(
            "wrote %d fixture(s), %d check(s) to %s in %.1fs; %d item(s) marked unstable_fields"
            % (len(fixtures), nchecks, args.out, time.time() - t0, marked)
        )


if __name__ == "__main__":
    main()
