//! Reads Alembic `.py` revision files statically: no Python runs.
//!
//! A small tokenizer walks the module (strings of every quoting style, comments,
//! brackets, line continuations) and yields its top-level logical lines. Of those,
//! assignments to `revision`, `down_revision`, `branch_labels` and `depends_on`
//! are read, with or without a type annotation; a later assignment overrides an
//! earlier one, as when Python runs the module; `revision, down_revision = "a", "b"`
//! is read too. What cannot be read exactly is an error naming file and line: a
//! value that is not a literal (`branch_labels = (cli.EXPAND_BRANCH,)`, an f-string
//! with a placeholder), or an assignment inside a top-level `if`/`try`/`with`/`for`
//! block that no later top-level assignment overrides.

use std::path::Path;

use super::constants::Resolver;
use crate::error::ScriptError;
use crate::revision::{Body, Revision};

/// Parses one `.py` revision file. `Ok(None)` means the file declares no
/// `revision` (an `__init__.py`, a helper module): it is not a revision.
pub fn parse(path: &Path, text: &str) -> Result<Option<Revision>, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fail = |line: usize, message: String| ScriptError::Malformed { path: path.to_path_buf(), line, message };
    let all_lines = logical_lines(text).map_err(|(line, message)| fail(line, message))?;
    check_conditional_assignments(&all_lines).map_err(|(line, message)| fail(line, message))?;
    let lines: Vec<Line> = all_lines.into_iter().filter(|l| !l.indented).collect();

    let resolver = Resolver::new(path, &lines);
    let mut facts = Facts::default();
    for line in &lines {
        facts.take(&line.tokens, &resolver).map_err(|message| fail(line.number, message))?;
    }
    let Some(id) = facts.revision else { return Ok(None) };
    let id = id.into_iter().next().unwrap_or_default();
    let docstring = lines.first().and_then(|line| match line.tokens.as_slice() {
        [Token::Str(doc)] => Some(doc.clone()),
        _ => None,
    });
    let (message, create_date) = docstring.as_deref().map(read_docstring).unwrap_or_default();
    Ok(Some(Revision {
        id,
        down_revisions: facts.down_revision.unwrap_or_default(),
        branch_labels: facts.branch_labels.unwrap_or_default(),
        depends_on: facts.depends_on.unwrap_or_default(),
        message,
        create_date,
        transactional: true,
        path: path.to_path_buf(),
        body: Body::Python,
    }))
}

/// The module-level facts, `None` where the module never assigns them.
#[derive(Default)]
struct Facts {
    revision: Option<Vec<String>>,
    down_revision: Option<Vec<String>>,
    branch_labels: Option<Vec<String>>,
    depends_on: Option<Vec<String>>,
}

/// The module-level names retort reads.
const TRACKED: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

impl Facts {
    /// Reads one top-level logical line; lines that assign nothing we track are skipped.
    fn take(&mut self, tokens: &[Token], resolver: &Resolver) -> Result<(), String> {
        if let Some((targets, value)) = unpacking(tokens) {
            return self.take_unpacked(&targets, value, resolver);
        }
        let Some(Token::Name(name)) = tokens.first() else { return Ok(()) };
        let Some(value) = assigned_value(&tokens[1..]) else { return Ok(()) };
        self.assign(name, value, resolver)
    }

    /// `revision, down_revision = "a", "b"`: one value per target.
    fn take_unpacked(&mut self, targets: &[String], value: &[Token], resolver: &Resolver) -> Result<(), String> {
        if !targets.iter().any(|t| TRACKED.contains(&t.as_str())) {
            return Ok(());
        }
        let items = split_top_level(value);
        if items.len() != targets.len() {
            return Err(format!(
                "cannot read `{}` statically: {} values for {} names",
                targets.join(", "),
                items.len(),
                targets.len()
            ));
        }
        for (target, item) in targets.iter().zip(items) {
            self.assign(target, item, resolver)?;
        }
        Ok(())
    }

    fn assign(&mut self, name: &str, value: &[Token], resolver: &Resolver) -> Result<(), String> {
        let slot = match name {
            "revision" => &mut self.revision,
            "down_revision" => &mut self.down_revision,
            "branch_labels" => &mut self.branch_labels,
            "depends_on" => &mut self.depends_on,
            _ => return Ok(()),
        };
        let values = literal(value, resolver).map_err(|reason| format!("cannot read `{name}` statically: {reason}"))?;
        if name == "revision" && values.len() != 1 {
            return Err("`revision` must be one string".to_string());
        }
        *slot = Some(values);
        Ok(())
    }
}

