//! The tokenizer under the `.py` reader: Python's lexical rules, enough to find a
//! module's logical lines and read its literals exactly.
//!
//! It yields logical lines (a statement, joined across brackets, backslash
//! continuations and triple-quoted strings; split at `;`), each marked top-level or
//! indented, as Python's tokenizer would: universal newlines, form feeds resetting
//! the indentation, NFKC-folded identifiers, string escapes decoded.

use unicode_normalization::UnicodeNormalization;

/// One token of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An identifier or keyword.
    Name(String),
    /// A `str` literal, escapes decoded.
    Str(String),
    /// A bracket or one of `= : , . |`.
    Op(char),
    /// `:=` or an augmented assignment (`+=`, `|=`, …): binds its left side.
    Binding,
    /// A literal retort does not read as a string, and why.
    Unreadable(&'static str),
    /// Anything else: a number, an operator.
    Other,
}

/// A logical line: its 1-based line number, whether it is indented (a function
/// body, an `if` block, or what follows `;` on a block's header line), and its tokens.
pub struct Line {
    /// The 1-based line the statement starts on.
    pub number: usize,
    /// Inside a block: not the module's own statement.
    pub indented: bool,
    /// The statement's tokens.
    pub tokens: Vec<Token>,
}

/// Keywords whose line is a block header: what follows their `:` or a `;` on the
/// same line is the block's body, not the module's.
const COMPOUND: [&str; 13] =
    ["if", "elif", "else", "try", "except", "finally", "with", "for", "while", "def", "class", "async", "match"];

/// Operator characters; followed by `=` they form an augmented assignment.
const OPERATORS: &str = "+-*/%&|^@<>!~";

/// The module's logical lines. Errors carry the line number.
pub fn logical_lines(text: &str) -> Result<Vec<Line>, (usize, String)> {
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
                let mut word: String = chars[begin..i].iter().collect();
                if !word.is_ascii() {
                    // Python folds identifiers to NFKC: `ｒｅｖｉｓｉｏｎ` is `revision`.
                    word = word.nfkc().collect();
                }
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
/// escape become [`Token::Unreadable`]. Returns the token, the index after the
/// literal, and the newlines it spans.
fn string_token(chars: &[char], start: usize, prefix: &str) -> Result<(Token, usize, usize), String> {
    let prefix = prefix.to_ascii_lowercase();
    let (body, next, newlines) = string_body(chars, start).ok_or("unterminated string")?;
    let token = if prefix.contains('b') {
        Token::Unreadable("it is bytes, not a string")
    } else if prefix.contains('r') {
        Token::Str(body)
    } else {
        match decode_escapes(&body) {
            Ok(value) => Token::Str(value),
            Err(reason) => Token::Unreadable(reason),
        }
    };
    let placeholder = matches!(&token, Token::Str(value) if prefix.contains('f') && value.contains('{'));
    if placeholder {
        // An f-string's placeholders are computed when Python runs.
        return Ok((Token::Unreadable("it is an f-string with a placeholder"), next, newlines));
    }
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

/// Python's escapes in a `str` literal, or why they cannot be decoded: `\N{name}`
/// (retort carries no table of Unicode names) or one Python rejects (a short
/// `\x`, a surrogate).
fn decode_escapes(body: &str) -> Result<String, &'static str> {
    const BAD: &str = "it holds an escape that is not valid Python";
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next().ok_or(BAD)?;
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
                u32::from_str_radix(&digits, 8).map_err(|_| BAD)?
            }
            'x' | 'u' | 'U' => {
                let width = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = (0..width).map_while(|_| chars.next_if(char::is_ascii_hexdigit)).collect();
                if digits.len() != width {
                    return Err(BAD);
                }
                u32::from_str_radix(&digits, 16).map_err(|_| BAD)?
            }
            'N' => return Err("it holds a `\\N{…}` escape, which retort does not decode; write the character itself"),
            other => {
                // An unknown escape keeps its backslash, as in Python.
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        out.push(char::from_u32(code).ok_or(BAD)?);
    }
    Ok(out)
}
