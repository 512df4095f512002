//! Reads Alembic `.py` revision files statically: no Python runs.
//!
//! On the module's logical lines (see [`super::pytokens`]), the top-level bindings
//! of `revision`, `down_revision`, `branch_labels` and `depends_on` are followed in
//! order, as when Python runs the module: plain, annotated, chained (`a = b = "x"`),
//! parenthesized (`(a) = "x"`), unpacking (`revision, (down_revision, x) = …`,
//! starred targets, a string unpacked into characters) and `del`. A later binding
//! overrides an earlier one. A name whose final binding cannot be read exactly is an
//! error naming file and line: a value that is not a literal
//! (`branch_labels = (cli.EXPAND_BRANCH,)` without a readable constant, an f-string
//! with a placeholder, bytes), an assignment inside a top-level `if`/`try`/`with`/
//! `for`/`match` block that no later top-level assignment overrides, or a binding
//! retort does not evaluate (`+=`, `:=`, `import … as revision`, `global`,
//! `globals()`, `exec`).

use std::path::Path;

use super::constants::Resolver;
use super::pytokens::{Line, Token, logical_lines};
use crate::error::ScriptError;
use crate::revision::{Body, Revision};

/// Parses one `.py` revision file. `Ok(None)` means the file declares no
/// `revision` (an `__init__.py`, a helper module): it is not a revision.
pub fn parse(path: &Path, text: &str) -> Result<Option<Revision>, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fail = |(line, message): (usize, String)| ScriptError::Malformed { path: path.to_path_buf(), line, message };
    let all_lines = logical_lines(text).map_err(fail)?;
    check_dynamic_bindings(&all_lines).map_err(fail)?;
    check_conditional_assignments(&all_lines).map_err(fail)?;
    let lines: Vec<Line> = all_lines.into_iter().filter(|l| !l.indented).collect();

    let resolver = Resolver::new(path, &lines);
    let mut facts = Facts::default();
    for line in &lines {
        facts.take(line, &resolver);
    }
    let [revision, down_revision, branch_labels, depends_on] =
        facts.slots.map(|slot| slot.transpose().map_err(fail)).map(|slot| slot.map(Option::unwrap_or_default));
    let (down_revisions, branch_labels, depends_on) = (down_revision?, branch_labels?, depends_on?);
    let Some(id) = revision?.into_iter().next() else { return Ok(None) };
    let docstring = lines.first().and_then(|line| match line.tokens.as_slice() {
        [Token::Str(doc)] => Some(doc.clone()),
        _ => None,
    });
    let (message, create_date) = docstring.as_deref().map(read_docstring).unwrap_or_default();
    Ok(Some(Revision {
        id,
        down_revisions,
        branch_labels,
        depends_on,
        message,
        create_date,
        transactional: true,
        allow: Vec::new(),
        idempotent: false,
        path: path.to_path_buf(),
        body: Body::Python,
    }))
}

/// The module-level names retort reads, in the order of [`Facts::slots`].
const TRACKED: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

/// What a module-level name is bound to: its strings, or the line that bound it
/// and why that binding cannot be read.
type Bound = Result<Vec<String>, (usize, String)>;

/// The current binding of each tracked name, `None` while unbound.
#[derive(Default)]
struct Facts {
    slots: [Option<Bound>; 4],
}

impl Facts {
    /// Follows one top-level logical line.
    fn take(&mut self, line: &Line, resolver: &Resolver) {
        let tokens = line.tokens.as_slice();
        if let Some(name) = unread_binding(tokens) {
            let why = format!("cannot read `{name}` statically: it is bound by something other than `=`");
            self.bind(name, Err((line.number, why)));
        } else if let Some(names) = deleted(tokens) {
            for name in names {
                if let Some(index) = TRACKED.iter().position(|t| *t == name) {
                    self.slots[index] = None;
                }
            }
        } else if let Some(assignment) = Assignment::read(tokens) {
            let value = Value::of(assignment.value, resolver);
            for target in &assignment.targets {
                self.assign(target, &value, line.number);
            }
        }
    }

    fn bind(&mut self, name: &str, bound: Bound) {
        if let Some(index) = TRACKED.iter().position(|t| *t == name) {
            self.slots[index] = Some(bound);
        }
    }

