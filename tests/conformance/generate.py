#!/usr/bin/env python3
"""Record Alembic's real revision-graph behaviour as JSON fixtures.

Run from the repository root:

    pip install alembic==1.20.1
    python3 tests/conformance/generate.py

Every case builds a throw-away Alembic environment (alembic.ini, env.py,
versions/*.py) on SQLite, *runs* Alembic in-process through
``alembic.command`` / ``ScriptDirectory`` and writes what it observed to
``tests/conformance/fixtures/<case>.json``.  Nothing in the fixtures is
hand-written expectation: the case tables below only say what to build and
which questions to ask; the answers come from Alembic.

Options:
    --out DIR        write fixtures to DIR instead of tests/conformance/fixtures
    --only NAME,...  only run the named cases (fixtures dir is then not pruned)
    --hash-seed N    PYTHONHASHSEED used for the run (default 0); the script
                     re-executes itself so output is reproducible
    --raw            skip the stability pass (see below)

Stability pass: Alembic iterates Python sets in a few places, so a handful of
results depend on PYTHONHASHSEED.  The main run uses PYTHONHASHSEED=0 (the
script re-executes itself to pin it); afterwards every case is re-run under
six more fixed seeds and any fixture field / check field whose value differed
is listed in an "unstable_fields" array on the fixture / check.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

ALEMBIC_VERSION = "1.20.1"
LOG_ENV = "RETORT_CONFORMANCE_LOG"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "fixtures")


# ---------------------------------------------------------------------------
# case description helpers
# ---------------------------------------------------------------------------


def R(rev, down=None, labels=None, deps=None, file=None):
    """One revision file.  ``down``/``labels``/``deps`` may be None, a str or
    a list (a list is written as a tuple literal)."""
    return {
        "file": file if file is not None else "%s.py" % rev,
        "revision": rev,
        "down_revision": list(down) if isinstance(down, (list, tuple)) else down,
        "branch_labels": list(labels) if isinstance(labels, (list, tuple)) else labels,
        "depends_on": list(deps) if isinstance(deps, (list, tuple)) else deps,
    }


def res(*specs):
    return [("resolve", s) for s in specs]


def up(start, target):
    return ("upgrade", list(start), target)


def down(start, target):
    return ("downgrade", list(start), target)


def stamp(start, targets, purge=False):
    return ("stamp", list(start), list(targets) if isinstance(targets, (list, tuple)) else [targets], purge)


def cur(start):
    return ("current", list(start))


CASES = []


def case(name, description, revisions, checks, recursive=False, auto=True):
    """``checks`` is a list of checks, or a callable ``fn(env)`` that returns
    one at run time (so that ``start`` states can come from Alembic itself)."""
    assert not any(c["name"] == name for c in CASES), name
    if callable(checks):
        flat = checks
    else:
        flat = []
        for c in checks:
            if isinstance(c, list):
                flat.extend(c)
            else:
                flat.append(c)
    CASES.append(
        {
            "name": name,
            "description": description,
            "revisions": revisions,
            "checks": flat,
            "recursive": recursive,
            "auto": auto,
        }
    )


# ---------------------------------------------------------------------------
# hand-designed cases
# ---------------------------------------------------------------------------

# 1 ---------------------------------------------------------------- linear
CHAIN4 = [R("a1"), R("b2", "a1"), R("c3", "b2"), R("d4", "c3")]
case(
    "linear_chain",
    "a1 <- b2 <- c3 <- d4; absolute targets, stamps, errors going the wrong way",
    CHAIN4,
    [
        res("a1", "d4", "heads", "head", "base", "a1@head", "d4@base"),
        up([], "b2"),
        up(["a1"], "d4"),
        up(["b2"], "heads"),
        up(["d4"], "heads"),
        up(["c3"], "a1"),
        down(["d4"], "b2"),
        down(["d4"], "a1"),
        down(["b2"], "d4"),
        down(["b2"], "b2"),
        down([], "base"),
        stamp(["b2"], "d4"),
        stamp([], "c3"),
        stamp(["d4"], "base"),
        stamp(["d4"], "heads"),
        cur(["c3"]),
        cur([]),
    ],
)

# 1b ------------------------------------------ relative steps through depends_on
case(
    "relative_through_depends_on",
    "u1 <- u2 <- u3 (u); v1 (v, a base) depends on u2, v1 <- v2 <- v3; w1 (w, a base) "
    "depends on v2: label@-N / label@+N / -N / +N / rev-N where a branch's position is "
    "reached only through another branch's depends_on",
    [
        R("u1", None, "u"), R("u2", "u1"), R("u3", "u2"),
        R("v1", None, "v", "u2"), R("v2", "v1"), R("v3", "v2"),
        R("w1", None, "w", "v2"),
    ],
    [
        down(["v1"], "u@-1"),
        down(["v3"], "u@-1"),
        down(["v3"], "u@-2"),
        down(["v2", "u3"], "u@-1"),
        down(["w1"], "v@-1"),
        down(["w1"], "u@-1"),
        down(["v3"], "-1"),
        down(["v3"], "-2"),
        down(["v3"], "v3-1"),
        down(["v3"], "v3-2"),
        down(["w1"], "w@-1"),
        up(["v1"], "u@+1"),
        up(["u1"], "v@+1"),
        up(["u2"], "v@+2"),
        up(["v1"], "+1"),
        up([], "+2"),
        up(["u1"], "u@+2"),
        up(["v2"], "v2+1"),
        up(["u1"], "u1+2"),
        up(["v1"], "w@+1"),
        res("u@head", "v@base", "w@-1", "v3-1", "u1+2"),
    ],
)

# 1c ------------------------------------------ several bases, labels, dependencies
case(
    "relative_several_bases_and_labels",
    "a1 <- a2 <- a3 (a); b1 <- b2 (b, b2 depends on a2); c1 <- c2 (no label): relative "
    "steps on each label from partial states",
    [
        R("a1", None, "a"), R("a2", "a1"), R("a3", "a2"),
        R("b1", None, "b"), R("b2", "b1", None, "a2"),
        R("c1"), R("c2", "c1"),
    ],
    [
        down(["a3", "b2", "c2"], "a@-1"),
        down(["a3", "b2", "c2"], "a@-2"),
        down(["a3", "b2", "c2"], "b@-1"),
        down(["a3", "b2", "c2"], "b@-2"),
        down(["a2", "b2"], "a@-1"),
        down(["a3", "b2", "c2"], "c2-1"),
        up(["a1"], "b@+1"),
        up(["a1"], "b@+2"),
        up(["a1", "c1"], "a@+2"),
        up(["c1"], "c1+1"),
        up([], "a@+1"),
        up(["a1"], "a1+1"),
        up(["b1"], "b@+1"),
    ],
)

# 2 ------------------------------------------------------- relative specs
CHAIN5 = [R("r1aa"), R("r2bb", "r1aa"), R("r3cc", "r2bb"), R("r4dd", "r3cc"), R("r5ee", "r4dd")]
case(
    "relative_specs_linear",
    "five-revision chain; +N / -N / <rev>+N / <rev>-N / head-N / base+N style targets",
    CHAIN5,
    [
        res("-1", "-2", "+1", "r2bb+1", "head"),
        up([], "+1"),
        up([], "+2"),
        up(["r2bb"], "+1"),
        up(["r2bb"], "+3"),
        up(["r2bb"], "r2bb+2"),
        up(["r1aa"], "r4dd-1"),
        up([], "head-2"),
        up([], "base+2"),
        up(["r2bb"], "-1"),
        up(["r2bb"], "+0"),
        down(["r5ee"], "-1"),
        down(["r5ee"], "-2"),
        down(["r5ee"], "r4dd-2"),
        down(["r5ee"], "r1aa+1"),
        down(["r5ee"], "head-3"),
        down(["r3cc"], "+1"),
        down(["r3cc"], "base+1"),
    ],
)

# 3 --------------------------------------------------- relative beyond ends
case(
    "relative_beyond_ends",
    "relative steps that walk past base or past head",
    CHAIN4,
    [
        res("-4", "-5"),
        down(["b2"], "-2"),
        down(["b2"], "-3"),
        down(["d4"], "-4"),
        down(["d4"], "-5"),
        down(["d4"], "b2-2"),
        down(["d4"], "a1-1"),
        up(["c3"], "+1"),
        up(["c3"], "+2"),
        up([], "+4"),
        up([], "+5"),
        up(["a1"], "c3+2"),
        up([], "d4+1"),
        down([], "-1"),
    ],
)

# 4 ------------------------------------------------------ branch point
BRANCH = [R("a0"), R("b1", "a0"), R("c1", "a0"), R("b2", "b1")]
case(
    "branch_point_two_heads",
    "a0 is a branch point: a0 <- b1 <- b2 and a0 <- c1",
    BRANCH,
    [
        res("b2", "c1", "b2@head", "c1@head", "b1@head", "a0@head", "a0@heads", "b2@base", "-1"),
        up([], "b2"),
        up([], "c1"),
        up([], "head"),
        up(["a0"], "+1"),
        up(["b2"], "heads"),
        up(["c1"], "heads"),
        up(["b1"], "+1"),
        up(["b2"], "c1"),
        up(["b1", "c1"], "heads"),
        down(["b2", "c1"], "a0"),
        down(["b2", "c1"], "b1"),
        down(["b2", "c1"], "c1"),
        down(["b2", "c1"], "-1"),
        down(["c1", "b2"], "-1"),
        down(["b2", "c1"], "b2@-1"),
        down(["b2", "c1"], "c1@-1"),
        down(["b2", "c1"], "b2@base"),
        down(["b2"], "-1"),
        stamp([], ["b2", "c1"]),
        cur(["b2", "c1"]),
    ],
)

# 5 ------------------------------------------ head ordering file vs id
case(
    "heads_order_file_vs_id",
    "three children of r0 whose file-name order (z,m,a ids in files 1_,2_,3_) is the reverse of id order",
    [
        R("r0base", file="0_base.py"),
        R("zz99", "r0base", file="1_first.py"),
        R("mm55", "r0base", file="2_second.py"),
        R("aa11", "r0base", file="3_third.py"),
    ],
    [
        up([], "zz99"),
        up(["aa11"], "heads"),
        up(["mm55"], "heads"),
        down(["aa11", "mm55", "zz99"], "r0base"),
        down(["aa11", "mm55", "zz99"], "-1"),
        down(["zz99", "mm55", "aa11"], "-1"),
        down(["aa11", "zz99"], "base"),
        stamp(["zz99"], ["aa11"]),
        stamp([], ["aa11", "zz99"]),
        cur(["aa11", "mm55", "zz99"]),
    ],
)

# 6 ------------------------------------ file order vs id order, deep
case(
    "heads_order_deep_branches",
    "two 3-long branches off one root, files interleaved so topological order != file order",
    [
        R("x3", "x2", file="01.py"),
        R("y1", "root", file="02.py"),
        R("x1", "root", file="03.py"),
        R("y3", "y2", file="04.py"),
        R("root", file="05.py"),
        R("y2", "y1", file="06.py"),
        R("x2", "x1", file="07.py"),
    ],
    [
        res("x1@head", "y1@head", "root@heads", "x3@base"),
        up([], "x2"),
        up(["x1"], "heads"),
        up(["y2"], "heads"),
        up(["x1", "y1"], "heads"),
        down(["x3", "y3"], "root"),
        down(["x3", "y3"], "x1"),
        down(["x2", "y3"], "-1"),
        down(["y3", "x2"], "-1"),
        down(["x3", "y3"], "-2"),
    ],
)

# 7 ------------------------------------------------------- merge of 2
MERGE2 = [R("a"), R("bbbb", "a"), R("cccc", "a"), R("mmmm", ["bbbb", "cccc"])]
case(
    "merge_two_parents",
    "a <- bbbb, a <- cccc, mmmm merges (bbbb, cccc)",
    MERGE2,
    [
        res("mmmm", "mmmm@base", "bbbb@head", "cccc@head", "a@head", "-1", "-2"),
        up([], "bbbb"),
        up(["bbbb"], "mmmm"),
        up(["cccc"], "heads"),
        up(["bbbb", "cccc"], "heads"),
        up(["bbbb", "cccc"], "+1"),
        up(["bbbb"], "+1"),
        down(["mmmm"], "bbbb"),
        down(["mmmm"], "cccc"),
        down(["mmmm"], "a"),
        down(["mmmm"], "-1"),
        down(["mmmm"], "-2"),
        down(["mmmm"], "mmmm-1"),
        stamp(["bbbb", "cccc"], "mmmm"),
        stamp(["mmmm"], "bbbb"),
        stamp(["mmmm"], ["bbbb", "cccc"]),
        cur(["bbbb", "cccc"]),
    ],
)

# 8 ------------------------------------------------------- merge of 3
case(
    "merge_three_parents",
    "root with three children merged by one revision listing them (d, b, c)",
    [
        R("root"),
        R("bran", "root"),
        R("cran", "root"),
        R("dran", "root"),
        R("merg", ["dran", "bran", "cran"]),
    ],
    [
        res("merg@base", "root@head"),
        up([], "heads"),
        up(["cran"], "heads"),
        up(["bran", "dran"], "merg"),
        up([], "cran"),
        down(["merg"], "root"),
        down(["merg"], "bran"),
        down(["merg"], "-1"),
        stamp(["merg"], ["bran", "cran"]),
        stamp(["bran", "cran", "dran"], "merg"),
    ],
)

# 9 ------------------------------------------------ merge then continue
case(
    "merge_then_continue",
    "branch, merge, then two more revisions after the merge",
    [
        R("s0"),
        R("s1a", "s0"),
        R("s1b", "s0"),
        R("s2a", "s1a"),
        R("smrg", ["s2a", "s1b"]),
        R("s4", "smrg"),
        R("s5", "s4"),
    ],
    [
        res("head", "s5@base", "s1b@head", "-2", "s4-1"),
        up([], "s4"),
        up(["s1a"], "head"),
        up(["s2a", "s1b"], "+2"),
        up(["s1b"], "+1"),
        down(["s5"], "smrg"),
        down(["s5"], "s2a"),
        down(["s5"], "s1b"),
        down(["s5"], "-3"),
        down(["s5"], "s0"),
        down(["s5"], "-2"),
        stamp(["s5"], "s2a"),
    ],
)

# 10 -------------------------------------------------------- diamond
case(
    "diamond_merge",
    "classic diamond a <- b, a <- c, d merges (b, c); files named so c sorts first",
    [R("a", file="1_a.py"), R("b", "a", file="3_b.py"), R("c", "a", file="2_c.py"), R("d", ["b", "c"], file="4_d.py")],
    [
        res("d", "d-1", "b@head", "c@base"),
        up([], "d"),
        up(["b"], "d"),
        up(["c"], "d"),
        up(["a"], "+1"),
        up(["a"], "+2"),
        down(["d"], "a"),
        down(["d"], "b"),
        down(["d"], "c"),
        down(["d"], "-1"),
        down(["d"], "b@-1"),
        down(["b", "c"], "a"),
        down(["b", "c"], "b"),
    ],
)

# 11 --------------------------------------------------- deeper diamond
case(
    "diamond_deep",
    "a splits into b1<-c1 and b2<-c2, merged by d; merge parents listed (c2, c1)",
    [
        R("aaaa"),
        R("b1b1", "aaaa"),
        R("b2b2", "aaaa"),
        R("c1c1", "b1b1"),
        R("c2c2", "b2b2"),
        R("dddd", ["c2c2", "c1c1"]),
    ],
    [
        res("b1b1@head", "c2c2@base"),
        up([], "c1c1"),
        up(["c1c1"], "heads"),
        up(["b1b1", "b2b2"], "heads"),
        up(["b1b1", "c2c2"], "dddd"),
        down(["dddd"], "aaaa"),
        down(["dddd"], "b1b1"),
        down(["dddd"], "c1c1"),
        down(["c1c1", "c2c2"], "b2b2"),
        down(["c1c1", "c2c2"], "-1"),
        stamp(["dddd"], ["b1b1", "c2c2"]),
    ],
)

# 12 --------------------------------------------------- multiple bases
TWOROOTS = [R("x1"), R("y1"), R("x2", "x1"), R("y2", "y1")]
case(
    "multiple_bases",
    "two independent roots x1 <- x2 and y1 <- y2",
    TWOROOTS,
    [
        res("x1@head", "y2@base", "x2@-1", "-1"),
        up([], "x2"),
        up(["x2"], "y1"),
        up(["x1"], "heads"),
        up([], "+1"),
        up(["x1"], "+1"),
        up(["x1", "y1"], "+1"),
        down(["x2", "y2"], "x1"),
        down(["x2", "y2"], "x2@base"),
        down(["x2", "y2"], "y2@-1"),
        down(["x2", "y2"], "-1"),
        down(["x2", "y2"], "x1@-1"),
        stamp(["x2"], "y2"),
        stamp(["x2", "y2"], "x1"),
        stamp([], "heads"),
    ],
)

# 13 ---------------------------------------- three roots, merged later
case(
    "three_roots_merged",
    "three roots p, q, r; a merge of p and q; r stays separate",
    [R("pppp"), R("qqqq"), R("rrrr"), R("pq01", ["pppp", "qqqq"]), R("pq02", "pq01")],
    [
        res("rrrr@head", "pq02@base"),
        up([], "pq01"),
        up(["qqqq"], "heads"),
        up(["rrrr"], "pq02"),
        down(["pq02", "rrrr"], "pppp"),
        down(["pq02", "rrrr"], "qqqq"),
        down(["pq02", "rrrr"], "pq02@base"),
        down(["pq02", "rrrr"], "rrrr@base"),
        stamp(["pq02"], "pppp"),
    ],
)

# 14 -------------------------------------------------- label on root
case(
    "label_on_root",
    "branch label 'core' on root a1 of a linear chain; inherited by descendants",
    [R("a1", labels="core"), R("b2", "a1"), R("c3", "b2"), R("d4", "c3")],
    [
        res(
            "core",
            "core@head",
            "core@heads",
            "core@base",
            "core@b2",
            "core@+1",
            "core@-1",
            "core@b2+1",
            "core@c3-1",
            "d4@head",
            "b2@core",
            "nope@head",
        ),
        up([], "core@head"),
        up([], "core@+1"),
        up(["b2"], "core@+1"),
        up(["b2"], "core@c3"),
        up([], "core@b2+1"),
        down(["d4"], "core@base"),
        down(["d4"], "core@-1"),
        down(["d4"], "core@-2"),
        down(["d4"], "core@b2"),
        down(["d4"], "core@c3-2"),
        stamp([], "core@head"),
        stamp(["d4"], "core@base"),
    ],
)

# 15 -------------------------------------------------- label on mid
LBLMID = [
    R("m0"),
    R("m1", "m0"),
    R("f1", "m1", labels="feat"),
    R("f2", "f1"),
    R("n2", "m1"),
    R("n3", "n2"),
]
case(
    "label_on_mid_revision",
    "label 'feat' on f1, a child of branch point m1; feat also covers f2 (descendant)",
    LBLMID,
    [
        res("feat", "feat@head", "feat@base", "feat@-1", "feat@+1", "feat@f1", "feat@n2", "feat@m0", "feat@m1", "f2@head", "feat@heads"),
        up([], "feat@head"),
        up([], "feat@+1"),
        up(["m1"], "feat@+1"),
        up(["n3"], "feat@+1"),
        up(["n3"], "feat@head"),
        up(["f1", "n3"], "feat@+1"),
        down(["f2", "n3"], "feat@base"),
        down(["f2", "n3"], "feat@-1"),
        down(["f2", "n3"], "feat@-2"),
        down(["f2", "n3"], "feat@m1"),
        down(["f2", "n3"], "n3@-1"),
        down(["f2", "n3"], "m1"),
        stamp(["n3"], "feat@head"),
    ],
)

# 16 -------------------------------------------- two labels one revision
case(
    "two_labels_one_revision",
    "root k0 carries labels ('lab1', 'lab2'); second root o0 labelled 'other'",
    [R("k0", labels=["lab1", "lab2"]), R("k1", "k0"), R("k2", "k1"), R("o0", labels="other"), R("o1", "o0")],
    [
        res("lab1@head", "lab2@head", "lab1@base", "lab2@k1", "other@head", "other@k1", "lab1", "lab2", "lab2@-1", "other@+1"),
        up([], "lab2@head"),
        up([], "other@head"),
        up(["k2"], "other@+1"),
        up(["k1", "o0"], "lab1@+1"),
        down(["k2", "o1"], "lab1@base"),
        down(["k2", "o1"], "other@base"),
        down(["k2", "o1"], "lab2@-1"),
        down(["k2", "o1"], "other@-1"),
        down(["k2", "o1"], "-1"),
        stamp(["k2", "o1"], "other@base"),
    ],
)

# 17 ------------------------------------------- labelled independent roots
TWOLBL = [
    R("alp0", labels="alpha", file="a0.py"),
    R("alp1", "alp0", file="a1.py"),
    R("alp2", "alp1", file="a2.py"),
    R("bet0", labels="beta", file="b0.py"),
    R("bet1", "bet0", file="b1.py"),
    R("bet2", "bet1", file="b2.py"),
]
case(
    "labels_on_two_roots",
    "independent branches alpha (alp0..alp2) and beta (bet0..bet2), labels on roots",
    TWOLBL,
    [
        res("alpha@head", "beta@head", "alpha@base", "beta@-1", "beta@+2", "alpha@bet1", "alpha@alp1", "alp2@beta", "alpha", "alph", "bet", "beta", "bet0@alpha"),
        up([], "alph"),
        up([], "alpha@head"),
        up([], "beta@+1"),
        up(["alp2"], "beta@+1"),
        up(["alp1", "bet0"], "beta@+1"),
        up(["alp1", "bet0"], "alpha@+1"),
        up(["alp1", "bet0"], "+1"),
        up(["alp1"], "beta@head"),
        up(["alp1", "bet1"], "heads"),
        down(["alp2", "bet2"], "beta@base"),
        down(["alp2", "bet2"], "alpha@-1"),
        down(["alp2", "bet2"], "beta@-2"),
        down(["alp2", "bet2"], "alpha@alp0"),
        down(["alp2", "bet2"], "bet1"),
        down(["alp2"], "beta@base"),
        stamp(["alp2", "bet2"], "beta@base"),
    ],
)

# 18 ------------------------------------------ downgrade one branch label
case(
    "downgrade_branch_by_label",
    "root c0 branches into labelled lines 'left' (l1<-l2) and 'right' (r1<-r2)",
    [R("c0"), R("l1", "c0", labels="left"), R("l2", "l1"), R("r1", "c0", labels="right"), R("r2", "r1")],
    [
        res("left@head", "right@base", "left@base", "c0@head", "left@c0", "right@l1"),
        up([], "left@head"),
        up(["l2"], "right@head"),
        up(["l2"], "right@+1"),
        up(["c0"], "right@+2"),
        down(["l2", "r2"], "left@base"),
        down(["l2", "r2"], "left@c0"),
        down(["l2", "r2"], "left@-1"),
        down(["l2", "r2"], "right@-2"),
        down(["l2", "r2"], "left@-2"),
        down(["l2", "r2"], "c0"),
        down(["l2", "r2"], "l1"),
        stamp(["l2", "r2"], "right@base"),
    ],
)

# 19 --------------------------------------- label propagates through merge
case(
    "label_through_merge",
    "label 'side' on s1 (child of branch point b0); s1 is merged with t1 into mg, then mg <- after",
    [R("b0"), R("s1", "b0", labels="side"), R("t1", "b0"), R("mg", ["s1", "t1"]), R("after", "mg")],
    [
        res("side@head", "side@base", "side@t1", "side@after", "side@-1", "after@side"),
        up([], "side@head"),
        up(["t1"], "side@head"),
        down(["after"], "side@base"),
        down(["after"], "side@-1"),
        down(["after"], "side@b0"),
        stamp([], "side@head"),
    ],
)

# 20 -------------------------------------- label@head with several heads
case(
    "label_with_several_heads",
    "label 'tree' on root t0 which branches into t1a and t1b: tree@head is ambiguous",
    [R("t0", labels="tree"), R("t1a", "t0"), R("t1b", "t0"), R("u0"), R("u1", "u0")],
    [
        res("tree@head", "tree@heads", "tree@base", "tree@-1", "tree@+1", "u1@tree", "tree@u1"),
        up([], "tree@head"),
        up([], "tree@heads"),
        up(["t1a"], "tree@head"),
        up(["u1"], "tree@+1"),
        down(["t1a", "t1b", "u1"], "tree@base"),
        down(["t1a", "t1b", "u1"], "tree@-1"),
        down(["t1a", "t1b", "u1"], "t0"),
        stamp([], "tree@heads"),
    ],
)

# 21 ------------------------------------------------- depends_on by id
case(
    "depends_on_across_bases",
    "independent roots x1<-x2 and y1<-y2, y2 depends_on x2 (by id)",
    [R("x1"), R("x2", "x1"), R("y1"), R("y2", "y1", deps="x2")],
    [
        res("y2@base", "x2@head", "x1@heads"),
        up([], "y2"),
        up([], "y1"),
        up(["y1"], "y2"),
        up(["x1", "y1"], "y2"),
        up(["x2"], "heads"),
        up(["y1"], "+1"),
        down(["x2", "y2"], "x1"),
        down(["y2"], "x1"),
        down(["x2", "y2"], "y1"),
        down(["y2"], "-1"),
        down(["y2"], "x2@base"),
        down(["y2"], "y2@-1"),
        stamp(["y1"], "y2"),
        cur(["y2"]),
        cur(["x2", "y2"]),
    ],
)

# 22 ---------------------------------------------- depends_on by label
case(
    "depends_on_by_label",
    "y2 depends_on 'xlib', the label of root x1 (x1 <- x2); dependency resolves to x1 itself",
    [R("x1", labels="xlib"), R("x2", "x1"), R("y1", labels="yapp"), R("y2", "y1", deps="xlib")],
    [
        res("xlib@head", "yapp@head", "xlib", "y2@base"),
        up([], "y2"),
        up([], "yapp@head"),
        up(["y1"], "yapp@+1"),
        down(["x2", "y2"], "xlib@base"),
        down(["x1", "y2"], "xlib@base"),
        down(["x2", "y2"], "yapp@base"),
        down(["x2", "y2"], "x1"),
        stamp([], "yapp@head"),
    ],
)

# 23 -------------------------------------- depends_on an ancestor
case(
    "depends_on_ancestor",
    "c3 depends_on a1 which is already its ancestor (normalized away)",
    [R("a1"), R("b2", "a1"), R("c3", "b2", deps="a1"), R("d4", "c3")],
    [
        res("d4@base", "-1"),
        up([], "c3"),
        up(["a1"], "+2"),
        down(["d4"], "a1"),
        down(["d4"], "-2"),
        down(["c3"], "b2"),
        stamp(["d4"], "b2"),
    ],
)

# 24 ------------------------------------ depends_on a sibling branch
case(
    "depends_on_sibling_branch",
    "root a; b off a; c off a depends_on b: b stays a versioned head but not a 'real' head",
    [R("a"), R("b", "a"), R("c", "a", deps="b"), R("dddd", "c")],
    [
        res("heads", "head", "b@head", "c@heads"),
        up([], "c"),
        up([], "b"),
        up(["b"], "heads"),
        up(["a"], "+1"),
        down(["b", "dddd"], "b"),
        down(["b", "dddd"], "a"),
        down(["dddd"], "a"),
        down(["dddd"], "-1"),
        down(["b", "dddd"], "c"),
        stamp([], "heads"),
        cur(["dddd"]),
    ],
)

# 25 --------------------------------------- depends_on several revisions
case(
    "depends_on_multiple",
    "three roots p, q, r; z (child of r) depends_on [p2, q1]",
    [R("p1"), R("p2", "p1"), R("q1"), R("r1"), R("z9", "r1", deps=["p2", "q1"])],
    [
        res("heads", "z9@base", "p1@head"),
        up([], "z9"),
        up(["p1"], "z9"),
        up(["q1"], "z9"),
        down(["z9"], "base"),
        down(["z9"], "p1"),
        down(["z9"], "q1@base"),
        down(["z9"], "r1"),
        stamp([], "z9"),
    ],
)

# 26 ----------------------------------------- several heads: head error
case(
    "head_with_several_heads",
    "two heads: 'head' is an error, 'heads' works",
    BRANCH,
    [
        res("head", "heads", "head-1", "heads-1"),
        up([], "head"),
        up(["b1"], "head"),
        up([], "head+1"),
        down(["b2", "c1"], "head"),
        down(["b2", "c1"], "heads"),
        down(["b2", "c1"], "head-1"),
        stamp([], "head"),
        stamp([], "heads"),
    ],
)

# 27 ------------------------------------------------- prefixes
case(
    "prefixes_unique_and_exact",
    "ids ae1027a6acf, ae10, ae1b2c3d4e5f, b7f0e4: exact id beats prefix; short prefixes work when unique",
    [R("ae1027a6acf"), R("ae10", "ae1027a6acf"), R("ae1b2c3d4e5f", "ae10"), R("b7f0e4", "ae1b2c3d4e5f")],
    [
        res("ae10", "ae102", "ae1027", "ae1b", "ae1", "ae", "b7f", "b7f0", "b7", "b", "7f0e", "AE10", "Ae1b", "ae1b@head", "ae10@base", "ae1b2c3d4e5f0", "ae1027a6acf+1"),
        up([], "ae10"),
        up([], "ae102"),
        up([], "ae1b"),
        up([], "b7f0"),
        up([], "b7f"),
        up(["ae10"], "ae1b+1"),
        down(["b7f0e4"], "ae102"),
        down(["b7f0e4"], "ae10"),
        down(["b7f0e4"], "ae1b-1"),
        stamp([], "ae1b"),
    ],
)

# 27b ------------------------------------------- ids of 3 chars or fewer
case(
    "prefix_short_ids",
    "ids 'abc' and 'ab' (<= 3 chars) are never prefix candidates, so 'ab'/'a' prefix-match only abcdef12",
    [R("ab"), R("abc", "ab"), R("abcdef12", "abc"), R("zz01xy", "abcdef12")],
    [
        res("a", "ab", "abc", "abcd", "abcdef", "b", "z", "zz0", "Z"),
        up([], "a"),
        up([], "ab"),
        up(["ab"], "abcd"),
        up([], "z"),
        down(["zz01xy"], "a"),
        down(["zz01xy"], "ab"),
        stamp([], "a"),
    ],
)

# 28 ------------------------------------------------ ambiguous prefixes
case(
    "prefixes_ambiguous",
    "abcd1111 and abcd2222 are siblings, abcd1111ff is a child: 'abcd' and 'abcd1111f' forms",
    [R("root0001"), R("abcd1111", "root0001"), R("abcd2222", "root0001"), R("abcd1111ff", "abcd1111")],
    [
        res("abcd", "abcd1", "abcd2", "abcd1111", "abcd1111f", "abcd1111@head", "abcd@head", "root"),
        up([], "abcd"),
        up([], "abcd1"),
        up([], "abcd1111"),
        up([], "abcd2"),
        down(["abcd1111ff", "abcd2222"], "abcd"),
        down(["abcd1111ff", "abcd2222"], "abcd1"),
        down(["abcd1111ff", "abcd2222"], "root"),
        stamp([], "abcd"),
    ],
)

# 29 ------------------------------------------ prefix case sensitivity
case(
    "prefixes_case_sensitive",
    "ids AbCdEf1234 and abcdef5678 differ only by case in their prefix",
    [R("AbCdEf1234"), R("abcdef5678", "AbCdEf1234"), R("ABCDEF0000", "abcdef5678")],
    [
        res("abcd", "AbCd", "ABCD", "aBcD", "abcdef5678", "ABCDEF5678", "AbCdEf", "ABCDEF"),
        up([], "AbCd"),
        up([], "abcd"),
        up([], "ABCD"),
        up([], "aBcD"),
        down(["ABCDEF0000"], "abcd"),
        down(["ABCDEF0000"], "AbCd"),
    ],
)

# 30 ------------------------------------------------------ word ids
case(
    "non_hex_word_ids",
    "revision ids are words / mixed case / underscores, 10-13 chars",
    [
        R("initSchema01", file="001_init.py"),
        R("AddUsersTbl", "initSchema01", file="002_users.py"),
        R("add_orders_x", "AddUsersTbl", file="003_orders.py"),
        R("IndexEmails", "AddUsersTbl", file="004_index.py"),
        R("merge_ord_ix", ["add_orders_x", "IndexEmails"], file="005_merge.py"),
    ],
    [
        res("init", "Init", "AddU", "addu", "add_", "add_orders_x@head", "Index", "merge", "merge_ord_ix-1", "heads"),
        up([], "AddU"),
        up([], "add_"),
        up(["IndexEmails"], "heads"),
        up([], "Index"),
        down(["merge_ord_ix"], "AddUsersTbl"),
        down(["merge_ord_ix"], "add_"),
        down(["merge_ord_ix"], "initSchema01"),
        stamp([], ["add_orders_x", "IndexEmails"]),
    ],
)

# 31 ---------------------------------------- ids not matching file names
case(
    "ids_not_matching_filenames",
    "file names suggest a different graph than the ids inside them",
    [
        R("f00dcafe0003", file="0001_a1.py"),
        R("f00dcafe0001", "f00dcafe0003", file="0002_b2.py"),
        R("f00dcafe0002", "f00dcafe0003", file="0003_c3.py"),
        R("beef0000", "f00dcafe0001", file="a1.py"),
    ],
    [
        res("a1", "0001", "f00d", "f00dcafe0001", "f00dcafe0002@head", "beef", "f00dcafe0001@head"),
        up([], "beef"),
        up([], "f00dcafe0002"),
        up(["f00dcafe0001"], "heads"),
        down(["beef0000", "f00dcafe0002"], "f00dcafe0003"),
        down(["beef0000", "f00dcafe0002"], "-1"),
        down(["f00dcafe0002", "beef0000"], "-1"),
        stamp([], "heads"),
    ],
)

# 32 --------------------------------------------------- nested subfolder
case(
    "nested_subfolder_order",
    "recursive_version_locations: top-level files sort before sub/ files, sub/ before zz/; heads follow load order",
    [
        R("root0", file="sub/000_root.py"),
        R("hb01", "root0", file="zz/001_hb.py"),
        R("ha01", "root0", file="sub/002_ha.py"),
        R("hc01", "root0", file="zzz_top.py"),
        R("hd01", "root0", file="aaa_top.py"),
        R("ha02", "ha01", file="sub/deeper/003.py"),
    ],
    [
        res("root0@heads", "ha01@head"),
        up(["root0"], "heads"),
        up(["hb01"], "heads"),
        up([], "ha02"),
        down(["ha02", "hb01", "hc01", "hd01"], "root0"),
        down(["ha02", "hb01", "hc01", "hd01"], "-1"),
        down(["hd01", "hc01", "hb01", "ha02"], "-1"),
        down(["ha02", "hb01"], "ha01"),
        stamp([], "heads"),
        cur(["ha02", "hb01"]),
    ],
    recursive=True,
)

# 33 --------------------------------------- tie-breaks on merges, ids vs files
case(
    "merge_parent_order_tiebreak",
    "merge down_revision lists (zeta, alph); file order puts alph's file after zeta's",
    [
        R("base0", file="00.py"),
        R("zeta", "base0", file="10_zeta.py"),
        R("alph", "base0", file="20_alph.py"),
        R("zeta2", "zeta", file="30_zeta2.py"),
        R("alph2", "alph", file="05_alph2.py"),
        R("mrg0", ["zeta2", "alph2"], file="90_mrg.py"),
    ],
    [
        up([], "mrg0"),
        up(["zeta"], "mrg0"),
        up(["alph"], "mrg0"),
        up(["alph2", "zeta"], "heads"),
        down(["mrg0"], "base0"),
        down(["mrg0"], "zeta"),
        down(["mrg0"], "alph"),
        down(["alph2", "zeta2"], "base"),
    ],
)

# 34 --------------------------------------------- unmerge via downgrade
case(
    "downgrade_unmerge",
    "downgrade from/through a merge point leaves the branch heads in the table",
    [R("u0"), R("u1", "u0"), R("v1", "u0"), R("u2", "u1"), R("um", ["u2", "v1"]), R("uz", "um")],
    [
        down(["uz"], "um"),
        down(["uz"], "u2"),
        down(["uz"], "v1"),
        down(["uz"], "u1"),
        down(["um"], "-1"),
        down(["uz"], "-2"),
        down(["um"], "u0"),
        down(["u2", "v1"], "u1"),
        down(["u2", "v1"], "u0"),
        down(["uz"], "v1@-1"),
        cur(["uz"]),
    ],
)

# 35 ------------------------------------------ downgrade to branch point
case(
    "downgrade_to_branch_point",
    "downgrade two branches back to their common branch point and beyond",
    [R("bp0"), R("bp1", "bp0"), R("la", "bp1"), R("lb", "la"), R("ra", "bp1"), R("rb", "ra")],
    [
        down(["lb", "rb"], "bp1"),
        down(["lb", "rb"], "bp0"),
        down(["lb", "ra"], "bp1"),
        down(["lb", "rb"], "la"),
        down(["lb", "rb"], "ra"),
        down(["lb"], "bp1"),
        down(["lb", "rb"], "lb@bp1"),
        down(["lb", "rb"], "la@-1"),
        down(["lb", "rb"], "bp1@-1"),
        cur(["lb", "rb"]),
    ],
)

# 36 --------------------------------------------- partial upgrade state
case(
    "upgrade_from_partial_state",
    "one branch already applied; upgrade heads / other branch / relative",
    [R("p0"), R("pa1", "p0"), R("pa2", "pa1"), R("pb1", "p0"), R("pb2", "pb1"), R("pc1", "p0")],
    [
        up(["pa2"], "heads"),
        up(["pa1"], "heads"),
        up(["pa2", "pb1"], "heads"),
        up(["pa2"], "pb2"),
        up(["pa2"], "pb1+1"),
        up(["pa2"], "+1"),
        up(["pa1", "pb1"], "pa2"),
        up(["pa1", "pb1"], "+1"),
        up(["p0"], "+1"),
        up(["pa1", "pb1"], "pa1@+1"),
        up(["pa2", "pb2"], "pc1"),
    ],
)

# 37 ------------------------------------------------- stamp multi targets
case(
    "stamp_multiple_targets",
    "stamp several revisions at once, including overlapping and relative forms",
    BRANCH,
    [
        stamp([], ["b2", "c1"]),
        stamp(["a0"], ["b2", "c1"]),
        stamp(["b1"], ["b2", "c1"]),
        stamp([], ["b1", "b2"]),
        stamp([], ["a0", "c1"]),
        stamp(["b2", "c1"], ["b1", "c1"]),
        stamp(["b2", "c1"], ["a0"]),
        stamp(["b2"], ["heads"]),
        stamp([], ["base"]),
        stamp(["b2"], ["b2"]),
        stamp(["b2", "c1"], ["base", "c1"]),
        stamp([], ["zzzz"]),
    ],
)

# 38 -------------------------------------------------------- stamp purge
case(
    "stamp_purge",
    "stamp with purge=True wipes whatever is in the table first (even unknown ids)",
    CHAIN4,
    [
        stamp(["deadbeef"], "c3"),
        stamp(["deadbeef"], "c3", purge=True),
        stamp(["b2"], "a1", purge=True),
        stamp(["b2"], "d4", purge=True),
        stamp(["b2", "c3"], "d4", purge=True),
        stamp(["d4"], "base", purge=True),
        stamp([], "heads", purge=True),
        stamp(["deadbeef", "b2"], ["base"], purge=True),
        up(["deadbeef"], "heads"),
        cur(["deadbeef"]),
    ],
)

# 39 ------------------------------------------------ stamp across branches
case(
    "stamp_across_branches",
    "stamping onto a different branch than the one recorded",
    [R("s0"), R("s1", "s0"), R("s2", "s1"), R("t1", "s0"), R("t2", "t1"), R("w0")],
    [
        stamp(["s2"], "t1"),
        stamp(["s2"], "t2"),
        stamp(["s2", "t1"], "t2"),
        stamp(["s2", "t1"], "s1"),
        stamp(["s2"], "s0"),
        stamp(["s2"], "w0"),
        stamp(["s2", "t2"], "w0"),
        stamp(["s2", "t2", "w0"], "s0"),
        stamp(["s1"], "s0@head"),
        stamp(["s2", "t2"], ["s1", "t1"]),
    ],
)

# 40 --------------------------------------------- upgrade from merged
case(
    "upgrade_branches_into_merge",
    "db holds both merge parents (or one); upgrading to and beyond the merge",
    [R("g0"), R("g1", "g0"), R("h1", "g0"), R("gm", ["g1", "h1"]), R("gz", "gm")],
    [
        up(["g1", "h1"], "gm"),
        up(["g1", "h1"], "gz"),
        up(["g1", "h1"], "+1"),
        up(["g1", "h1"], "+2"),
        up(["g1"], "gz"),
        up(["g0"], "gm"),
        up(["g1", "h1"], "h1"),
        down(["gz"], "g1"),
        down(["gz"], "gz-2"),
    ],
)

# 41 ------------------------------------------ branch point relative walk
case(
    "relative_walk_through_branch_point",
    "'+1' from a branch point and '-1' from a merge are ambiguous walks",
    [R("w0"), R("w1", "w0"), R("wa", "w1"), R("wb", "w1"), R("wm", ["wa", "wb"])],
    [
        res("w1+1", "wm-1", "w0+1", "wa-1"),
        up(["w1"], "+1"),
        up(["w0"], "+2"),
        up([], "w1+1"),
        up([], "w0+1"),
        up(["wa"], "+1"),
        down(["wm"], "-1"),
        down(["wm"], "-3"),
        down(["wm"], "wm-1"),
        down(["wa"], "wa-1"),
        down(["wa", "wb"], "-1"),
    ],
)

# 42 ----------------------------------------------- downgrade 'heads' etc
case(
    "symbolic_targets_misc",
    "odd but legal targets: downgrade to 'heads', upgrade to 'base', stamp 'base' then upgrade",
    BRANCH,
    [
        down(["b2", "c1"], "heads"),
        down(["b2"], "heads"),
        up(["b2", "c1"], "base"),
        up([], "base"),
        down(["b2", "c1"], "base"),
        down([], "base"),
        up([], "heads"),
        down(["b1"], "b2"),
        res("base+1", "base-1"),
    ],
)

# 43 ---------------------------------------- error: missing down_revision
case(
    "error_missing_down_revision",
    "b2 names down_revision 'zz99' which does not exist",
    [R("a1"), R("b2", "zz99"), R("c3", "b2")],
    [],
)

# 44 ------------------------------------------------------- error: cycle
case(
    "error_cycle",
    "a down b, b down a: no base at all",
    [R("cy0a", "cy0b"), R("cy0b", "cy0a")],
    [],
)

# 45 ----------------------------------------------- error: cycle + base
case(
    "error_cycle_with_base",
    "a real base r0 <- r1 plus a detached cycle ca <- cb <- ca",
    [R("r0"), R("r1", "r0"), R("ca", "cb"), R("cb", "ca")],
    [],
)

# 46 --------------------------------------------------- error: self loop
case(
    "error_self_loop",
    "revision names itself as down_revision",
    [R("s0"), R("s1", "s1")],
    [],
)

# 47 -------------------------------------------- error: self dependency
case(
    "error_self_dependency",
    "revision lists itself in depends_on",
    [R("s0"), R("s1", "s0", deps="s1")],
    [],
)

# 48 ------------------------------------------- error: dependency cycle
case(
    "error_dependency_cycle",
    "a0 depends_on b1 while b1 descends from a0",
    [R("a0", deps="b1"), R("b1", "a0")],
    [],
)

# 49 ------------------------------------------- error: unknown depends_on
case(
    "error_unknown_depends_on",
    "depends_on names a revision that does not exist",
    [R("a0"), R("b1", "a0", deps="nothere")],
    [],
)

# 50 ----------------------------------------- error: duplicate branch label
case(
    "error_duplicate_branch_label",
    "two roots both declare branch label 'dup'",
    [R("d0", labels="dup"), R("d1", "d0"), R("e0", labels="dup")],
    [],
)

# 51 --------------------------------------- error: label equals a rev id
case(
    "error_label_equals_revision_id",
    "branch label 'b2' on a root while another revision has id 'b2'",
    [R("a1"), R("b2", "a1"), R("q1", labels="b2")],
    [],
)

# 52 ------------------------------------- label equal to another's prefix
case(
    "label_shadows_prefix",
    "label 'abcd' while revision abcd1234 exists: label beats prefix match",
    [R("abcd1234"), R("abcd5678", "abcd1234"), R("zz00", labels="abcd"), R("zz01", "zz00")],
    [
        res("abcd", "abcd@head", "abcd1", "abcd@base", "abcd@zz01"),
        up([], "abcd"),
        up([], "abcd@head"),
        down(["abcd5678", "zz01"], "abcd@base"),
        down(["abcd5678", "zz01"], "abcd"),
    ],
)

# 53 ---------------------------------------------- duplicate revision id
case(
    "duplicate_revision_id_head",
    "two files (different parents) declare revision 'dupe01' and nothing builds on it: warning, later file wins",
    [R("a0", file="1_a0.py"), R("b0", "a0", file="2_b0.py"), R("dupe01", "a0", file="3_first.py"), R("dupe01", "b0", file="4_second.py")],
    [
        res("dupe01", "dupe01@base", "a0@heads", "-1"),
        up([], "dupe01"),
        up(["a0"], "heads"),
        down(["dupe01"], "a0"),
        down(["dupe01"], "-1"),
        stamp([], "heads"),
    ],
)

case(
    "duplicate_revision_id_with_child",
    "two files declare revision 'dupe01' and c0 builds on it",
    [R("a0", file="1_a0.py"), R("dupe01", "a0", file="2_first.py"), R("dupe01", "a0", file="3_second.py"), R("c0", "dupe01", file="4_c0.py")],
    [
        res("dupe01", "heads"),
        up(["a0"], "c0"),
        down(["c0"], "a0"),
    ],
)

# 53b ---------------------------------------- error: illegal id characters
case(
    "error_illegal_revision_char",
    "revision id containing '-' (reserved for relative specs)",
    [R("ok01"), R("bad-01", "ok01")],
    [],
)

case(
    "error_illegal_revision_char_at",
    "revision id containing '@' (reserved for branch@rev)",
    [R("ok01"), R("bad@01", "ok01", file="bad01.py")],
    [],
)

# 54 --------------------------------------------- error: unknown revision
case(
    "error_unknown_revision",
    "targets and version-table rows naming revisions that don't exist",
    CHAIN4,
    [
        res("zzzz", "feed", "zzzz@head", "a1@zzzz"),
        up([], "zzzz"),
        up(["feedface"], "heads"),
        up(["b2"], "zzzz+1"),
        down(["d4"], "zzzz"),
        down(["feedface"], "base"),
        down(["feedface"], "-1"),
        stamp(["feedface"], "b2"),
        cur(["feedface"]),
    ],
)

# 55 -------------------------------------- error: downgrade not ancestor
case(
    "error_downgrade_target_not_ancestor",
    "downgrade to a revision on another branch / above current",
    BRANCH + [R("b3", "b2")],
    [
        down(["b2"], "c1"),
        down(["c1"], "b1"),
        down(["b1"], "b3"),
        down(["c1"], "b2"),
        down(["b2", "c1"], "b3"),
        down(["b1", "c1"], "b2"),
        down(["b3"], "b3"),
        down(["b3"], "c1@base"),
    ],
)

# 56 -------------------------------------------- error: upgrade below
case(
    "error_upgrade_below_current",
    "upgrade to a revision that is an ancestor of the current one, or on another branch",
    BRANCH,
    [
        up(["b2"], "a0"),
        up(["b2"], "b1"),
        up(["b2"], "b2"),
        up(["b2", "c1"], "a0"),
        up(["b2"], "c1"),
        up(["b1"], "c1"),
        up(["b2"], "-1"),
        up(["b2"], "b2-1"),
    ],
)

# 57 --------------------------------------- redundant merge parent
case(
    "merge_with_ancestor_parent",
    "merge revision lists (aa2, aa1) where aa1 is already an ancestor of aa2",
    [R("aa1"), R("aa2", "aa1"), R("aam", ["aa2", "aa1"]), R("aaz", "aam")],
    [
        res("heads", "aam-1"),
        up([], "aam"),
        up(["aa1"], "heads"),
        up(["aa2"], "+1"),
        down(["aaz"], "aa2"),
        down(["aaz"], "aa1"),
        down(["aam"], "-1"),
        stamp(["aa2"], "aam"),
    ],
)

# 58 ----------------------------------- multi-root with merge via deps
case(
    "depends_on_label_mid_branch",
    "label 'ui' on u1 (mid of u0<-u1<-u2); s1 (other root s0) depends_on 'ui'",
    [R("u0"), R("u1", "u0", labels="ui"), R("u2", "u1"), R("s0"), R("s1", "s0", deps="ui")],
    [
        res("ui@head", "ui@base", "ui", "s1@base"),
        up([], "s1"),
        up(["u2"], "s1"),
        up(["s0"], "heads"),
        down(["u2", "s1"], "ui@base"),
        down(["u2", "s1"], "u0"),
        down(["u2", "s1"], "s0"),
        down(["u2", "s1"], "ui@-1"),
        cur(["u2", "s1"]),
    ],
)

# 59 -------------------------------------------- current with ancestors
case(
    "current_and_redundant_rows",
    "version table holding an ancestor and its descendant at once (not a state Alembic writes)",
    BRANCH,
    [
        cur(["a0", "b2"]),
        cur(["b1", "b2", "c1"]),
        up(["a0", "b1"], "heads"),
        down(["a0", "b2"], "base"),
        stamp(["a0", "b2"], "c1"),
    ],
)

# 60 ------------------------------------------- downgrade -1 order test
case(
    "downgrade_minus_one_multi_heads",
    "'-1' with several heads: Alembic warns and picks one row; rows inserted in both orders",
    [R("mh0"), R("mhb", "mh0"), R("mha", "mh0"), R("mhc", "mha")],
    [
        down(["mhb", "mhc"], "-1"),
        down(["mhc", "mhb"], "-1"),
        down(["mhb", "mhc"], "-2"),
        down(["mhc", "mhb"], "-2"),
        down(["mhb", "mhc"], "-3"),
        down(["mhb", "mhc"], "mhb@-1"),
        down(["mhb", "mhc"], "mhc@-1"),
        up(["mhb", "mha"], "+1"),
        up(["mha", "mhb"], "+1"),
    ],
)

# 61 --------------------------------------- label on a merge revision
case(
    "label_on_merge_revision",
    "label 'post' on merge revision pm (of p1, q1); descendants inherit, parents do not",
    [R("p0"), R("p1", "p0"), R("q1", "p0"), R("pm", ["p1", "q1"], labels="post"), R("pz", "pm")],
    [
        res("post@head", "post@base", "post@-1", "post@p1", "post@p0", "p1@post"),
        up([], "post@head"),
        up(["p1"], "post@+1"),
        down(["pz"], "post@base"),
        down(["pz"], "post@-1"),
        down(["pz"], "post@p0"),
    ],
)

# 62 ----------------------------------------- long chain larger steps
case(
    "long_chain_relative",
    "12-revision chain (rev01..rev12), big relative steps both directions",
    [R("rev01")] + [R("rev%02d" % i, "rev%02d" % (i - 1)) for i in range(2, 13)],
    [
        res("rev0", "rev1", "rev12", "-11", "-12", "rev01+11"),
        up([], "+11"),
        up([], "+12"),
        up([], "+13"),
        up(["rev05"], "+7"),
        up(["rev05"], "rev09+3"),
        down(["rev12"], "-11"),
        down(["rev12"], "-12"),
        down(["rev12"], "-13"),
        down(["rev12"], "rev08-5"),
        down(["rev12"], "rev1"),
    ],
)


# ---------------------------------------------------------------------------
# random cases
# ---------------------------------------------------------------------------

LABEL_NAMES = ["alpha", "beta", "gamma", "delta", "omega"]


def make_random_case(idx):
    rng = random.Random(7000 + idx)
    n = rng.randint(8, 25)
    nbases = rng.choice([1, 1, 2])
    ids = []
    while len(ids) < n:
        rid = "%012x" % rng.getrandbits(48)
        if rid not in ids and not rid.isdigit():
            ids.append(rid)
    parents = {}
    children = {i: set() for i in ids}
    for i, rid in enumerate(ids):
        if i < nbases:
            parents[rid] = []
            continue
        heads = [x for x in ids[:i] if not children[x]]
        if len(heads) >= 2 and rng.random() < 0.22:
            k = 3 if (len(heads) >= 3 and rng.random() < 0.2) else 2
            ps = rng.sample(heads, k)
        elif rng.random() < 0.6:
            ps = [rng.choice(heads)]
        else:
            ps = [rng.choice(ids[:i])]
        parents[rid] = ps
        for p in ps:
            children[p].add(rid)

    def descendants(x, extra):
        seen, todo = set(), [x]
        while todo:
            y = todo.pop()
            for c in list(children[y]) + [a for a, b in extra if b == y]:
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        return seen

    labels = {}
    for lbl in LABEL_NAMES[: rng.randint(0, 3)]:
        target = rng.choice([x for x in ids if x not in labels])
        labels[target] = lbl
    deps = []  # (x depends on y)
    for _ in range(rng.randint(0, 3)):
        x = rng.choice(ids[1:])
        cands = [y for y in ids if y != x and y not in descendants(x, deps) and (x, y) not in deps]
        if cands:
            deps.append((x, rng.choice(cands)))
    order = list(range(n))
    rng.shuffle(order)
    revisions = []
    for i, rid in enumerate(ids):
        ps = parents[rid]
        dps = []
        for x, y in deps:
            if x == rid:
                dps.append(labels[y] if (y in labels and rng.random() < 0.5) else y)
        revisions.append(
            R(
                rid,
                None if not ps else (ps[0] if len(ps) == 1 else ps),
                labels.get(rid),
                None if not dps else (dps[0] if len(dps) == 1 and rng.random() < 0.5 else dps),
                file="%02d_%s.py" % (order[i], rid[:6]),
            )
        )
    # write files in shuffled (file-name) order
    revisions.sort(key=lambda r: r["file"])
    return {
        "name": "random_%02d" % idx,
        "description": "seeded random DAG #%d: %d revisions, %d base(s), %d label(s), %d depends_on"
        % (idx, n, nbases, len(labels), len(deps)),
        "revisions": revisions,
        "checks": None,  # generated at run time from observed states
        "recursive": False,
        "auto": True,
        "rng_seed": 9000 + idx,
        "ids": ids,
        "labels": sorted(labels.values()),
    }


N_RANDOM = 20


# ---------------------------------------------------------------------------
# spec differential cases
# ---------------------------------------------------------------------------
#
# Many spec strings, valid and broken, each given to ``get_revisions``; a
# subset is also given to ``upgrade`` / ``downgrade`` / ``stamp`` from states
# that Alembic itself wrote (an empty database upgraded to one or two
# targets).  The point is differential: retort must reject every spec Alembic
# rejects and agree on the ones it accepts.  The spec lists are a fixed
# hand-written part plus a part drawn from a seeded RNG, so they never change
# between runs.


def _dedupe(items):
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _prefixes(ids):
    """(unique, ambiguous) proper prefixes of ``ids`` under Alembic's partial
    lookup, which only considers ids longer than 3 characters."""
    longs = [i for i in ids if len(i) > 3]
    uniq, amb = set(), set()
    for i in ids:
        for n in range(1, len(i)):
            p = i[:n]
            if p in ids:
                continue
            (uniq if sum(1 for x in longs if x.startswith(p)) == 1 else amb).add(p)
    return sorted(uniq), sorted(amb)


def _hand_specs(g):
    """The fixed list of specs for one graph.  ``g`` names a few revisions:
    root, low (a child of root), mid, top (a head) and lab (a branch label
    that covers mid)."""
    ids, labels = g["ids"], g["labels"]
    root, low, mid, top, lab = g["root"], g["low"], g["mid"], g["top"], g["lab"]
    out = []
    # valid ids and their look-alikes
    out += ids
    out += [ids[0].upper(), mid.upper()]
    out += g["unique_prefixes"] + g["ambiguous_prefixes"]
    out += ["deadbeef0000", mid + "0"]
    # symbols
    out += ["head", "heads", "base", "HEAD", "Heads", "BASE", "hea", "bas"]
    # labels
    out += [lab, lab + "@head", lab + "@heads", lab + "@base", lab + "@", lab + "@-1", lab + "@+1", lab + "@+2",
            lab + "@+0", lab + "@-0", lab + "@-99", lab[:3], lab + "@" + mid,
            lab + "@" + top, lab + "@" + mid + "+1", lab + "@" + lab,
            lab + "@@head", lab + "@head-1", lab + "@base+1", mid + "@" + lab]
    for other in labels:
        if other != lab:
            out += [other, other + "@head", other + "@base", other + "@-1"]
    out += ["nosuch@head", "nosuch@", "nosuch@base", "nosuch@-1", "@head", "@base", "@", "@@", "@-1", "@" + mid]
    # a revision id in the branch slot
    out += [mid + "@+1", mid + "@-1", mid + "@head", mid + "@base", mid + "@" + top, top + "@" + root, mid + "@"]
    # bare relative steps
    out += ["+1", "-1", "+2", "-2", "+0", "-0", "+", "-", "++1", "--1", "+-1", "+1x", "-1x", "1+", "1", "0",
            "+01", "+1_0", "-1_0", "+1+1", "-1.5", "+ 1", "-1@head"]
    # relative steps on symbols and revisions
    out += ["heads+1", "heads-1", "head+1", "head-1", "head+0", "base+1", "base-1", "base-0"]
    out += [mid + "+1", mid + "-1", mid + "+0", mid + "-0", mid + "+99", mid + "-99",
            mid[:6] + "+1", mid + "++1", mid + "+1x", top + "+1", root + "-1", root + "-2", low + "+2"]
    # separators, nesting and other junk
    out += ["garbage++x@", "x@@y", "a@b@c", "head@head", "head@base", "None", "head~1", mid + "^"]
    # whitespace
    out += [" head", "head ", "\thead", "head\t", " +1", "+1 ", " -1", "-1 ", "-1\n", " ", " " + mid, mid + " ",
            lab + "@ head", lab + "@-1 ", lab + "@ -1", mid + " +1"]
    # ranges (only legal with --sql) and lists
    out += ["", ":", "a:b", root + ":" + top, "base:heads"]
    out += [root + "," + top, mid + ",", "head,base", mid + " " + top]
    # unicode: letters, Arabic-Indic and fullwidth digits, odd spaces, NUL
    out += ["héad", "αβγδ", mid + "é", "+\u0661", "-\u0661", "+\uff11", lab + "@-\u0661", "\u00a0head",
            "\u2003+1", "日本語", "\x00"]
    # huge numbers
    out += ["+99999999999999999999", "-99999999999999999999", "-99", "+99", "+" + "9" * 40,
            lab + "@+99999999999999999999", mid + "+99999999999999999999", mid + "-99999999999999999999"]
    return _dedupe(out)


# the subset of hand-written specs that also goes to upgrade / downgrade
def _op_specs(g):
    root, mid, top, lab = g["root"], g["mid"], g["top"], g["lab"]
    out = [
        "head", "heads", "base", mid, g["ambiguous_prefixes"][0], "deadbeef0000",
        lab + "@head", lab + "@base", lab + "@", lab + "@-1", lab + "@+2", lab + "@+0", "nosuch@",
        mid + "@+1", "+1", "-1", "+0", "-0", "+", "+1x", "-1x", "-1_0", "head-1", "base+1",
        "base-1", mid + "+1", mid + "-1", mid + "+0", mid + "-0", "x@@y", " head", "\thead", " +1", " -1",
        "", ":", root + ":" + top, root + "," + top, "+\u0661", "+99999999999999999999",
        "-99999999999999999999", "-99",
    ]
    return _dedupe(out)


# specs given to stamp (which resolves with get_revisions, no relative parsing)
def _stamp_specs(g):
    mid, lab = g["mid"], g["lab"]
    return ["heads", "base", lab + "@head", lab + "@base", lab + "@-1", mid, "-1", " -1", "-1_0", "+1",
            "nosuch@base", "@head", "head@base", mid + "+1"]


def _random_specs(g, rng, n_concat, n_struct):
    ids, labels = g["ids"], g["labels"]
    uniq, amb = _prefixes(ids)
    prefixes = rng.sample(uniq, 12) + amb
    pools = [
        (3, ids),
        (3, prefixes),
        (2, labels),
        (3, ["head", "heads", "base"]),
        (3, ["@"]),
        (3, ["+", "-"]),
        (3, ["0", "1", "2", "3", "12", "99"]),
        (1, [" ", "\t"]),
        (1, [":", ",", "HEAD", "nosuch"]),
    ]
    weights = [w for w, _ in pools]
    out = []
    for _ in range(n_concat):
        k = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])
        out.append("".join(rng.choice(rng.choices(pools, weights)[0][1]) for _ in range(k)))
    for _ in range(n_struct):
        while True:
            s = ""
            if rng.random() < 0.4:
                s += rng.choice(labels + labels + rng.sample(ids, 2) + rng.sample(prefixes, 2) + ["nosuch", "head", ""]) + "@"
            if rng.random() < 0.6:
                s += rng.choice(ids + rng.sample(prefixes, 4) + ["head", "heads", "base"] + labels)
            if rng.random() < 0.6:
                s += rng.choice("+-") + str(rng.choice([0, 1, 1, 1, 2, 2, 3, 4, 7]))
            if s:
                break
        out.append(s)
    return out


def _spec_checks_fn(g, seed):
    """Build the check list at run time: start states come from Alembic."""

    def build(env):
        uniq, amb = _prefixes(g["ids"])
        assert set(g["unique_prefixes"]) <= set(uniq) and set(g["ambiguous_prefixes"]) <= set(amb), g["ids"]
        rng = random.Random(seed)
        hand = _hand_specs(g)
        specs = _dedupe(hand + _random_specs(g, rng, g["n_concat"], g["n_struct"]))
        checks = [("resolve", s) for s in specs]
        up_starts = [derive_state(env, t) for t in g["up_starts"]]
        down_starts = [derive_state(env, t) for t in g["down_starts"]]
        randoms = [s for s in specs if s not in hand]
        op_specs = _op_specs(g) + rng.sample(randoms, g["n_random_ops"])
        for i, s in enumerate(op_specs):
            # one start each way, a second one for every eighth spec
            for k in range(1 + (i % 8 == 0)):
                checks.append(up(up_starts[(i + k) % len(up_starts)], s))
                checks.append(down(down_starts[(i + k) % len(down_starts)], s))
        for s in _stamp_specs(g) + rng.sample(randoms, 1):
            checks.append(stamp(rng.choice(up_starts + down_starts), s))
        return checks

    return build


SPEC_LINEAR = [
    R("ae10f00d0001"),
    R("ae10f00d0002", "ae10f00d0001"),
    R("b7c4e2a91d03", "ae10f00d0002", labels="core"),
    R("2024c0de0004", "b7c4e2a91d03"),
    R("c0ffee123456", "2024c0de0004"),
    R("c0ffee999999", "c0ffee123456"),
]
SPEC_LINEAR_G = {
    "ids": [r["revision"] for r in SPEC_LINEAR],
    "labels": ["core"],
    "root": "ae10f00d0001",
    "low": "ae10f00d0002",
    "mid": "b7c4e2a91d03",
    "top": "c0ffee999999",
    "lab": "core",
    "unique_prefixes": ["b7c4", "b7", "b", "2024", "202", "2", "c0ffee1", "c0ffee9999"],
    "ambiguous_prefixes": ["ae10", "ae10f00d000", "a", "c0ffee", "c0f", "c"],
    "up_starts": [[], ["ae10f00d0002"], ["b7c4e2a91d03"]],
    "down_starts": [["heads"], ["2024c0de0004"]],
    "n_concat": 14,
    "n_struct": 8,
    "n_random_ops": 4,
}
case(
    "spec_differential_linear",
    "six-revision chain, label 'core' on the 3rd (b7c4e2a91d03), ids sharing prefixes ('ae10', 'c0ffee') and one "
    "starting with digits (2024c0de0004): a few hundred hand-written and seeded-random spec strings, valid and "
    "broken, resolved, and a subset upgraded / downgraded / stamped from states Alembic wrote",
    SPEC_LINEAR,
    _spec_checks_fn(SPEC_LINEAR_G, 31337),
)

SPEC_BRANCHES = [
    R("basement0001"),
    R("a1a1a1a1a1a1", "basement0001", labels="alpha"),
    R("a2a2a2a2a2a2", "a1a1a1a1a1a1"),
    R("b1b1b1b1b1b1", "basement0001", labels="beta"),
    R("b1b1b1b2b2b2", "b1b1b1b1b1b1"),
    R("headroom0c01", "basement0001"),
    R("e3e3e3e3e3e3", ["a2a2a2a2a2a2", "b1b1b1b2b2b2"]),
    R("f4f4f4f4f4f4", "e3e3e3e3e3e3"),
    R("5eed00000001", labels="gamma"),
    R("5eed00000002", "5eed00000001", deps="a2a2a2a2a2a2"),
]
SPEC_BRANCHES_G = {
    "ids": [r["revision"] for r in SPEC_BRANCHES],
    "labels": ["alpha", "beta", "gamma"],
    "root": "basement0001",
    "low": "a1a1a1a1a1a1",
    "mid": "a2a2a2a2a2a2",
    "top": "f4f4f4f4f4f4",
    "lab": "alpha",
    "unique_prefixes": ["a2a2", "a2", "e3", "f", "basem", "headro", "hea", "b1b1b1b2"],
    "ambiguous_prefixes": ["a", "b1b1b1", "b1b1b1b", "5eed", "5eed0000000", "b"],
    "up_starts": [[], ["a2a2a2a2a2a2"], ["b1b1b1b2b2b2", "headroom0c01"]],
    "down_starts": [["heads"], ["f4f4f4f4f4f4"], ["5eed00000002"]],
    "n_concat": 10,
    "n_struct": 6,
    "n_random_ops": 4,
}
case(
    "spec_differential_branches",
    "root basement0001 splits into 'alpha' (a1, a2) and 'beta' (b1b1b1b1b1b1, b1b1b1b2b2b2) merged by e3 <- f4, plus "
    "an unlabelled head headroom0c01 and a second root 'gamma' (5eed..01 <- 5eed..02, which depends_on a2): a few "
    "hundred hand-written and seeded-random spec strings, resolved, and a subset upgraded / downgraded / stamped "
    "from states Alembic wrote",
    SPEC_BRANCHES,
    _spec_checks_fn(SPEC_BRANCHES_G, 4242),
)


# ---------------------------------------------------------------------------
# running alembic
# ---------------------------------------------------------------------------

ENV_PY = textwrap.dedent(
    '''
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    target_metadata = None


    def run_migrations_online():
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
        raise RuntimeError("offline mode not used by the fixture generator")
    run_migrations_online()
    '''
).lstrip()


def py_lit(v):
    if isinstance(v, list):
        return "(" + "".join("%r, " % x for x in v) + ")"
    return repr(v)


def rev_source(r):
    return textwrap.dedent(
        '''
        """fixture revision {rev}"""
        import os

        revision = {rev!r}
        down_revision = {down}
        branch_labels = {labels}
        depends_on = {deps}


        def _log(line):
            with open(os.environ["{env}"], "a") as f:
                f.write(line + "\\n")


        def upgrade():
            _log("up {rev}")


        def downgrade():
            _log("down {rev}")
        '''
    ).lstrip().format(
        rev=r["revision"],
        down=py_lit(r["down_revision"]),
        labels=py_lit(r["branch_labels"]),
        deps=py_lit(r["depends_on"]),
        env=LOG_ENV,
    )


class Env:
    def __init__(self, spec):
        from alembic.config import Config

        self.Config = Config
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.dir = tempfile.mkdtemp(prefix="retort_conf_", dir=shm)
        self.real_dir = os.path.realpath(self.dir)
        self.db = os.path.join(self.dir, "check.sqlite")
        self.log = os.path.join(self.dir, "ran.log")
        self.ini = os.path.join(self.dir, "alembic.ini")
        with open(self.ini, "w") as f:
            f.write("[alembic]\nscript_location = %s\n" % self.dir)
            if spec["recursive"]:
                f.write("recursive_version_locations = true\n")
            f.write("sqlalchemy.url = sqlite:///%s\n" % self.db)
        with open(os.path.join(self.dir, "env.py"), "w") as f:
            f.write(ENV_PY)
        vdir = os.path.join(self.dir, "versions")
        os.makedirs(vdir)
        for r in spec["revisions"]:
            path = os.path.join(vdir, r["file"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(rev_source(r))
        os.environ[LOG_ENV] = self.log

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def clean(self, msg):
        return msg.replace(self.real_dir, "<envdir>").replace(self.dir, "<envdir>")

    def config(self):
        self.stdout = io.StringIO()
        return self.Config(self.ini, stdout=self.stdout)

    def script(self):
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config())

    # -- database helpers --------------------------------------------------
    def reset_db(self, start):
        for p in (self.db, self.log):
            if os.path.exists(p):
                os.remove(p)
        open(self.log, "w").close()
        if start:
            con = sqlite3.connect(self.db)
            con.execute(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            for s in start:
                con.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (s,))
            con.commit()
            con.close()

    def rows(self):
        if not os.path.exists(self.db):
            return []
        con = sqlite3.connect(self.db)
        try:
            got = [r[0] for r in con.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.OperationalError:
            got = []
        con.close()
        return sorted(got)

    def ran(self):
        with open(self.log) as f:
            return [l.rstrip("\n") for l in f if l.strip()]


def err_text(env, exc):
    from alembic.util import CommandError
    from alembic.script.revision import RevisionError

    msg = str(exc)
    if not isinstance(exc, (CommandError, RevisionError)):
        msg = "%s: %s" % (type(exc).__name__, msg)
    return env.clean(msg)


def canonical_label_clash(spec, msg):
    """When two revisions both declare the same branch label, Alembic names
    them in an order that comes from iterating a set of Revision objects
    (hashed by memory address), so it changes from run to run.  Only in that
    symmetric case, put the two revision ids in sorted order."""
    m = re.match(r"^Branch name '(.*)' in revision (\S+) already used by revision (\S+)$", msg)
    if not m:
        return msg
    label, r1, r2 = m.groups()

    def declares(rev):
        for r in spec["revisions"]:
            if r["revision"] == rev:
                lbls = r["branch_labels"]
                return label in (lbls if isinstance(lbls, list) else [lbls])
        return False

    if declares(r1) and declares(r2) and r1 > r2:
        msg = "Branch name '%s' in revision %s already used by revision %s" % (label, r2, r1)
    return msg


def capture(env, fn):
    """Run fn() recording warnings.  Returns (value, exc, warnings)."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            val, exc = fn(), None
        except Exception as e:  # noqa: BLE001 - we record whatever alembic raises
            val, exc = None, e
    msgs = []
    for w in ws:
        m = env.clean(str(w.message))
        if m not in msgs:
            msgs.append(m)
    return val, exc, msgs


