//! The statement reader's tokens: a lexer that never fails, and a cursor over
//! its tokens matching keyword patterns.

use super::{Effect, Ident, Name};
use crate::split::Flavor;

/// Words that start a statement in a SQL Server batch.
pub(super) const TSQL_STATEMENTS: &str = "CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|EXEC|EXECUTE|SET|DECLARE|IF|\
    WHILE|BEGIN|COMMIT|ROLLBACK|SAVE|SELECT|GRANT|REVOKE|DENY|PRINT|RAISERROR|THROW|RETURN|USE|WAITFOR|DBCC|BULK|\
    CHECKPOINT|KILL|BACKUP|RESTORE|RECONFIGURE|ENABLE|DISABLE|GOTO|OPEN|FETCH|CLOSE|DEALLOCATE|SHUTDOWN";

/// Whether `toks` hold the start of another statement: a `;` with more after it, or a
/// statement word at the top level that is no foreign key action (`ON DELETE SET NULL`).
pub(super) fn another_statement(toks: &[Token]) -> bool {
    let at = |i: usize, words: &str| toks.get(i).is_some_and(|t| t.is(words));
    let action = |i: usize| {
        at(i.wrapping_sub(1), "ON") && at(i, "DELETE|UPDATE") && at(i.wrapping_add(1), "CASCADE|SET|NO|RESTRICT")
    };
    toks.iter().enumerate().any(|(i, t)| {
        let keyword = t.is(TSQL_STATEMENTS) && !action(i) && !(t.is("SET") && action(i.wrapping_sub(1)));
        let more = t.is(";") && toks[i + 1..].iter().any(|t| !t.is(";"));
        t.depth == 0 && (keyword || more)
    })
}

/// Whether `text` is one of the `|`-separated `words` (case-insensitive).
pub(super) fn is_any(text: &str, words: &str) -> bool {
    words.split('|').any(|word| text.eq_ignore_ascii_case(word))
}

/// Whether one of `words` occurs in `text` as a whole word.
pub(super) fn has_word(text: &str, words: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|part| is_any(part, words))
}

/// Whether `toks` start with `pattern`: space-separated slots of `|`-separated words.
pub(super) fn starts_with(toks: &[Token], pattern: &str) -> bool {
    toks.len() >= pattern.split(' ').count() && toks.iter().zip(pattern.split(' ')).all(|(t, slot)| t.is(slot))
}

/// Reads tokens left to right. Patterns are as in [`starts_with`].
pub(super) struct Reader<'t> {
    pub(super) toks: &'t [Token],
    pub(super) pos: usize,
    pub(super) flavor: Flavor,
}

impl<'t> Reader<'t> {
    pub(super) fn rest(&self) -> &'t [Token] {
        self.toks.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn peek(&self, pattern: &str) -> bool {
        starts_with(self.rest(), pattern)
    }

    /// Eats `pattern` if it comes next.
    pub(super) fn eat(&mut self, pattern: &str) -> bool {
        let hit = self.peek(pattern);
        self.pos += if hit { pattern.split(' ').count() } else { 0 };
        hit
    }

    /// Whether `pattern` occurs somewhere in the rest.
    pub(super) fn has(&self, pattern: &str) -> bool {
        let rest = self.rest();
        (0..rest.len()).any(|i| starts_with(&rest[i..], pattern))
    }

    /// The next unquoted word, upper-cased.
    pub(super) fn word(&mut self) -> Option<String> {
        let token = self.rest().first().filter(|t| t.kind == Kind::Word)?;
        self.pos += 1;
        Some(token.text.to_ascii_uppercase())
    }

