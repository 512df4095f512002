//! Reads Alembic `.py` revision files statically: no Python runs.
//!
//! A small tokenizer walks the module (strings of every quoting style with their
//! escapes decoded, comments, brackets, line continuations, `;`) and yields its
//! logical lines, each marked top-level or not. Of the top-level ones, assignments
//! to `revision`, `down_revision`, `branch_labels` and `depends_on` are read: plain,
//! annotated, chained (`a = b = "x"`), parenthesized (`(a) = "x"`) or unpacking
//! (`revision, down_revision = "a", "b"`); a later assignment overrides an earlier
//! one and `del` unbinds, as when Python runs the module. Line endings are read as
//! Python reads them (LF, CRLF or CR alone). What cannot be read exactly is an
//! error naming file and line: a value that is not a literal
//! (`branch_labels = (cli.EXPAND_BRANCH,)` without a readable constant, an f-string
//! with a placeholder), an assignment inside a top-level `if`/`try`/`with`/`for`
//! block that no later top-level assignment overrides, or a binding retort does not
//! evaluate (`+=`, `:=`, `import … as revision`, `for revision in …`).

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
    /// Reads one top-level logical line; lines that bind nothing we track are skipped.
    fn take(&mut self, tokens: &[Token], resolver: &Resolver) -> Result<(), String> {
        if let Some(name) = unread_binding(tokens) {
            return Err(format!(
                "cannot read `{name}` statically: it is bound by something other than `=`; assign it a literal"
            ));
        }
        if let Some(names) = deleted(tokens) {
            for name in names {
                if let Some(slot) = self.slot(&name) {
                    *slot = None;
                }
            }
            return Ok(());
        }
        let Some(assignment) = Assignment::read(tokens) else { return Ok(()) };
        for target in &assignment.targets {
            match target {
                Target::Name(name) => self.assign(name, assignment.value, resolver)?,
                Target::Unpack(names) => self.take_unpacked(names, assignment.value, resolver)?,
            }
        }
        Ok(())
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

    fn slot(&mut self, name: &str) -> Option<&mut Option<Vec<String>>> {
        match name {
            "revision" => Some(&mut self.revision),
            "down_revision" => Some(&mut self.down_revision),
            "branch_labels" => Some(&mut self.branch_labels),
            "depends_on" => Some(&mut self.depends_on),
            _ => None,
        }
    }

    fn assign(&mut self, name: &str, value: &[Token], resolver: &Resolver) -> Result<(), String> {
        let Some(slot) = self.slot(name) else { return Ok(()) };
        let values = literal(value, resolver).map_err(|reason| format!("cannot read `{name}` statically: {reason}"))?;
        if name == "revision" && values.len() != 1 {
            return Err("`revision` must be one string".to_string());
        }
        *slot = Some(values);
        Ok(())
    }
}

/// What one assignment target binds.
#[derive(Debug)]
enum Target {
    /// `name = …`, `(name) = …`, `name: annotation = …`.
    Name(String),
    /// `a, b = …`, `(a, b) = …`, `[a] = …`.
    Unpack(Vec<String>),
}

/// `t1 = t2 = … = value`: every target gets the value, as in Python.
struct Assignment<'a> {
    targets: Vec<Target>,
    value: &'a [Token],
}

impl<'a> Assignment<'a> {
    /// The assignment a logical line makes, if it is one whose targets are plain
    /// names. Other targets (`x.attr = …`, `d["k"] = …`) bind no module name.
    fn read(tokens: &'a [Token]) -> Option<Assignment<'a>> {
        let mut segments = split_at_top_level(tokens, &Token::Op('='));
        if segments.len() < 2 {
            return None;
        }
        let value = segments.pop()?;
        let annotated = segments.len() == 1;
        let targets = segments.into_iter().map(|segment| target(segment, annotated)).collect::<Option<_>>()?;
        Some(Assignment { targets, value })
    }

    /// The names the assignment binds.
    fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for target in &self.targets {
            match target {
                Target::Name(name) => names.push(name.clone()),
                Target::Unpack(list) => names.extend(list.iter().cloned()),
            }
        }
        names
    }
}