def rev_id(x):
    if x is None:
        return None
    if isinstance(x, str):
        return x
    return x.revision


def run_check(env, chk, load_warnings):
    from alembic import command

    op = chk[0]
    out = {"op": op}
    if op == "resolve":
        out["spec"] = chk[1]
        val, exc, ws = capture(env, lambda: [rev_id(r) for r in env.script().get_revisions(chk[1])])
    else:
        start = chk[1]
        out["start"] = list(start)
        env.reset_db(start)
        cfg = env.config()
        if op == "upgrade":
            out["target"] = chk[2]
            fn = lambda: command.upgrade(cfg, chk[2])
        elif op == "downgrade":
            out["target"] = chk[2]
            fn = lambda: command.downgrade(cfg, chk[2])
        elif op == "stamp":
            out["targets"] = chk[2]
            out["purge"] = chk[3]
            tg = chk[2][0] if len(chk[2]) == 1 else chk[2]
            fn = lambda: command.stamp(cfg, tg, purge=chk[3])
        elif op == "current":
            fn = lambda: command.current(cfg)
        else:
            raise ValueError(op)
        val, exc, ws = capture(env, fn)
        if exc is None:
            if op in ("upgrade", "downgrade"):
                out["ran"] = env.ran()
                out["after"] = env.rows()
            elif op == "stamp":
                assert not env.ran()
                out["after"] = env.rows()
            elif op == "current":
                lines = [l.split()[0] for l in env.stdout.getvalue().splitlines() if l.strip()]
                val = sorted(lines)
    if exc is not None:
        out["error"] = err_text(env, exc)
    elif op in ("resolve", "current"):
        out["result"] = val
    ws = [w for w in ws if w not in load_warnings]
    if ws:
        out["warnings"] = ws
    return out