    pub(super) fn ident(&mut self) -> Option<Ident> {
        let token = self.rest().first().filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))?;
        self.pos += 1;
        Some(Ident { text: token.text.clone(), quoted: token.kind == Kind::Quoted })
    }

    /// `name` or `schema.name`; three parts are not understood.
    pub(super) fn name(&mut self) -> Option<Name> {
        let first = self.ident()?;
        let name = match self.eat(".") {
            true => Name { schema: Some(first), name: self.ident()? },
            false => Name { schema: None, name: first },
        };
        (!self.peek(".")).then_some(name)
    }

    /// Skips a parenthesised group if one comes next.
    pub(super) fn skip_parens(&mut self) -> &mut Self {
        if let Some(open) = self.rest().first().filter(|t| t.is("(")) {
            let close = self.rest().iter().skip(1).position(|t| t.depth == open.depth && t.is(")"));
            self.pos = close.map_or(self.toks.len(), |i| self.pos + i + 2);
        }
        self
    }

    /// Moves to the next top-level token among `words`; false (not moving) if none.
    pub(super) fn skip_to(&mut self, words: &str) -> bool {
        let found = self.rest().iter().position(|t| t.depth == 0 && t.is(words));
        self.pos += found.unwrap_or(0);
        found.is_some()
    }

    pub(super) fn at_end(&self) -> bool {
        self.rest().iter().all(|t| t.is(";"))
    }

    /// Whether nothing in the rest starts another statement (only a SQL Server batch can).
    pub(super) fn tail_ok(&self) -> bool {
        self.flavor != Flavor::SqlServer || !another_statement(self.rest())
    }

    pub(super) fn repeatable(&self) -> Option<Effect> {
        self.tail_ok().then_some(Effect::Repeatable)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    /// A quoted identifier.
    Quoted,
    /// A string literal or dollar-quoted body.
    Str,
    Punct,
}

/// A token; whitespace and comments are dropped.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    /// Without quotes and unescaped for quoted names and strings.
    pub(super) text: String,
    /// Parenthesis depth; a parenthesis itself sits at the outer depth.
    pub(super) depth: usize,
}

impl Token {
    /// Whether this is an unquoted word or a punctuation character among `words`.
    pub(super) fn is(&self, words: &str) -> bool {
        matches!(self.kind, Kind::Word | Kind::Punct) && is_any(&self.text, words)
    }
}

pub(super) fn tokens(sql: &str, flavor: Flavor) -> Vec<Token> {
    Lexer { sql, pos: 0, depth: 0, flavor }.collect()
}

pub(super) fn first_word(sql: &str, flavor: Flavor) -> Option<String> {
    Lexer { sql, pos: 0, depth: 0, flavor }.next().filter(|t| t.kind == Kind::Word).map(|t| t.text)
}

/// Splits SQL into tokens by the flavor's lexical rules, never failing. It works on
/// bytes: every delimiter is ASCII, so the text between two stays valid UTF-8.
pub(super) struct Lexer<'a> {
    sql: &'a str,
    pos: usize,
    depth: usize,
    flavor: Flavor,
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        self.skip_trivia();
        let (b, before) = (self.byte(0)?, self.depth);
        let (kind, text) = self.token(b);
        Some(Token { kind, text, depth: before.min(self.depth) })
    }
}