    /// Binds `target` to `value` as Python's assignment does, unpacking sequences.
    fn assign(&mut self, target: &Target, value: &Value, line: usize) {
        match target {
            Target::Name(name) => {
                let strings = match value.strings() {
                    Ok(ids) if name == "revision" && ids.len() != 1 => Err("`revision` must be one string".to_string()),
                    Ok(strings) => Ok(strings),
                    Err(why) => Err(format!("cannot read `{name}` statically: {why}")),
                };
                self.bind(name, strings.map_err(|message| (line, message)));
            }
            Target::Unpack(targets) => match value.unpack(targets) {
                Ok(values) => {
                    for (target, value) in targets.iter().zip(&values) {
                        self.assign(target, value, line);
                    }
                }
                Err(why) => {
                    for name in target.names() {
                        self.bind(&name, Err((line, format!("cannot read `{name}` statically: {why}"))));
                    }
                }
            },
            Target::Starred(name) => self.assign(&Target::Name(name.clone()), value, line),
        }
    }
}

/// A value as far as retort evaluates it.
#[derive(Debug, Clone)]
enum Value {
    Str(String),
    None,
    /// A tuple or list.
    Sequence(Vec<Value>),
    /// Something that is not a literal, and why.
    Unknown(String),
}

const NOT_LITERAL: &str = "its value is not a string, None, or a tuple or list of strings";

impl Value {
    /// Evaluates a literal: strings (adjacent ones concatenated), `None`, tuples and
    /// lists; a dotted name stands for a string constant of an imported module.
    fn of(tokens: &[Token], resolver: &Resolver) -> Value {
        let mut tokens = tokens;
        let mut bracketed = None;
        while let Some((open, inner)) = enclosed(tokens) {
            tokens = inner;
            if open == '[' || inner.is_empty() || has_top_level_comma(inner) {
                bracketed = Some(open);
                break;
            }
        }
        if bracketed.is_some() || has_top_level_comma(tokens) {
            let mut items = split_at_top_level(tokens, &Token::Op(','));
            if items.last().is_some_and(|item| item.is_empty()) {
                items.pop(); // a trailing comma
            }
            if items.iter().any(|item| item.is_empty()) {
                return Value::Unknown(NOT_LITERAL.to_string());
            }
            return Value::Sequence(items.into_iter().map(|item| Value::of(item, resolver)).collect());
        }
        match tokens {
            [Token::Name(none)] if none == "None" => Value::None,
            [Token::Unreadable(why), ..] => Value::Unknown(why.to_string()),
            [Token::Str(_), ..] => {
                let mut text = String::new();
                for token in tokens {
                    match token {
                        Token::Str(part) => text.push_str(part),
                        Token::Unreadable(why) => return Value::Unknown(why.to_string()),
                        _ => return Value::Unknown(NOT_LITERAL.to_string()),
                    }
                }
                Value::Str(text)
            }
            [Token::Name(_), ..] => match dotted_name(tokens) {
                Some(parts) => resolver.resolve(&parts).map_or_else(Value::Unknown, Value::Str),
                None => Value::Unknown(NOT_LITERAL.to_string()), // a call, an operator
            },
            _ => Value::Unknown(NOT_LITERAL.to_string()),
        }
    }

    /// The strings a tracked name holds: `None` is none, a string is one.
    fn strings(&self) -> Result<Vec<String>, String> {
        match self {
            Value::None => Ok(Vec::new()),
            Value::Str(text) => Ok(vec![text.clone()]),
            Value::Sequence(items) => items
                .iter()
                .map(|item| match item {
                    Value::Str(text) => Ok(text.clone()),
                    Value::Unknown(why) => Err(why.clone()),
                    _ => Err(NOT_LITERAL.to_string()),
                })
                .collect(),
            Value::Unknown(why) => Err(why.clone()),
        }
    }