/// Reads one assignment target; an annotation (`name: T`) is allowed on a single target.
fn target(tokens: &[Token], annotated: bool) -> Option<Target> {
    match tokens {
        [Token::Name(name)] => Some(Target::Name(name.clone())),
        [Token::Name(name), Token::Op(':'), _, ..] if annotated => Some(Target::Name(name.clone())),
        [Token::Op('('), Token::Name(name), Token::Op(')')] => Some(Target::Name(name.clone())),
        _ => {
            let inner = match enclosed(tokens) {
                Some(inner) => inner,
                None if tokens.contains(&Token::Op(',')) => tokens,
                None => return None,
            };
            let mut names = Vec::new();
            for item in inner.split(|t| *t == Token::Op(',')) {
                match item {
                    [Token::Name(name)] => names.push(name.clone()),
                    [] => {}
                    _ => return None,
                }
            }
            (!names.is_empty()).then_some(Target::Unpack(names))
        }
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

/// A tracked name that the line binds in a way retort does not evaluate:
/// `revision += …`, `(revision := …)`, `import x as revision`,
/// `from m import revision`, `for revision in …`, `def revision():`.
fn unread_binding(tokens: &[Token]) -> Option<&str> {
    fn tracked(token: &Token) -> Option<&str> {
        match token {
            Token::Name(n) if TRACKED.contains(&n.as_str()) => Some(n.as_str()),
            _ => None,
        }
    }
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
        _ => None,
    }
}

/// A value split at its top-level commas (`"a", ("b", "c")` → two items).
fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let inner = enclosed(tokens).filter(|inner| !inner.is_empty()).unwrap_or(tokens);
    let mut items = split_at_top_level(inner, &Token::Op(','));
    if items.last().is_some_and(|item| item.is_empty()) {
        items.pop(); // a trailing comma
    }
    items
}