def derive_state(env, targets):
    """Upgrade an empty database to each target in turn; return the rows."""
    from alembic import command

    env.reset_db([])
    for t in targets:
        cfg = env.config()
        _, exc, _ = capture(env, lambda: command.upgrade(cfg, t))
    return env.rows()


def random_checks(env, spec, heads, history):
    rng = random.Random(spec["rng_seed"])
    ids = spec["ids"]
    labels = spec["labels"]
    checks = []

    by_id = {r["revision"]: r for r in spec["revisions"]}
    label_of = {}
    for r in spec["revisions"]:
        if r["branch_labels"]:
            label_of[r["branch_labels"]] = r["revision"]

    def as_list(v):
        return [] if v is None else (v if isinstance(v, list) else [v])

    def applied(rows):
        """rows plus everything below them (down_revision and depends_on)."""
        seen, todo = set(), list(rows)
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            r = by_id[x]
            todo.extend(as_list(r["down_revision"]))
            todo.extend(label_of.get(d, d) for d in as_list(r["depends_on"]))
        return seen

    state = {"rows": []}

    def rand_state():
        if rng.random() < 0.1:
            rows = []
        else:
            k = 1 if rng.random() < 0.55 else 2
            rows = derive_state(env, rng.sample(ids, k))
        state["rows"] = rows
        return rows

    def rev(prefer=None):
        """A random id; prefer='new' favours ids not yet applied in the
        current start state, prefer='old' favours applied ones."""
        if prefer and rng.random() < 0.8:
            done = applied(state["rows"])
            pool = [i for i in ids if (i in done) == (prefer == "old")]
            if pool:
                return rng.choice(pool)
        return rng.choice(ids)

    def up_target():
        c = rng.random()
        if c < 0.35:
            return rev("new")
        if c < 0.45:
            return rev("new")[:6]
        if c < 0.55:
            return "heads"
        if c < 0.65:
            return "+1"
        if c < 0.72:
            return "+2"
        if c < 0.82:
            return "%s+1" % rev("new")
        if c < 0.9 and labels:
            return "%s@head" % rng.choice(labels)
        if c < 0.95 and labels:
            return "%s@+1" % rng.choice(labels)
        return "head"

    def down_target():
        c = rng.random()
        if c < 0.4:
            return rev("old")
        if c < 0.5:
            return "base"
        if c < 0.62:
            return "-1"
        if c < 0.7:
            return "-2"
        if c < 0.8:
            return "%s-1" % rev("old")
        if c < 0.88 and labels:
            return "%s@base" % rng.choice(labels)
        if c < 0.95 and labels:
            return "%s@-1" % rng.choice(labels)
        return rev("old")[:5]

    def res_spec():
        c = rng.random()
        if c < 0.3:
            return rev()
        if c < 0.45:
            return rev()[:4]
        if c < 0.6:
            return "%s@head" % rev()
        if c < 0.7:
            return "%s@base" % rev()
        if c < 0.8 and labels:
            return "%s@%s" % (rng.choice(labels), rng.choice(["head", "heads", "base", "-1", "+1"]))
        if c < 0.9:
            return "-%d" % rng.randint(1, 3)
        return "heads"

    for _ in range(10):
        c = rng.random()
        if c < 0.42:
            checks.append(up(rand_state(), up_target()))
        elif c < 0.84:
            st = rand_state()
            if not st:
                st = derive_state(env, ["heads"])
                state["rows"] = st
            checks.append(down(st, down_target()))
        elif c < 0.93:
            checks.append(("resolve", res_spec()))
        else:
            checks.append(stamp(rand_state(), rng.sample(ids, rng.choice([1, 1, 2]))))
    return checks