impl Lexer<'_> {
    pub(super) fn byte(&self, ahead: usize) -> Option<u8> {
        self.sql.as_bytes().get(self.pos + ahead).copied()
    }

    pub(super) fn at(&self, text: &str) -> bool {
        self.sql.as_bytes().get(self.pos..).is_some_and(|rest| rest.starts_with(text.as_bytes()))
    }

    /// Skips whitespace and comments: `--`, `/* */` and MySQL's `#`.
    pub(super) fn skip_trivia(&mut self) {
        loop {
            while self.byte(0).is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            if self.at("--") || (self.flavor == Flavor::MySql && self.at("#")) {
                let newline = self.sql.get(self.pos..).and_then(|rest| rest.find('\n'));
                self.pos = newline.map_or(self.sql.len(), |i| self.pos + i);
            } else if self.at("/*") {
                self.skip_block_comment();
            } else {
                return;
            }
        }
    }

    /// Skips `/* */`, nested in PostgreSQL and SQL Server; an unterminated one runs to the end.
    pub(super) fn skip_block_comment(&mut self) {
        let nested = matches!(self.flavor, Flavor::Postgres | Flavor::SqlServer);
        let mut level = 0usize;
        while self.pos < self.sql.len() {
            if self.at("/*") && (level == 0 || nested) {
                (level, self.pos) = (level + 1, self.pos + 2);
            } else if self.at("*/") {
                (level, self.pos) = (level.saturating_sub(1), self.pos + 2);
                if level == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
    }

    pub(super) fn token(&mut self, b: u8) -> (Kind, String) {
        use Flavor::{MySql, Postgres, SqlServer, Sqlite};
        let flavor = self.flavor;
        match b {
            b'\'' => (Kind::Str, self.quoted(b'\'', flavor == MySql)),
            b'"' => (Kind::Quoted, self.quoted(b'"', flavor == MySql)),
            b'`' if matches!(flavor, MySql | Sqlite) => (Kind::Quoted, self.quoted(b'`', false)),
            b'[' if matches!(flavor, SqlServer | Sqlite) => (Kind::Quoted, self.quoted(b']', false)),
            b'E' | b'e' if flavor == Postgres && self.byte(1) == Some(b'\'') => {
                self.pos += 1;
                (Kind::Str, self.quoted(b'\'', true))
            }
            b'$' if flavor == Postgres => match self.dollar() {
                Some(body) => (Kind::Str, body),
                None => (Kind::Punct, self.punct(b)),
            },
            _ if self.word_byte(b) && b != b'$' => (Kind::Word, self.word()),
            _ => (Kind::Punct, self.punct(b)),
        }
    }

    /// Reads a run quoted up to `close`, where a doubled `close` (and, with
    /// `backslash`, any escaped byte) stands for itself.
    pub(super) fn quoted(&mut self, close: u8, backslash: bool) -> String {
        let bytes = self.sql.as_bytes();
        let mut text = Vec::new();
        self.pos += 1;
        while let Some(&b) = bytes.get(self.pos) {
            self.pos += 1;
            if (backslash && b == b'\\') || (b == close && bytes.get(self.pos) == Some(&close)) {
                text.extend(bytes.get(self.pos));
                self.pos += 1;
            } else if b == close {
                break;
            } else {
                text.push(b);
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// A `$tag$ ... $tag$` body (an unterminated one runs to the end); `None` when no
    /// tag starts at the cursor (`$1` is a parameter).
    pub(super) fn dollar(&mut self) -> Option<String> {
        let rest = self.sql.get(self.pos + 1..)?;
        let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count() + 2;
        let digit = rest.starts_with(|c: char| c.is_ascii_digit());
        let tag = self.sql.get(self.pos..self.pos + len).filter(|tag| tag.ends_with('$') && !digit)?;
        let body = self.pos + len;
        let end = self.sql.get(body..).and_then(|rest| rest.find(tag)).map_or(self.sql.len(), |i| body + i);
        self.pos = (end + len).min(self.sql.len());
        Some(self.sql.get(body..end).unwrap_or_default().to_string())
    }

    pub(super) fn word_byte(&self, b: u8) -> bool {
        let tsql = self.flavor == Flavor::SqlServer && (b == b'@' || b == b'#');
        b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 || tsql
    }

    pub(super) fn word(&mut self) -> String {
        let start = self.pos;
        while self.byte(0).is_some_and(|b| self.word_byte(b)) {
            self.pos += 1;
        }
        self.sql.get(start..self.pos).unwrap_or_default().to_string()
    }

    pub(super) fn punct(&mut self, b: u8) -> String {
        self.pos += 1;
        match b {
            b'(' => self.depth += 1,
            b')' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        char::from(b).to_string()
    }
}
