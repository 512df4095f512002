#!/usr/bin/env python3
"""Record what Python itself binds in small Alembic-style revision modules.

Regenerate from the repository root (Python 3.11, standard library only):

    python3 tests/conformance/generate_py_reader.py
    python3 tests/conformance/generate_py_reader.py --out /tmp/py_reader.json

Output: ``tests/conformance/fixtures_py/py_reader.json``.  It is Python's own
ground truth for retort's static reader (``history/src/script/python.rs``): every
``expected`` comes from really executing the module, every ``static`` from the
``ast`` module.  Do not edit the JSON by hand; change the cases below and run
the script again.  The output is deterministic (``sort_keys=True``,
``indent=1``, ASCII-only with ``\\uXXXX`` escapes): two runs are byte-identical.

The JSON is a list of cases, each::

    {"name": "<base>__<lf|crlf|cr>", "line_endings": "lf" | "crlf" | "cr",
     "source": "<the module text>", "expected": {...}, "static": true | false}

* ``source`` is the exact text; the file on disk is its UTF-8 encoding (a
  leading U+FEFF is then the UTF-8 BOM).  Every base case is emitted three
  times: with ``\\n``, ``\\r\\n`` and lone ``\\r`` line endings (only the line
  breaks of the base text are rewritten; no form feed or escape is touched).
* ``expected`` is how retort should see the module's bindings of
  ``revision``, ``down_revision``, ``branch_labels`` and ``depends_on`` after it
  runs: ``None`` or unbound -> ``[]``, a ``str`` -> ``[str]``, a tuple or list
  of ``str`` -> that list (``revision`` is normalised the same way, so
  ``revision = None`` gives ``"revision": []``; retort itself wants exactly one
  string there).  ``{"revision": null}`` means ``revision`` is not bound (not
  a revision file).  ``{"error": "not a literal"}`` means one of the four is
  bound to anything else (bytes, a number, a function, a module, a nested
  tuple, ...); this takes precedence over ``{"revision": null}``.
* ``static`` is true when the final binding (or absence) of each of the four
  names is decided by unconditional module-level assignment statements whose
  value ``ast.literal_eval`` accepts: plain, annotated, chained
  (``a = b = 'x'``), parenthesized or bracketed targets, tuple unpacking
  (starred too), one of several ``;``-separated statements.  Anything else that
  may bind or unbind one of them (an assignment inside a top-level
  ``if``/``for``/``while``/``try``/``with``/``match``, ``del``, ``+=``, a walrus,
  ``import ... as``, ``def``/``class`` of that name, ``for``/``with``/``except``
  targets) makes that name non-static until a later static assignment
  overrides it.  A ``global`` declaration of one of the names in any function
  or class body, ``from m import *``, and any use of ``globals``, ``vars``,
  ``locals``, ``exec``, ``eval``, ``setattr``, ``delattr`` or ``__import__``
  (conservatively) make the case non-static.  ``static`` is independent of the
  type check: ``revision = b'x'`` is static and an error.  Whenever ``static``
  is true the script checks that the values ``ast`` predicts are the values
  Python bound.

How the truth is obtained: each variant's bytes are written to a temporary
folder and imported with ``importlib.util.spec_from_file_location`` (what
Alembic's ``load_python_file`` does; universal newlines and the BOM are handled
by Python's tokenizer).  As a cross-check the text is also run with
``exec(compile(source, "x.py", "exec", dont_inherit=True), {})`` and must give
the same result; the only accepted difference is a leading U+FEFF, which
``compile`` of a ``str`` rejects (SyntaxError) while an import strips it.  Lone
``\\r`` and ``\\r\\n`` are accepted by both (checked on every case).  Modules
may import ``os``, ``typing`` and ``contextlib``; ``alembic`` and
``sqlalchemy`` are replaced by empty stub modules while the cases run.
Compile-time warnings (e.g. the invalid escape ``'\\q'``) are silenced.
"""