def run_case(spec):
    env = Env(spec)
    try:
        fixture = {
            "name": spec["name"],
            "description": spec["description"],
            "alembic_version": ALEMBIC_VERSION,
            "revisions": [
                {k: r[k] for k in ("file", "revision", "down_revision", "branch_labels", "depends_on")}
                for r in spec["revisions"]
            ],
            "load_error": None,
            "heads": [],
            "bases": [],
            "history": [],
            "branches": [],
            "checks": [],
        }
        if spec["recursive"]:
            fixture["recursive_version_locations"] = True

        def load():
            script = env.script()
            heads = list(script.get_heads())
            bases = list(script.get_bases())
            walked = list(script.walk_revisions())
            return (
                heads,
                bases,
                [s.revision for s in walked],
                [s.revision for s in walked if s.is_branch_point],
            )

        val, exc, load_ws = capture(env, load)
        if load_ws:
            fixture["warnings"] = load_ws
        if exc is not None:
            fixture["load_error"] = canonical_label_clash(spec, err_text(env, exc))
            return fixture
        heads, bases, history, branches = val
        fixture.update(heads=heads, bases=bases, history=history, branches=branches)

        checks = []
        if spec["auto"]:
            checks += res("heads", "head", "base")
            checks.append(up([], "heads"))
        if spec["checks"] is None:
            checks += random_checks(env, spec, heads, history)
        elif callable(spec["checks"]):
            checks += spec["checks"](env)
        else:
            checks += spec["checks"]
        if spec["auto"]:
            full = derive_state(env, ["heads"])
            checks.append(down(full, "base"))
        seen = set()
        for chk in checks:
            key = json.dumps(chk)
            if key in seen:
                continue
            seen.add(key)
            fixture["checks"].append(run_check(env, chk, load_ws))
        return fixture
    finally:
        env.close()