    /// One value per target, a starred target taking the rest as a list.
    fn unpack(&self, targets: &[Target]) -> Result<Vec<Value>, String> {
        let items = match self {
            Value::Sequence(items) => items.clone(),
            Value::Str(text) => text.chars().map(|c| Value::Str(c.to_string())).collect(),
            Value::None => return Err("None cannot be unpacked".to_string()),
            Value::Unknown(why) => return Err(why.clone()),
        };
        let starred = targets.iter().position(|t| matches!(t, Target::Starred(_)));
        let fixed = targets.len() - usize::from(starred.is_some());
        let fits = if starred.is_some() { items.len() >= fixed } else { items.len() == fixed };
        if !fits {
            return Err(format!("{} values for {} names", items.len(), targets.len()));
        }
        let Some(star) = starred else { return Ok(items) };
        let rest = items.len() - fixed;
        let mut values = items[..star].to_vec();
        values.push(Value::Sequence(items[star..star + rest].to_vec()));
        values.extend_from_slice(&items[star + rest..]);
        Ok(values)
    }
}

/// What one assignment target binds.
#[derive(Debug)]
enum Target {
    /// `name = …`, `(name) = …`, `name: annotation = …`.
    Name(String),
    /// `*name` inside an unpacking target.
    Starred(String),
    /// `a, b = …`, `(a, (b, c)) = …`, `[a] = …`.
    Unpack(Vec<Target>),
}

impl Target {
    /// Reads one assignment target; an annotation (`name: T`) is allowed on a
    /// single target. Other targets (`x.attr`, `d["k"]`) bind no module name.
    fn read(tokens: &[Token], annotated: bool) -> Option<Target> {
        match tokens {
            [Token::Name(name)] => return Some(Target::Name(name.clone())),
            [Token::Other, Token::Name(name)] => return Some(Target::Starred(name.clone())),
            [Token::Name(name), Token::Op(':'), _, ..] if annotated => return Some(Target::Name(name.clone())),
            [Token::Op('('), Token::Name(name), Token::Op(')'), Token::Op(':'), _, ..] if annotated => {
                return Some(Target::Name(name.clone()));
            }
            _ => {}
        }
        let inner = match enclosed(tokens) {
            Some((open, inner)) if open == '[' || has_top_level_comma(inner) => inner,
            Some((_, inner)) => return Target::read(inner, annotated), // `(name)`, `((a, b))`
            None if has_top_level_comma(tokens) => tokens,
            None => return None,
        };
        let mut items = split_at_top_level(inner, &Token::Op(','));
        if items.last().is_some_and(|item| item.is_empty()) {
            items.pop();
        }
        let targets: Vec<Target> = items.into_iter().map(|item| Target::read(item, false)).collect::<Option<_>>()?;
        let starred = targets.iter().filter(|t| matches!(t, Target::Starred(_))).count();
        (!targets.is_empty() && starred <= 1).then_some(Target::Unpack(targets))
    }

    /// The names the target binds.
    fn names(&self) -> Vec<String> {
        match self {
            Target::Name(name) | Target::Starred(name) => vec![name.clone()],
            Target::Unpack(targets) => targets.iter().flat_map(Target::names).collect(),
        }
    }
}

/// `t1 = t2 = … = value`: every target gets the value, as in Python.
struct Assignment<'a> {
    targets: Vec<Target>,
    value: &'a [Token],
}