/// `a, b = ...` (optionally parenthesized targets): the target names and the value.
fn unpacking(tokens: &[Token]) -> Option<(Vec<String>, &[Token])> {
    let start = usize::from(matches!(tokens.first(), Some(Token::Op('(' | '['))));
    if !matches!((tokens.get(start), tokens.get(start + 1)), (Some(Token::Name(_)), Some(Token::Op(',')))) {
        return None;
    }
    let equals = tokens.iter().position(|t| *t == Token::Op('='))?;
    let mut names = Vec::new();
    for token in &tokens[..equals] {
        match token {
            Token::Name(name) => names.push(name.clone()),
            Token::Op(',' | '(' | ')' | '[' | ']') => {}
            _ => return None,
        }
    }
    Some((names, &tokens[equals + 1..]))
}

/// A value split at its top-level commas (`"a", ("b", "c")` → two items).
fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let inner = match (tokens.first(), tokens.last()) {
        (Some(Token::Op('(')), Some(Token::Op(')'))) if tokens.len() > 2 => &tokens[1..tokens.len() - 1],
        _ => tokens,
    };
    let (mut items, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, token) in inner.iter().enumerate() {
        match token {
            Token::Op('(' | '[' | '{') => depth += 1,
            Token::Op(')' | ']' | '}') => depth -= 1,
            Token::Op(',') if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        items.push(&inner[start..]);
    }
    items
}