def all_cases():
    return CASES + [make_random_case(i) for i in range(1, N_RANDOM + 1)]


def check_identity(c):
    return {k: c.get(k) for k in ("op", "spec", "start", "target", "targets", "purge")}


def generate_raw(only=None):
    cases = all_cases()
    if only:
        cases = [c for c in cases if c["name"] in only]
    return {spec["name"]: run_case(spec) for spec in cases}


def run_under_seed(seed, only):
    """Run this script under another PYTHONHASHSEED; return its fixtures."""
    tmp = tempfile.mkdtemp(prefix="retort_seed_")
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    cmd = [sys.executable, os.path.abspath(__file__), "--raw", "--out", tmp]
    if only:
        cmd += ["--only", ",".join(sorted(only))]
    return tmp, subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def annotate_unstable(fixtures, seeds, only):
    """Re-run every case under fixed extra hash seeds (two at a time) and mark
    whatever Alembic reported differently as unstable.  The seeds are fixed,
    so the marking itself is deterministic."""
    others = []
    pending = list(seeds)
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = [run_under_seed(sd, only) for sd in batch]
        for tmp, proc in procs:
            if proc.wait() != 0:
                sys.exit("seed run failed")
            got = {}
            for name in os.listdir(tmp):
                with open(os.path.join(tmp, name)) as f:
                    got[name[: -len(".json")]] = json.load(f)
            shutil.rmtree(tmp, ignore_errors=True)
            others.append(got)
    marked = 0
    for name, fx in fixtures.items():
        top = set()
        per_check = [set() for _ in fx["checks"]]
        for other in others:
            ofx = other[name]
            for key in ("heads", "bases", "history", "branches", "load_error", "warnings"):
                if fx.get(key) != ofx.get(key):
                    top.add(key)
            ochecks = ofx["checks"]
            if [check_identity(c) for c in fx["checks"]] != [check_identity(c) for c in ochecks]:
                top.add("checks")
                continue
            for i, (a, b) in enumerate(zip(fx["checks"], ochecks)):
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