impl<'a> Assignment<'a> {
    /// The assignment a logical line makes, if its targets are all names.
    fn read(tokens: &'a [Token]) -> Option<Assignment<'a>> {
        let mut segments = split_at_top_level(tokens, &Token::Op('='));
        if segments.len() < 2 {
            return None;
        }
        let value = segments.pop()?;
        let annotated = segments.len() == 1;
        let targets = segments.into_iter().map(|segment| Target::read(segment, annotated)).collect::<Option<_>>()?;
        Some(Assignment { targets, value })
    }
}

/// `del a, b`: the names it unbinds.
fn deleted(tokens: &[Token]) -> Option<Vec<String>> {
    let [Token::Name(del), rest @ ..] = tokens else { return None };
    if del != "del" {
        return None;
    }
    let names = rest.iter().filter_map(|t| if let Token::Name(n) = t { Some(n.clone()) } else { None });
    Some(names.collect())
}

/// A tracked name, if `token` is one.
fn tracked(token: &Token) -> Option<&str> {
    match token {
        Token::Name(n) if TRACKED.contains(&n.as_str()) => Some(n.as_str()),
        _ => None,
    }
}

/// A tracked name that the line binds in a way retort does not evaluate:
/// `revision += …`, `(revision := …)`, `import x as revision`,
/// `from m import revision`, `for revision in …`, `def revision():`,
/// `case revision:`.
fn unread_binding(tokens: &[Token]) -> Option<&str> {
    if let Some(pair) = tokens.windows(2).find(|w| tracked(&w[0]).is_some() && matches!(w[1], Token::Binding)) {
        return tracked(&pair[0]);
    }
    let Some(Token::Name(first)) = tokens.first() else { return None };
    let is_name = |t: &&Token| matches!(t, Token::Name(_));
    match first.as_str() {
        "import" | "with" | "except" => {
            tokens.windows(2).filter(|w| matches!(&w[0], Token::Name(a) if a == "as")).find_map(|w| tracked(&w[1]))
        }
        "from" => {
            let names = tokens.iter().position(|t| matches!(t, Token::Name(i) if i == "import"))?;
            let items = tokens[names + 1..].split(|t| *t == Token::Op(','));
            items.filter_map(|item| item.iter().rev().find(is_name)).find_map(tracked)
        }
        "for" => tokens[1..].iter().take_while(|t| !matches!(t, Token::Name(i) if i == "in")).find_map(tracked),
        "def" | "class" => tokens.get(1).and_then(tracked),
        "case" => tokens.iter().find_map(tracked),
        _ => None,
    }
}

/// Whether `tokens` hold a comma outside brackets.
fn has_top_level_comma(tokens: &[Token]) -> bool {
    split_at_top_level(tokens, &Token::Op(',')).len() > 1
}

/// The bracket and the inside of `(…)` or `[…]` when the whole of `tokens` is one such group.
fn enclosed(tokens: &[Token]) -> Option<(char, &[Token])> {
    let (open, close) = match tokens.first()? {
        Token::Op('(') => ('(', Token::Op(')')),
        Token::Op('[') => ('[', Token::Op(']')),
        _ => return None,
    };
    let mut depth = 0i32;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Op('(' | '[' | '{') => depth += 1,
            Token::Op(')' | ']' | '}') => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return (i == tokens.len() - 1 && *token == close).then(|| (open, &tokens[1..i]));
        }
    }
    None
}

/// `tokens` cut at each `separator` outside brackets.
fn split_at_top_level<'a>(tokens: &'a [Token], separator: &Token) -> Vec<&'a [Token]> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Op('(' | '[' | '{') => depth += 1,
            Token::Op(')' | ']' | '}') => depth -= 1,
            _ if token == separator && depth == 0 => {
                items.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tokens[start..]);
    items
}

/// The dotted name `a.b.c` that is the whole of `tokens`.
fn dotted_name(tokens: &[Token]) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Name(part) if i % 2 == 0 => parts.push(part.clone()),
            Token::Op('.') if i % 2 == 1 => {}
            _ => return None,
        }
    }
    (tokens.len() % 2 == 1).then_some(parts)
}

/// Functions that bind module names at run time, out of retort's sight.
const DYNAMIC: [&str; 6] = ["globals", "exec", "eval", "vars", "setattr", "__import__"];

/// `global revision` in a function, or a top-level call to `globals()`, `exec`
/// and the like, can bind any tracked name: refused.
fn check_dynamic_bindings(lines: &[Line]) -> Result<(), (usize, String)> {
    for line in lines {
        let tokens = &line.tokens;
        if let [Token::Name(global), rest @ ..] = tokens.as_slice()
            && global == "global"
            && let Some(name) = rest.iter().find_map(tracked)
        {
            return Err((line.number, format!("cannot read `{name}` statically: it is bound through `global`")));
        }
        let call = tokens.iter().enumerate().find_map(|(i, token)| match token {
            Token::Name(name) if DYNAMIC.contains(&name.as_str()) => {
                let attribute = i > 0 && tokens[i - 1] == Token::Op('.');
                let checked = !line.indented || name == "globals";
                (checked && !attribute).then_some(name)
            }
            _ => None,
        });
        if let Some(call) = call {
            return Err((
                line.number,
                format!("cannot read the revision statically: `{call}` may bind module names when Python runs it"),
            ));
        }
    }
    Ok(())
}