/// The inside of `(…)` or `[…]` when the whole of `tokens` is one such group.
fn enclosed(tokens: &[Token]) -> Option<&[Token]> {
    let close = match tokens.first()? {
        Token::Op('(') => Token::Op(')'),
        Token::Op('[') => Token::Op(']'),
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
            return (i == tokens.len() - 1 && *token == close).then(|| &tokens[1..i]);
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

/// The names a logical line binds, read or not.
fn bound_names(tokens: &[Token]) -> Vec<String> {
    let mut names = Assignment::read(tokens).map(|a| a.names()).unwrap_or_default();
    names.extend(unread_binding(tokens).map(str::to_string));
    names.extend(deleted(tokens).unwrap_or_default());
    names
}

/// Assignments to a tracked name inside a top-level `if`/`try`/`with`/`for`/
/// `while` block depend on what runs; unless a later top-level assignment
/// overrides them, they cannot be read exactly. A one-line block
/// (`if x: revision = "a"`) counts as a block.
fn check_conditional_assignments(lines: &[Line]) -> Result<(), (usize, String)> {
    const BLOCKS: [&str; 9] = ["if", "elif", "else", "try", "except", "finally", "with", "for", "while"];
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

/// `None`, a string, or a (possibly bracketed) tuple or list of strings; a
/// dotted name stands for a string constant of an imported module.
fn literal(tokens: &[Token], resolver: &Resolver) -> Result<Vec<String>, String> {
    const NOT_LITERAL: &str = "its value is not a string, None, or a tuple or list of strings";
    let inner = enclosed(tokens).unwrap_or(tokens);
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
    /// A `str` literal, escapes decoded.
    Str(String),
    Op(char),
    /// `:=` or an augmented assignment (`+=`, `|=`, …): binds its left side.
    Binding,
    Other,
}

/// A logical line: its 1-based line number, whether it is indented (a function
/// body, an `if` block, or what follows `;` on a block's header line), and its tokens.
pub(super) struct Line {
    pub number: usize,
    pub indented: bool,
    pub tokens: Vec<Token>,
}

/// Keywords whose line is a block header: what follows their `:` or a `;` on the
/// same line is the block's body, not the module's.
const COMPOUND: [&str; 13] =
    ["if", "elif", "else", "try", "except", "finally", "with", "for", "while", "def", "class", "async", "match"];

/// Operator characters; followed by `=` they form an augmented assignment.
const OPERATORS: &str = "+-*/%&|^@<>!~";

/// The module's logical lines. Errors carry the line number.
pub(super) fn logical_lines(text: &str) -> Result<Vec<Line>, (usize, String)> {
    // Python reads source with universal newlines: CRLF and a lone CR end a line.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
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
            // A form feed resets the indentation count, as in Python's tokenizer.
            let indent = chars[i..].iter().take_while(|c| matches!(c, ' ' | '\t' | '\x0c'));
            top_level = indent.fold(true, |_, c| *c == '\x0c');
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
            ';' if depth == 0 => {
                // Several statements on one line; after a block header they are its body.
                let header = matches!(tokens.first(), Some(Token::Name(w)) if COMPOUND.contains(&w.as_str()));
                if !tokens.is_empty() {
                    let tokens = std::mem::take(&mut tokens);
                    lines.push(Line { number: start_line, indented: !top_level, tokens });
                }
                top_level &= !header;
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
                let (token, next, newlines) = string_token(&chars, i, "").map_err(|e| (line, e))?;
                tokens.push(token);
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
                    let (token, next, newlines) = string_token(&chars, i, &word).map_err(|e| (line, e))?;
                    tokens.push(token);
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
            ':' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Binding);
                i += 2;
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Other);
                i += 2;
            }
            '=' | ':' | ',' | '.' => {
                tokens.push(Token::Op(c));
                i += 1;
            }
            c if OPERATORS.contains(c) => {
                let begin = i;
                while i < chars.len() && OPERATORS.contains(chars[i]) {
                    i += 1;
                }
                let operator: String = chars[begin..i].iter().collect();
                let comparison = matches!(operator.as_str(), "<" | ">" | "!");
                let followed_by_equals = chars.get(i) == Some(&'=') && chars.get(i + 1) != Some(&'=');
                tokens.push(match (followed_by_equals, comparison) {
                    (true, false) => Token::Binding,
                    _ if operator == "|" => Token::Op('|'),
                    _ => Token::Other,
                });
                i += usize::from(followed_by_equals);
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

/// Reads a string literal whose quote is at `start` and whose prefix (`r`, `b`,
/// `f`, …) was `prefix`. A `str` becomes [`Token::Str`] with its escapes decoded
/// as Python decodes them; bytes, an f-string with a placeholder, or a `\N{…}`
/// escape become [`Token::Other`]: not a string retort can read. Returns the
/// token, the index after the literal, and the newlines it spans.
fn string_token(chars: &[char], start: usize, prefix: &str) -> Result<(Token, usize, usize), String> {
    let prefix = prefix.to_ascii_lowercase();
    let raw = prefix.contains('r');
    let (body, next, newlines) = string_body(chars, start).ok_or("unterminated string")?;
    if prefix.contains('b') {
        return Ok((Token::Other, next, newlines));
    }
    let value = if raw { Some(body) } else { decode_escapes(&body) };
    let token = match value {
        // An f-string's placeholders are computed when Python runs: not a literal.
        Some(value) if !(prefix.contains('f') && value.contains('{')) => Token::Str(value),
        _ => Token::Other,
    };
    Ok((token, next, newlines))
}

/// The text between a literal's quotes, exactly as written (backslashes kept), the
/// index after the closing quote, and the newlines the literal spans.
fn string_body(chars: &[char], start: usize) -> Option<(String, usize, usize)> {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    let mut body = String::new();
    let mut newlines = 0;
    loop {
        let c = *chars.get(i)?;
        if c == '\\' {
            let next = *chars.get(i + 1)?;
            newlines += usize::from(next == '\n');
            body.push(c);
            body.push(next);
            i += 2;
            continue;
        }
        if c == quote && (!triple || (chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote))) {
            return Some((body, i + if triple { 3 } else { 1 }, newlines));
        }
        if c == '\n' {
            if !triple {
                return None;
            }
            newlines += 1;
        }
        body.push(c);
        i += 1;
    }
}

/// Python's escapes in a `str` literal; `None` for one retort does not decode
/// (`\N{name}`) or one Python rejects (a short `\x`, a surrogate).
fn decode_escapes(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next()?;
        let simple = match escaped {
            '\n' => Some(None),
            '\\' | '\'' | '"' => Some(Some(escaped)),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.extend(decoded);
            continue;
        }
        let code = match escaped {
            '0'..='7' => {
                let mut digits = escaped.to_string();
                while digits.len() < 3 && chars.peek().is_some_and(|d| ('0'..='7').contains(d)) {
                    digits.extend(chars.next());
                }
                u32::from_str_radix(&digits, 8).ok()?
            }
            'x' | 'u' | 'U' => {
                let width = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = (0..width).map_while(|_| chars.next_if(char::is_ascii_hexdigit)).collect();
                if digits.len() != width {
                    return None;
                }
                u32::from_str_radix(&digits, 16).ok()?
            }
            'N' => return None,
            other => {
                // An unknown escape keeps its backslash, as in Python.
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        out.push(char::from_u32(code)?);
    }
    Some(out)
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