AUDIT_SEEDS = [1, 2, 3, 4, 5, 6]


def write_fixtures(out_dir, fixtures, prune):
    os.makedirs(out_dir, exist_ok=True)
    for name, fx in fixtures.items():
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(fx, f, sort_keys=True, indent=1)
            f.write("\n")
    if prune:
        for fn in os.listdir(out_dir):
            # real_*.json belong to generate_real.py
            if fn.endswith(".json") and not fn.startswith("real_") and fn[: -len(".json")] not in fixtures:
                os.remove(os.path.join(out_dir, fn))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", default="")
    ap.add_argument("--hash-seed", default="0")
    ap.add_argument("--raw", action="store_true", help="skip the multi-seed stability pass")
    args = ap.parse_args()

    if os.environ.get("PYTHONHASHSEED") is None:
        env = dict(os.environ, PYTHONHASHSEED=args.hash_seed)
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

    import alembic

    if alembic.__version__ != ALEMBIC_VERSION:
        sys.exit("need alembic==%s, found %s (pip install alembic==%s)" % (ALEMBIC_VERSION, alembic.__version__, ALEMBIC_VERSION))

    t0 = time.time()
    only = set(x for x in args.only.split(",") if x)
    fixtures = generate_raw(only)
    marked = 0
    if not args.raw:
        marked = annotate_unstable(fixtures, AUDIT_SEEDS, only)
    write_fixtures(args.out, fixtures, prune=not only)
    nchecks = sum(len(fx["checks"]) for fx in fixtures.values())
    print(
        "wrote %d fixture(s), %d check(s) to %s in %.1fs; %d item(s) marked unstable_fields"
        % (len(fixtures), nchecks, args.out, time.time() - t0, marked)
    )


if __name__ == "__main__":
    main()