/// The names a logical line binds, read or not.
fn bound_names(tokens: &[Token]) -> Vec<String> {
    let mut names: Vec<String> =
        Assignment::read(tokens).map(|a| a.targets.iter().flat_map(Target::names).collect()).unwrap_or_default();
    names.extend(unread_binding(tokens).map(str::to_string));
    names.extend(deleted(tokens).unwrap_or_default());
    names
}

/// Assignments to a tracked name inside a top-level `if`/`try`/`with`/`for`/
/// `while`/`match` block depend on what runs; unless a later top-level assignment
/// overrides them, they cannot be read exactly. A one-line block
/// (`if x: revision = "a"`) counts as a block.
fn check_conditional_assignments(lines: &[Line]) -> Result<(), (usize, String)> {
    const BLOCKS: [&str; 10] = ["if", "elif", "else", "try", "except", "finally", "with", "for", "while", "match"];
    let mut block: Option<&str> = None;
    let mut pending: Vec<(usize, String, &str)> = Vec::new();
    for line in lines {
        let first = match line.tokens.first() {
            Some(Token::Name(name)) => name.as_str(),
            _ => "",
        };
        let header = BLOCKS.iter().find(|b| **b == first).copied();
        let (body, in_block): (&[Token], _) = if line.indented {
            (&line.tokens, block)
        } else if let Some(header) = header {
            let colon = line.tokens.iter().position(|t| *t == Token::Op(':')).unwrap_or(line.tokens.len());
            (line.tokens.get(colon + 1..).unwrap_or_default(), Some(header))
        } else {
            (&[], None)
        };
        if !line.indented {
            block = header;
            if header.is_none() {
                let bound = bound_names(&line.tokens);
                pending.retain(|(_, name, _)| !bound.contains(name));
            }
        }
        let Some(header) = in_block else { continue };
        for name in bound_names(body).into_iter().filter(|n| TRACKED.contains(&n.as_str())) {
            pending.push((line.number, name, header));
        }
    }
    match pending.first() {
        Some((number, name, header)) => Err((
            *number,
            format!(
                "cannot read `{name}` statically: it is assigned inside a `{header}:` block; assign it at the top level"
            ),
        )),
        None => Ok(()),
    }
}