/// Assignments to a tracked name inside a top-level `if`/`try`/`with`/`for`/
/// `while` block depend on what runs; unless a later top-level assignment
/// overrides them, they cannot be read exactly.
fn check_conditional_assignments(lines: &[Line]) -> Result<(), (usize, String)> {
    const BLOCKS: [&str; 9] = ["if", "elif", "else", "try", "except", "finally", "with", "for", "while"];
    let mut block: Option<&str> = None;
    let mut pending: Vec<(usize, String, &str)> = Vec::new();
    for line in lines {
        let first = match line.tokens.first() {
            Some(Token::Name(name)) => name.as_str(),
            _ => "",
        };
        if !line.indented {
            block = BLOCKS.iter().find(|b| **b == first).copied();
            if let Some((targets, _)) = unpacking(&line.tokens) {
                pending.retain(|(_, name, _)| !targets.contains(name));
            } else if assigned_value(&line.tokens[1.min(line.tokens.len())..]).is_some() {
                pending.retain(|(_, name, _)| name != first);
            }
            continue;
        }
        let Some(header) = block else { continue };
        let assigned: Vec<String> = match unpacking(&line.tokens) {
            Some((targets, _)) => targets,
            None if assigned_value(&line.tokens[1.min(line.tokens.len())..]).is_some() => vec![first.to_string()],
            None => vec![],
        };
        for name in assigned.into_iter().filter(|n| TRACKED.contains(&n.as_str())) {
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

/// The tokens after `=` in `name = value` or `name: annotation = value`.
fn assigned_value(rest: &[Token]) -> Option<&[Token]> {
    match rest.first()? {
        Token::Op('=') => Some(&rest[1..]),
        Token::Op(':') => {
            let mut depth = 0i32;
            for (index, token) in rest.iter().enumerate().skip(1) {
                match token {
                    Token::Op('[' | '(' | '{') => depth += 1,
                    Token::Op(']' | ')' | '}') => depth -= 1,
                    Token::Op('=') if depth == 0 => return Some(&rest[index + 1..]),
                    _ => {}
                }
            }
            None // a bare annotation assigns nothing
        }
        _ => None,
    }
}

/// `None`, a string, or a (possibly bracketed) tuple or list of strings; a
/// dotted name stands for a string constant of an imported module.
fn literal(tokens: &[Token], resolver: &Resolver) -> Result<Vec<String>, String> {
    const NOT_LITERAL: &str = "its value is not a string, None, or a tuple or list of strings";
    let inner = match (tokens.first(), tokens.last()) {
        (Some(Token::Op('(')), Some(Token::Op(')'))) | (Some(Token::Op('[')), Some(Token::Op(']'))) => {
            &tokens[1..tokens.len() - 1]
        }
        _ => tokens,
    };
    let bare_none = |t: &[Token]| matches!(t, [Token::Name(none)] if none == "None");
    let parenthesized = matches!(tokens.first(), Some(Token::Op('(')));
    if bare_none(tokens) || (parenthesized && bare_none(inner)) {
        return Ok(Vec::new());
    }
    let mut values = Vec::new();
    let mut expect_item = true;
    let mut i = 0;
    while i < inner.len() {
        match &inner[i] {
            Token::Str(text) if expect_item => {
                values.push(text.clone());
                expect_item = false;
            }
            // Adjacent literals concatenate, as in Python.
            Token::Str(text) => values.last_mut().ok_or(NOT_LITERAL)?.push_str(text),
            Token::Name(_) if expect_item => {
                let (parts, next) = dotted_name(inner, i);
                if !matches!(inner.get(next), None | Some(Token::Op(','))) {
                    return Err(NOT_LITERAL.to_string()); // a call, an operator: computed when Python runs
                }
                values.push(resolver.resolve(&parts)?);
                expect_item = false;
                i = next;
                continue;
            }
            Token::Op(',') if !expect_item => expect_item = true,
            _ => return Err(NOT_LITERAL.to_string()),
        }
        i += 1;
    }
    Ok(values)
}

/// The dotted name `a.b.c` starting at `start`, and the index after it.
fn dotted_name(tokens: &[Token], start: usize) -> (Vec<String>, usize) {
    let mut parts = Vec::new();
    let mut i = start;
    while let Some(Token::Name(part)) = tokens.get(i) {
        parts.push(part.clone());
        i += 1;
        if tokens.get(i) != Some(&Token::Op('.')) || !matches!(tokens.get(i + 1), Some(Token::Name(_))) {
            break;
        }
        i += 1;
    }
    (parts, i)
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Name(String),
    Str(String),
    Op(char),
    Other,
}

/// A logical line: its 1-based line number, whether it is indented (a function
/// body, an `if` block), and its tokens.
pub(super) struct Line {
    pub number: usize,
    pub indented: bool,
    pub tokens: Vec<Token>,
}

/// The module's logical lines. Errors carry the line number.
pub(super) fn logical_lines(text: &str) -> Result<Vec<Line>, (usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut top_level = true;
    let mut at_line_start = true;
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if at_line_start {
            at_line_start = false;
            start_line = line;
            top_level = !(c == ' ' || c == '\t');
        }
        match c {
            '\n' => {
                line += 1;
                if depth == 0 {
                    if !tokens.is_empty() {
                        let tokens = std::mem::take(&mut tokens);
                        lines.push(Line { number: start_line, indented: !top_level, tokens });
                    }
                    at_line_start = true;
                }
                i += 1;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
            }
            '\'' | '"' => {
                let (value, next, newlines) =
                    string_literal(&chars, i).ok_or((line, "unterminated string".to_string()))?;
                tokens.push(Token::Str(value));
                line += newlines;
                i = next;
            }
            c if c.is_alphabetic() || c == '_' => {
                let begin = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[begin..i].iter().collect();
                let is_prefix =
                    matches!(word.to_ascii_lowercase().as_str(), "r" | "u" | "b" | "f" | "rb" | "br" | "fr" | "rf");
                if is_prefix && matches!(chars.get(i), Some('\'' | '"')) {
                    let formatted = word.to_ascii_lowercase().contains('f');
                    let (value, next, newlines) =
                        string_literal(&chars, i).ok_or((line, "unterminated string".to_string()))?;
                    // An f-string's placeholders are computed when Python runs: not a literal.
                    tokens.push(if formatted && value.contains('{') { Token::Other } else { Token::Str(value) });
                    line += newlines;
                    i = next;
                    continue;
                }
                tokens.push(Token::Name(word));
            }
            '(' | '[' | '{' => {
                depth += 1;
                tokens.push(Token::Op(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                tokens.push(Token::Op(c));
                i += 1;
            }
            '=' | ':' | ',' | '.' | '|' => {
                let doubled = chars.get(i + 1) == Some(&'=');
                tokens.push(if doubled { Token::Other } else { Token::Op(c) });
                i += if doubled { 2 } else { 1 };
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                tokens.push(Token::Other);
                i += 1;
            }
        }
    }
    if !tokens.is_empty() {
        lines.push(Line { number: start_line, indented: !top_level, tokens });
    }
    Ok(lines)
}

/// Reads a string literal starting at `start` (a quote). Returns its value (escapes
/// kept as written, except `\'` and `\"`), the index after it, and the newlines it spans.
fn string_literal(chars: &[char], start: usize) -> Option<(String, usize, usize)> {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    let mut value = String::new();
    let mut newlines = 0;
    loop {
        let c = *chars.get(i)?;
        if c == '\\' {
            let next = *chars.get(i + 1)?;
            if next == '\n' {
                newlines += 1;
            } else if next == quote {
                value.push(next);
            } else {
                value.push(c);
                value.push(next);
            }
            i += 2;
            continue;
        }
        if c == quote && (!triple || (chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote))) {
            return Some((value, i + if triple { 3 } else { 1 }, newlines));
        }
        if c == '\n' {
            if !triple {
                return None;
            }
            newlines += 1;
        }
        value.push(c);
        i += 1;
    }
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