import argparse
import ast
import importlib.util
import json
import os
import random
import sys
import tempfile
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "fixtures_py", "py_reader.json")
TRACKED = ("revision", "down_revision", "branch_labels", "depends_on")
LINE_ENDINGS = (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r"))
RANDOM_SEED = 20261201
RANDOM_CASES = 24


def L(*lines, end="\n"):
    """A module text: the lines joined by newlines, plus a final newline."""
    return "\n".join(lines) + end


CASES = []  # (name, source)


def case(name, source):
    assert name not in {n for n, _ in CASES}, name
    assert "\r" not in source, name  # line endings are added per variant
    CASES.append((name, source))


# ---------------------------------------------------------------------------
# Alembic templates
# ---------------------------------------------------------------------------


def template(rev, down, labels, deps, message="add account"):
    """The text Alembic 1.20's ``script.py.mako`` renders."""
    revises = ", ".join(down) if isinstance(down, tuple) else str(down)
    return L(
        '"""%s' % message,
        "",
        "Revision ID: %s" % rev,
        "Revises: %s" % ("" if down is None else revises),
        "Create Date: 2026-11-25 17:02:11.123456",
        "",
        '"""',
        "from typing import Sequence, Union",
        "",
        "from alembic import op",
        "import sqlalchemy as sa",
        "",
        "",
        "# revision identifiers, used by Alembic.",
        "revision: str = %r" % rev,
        "down_revision: Union[str, Sequence[str], None] = %r" % (down,),
        "branch_labels: Union[str, Sequence[str], None] = %r" % (labels,),
        "depends_on: Union[str, Sequence[str], None] = %r" % (deps,),
        "",
        "",
        "def upgrade() -> None:",
        '    """Upgrade schema."""',
        "    op.create_table('account', sa.Column('id', sa.Integer))",
        "",
        "",
        "def downgrade() -> None:",
        '    """Downgrade schema."""',
        "    pass",
    )


case("template", template("1975ea83b712", "27c6a30d7c24", None, None))
case("template_root", template("27c6a30d7c24", None, None, None, message="initial"))
case("template_merge", template("3c4d5e6f7a8b", ("1975ea83b712", "2a3b4c5d6e7f"), None, None, message="merge heads"))
case("template_labels", template("4d5e6f7a8b9c", None, ("feature",), "27c6a30d7c24", message="new branch"))
case(
    "template_legacy",
    L(
        '"""create account table',
        "",
        "Revision ID: 1975ea83b712",
        "Revises:",
        "Create Date: 2011-11-08 11:40:27.089406",
        "",
        '"""',
        "",
        "# revision identifiers, used by Alembic.",
        "revision = '1975ea83b712'",
        "down_revision = None",
        "branch_labels = None",
        "depends_on = None",
        "",
        "from alembic import op",
        "import sqlalchemy as sa",
        "",
        "",
        "def upgrade():",
        "    pass",
        "",
        "",
        "def downgrade():",
        "    pass",
    ),
)

# ---------------------------------------------------------------------------
# plain assignments, tuples, lists, multi-line values
# ---------------------------------------------------------------------------

case("plain_minimal", L("revision = 'a1'"))
case("plain_double_quotes", L('revision = "a1"', 'down_revision = "a0"'))
case(
    "plain_all_four",
    L("revision = 'Ab_cd'  # trailing", "down_revision = ('a1', \"b2\")", "branch_labels = 'lbl'", "depends_on = ['x']"),
)
case("tuple_bare", L("revision = 'z'", "down_revision = 'a', 'b', 'c'"))
case("tuple_bare_trailing_comma", L("revision = 'z'", "down_revision = 'a',", "branch_labels = 'x', 'y',"))
case("tuple_trailing_comma", L("revision = 'z'", "down_revision = ('a', 'b',)", "branch_labels = ('one',)"))
case("list_trailing_comma", L("revision = 'z'", "down_revision = ['a', 'b',]", "depends_on = ['d']"))
case(
    "empty_and_none_forms",
    L("revision = 'z'", "down_revision = ()", "branch_labels = []", "depends_on = (None)"),
)
case(
    "multiline_parens_comments",
    L(
        "revision = 'c3'",
        "down_revision = (",
        "    'a1',  # first parent (of the merge)",
        "    # a comment with 'quotes', \"more\" and a ) paren",
        '    "b2",',
        ")",
        "branch_labels = [",
        "    'x'  # no comma before the comment",
        "]",
    ),
)
case(
    "multiline_odd_layout",
    L(
        "revision = (",
        "'c3'",
        "        )",
        "down_revision = ('a1',",
        "                 'b2'",
        "   ,  )",
    ),
)
case("implicit_concat", L("revision = 'ab' 'cd'", "down_revision = 'x' \"y\" '''z'''"))
case(
    "implicit_concat_multiline",
    L("revision = (", "    'ab'", "    'cd'  # joined", ")", "down_revision = ('a' 'b', 'c'", "    'd')"),
)
case("parenthesized_string", L("revision = ('abc')", "down_revision = ((('p')))"))
case("empty_string", L("revision = ''", "down_revision = ('', 'a')"))
case("hash_in_string", L("revision = 'a#b'", 'down_revision = "# not a comment"', "branch_labels = ('#',)  # real"))

# ---------------------------------------------------------------------------
# escapes, prefixes, quoting
# ---------------------------------------------------------------------------

case("escape_hex", L(r"revision = '\x30abc'"))
case("escape_unicode", L(r"revision = '\u0041bc'", r'down_revision = "\U00000042"'))
case("escape_named", L(r"revision = '\N{LATIN SMALL LETTER A}bc'"))
case("escape_backslash", L(r"revision = 'a\\b'"))
case("escape_backslash_at_end", L(r"revision = 'a\\'", r'down_revision = "b\\"'))
case("escape_octal", L(r"revision = '\101\60'"))
case("escape_newline_tab", L("revision = 'r'", r"down_revision = 'a\nb'", r"branch_labels = 'c\td'"))
case("escape_unknown", L(r"revision = '\q'", r"down_revision = 'a\d'"))
case("escape_same_quote", L(r"revision = 'a\'b'", r'down_revision = "c\"d"'))
case("escape_other_quote", L(r'''revision = "a\'b"''', r"""down_revision = 'c\"d'"""))
case("escape_line_continuation_in_string", L("revision = 'ab\\", "cd'"))
case("escape_in_triple_quotes", L(r"revision = '''a\x41'''", r'down_revision = """b\'\"c"""'))
case("raw_string", L(r"revision = r'\x30'", r"down_revision = r'a\nb'"))
case("raw_upper_prefix", L(r'revision = R"\d+"'))
case("raw_escaped_quote", L(r"revision = r'a\'b'", r'down_revision = R"c\"d"'))
case("raw_double_backslash", L(r"revision = r'a\\b'"))
case("unicode_prefix", L("revision = u'abc'", r'down_revision = U"\u0041"'))
case("bytes_revision", L("revision = b'abc'"))
case("bytes_in_tuple", L("revision = 'r'", "down_revision = ('a', b'b')"))
case("raw_bytes_label", L("revision = 'r'", r"branch_labels = rb'\x'"))
case("fstring_plain", L("revision = f'plain'", 'down_revision = F"p"'))
case("fstring_placeholder", L("revision = 'b'", "x = 'a'", "down_revision = f'{x}'"))
case("fstring_literal_placeholder", L("revision = 'b'", "down_revision = f\"{'a'}\""))
case("fstring_escaped_braces", L("revision = f'{{a}}'"))
case("fstring_concat", L("revision = 'ab' f'cd'", r"down_revision = rf'\x' 'y'"))
case("triple_quoted", L("revision = '''abc'''", 'down_revision = """def"""'))
case("triple_quoted_inner_quotes", L("revision = '''it's'''", 'down_revision = """a"b"""', "branch_labels = '''x''' 'y'"))
case("triple_quoted_multiline_value", L("revision = 'r'", 'down_revision = """a', 'b"""'))
case("non_ascii_ids", L("revision = 'rév'", "down_revision = ('naïve', '日本', 'Ω')"))
case(
    "non_ascii_text",
    L('"""Ajout d\'une tâche — 日本', "", "Revision ID: rév", '"""', "# commentaire: ‘revision’", "revision = 'rév'"),
)
case("nfkc_identifier", L("ｒｅｖｉｓｉｏｎ = 'fullwidth'"))

# ---------------------------------------------------------------------------
# what binds, and where
# ---------------------------------------------------------------------------

case("override_later", L("revision = 'a'", "down_revision = 'x'", "", "revision = 'b'"))
case("override_none_then_value", L("revision = 'r'", "down_revision = None", "down_revision = 'x'"))
case("override_value_then_none", L("revision = 'r'", "down_revision = 'x'", "down_revision = None"))
case("override_annotated_then_plain", L("revision: str = 'a'", "revision = 'b'", "branch_labels = 'l'", "branch_labels: str = 'm'"))
case(
    "def_local",
    L("revision = 'a'", "", "def upgrade():", "    revision = 'not me'", "    down_revision = 'local'", "    return revision"),
)
case("def_one_line", L("revision = 'a'", "def upgrade(): down_revision = 'local'"))
case("class_attribute", L("revision = 'a'", "class Meta:", "    down_revision = 'attr'", "    revision = 'attr'"))
case(
    "global_in_function_called",
    L("revision = 'a'", "def f():", "    global down_revision", "    down_revision = 'x'", "f()"),
)
case("global_in_function_not_called", L("revision = 'a'", "def f():", "    global down_revision", "    down_revision = 'x'"))
case("if_true_block", L("if True:", "    revision = 'a'"))
case("if_false_block", L("revision = 'r'", "if False:", "    down_revision = 'x'"))
case("if_else_block", L("revision = 'r'", "if False:", "    down_revision = 'x'", "else:", "    down_revision = 'y'"))
case("if_elif_block", L("revision = 'r'", "import os", "if os.sep == '?':", "    pass", "elif True:", "    depends_on = 'd'"))
case("if_main_block", L("revision = 'a'", "if __name__ == '__main__':", "    revision = 'main'"))
case("for_block", L("for _ in range(1):", "    revision = 'a'"))
case("for_target", L("for revision in ['a']:", "    pass"))
case("while_block", L("while True:", "    revision = 'a'", "    break"))
case("try_block", L("revision = 'b'", "try:", "    down_revision = 'a'", "except ImportError:", "    pass"))
case(
    "try_except_block",
    L("revision = 'b'", "try:", "    import retort_no_such_module_xyz", "except ImportError:", "    depends_on = 'x'"),
)
case("try_finally_block", L("try:", "    pass", "finally:", "    revision = 'f'"))
case(
    "except_as_unbinds",
    L("revision = 'a'", "depends_on = 'x'", "try:", "    raise ValueError", "except ValueError as depends_on:", "    pass"),
)
case("with_block", L("import contextlib", "with contextlib.nullcontext():", "    revision = 'a'"))
case("with_as_target", L("import contextlib", "with contextlib.nullcontext('a') as revision:", "    pass"))
case("match_block", L("match 1:", "    case 1:", "        revision = 'a'", "    case _:", "        revision = 'b'"))
case("match_capture", L("match 'a':", "    case revision:", "        pass"))
case("one_line_if", L("if True: revision = 'a'"))
case("one_line_if_overridden", L("if True: revision = 'a'", "revision = 'b'"))
case("one_line_for", L("revision = 'a'", "for _ in range(1): down_revision = 'x'"))
case("block_then_override", L("if True:", "    revision = 'a'", "    down_revision = 'x'", "revision = 'b'", "down_revision = 'y'"))
case("block_with_pass_then_assign", L("if True:", "    pass", "revision = 'a'"))
case("semicolon_import", L("revision = 'r'", 'import os; down_revision = "x"'))
case("semicolon_three", L("x = 1; revision = 'r'; down_revision = None"))
case("semicolon_after_value", L("revision = 'a'; down_revision = 'b'"))
case("semicolon_trailing", L("revision = 'a';", "down_revision = 'b' ;  # done"))
case("chained", L("revision = down_revision = 'a'"))
case("chained_untracked_first", L("x = revision = 'a'", "down_revision = y = None"))
case("paren_target", L("revision = 'r'", "(down_revision) = 'x'"))
case("bracket_target", L("revision = 'r'", "[branch_labels] = [('a',)]"))
case("annotated_paren_target", L("(revision): str = 'a'"))
case("unpack_tuple", L("revision, down_revision = 'b', 'a'"))
case("unpack_parens", L("(revision, down_revision) = ('b', 'a')", "[branch_labels, depends_on] = 'x', None"))
case("unpack_list_value", L("revision, down_revision = ['b', 'a']"))
case("unpack_nested", L("revision, (down_revision, depends_on) = 'b', ('a', 'c')"))
case("unpack_string", L("revision, down_revision = 'ba'"))
case("unpack_starred", L("revision, *down_revision = 'b', 'a1', 'a2'"))
case("unpack_tuple_values", L("revision, down_revision = 'c', ('a', 'b')"))
case("unpack_with_untracked", L("x, revision = 1, 'r'"))
case("augmented_str", L("revision = 'a'", "revision += 'x'"))
case("augmented_tuple", L("revision = 'r'", "down_revision = ('a',)", "down_revision += ('b',)"))
case("del_depends_on", L("revision = 'r'", "depends_on = 'x'", "del depends_on"))
case("del_revision", L("revision = 'a'", "del revision"))
case("del_then_reassign", L("revision = 'r'", "down_revision = 'x'", "del down_revision", "down_revision = 'y'"))
case("backslash_continuation", L("revision = 'r'", "down_revision = \\", "    'a'"))
case("backslash_continuation_tuple", L("revision = 'r'", "down_revision = 'a', \\", "    'b'"))
case("backslash_continuation_target", L("revision \\", "    = 'a'"))
case("docstring_lookalike", L('"""doc', "revision = 'fake'", "down_revision = 'fake'", '"""', "revision = 'real'"))
case("string_statement_lookalike", L("revision = 'real'", "'''", "revision = 'fake'", "'''"))
case("annotation_only", L("revision: str", "down_revision: str = 'x'"))
case("annotation_only_after_assign", L("revision = 'a'", "revision: str", "down_revision: 'str' = 'x'"))
case(
    "annotation_complex",
    L("revision: str = 'a'", "down_revision: tuple[str, ...] | None = ('x', 'y')", "branch_labels: dict[str, int] = None"),
)
case("dunder_all", L("__all__ = ['revision', 'down_revision']", "revision = 'a'"))
case("globals_subscript", L("revision = 'a'", "globals()['revision'] = 'b'"))
case("globals_update", L("revision = 'a'", "globals().update(down_revision='x')"))
case("exec_string", L("exec(\"revision = 'a'\")"))
case("walrus", L("(revision := 'a')"))
case("walrus_in_call", L("revision = 'a'", "len(down_revision := 'x')"))
case("walrus_in_comprehension", L("revision = 'a'", "[depends_on := d for d in ('x',)]"))
case("keyword_argument_lookalike", L("revision = 'a'", "dict(revision='x', down_revision='y')"))
case("comparison_lookalike", L("revision = 'a'", "revision == 'x'", "down_revision = None"))
case("def_named_revision", L("revision = 'a'", "def revision():", "    pass"))
case("class_named_depends_on", L("revision = 'a'", "class depends_on:", "    pass"))
case("import_as_tracked", L("revision = 'a'", "import os as down_revision"))
case("from_import_star", L("revision = 'a'", "from os.path import *"))

# ---------------------------------------------------------------------------
# values that are not literals
# ---------------------------------------------------------------------------

case("revision_none", L("revision = None"))
case("revision_tuple", L("revision = ('a',)"))
case("revision_int", L("revision = 1"))
case("label_bool", L("revision = 'a'", "branch_labels = True"))
case("set_value", L("revision = 'a'", "depends_on = {'x'}"))
case("nested_tuple", L("revision = 'a'", "down_revision = (('x', 'y'),)"))
case("tuple_after_tuple", L("revision = 'a'", "down_revision = ('x', 'y'),"))
case("none_in_tuple", L("revision = 'a'", "down_revision = ('x', None)"))
case("name_reference", L("x = 'a'", "revision = x"))
case("os_attribute", L("import os", "revision = 'r'", "down_revision = os.curdir"))
case("typing_attribute", L("import typing", "revision = 'r'", "branch_labels = (typing.__name__,)"))
case("tuple_concatenation", L("revision = 'a'", "down_revision = ('x',) + ('y',)"))
case("conditional_expression", L("revision = 'a' if True else 'b'"))
case("call_value", L("revision = str('a')"))
case("self_reference", L("revision = 'a'", "revision = revision + 'b'"))
case("bytes_without_revision", L("down_revision = b'x'"))

# ---------------------------------------------------------------------------
# layout: whitespace, tabs, form feeds, BOM, empty files
# ---------------------------------------------------------------------------

case("tabs", L("revision\t=\t'a'", "def upgrade():", "\trevision = 'local'", "if True:", "\tdown_revision = 'x'"))
case("tabs_in_values", L("revision = 'r'", "down_revision = (\t'a',", "\t'b'\t)"))
case("form_feed_lines", L("revision = 'a'", "\f", "def upgrade():", "    pass", "\f", "down_revision = 'b'"))
case("form_feed_line_start", L("revision = 'a'", "\fdown_revision = 'b'", "branch_labels =\f'l'"))
case("bom_docstring", "\ufeff" + L('"""doc"""', "revision = 'a'"))
case("bom_assignment", "\ufeff" + L("revision = 'a'", "down_revision = None"))
case("coding_cookie", L("# -*- coding: utf-8 -*-", "revision = 'é'"))
case("blank_lines_and_indented_comments", L("", "   # indented comment", "", "revision = 'a'", "    ", "down_revision = 'b'"))
case("empty_file", "")
case("only_comments", L("# revision = 'a'", "# down_revision = 'b'"))
case("no_trailing_newline", L("revision = 'a'", "down_revision = 'b'", end=""))
case("no_trailing_newline_comment", L("revision = 'a'", "# end", end=""))

# ---------------------------------------------------------------------------
# seeded random combinations of statement fragments
# ---------------------------------------------------------------------------

FRAGMENTS = [
    "revision = 'r1'",
    'revision: str = "r2"',
    "revision = 'r3'  # trailing",
    "down_revision = ('p1', 'p2')",
    "down_revision: Union[str, Sequence[str], None] = None",
    "down_revision = (\n    'p3',  # comment\n    'p4',\n)",
    "branch_labels = 'lbl',",
    "branch_labels = ['b1']",
    "depends_on = ['d1']",
    "depends_on: Union[str, None] = 'd2'",
    'import os; depends_on = "d3"',
    "x = 1; down_revision = 'p5'",
    "revision = down_revision = 'r4'",
    "(branch_labels) = ('b2',)",
    "revision, down_revision = 'r5', None",
    "if True:\n    revision = 'r6'",
    "if False:\n    down_revision = 'p6'",
    "for _ in range(1):\n    branch_labels = None",
    "try:\n    depends_on = 'd4'\nexcept Exception:\n    pass",
    "def upgrade():\n    revision = 'local'\n    down_revision = 'local'",
    '"""doc\nrevision = \'fake\'\n"""',
    "# revision = 'comment'",
    "(depends_on := 'd5')",
    "globals()['down_revision'] = 'p7'",
    r"revision = '\x30' 'esc'",
    r"down_revision = r'\d' " + '"x"',
    "depends_on = \\\n    'd6'",
    "revision += '+'",
    "del branch_labels",
    "branch_labels = b'raw'",
    "if True: down_revision = 'p8'",
    "revision = f'r7'",
]


def random_cases():
    """Seeded combinations; a draw whose module raises when run is skipped."""
    rng = random.Random(RANDOM_SEED)
    made = 0
    while made < RANDOM_CASES:
        picked = rng.sample(FRAGMENTS, rng.randint(3, 7))
        header = ["from typing import Sequence, Union"] if rng.random() < 0.7 else []
        blank = rng.choice(["\n", "\n\n"])
        source = L(*header, "") + blank.join(picked) + "\n"
        try:
            evaluate(source)
        except AssertionError:
            raise
        except Exception:
            continue
        made += 1
        case("random_%02d" % made, source)


# ---------------------------------------------------------------------------
# ground truth: run the module
# ---------------------------------------------------------------------------


class NotLiteral(Exception):
    pass


def normalise(value):
    if value is None:
        return []
    if type(value) is str:
        return [value]
    if type(value) in (tuple, list) and all(type(v) is str for v in value):
        return list(value)
    raise NotLiteral


def expected_from(namespace):
    try:
        facts = {name: normalise(namespace.get(name)) for name in TRACKED}
    except NotLiteral:
        return {"error": "not a literal"}
    if "revision" not in namespace:
        return {"revision": None}
    return facts


STUBS = {}


def install_stubs():
    alembic = types.ModuleType("alembic")
    alembic.op = types.ModuleType("alembic.op")
    STUBS.update({"alembic": alembic, "alembic.op": alembic.op, "sqlalchemy": types.ModuleType("sqlalchemy")})
    sys.modules.update(STUBS)


_counter = [0]
_tmpdir = [None]


def run_imported(data):
    """Write ``data`` to a file and import it, as Alembic loads a revision."""
    _counter[0] += 1
    path = os.path.join(_tmpdir[0], "case_%05d.py" % _counter[0])
    with open(path, "wb") as f:
        f.write(data)
    spec = importlib.util.spec_from_file_location("retort_case_%05d" % _counter[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def run_compiled(text):
    namespace = {"__name__": "retort_case"}
    exec(compile(text, "x.py", "exec", dont_inherit=True), namespace)
    return namespace


def evaluate(text):
    """Python's answer for one module text (checked two ways)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth = expected_from(run_imported(text.encode("utf-8")))
        try:
            again = expected_from(run_compiled(text))
        except SyntaxError:
            if not text.startswith("\ufeff"):
                raise
            again = truth  # compile() of a str rejects U+FEFF; an import strips the BOM
    assert again == truth, (text, truth, again)
    return truth


# ---------------------------------------------------------------------------
# "static": decided with ast
# ---------------------------------------------------------------------------

DYNAMIC_NAMES = {"globals", "vars", "locals", "exec", "eval", "setattr", "delattr", "__import__"}


class NotStatic(Exception):
    pass


def bind_pattern(target, value, out):
    """Assign ``value`` to an assignment target made only of names, tuples,
    lists and one starred name per level, as Python would."""
    if isinstance(target, ast.Name):
        out[target.id] = value
        return
    if not isinstance(target, (ast.Tuple, ast.List)):
        raise NotStatic
    items = list(value)  # TypeError if not iterable
    stars = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
    if not stars:
        if len(items) != len(target.elts):
            raise ValueError("unpacking length")
        for element, item in zip(target.elts, items):
            bind_pattern(element, item, out)
        return
    if len(stars) > 1:
        raise NotStatic
    k = stars[0]
    before, after = target.elts[:k], target.elts[k + 1 :]
    if len(items) < len(before) + len(after):
        raise ValueError("unpacking length")
    for element, item in zip(before, items):
        bind_pattern(element, item, out)
    bind_pattern(target.elts[k].value, list(items[k : len(items) - len(after)]), out)
    for element, item in zip(after, items[len(items) - len(after) :]):
        bind_pattern(element, item, out)


class Scan:
    """What one module-scope statement may do to module-level names."""

    def __init__(self):
        self.binds = set()  # names it may bind or unbind at module scope
        self.dynamic = False  # touches the namespace dynamically, right now
        self.poisoned = set()  # names some function/class body may rebind later
        self.poison_all = False

    def module_scope(self, node):
        """Walk ``node`` as code executed in the module's own scope."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                self.binds.add(node.id)
            elif node.id in DYNAMIC_NAMES:
                self.dynamic = True
            return
        if isinstance(node, ast.AnnAssign) and node.value is None:
            self.module_scope(node.annotation)  # a bare annotation binds nothing
            if not isinstance(node.target, ast.Name):
                self.module_scope(node.target)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    self.dynamic = True
                else:
                    self.binds.add(alias.asname or alias.name.split(".")[0])
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.binds.add(node.name)
            for d in node.decorator_list:
                self.module_scope(d)
            if isinstance(node, ast.ClassDef):
                for b in node.bases + node.keywords:
                    self.module_scope(b)
            else:
                self.module_scope(node.args)
                if node.returns is not None:
                    self.module_scope(node.returns)
            for stmt in node.body:
                self.nested_scope(stmt)
            return
        if isinstance(node, ast.Lambda):
            self.module_scope(node.args)
            self.nested_scope(node.body)
            return
        if isinstance(node, ast.arguments):
            for d in node.defaults + [d for d in node.kw_defaults if d is not None]:
                self.module_scope(d)
            for a in node.posonlyargs + node.args + node.kwonlyargs + [node.vararg, node.kwarg]:
                if a is not None and a.annotation is not None:
                    self.module_scope(a.annotation)
            return
        if isinstance(node, ast.comprehension):
            # the loop target is the comprehension's own; walrus targets leak out
            self.module_scope(node.iter)
            for cond in node.ifs:
                self.module_scope(cond)
            return
        if isinstance(node, ast.ExceptHandler) and node.name:
            self.binds.add(node.name)
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self.binds.add(node.name)
        if isinstance(node, ast.MatchMapping) and node.rest:
            self.binds.add(node.rest)
        if isinstance(node, ast.Global):
            self.binds.update(node.names)
        for child in ast.iter_child_nodes(node):
            self.module_scope(child)

    def nested_scope(self, node):
        """A function or class body: it may rebind module names only through
        ``global`` or the dynamic built-ins, whenever it runs."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Global):
                self.poisoned.update(sub.names)
            elif isinstance(sub, ast.Name) and sub.id in DYNAMIC_NAMES:
                self.poison_all = True


def static_assignment(stmt):
    """The names a static assignment binds, with their values; None if the
    statement is not one."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
        annotation = Scan()
        annotation.module_scope(stmt.annotation)
        if annotation.binds or annotation.dynamic or annotation.poisoned or annotation.poison_all:
            return None
        targets, value = [stmt.target], stmt.value
    else:
        return None
    try:
        evaluated = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    out = {}
    try:
        for target in targets:  # Python assigns the targets left to right
            bind_pattern(target, evaluated, out)
    except (NotStatic, ValueError, TypeError):
        return None
    return out


UNBOUND = object()


def static_prediction(data):
    """(static, the namespace ast predicts for the four names)."""
    tree = ast.parse(data)  # bytes: encoding and BOM handled as on import
    state = {name: ("static", UNBOUND) for name in TRACKED}
    poisoned, poison_all = set(), False
    for stmt in tree.body:
        bound = static_assignment(stmt)
        if bound is not None:
            for name, value in bound.items():
                if name in state:
                    state[name] = ("static", value)
            continue
        scan = Scan()
        scan.module_scope(stmt)
        for name in TRACKED:
            if scan.dynamic or name in scan.binds:
                state[name] = ("dynamic", None)
        poisoned |= scan.poisoned
        poison_all = poison_all or scan.poison_all
    static = not poison_all and all(kind == "static" and name not in poisoned for name, (kind, _) in state.items())
    namespace = {name: value for name, (kind, value) in state.items() if kind == "static" and value is not UNBOUND}
    return static, namespace


# ---------------------------------------------------------------------------


def build():
    fixtures = []
    for name, base in CASES:
        for ending, newline in LINE_ENDINGS:
            text = base.replace("\n", newline)
            expected = evaluate(text)
            static, predicted = static_prediction(text.encode("utf-8"))
            if static:
                assert expected_from(predicted) == expected, (name, ending, predicted, expected)
            fixtures.append(
                {
                    "name": "%s__%s" % (name, ending),
                    "line_endings": ending,
                    "source": text,
                    "expected": expected,
                    "static": static,
                }
            )
    return fixtures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output file (default %(default)s)")
    args = parser.parse_args()
    sys.dont_write_bytecode = True
    install_stubs()
    with tempfile.TemporaryDirectory(prefix="retort_py_reader_") as tmp:
        _tmpdir[0] = tmp
        random_cases()
        fixtures = build()
    text = json.dumps(fixtures, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    base = len(CASES)
    static = sum(1 for fx in fixtures if fx["static"])
    print("%s: %d cases (%d base x %d line endings), %d static, %d not" % (
        os.path.relpath(args.out), len(fixtures), base, len(LINE_ENDINGS), static, len(fixtures) - static))


if __name__ == "__main__":
    main()