/// Alembic's message is the docstring's first paragraph; its `Create Date:` line is kept.
fn read_docstring(doc: &str) -> (String, Option<String>) {
    let message = doc.trim().split("\n\n").next().unwrap_or_default().trim().to_string();
    let create_date = doc.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("create date").then(|| value.trim().to_string())
    });
    (message, create_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Option<Revision>, ScriptError> {
        parse(Path::new("versions/x.py"), text)
    }

    fn rev(text: &str) -> Revision {
        read(text).unwrap().expect("a revision")
    }

    const GENERATED: &str = r#""""add account

Revision ID: 1975ea83b712
Revises: 27c6a30d7c24
Create Date: 2026-11-25 17:02:11.123

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1975ea83b712'
down_revision: Union[str, Sequence[str], None] = '27c6a30d7c24'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    revision = "not me"
    op.create_table("account", sa.Column("id", sa.Integer))


def downgrade() -> None:
    op.drop_table("account")
"#;

    #[test]
    fn reads_a_generated_file() {
        let r = rev(GENERATED);
        assert_eq!(r.id, "1975ea83b712");
        assert_eq!(r.down_revisions, ["27c6a30d7c24"]);
        assert!(r.branch_labels.is_empty() && r.depends_on.is_empty());
        assert_eq!(r.message, "add account");
        assert_eq!(r.create_date.as_deref(), Some("2026-11-25 17:02:11.123"));
        assert_eq!(r.body, Body::Python);
    }

    #[test]
    fn reads_tuples_lists_quotes_and_bare_labels() {
        let r = rev(
            "revision = \"Ab_cd\"  # trailing\ndown_revision = ('a1', \"b2\",)\nbranch_labels = 'lbl'\ndepends_on = ['x']\n",
        );
        assert_eq!(r.id, "Ab_cd");
        assert_eq!(r.down_revisions, ["a1", "b2"]);
        assert_eq!(r.branch_labels, ["lbl"]);
        assert_eq!(r.depends_on, ["x"]);
        let r = rev("revision = 'z'\ndown_revision = 'a', 'b', 'c'\nbranch_labels = ('one',)\n");
        assert_eq!(r.down_revisions, ["a", "b", "c"]);
        assert_eq!(r.branch_labels, ["one"]);
    }

    #[test]
    fn reads_annotations_multiline_values_and_overrides() {
        let r = rev(
            "import x\nrevision: str = 'a'\ndown_revision: tuple[str] | None = (\n    'p1',  # first\n    'p2',\n)\nrevision = 'b'\n",
        );
        assert_eq!(r.id, "b");
        assert_eq!(r.down_revisions, ["p1", "p2"]);
        let r = rev("revision = 'a'\ndown_revision: Union[str, None] = None\nbranch_labels = ()\n");
        assert!(r.down_revisions.is_empty() && r.branch_labels.is_empty());
    }

    #[test]
    fn ignores_docstring_lookalikes_and_indented_assignments() {
        let text = "\"\"\"doc\nrevision = 'fake'\n\"\"\"\nif True:\n    revision = 'indented'\nrevision = 'real'\n";
        assert_eq!(rev(text).id, "real", "a later top-level assignment wins whatever the block did");
        let text = "revision = 'a'\ndef upgrade():\n    down_revision = 'local'\n";
        assert!(rev(text).down_revisions.is_empty(), "a function's locals are not the module's");
    }

    #[test]
    fn unpacking_assignments_are_read() {
        let r = rev("revision, down_revision = 'b', 'a'\n(branch_labels, depends_on) = ('x',), None\n");
        assert_eq!((r.id.as_str(), r.down_revisions.as_slice()), ("b", &["a".to_string()][..]));
        assert_eq!(r.branch_labels, ["x"]);
        let err = read("revision, down_revision = 'b'\n").unwrap_err();
        assert!(err.to_string().starts_with("versions/x.py:1: cannot read"), "{err}");
    }

    #[test]
    fn what_depends_on_running_python_is_an_error() {
        let err = read("revision = 'b'\nx = 'a'\ndown_revision = f'{x}'\n").unwrap_err();
        assert!(err.to_string().starts_with("versions/x.py:3: cannot read `down_revision`"), "{err}");
        assert_eq!(rev("revision = f'plain'\n").id, "plain");
        let err = read("revision = 'b'\ntry:\n    down_revision = 'a'\nexcept ImportError:\n    pass\n").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "versions/x.py:3: cannot read `down_revision` statically: it is assigned inside a `try:` block"
            ),
            "{err}"
        );
        let err = read("import os\nif os.environ.get('X'):\n    revision = 'a'\n").unwrap_err();
        assert!(err.to_string().contains("inside a `if:` block"), "{err}");
    }

    #[test]
    fn reads_real_world_oddities() {
        // airflow 3: the label is the string "None"; neutron: `depends_on = ()`;
        // zenml: dotted ids; keystone: an all-digit id.
        let r = rev("revision = '0.57.0rc1'\ndown_revision = '47147121'\nbranch_labels = \"None\"\ndepends_on = ()\n");
        assert_eq!(r.id, "0.57.0rc1");
        assert_eq!(r.down_revisions, ["47147121"]);
        assert_eq!(r.branch_labels, ["None"]);
        assert!(r.depends_on.is_empty());
        let r = rev("\"\"\"x\n\nRevises: ('a', 'b')\n\"\"\"\nrevision = 'c'\ndown_revision = ('a', 'b')\n");
        assert_eq!(r.down_revisions, ["a", "b"]);
    }

    #[test]
    fn cr_only_and_crlf_files_read_as_python_reads_them() {
        let lf = "revision = 'b'\ndown_revision = 'a'\nbranch_labels = ('x',)\n";
        for text in [lf.replace('\n', "\r"), lf.replace('\n', "\r\n")] {
            let r = rev(&text);
            assert_eq!((r.id.as_str(), r.down_revisions.as_slice()), ("b", &["a".to_string()][..]), "{text:?}");
            assert_eq!(r.branch_labels, ["x"]);
        }
    }

    #[test]
    fn semicolons_separate_statements() {
        let r = rev("import os; down_revision = \"x\"\nx = 1; revision = 'r'; branch_labels = None\n");
        assert_eq!((r.id.as_str(), r.down_revisions.as_slice()), ("r", &["x".to_string()][..]));
        let err = read("revision = 'r'\nif False: x = 1; down_revision = 'a'\n").unwrap_err();
        assert!(err.to_string().contains("inside a `if:` block"), "a one-line block's body: {err}");
        let err = read("revision = 'r'\nif True: down_revision = 'a'\n").unwrap_err();
        assert!(err.to_string().starts_with("versions/x.py:2: cannot read `down_revision`"), "{err}");
        assert!(rev("revision = 'r'\ndef f(): down_revision = 'a'; depends_on = 'b'\n").depends_on.is_empty());
    }

    #[test]
    fn chained_parenthesized_and_bracketed_targets_bind_as_in_python() {
        let r = rev("revision = 'r'\n(down_revision) = 'x'\n[branch_labels] = [('a', 'b')]\n");
        assert_eq!(r.down_revisions, ["x"]);
        assert_eq!(r.branch_labels, ["a", "b"]);
        let r = rev("revision = 'r'\ndown_revision = depends_on = 'p'\n");
        assert_eq!(
            (r.down_revisions.as_slice(), r.depends_on.as_slice()),
            (&["p".to_string()][..], &["p".to_string()][..])
        );
        let r = rev("revision = 'r'\ndepends_on = 'p'\ndel depends_on\n");
        assert!(r.depends_on.is_empty(), "`del` unbinds");
    }

    #[test]
    fn escapes_in_ids_are_decoded() {
        assert_eq!(rev(r"revision = '\x30abc'").id, "0abc");
        assert_eq!(rev(r"revision = '\u0041\101\t\q'").id, "AA\t\\q");
        assert_eq!(rev(r"revision = 'it\'s'").id, "it's");
        assert_eq!(rev(r"revision = r'\x30\''").id, r"\x30\'", "raw strings keep their backslashes");
        assert_eq!(rev("revision = 'a\\\nb'").id, "ab", "a backslash-newline joins");
        for unread in [r"revision = '\N{DIGIT ZERO}'", "revision = b'abc'", r"revision = '\x3'"] {
            let err = read(unread).unwrap_err();
            assert!(err.to_string().starts_with("versions/x.py:1: cannot read `revision`"), "{unread}: {err}");
        }
    }

    #[test]
    fn bindings_retort_does_not_evaluate_are_errors() {
        for text in [
            "revision = 'a'\nrevision += 'b'\n",
            "revision = 'a'\n(down_revision := 'b')\n",
            "revision = 'a'\nfrom helpers import down_revision\n",
            "revision = 'a'\nimport helpers as depends_on\n",
            "revision = 'a'\nfor branch_labels in [('x',)]: pass\n",
        ] {
            let err = read(text).unwrap_err();
            assert!(err.to_string().starts_with("versions/x.py:2: cannot read"), "{text:?}: {err}");
        }
        assert_eq!(rev("revision = 'a'\nfrom helpers import down_revision as other\nx |= 1\n").id, "a");
    }

    #[test]
    fn a_form_feed_resets_indentation() {
        assert_eq!(rev("\x0crevision = 'a'\n").id, "a");
        assert!(read("if x:\n  \x0c  revision = 'a'\n").is_err(), "still inside the block");
    }

    #[test]
    fn files_without_revision_are_not_revisions() {
        assert!(read("").unwrap().is_none());
        assert!(read("from .helpers import *\nx = 1\n").unwrap().is_none());
    }

    #[test]
    fn non_literal_values_are_errors_with_line() {
        let err = read("revision = 'a'\ndown_revision = None\nbranch_labels = (cli.EXPAND_BRANCH,)\n").unwrap_err();
        assert!(err.to_string().starts_with("versions/x.py:3: cannot read `branch_labels` statically"), "{err}");
        let err = read("revision = make_id()\n").unwrap_err();
        assert!(err.to_string().starts_with("versions/x.py:1: "), "{err}");
    }
}
