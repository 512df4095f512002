//! Splits a revision body into the statements a driver sends one at a time.
//!
//! One scanner serves every dialect; a [`Flavor`] switches on what each one has:
//! PostgreSQL's `E''` strings, `$$`/`$tag$` bodies and nested block comments,
//! MySQL's backslash escapes, backticks, `#` comments and `DELIMITER` lines,
//! SQL Server's `GO` batches and `[bracketed]` names, SQLite's trigger bodies.
//! A PL/pgSQL function or a trigger is one statement. The scanner never panics and
//! never splits inside a quoted body or a comment.

/// The most times a `GO n` line sends its batch.
const MAX_GO_REPEAT: usize = 1000;

/// Which dialect's lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Postgres,
    MySql,
    SqlServer,
    Sqlite,
}

impl Flavor {
    /// What one piece of a split body is called in this dialect's own terms.
    pub fn unit(self) -> Unit {
        if self == Flavor::SqlServer { Unit::Batch } else { Unit::Statement }
    }
}

/// What the pieces [`split`] returns are: statements, or SQL Server's `GO`
/// batches (several `;`-separated statements sent as one, which run, fail and
/// resume together). Messages about progress name them in these terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    #[default]
    Statement,
    Batch,
}

impl Unit {
    /// `statement` or `batch`.
    pub fn one(self) -> &'static str {
        match self {
            Unit::Statement => "statement",
            Unit::Batch => "batch",
        }
    }

    /// `statements` or `batches`.
    pub fn many(self) -> &'static str {
        match self {
            Unit::Statement => "statements",
            Unit::Batch => "batches",
        }
    }

    /// `statement 1` or `statements 1-n`, in this unit.
    pub fn first(self, n: usize) -> String {
        if n == 1 { format!("{} 1", self.one()) } else { format!("{} 1-{n}", self.many()) }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.one())
    }
}

/// One statement and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, trimmed, without its terminating delimiter.
    pub sql: String,
    pub line: usize,
}

impl Statement {
    /// The line of the revision file this statement starts on, for a body that
    /// starts on `body_line` of it (0: unknown, the body's own line is given).
    pub fn file_line(&self, body_line: usize) -> usize {
        if body_line == 0 { self.line } else { body_line + self.line - 1 }
    }
}

/// Splits `sql` into statements. Comment-only pieces are dropped.
pub fn split(sql: &str, flavor: Flavor) -> Vec<Statement> {
    let mut scanner =
        Scanner { chars: sql.chars().collect(), flavor, pos: 0, line: 1, out: Vec::new(), open_comment: false };
    scanner.run();
    scanner.out
}

struct Scanner {
    chars: Vec<char>,
    flavor: Flavor,
    pos: usize,
    line: usize,
    out: Vec<Statement>,
    /// A block comment ran to the end of the text without closing.
    open_comment: bool,
}

impl Scanner {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn at(&self, text: &str) -> bool {
        text.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    /// Moves one character, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == Some('\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    /// Whether the cursor is at the first character of a line. Directives are
    /// recognised there, their leading blanks included, so looking back over the
    /// line (quadratic in a long run of spaces) is never needed.
    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.chars[self.pos - 1] == '\n'
    }

    /// Whether `keyword` (ASCII) starts at the cursor, in any case.
    fn at_keyword(&self, keyword: &str) -> bool {
        keyword.chars().enumerate().all(|(i, k)| self.peek(i).is_some_and(|c| c.eq_ignore_ascii_case(&k)))
    }

    /// The rest of the current line, without its newline.
    fn rest_of_line(&self) -> String {
        self.chars[self.pos..].iter().take_while(|c| **c != '\n').collect()
    }

    fn run(&mut self) {
        let mut delimiter = ";".to_string();
        let mut start = self.pos;
        let mut start_line = self.line;
        let mut trigger = TriggerState::default();
        // Only blanks since the last statement ended: where the `mysql` client reads
        // its commands, so `SELECT 1; DELIMITER //` changes the delimiter.
        let mut between_statements = true;
        while self.pos < self.chars.len() {
            let c = self.chars[self.pos];
            let directive_here = match self.flavor {
                Flavor::MySql => between_statements && self.at_keyword("delimiter"),
                Flavor::SqlServer => self.at_line_start(),
                Flavor::Postgres | Flavor::Sqlite => false,
            };
            if directive_here && self.directive(&mut delimiter, start, start_line) {
                start = self.pos;
                start_line = self.line;
                continue;
            }
            // The `mysql` client drops line comments, so `DELIMITER` after one still counts.
            let line_comment = self.at("--") || (c == '#' && self.flavor == Flavor::MySql);
            between_statements &= c.is_whitespace() || line_comment;
            if self.skip_quoted_or_comment() {
                continue;
            }
            if c.is_alphabetic() || c == '_' {
                let word = self.word();
                if self.flavor == Flavor::Sqlite {
                    trigger.see(&word);
                }
                continue;
            }
            if self.flavor != Flavor::SqlServer && self.at(&delimiter) && trigger.may_end() {
                self.emit(start, self.pos, start_line);
                for _ in 0..delimiter.chars().count() {
                    self.bump();
                }
                start = self.pos;
                start_line = self.line;
                trigger = TriggerState::default();
                between_statements = true;
                continue;
            }
            self.bump();
        }
        self.emit(start, self.chars.len(), start_line);
    }

    /// Handles `DELIMITER x` (MySQL) and `GO [count] [-- comment]` (SQL Server)
    /// lines; returns whether one was consumed. `GO 5` sends its batch five times,
    /// as `sqlcmd` does.
    fn directive(&mut self, delimiter: &mut String, start: usize, start_line: usize) -> bool {
        let line = self.rest_of_line();
        let code = match self.flavor {
            Flavor::SqlServer => line.split_once("--").map_or(line.as_str(), |(before, _)| before),
            _ => line.as_str(),
        };
        let mut words = code.split_whitespace();
        let first = words.next().unwrap_or_default();
        let mut repeat = 1;
        let is_directive = match self.flavor {
            Flavor::MySql => first.eq_ignore_ascii_case("delimiter") && words.clone().count() == 1,
            Flavor::SqlServer if first.eq_ignore_ascii_case("go") => match (words.next(), words.next()) {
                (None, _) => true,
                (Some(count), None) => match count.parse::<usize>() {
                    Ok(n) if n >= 1 => {
                        repeat = n.min(MAX_GO_REPEAT);
                        true
                    }
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        };
        if !is_directive {
            return false;
        }
        for _ in 0..repeat {
            self.emit(start, self.pos, start_line);
        }
        if self.flavor == Flavor::MySql {
            *delimiter = words.next().unwrap_or(";").to_string();
        }
        for _ in 0..line.chars().count() {
            self.bump();
        }
        true
    }

    /// Records `chars[from..to]` as a statement, without leading whitespace and line
    /// comments (block comments stay: MySQL reads hints from them).
    fn emit(&mut self, from: usize, to: usize, line: usize) {
        let text: String = self.chars[from..to.min(self.chars.len())].iter().collect();
        let mut rest = text.as_str();
        loop {
            let trimmed = rest.trim_start();
            let is_line_comment =
                trimmed.starts_with("--") || (self.flavor == Flavor::MySql && trimmed.starts_with('#'));
            if !is_line_comment {
                break;
            }
            rest = trimmed.split_once('\n').map_or("", |(_, after)| after);
        }
        let trimmed = rest.trim();
        if has_code(trimmed, self.flavor) {
            let skipped = &text[..text.len() - rest.trim_start().len()];
            self.out.push(Statement { sql: trimmed.to_string(), line: line + skipped.matches('\n').count() });
        }
    }

    fn word(&mut self) -> String {
        let begin = self.pos;
        while self.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        self.chars[begin..self.pos].iter().collect()
    }

    /// Skips a string, quoted identifier, dollar-quoted body or comment at the
    /// cursor; returns whether it did.
    fn skip_quoted_or_comment(&mut self) -> bool {
        let c = self.chars[self.pos];
        let flavor = self.flavor;
        match c {
            '-' if self.peek(1) == Some('-') => self.skip_line(),
            '#' if flavor == Flavor::MySql => self.skip_line(),
            '/' if self.peek(1) == Some('*') => self.skip_block_comment(),
            '\'' => self.skip_quote('\'', flavor == Flavor::MySql),
            '"' => self.skip_quote('"', flavor == Flavor::MySql),
            '`' if matches!(flavor, Flavor::MySql | Flavor::Sqlite) => self.skip_quote('`', false),
            '[' if flavor == Flavor::SqlServer => self.skip_bracketed(),
            '[' if flavor == Flavor::Sqlite => self.skip_until(']'),
            'E' | 'e' if flavor == Flavor::Postgres && self.peek(1) == Some('\'') && !self.after_word_char() => {
                self.bump();
                self.skip_quote('\'', true)
            }
            '$' if flavor == Flavor::Postgres => return self.skip_dollar_quote(),
            _ => return false,
        }
        true
    }

    fn after_word_char(&self) -> bool {
        self.pos > 0 && self.chars[self.pos - 1].is_alphanumeric()
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) {
        let nested = matches!(self.flavor, Flavor::Postgres | Flavor::SqlServer);
        let mut depth = 0;
        while self.pos < self.chars.len() {
            if self.at("/*") && (depth == 0 || nested) {
                depth += 1;
                self.bump();
            } else if self.at("*/") {
                depth -= 1;
                self.bump();
                self.bump();
                if depth == 0 {
                    return;
                }
                continue;
            }
            self.bump();
        }
        self.open_comment = true;
    }

    /// Skips `q...q` where a doubled `q` is an escaped quote, and `\x` too when `backslash`.
    fn skip_quote(&mut self, q: char, backslash: bool) {
        self.bump();
        while let Some(c) = self.peek(0) {
            if backslash && c == '\\' {
                self.bump();
                if self.peek(0).is_some() {
                    self.bump();
                }
                continue;
            }
            self.bump();
            if c == q {
                if self.peek(0) == Some(q) {
                    self.bump();
                    continue;
                }
                return;
            }
        }
    }

    /// A SQL Server `[name]`, where `]]` stands for one `]`.
    fn skip_bracketed(&mut self) {
        self.bump();
        while let Some(c) = self.peek(0) {
            self.bump();
            if c == ']' {
                if self.peek(0) != Some(']') {
                    return;
                }
                self.bump();
            }
        }
    }

    fn skip_until(&mut self, close: char) {
        while let Some(c) = self.peek(0) {
            self.bump();
            if c == close {
                return;
            }
        }
    }

    /// `$tag$ ... $tag$` (tag empty or an identifier not starting with a digit).
    fn skip_dollar_quote(&mut self) -> bool {
        if self.after_word_char() {
            return false;
        }
        let mut len = 1;
        while let Some(c) = self.peek(len) {
            if c == '$' {
                break;
            }
            let ok = c == '_' || c.is_alphabetic() || (len > 1 && c.is_ascii_digit());
            if !ok {
                return false;
            }
            len += 1;
        }
        if self.peek(len) != Some('$') {
            return false;
        }
        let tag: String = self.chars[self.pos..=self.pos + len].iter().collect();
        for _ in 0..=len {
            self.bump();
        }
        while self.pos < self.chars.len() && !self.at(&tag) {
            self.bump();
        }
        for _ in 0..tag.chars().count() {
            if self.pos < self.chars.len() {
                self.bump();
            }
        }
        true
    }
}

/// SQLite's `CREATE TRIGGER ... BEGIN ... END;`: semicolons inside the body do not
/// end the statement. `CASE ... END` inside the body is tracked so its `END` does not
/// close the body.
#[derive(Debug, Default)]
struct TriggerState {
    words: usize,
    is_trigger: bool,
    in_body: bool,
    cases: usize,
    ended: bool,
}

impl TriggerState {
    fn see(&mut self, word: &str) {
        let word = word.to_ascii_uppercase();
        self.words += 1;
        if self.words <= 3 && word == "TRIGGER" {
            self.is_trigger = true;
        }
        if !self.is_trigger {
            return;
        }
        match word.as_str() {
            "BEGIN" if !self.in_body => self.in_body = true,
            "CASE" if self.in_body => self.cases += 1,
            "END" if self.in_body && self.cases > 0 => self.cases -= 1,
            "END" if self.in_body => self.ended = true,
            _ => {}
        }
    }

    fn may_end(&self) -> bool {
        !self.is_trigger || !self.in_body || self.ended
    }
}

/// Whether `text` holds anything besides comments and whitespace.
fn has_code(text: &str, flavor: Flavor) -> bool {
    let mut scanner =
        Scanner { chars: text.chars().collect(), flavor, pos: 0, line: 1, out: Vec::new(), open_comment: false };
    while scanner.pos < scanner.chars.len() {
        let c = scanner.chars[scanner.pos];
        let is_comment = scanner.at("--") || scanner.at("/*") || (c == '#' && flavor == Flavor::MySql);
        if is_comment {
            scanner.skip_quoted_or_comment();
        } else if c.is_whitespace() {
            scanner.bump();
        } else {
            return true;
        }
    }
    // An unclosed `/*` is kept, so that the server reports it instead of the text
    // after it vanishing.
    scanner.open_comment
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(sql: &str, flavor: Flavor) -> Vec<String> {
        split(sql, flavor).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn sql_server_pieces_are_named_batches() {
        assert_eq!(Flavor::SqlServer.unit().first(1), "batch 1");
        assert_eq!(Flavor::SqlServer.unit().first(3), "batches 1-3");
        for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::Sqlite] {
            assert_eq!(flavor.unit().first(2), "statements 1-2");
        }
    }

    #[test]
    fn an_unclosed_block_comment_is_kept_for_the_server_to_refuse() {
        for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::Sqlite, Flavor::SqlServer] {
            let statements = texts("CREATE TABLE a (id int);\n/* unclosed\nCREATE TABLE b (id int);", flavor);
            assert!(statements.last().is_some_and(|s| s.contains("CREATE TABLE b")), "{flavor:?}: {statements:?}");
        }
        assert_eq!(texts("SELECT 1;\n/* closed */", Flavor::Postgres), ["SELECT 1"]);
    }

    #[test]
    fn long_runs_of_blanks_split_in_linear_time() {
        // 400,000 spaces took 48 s when every position looked back over its line.
        let blanks = " ".repeat(400_000);
        for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite] {
            let started = std::time::Instant::now();
            let sql = format!("SELECT{blanks}1;\n{blanks}SELECT 2;\n\t\t{}GO\n", "\t".repeat(100_000));
            let statements = texts(&sql, flavor);
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{flavor:?}: {:?}", started.elapsed());
            assert!(statements[0].starts_with(&format!("SELECT{blanks}1")), "{flavor:?}: the blanks are kept");
        }
        assert_eq!(texts("SELECT 1\n   GO\nSELECT 2", Flavor::SqlServer), ["SELECT 1", "SELECT 2"], "indented GO");
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "CREATE TABLE a (x text DEFAULT ';');\n-- a comment; with semicolon\nINSERT INTO a VALUES ('it''s; fine'); /* block; */ SELECT \"we;ird\" FROM a";
        assert_eq!(
            texts(sql, Flavor::Postgres),
            [
                "CREATE TABLE a (x text DEFAULT ';')",
                "INSERT INTO a VALUES ('it''s; fine')",
                "/* block; */ SELECT \"we;ird\" FROM a"
            ]
        );
    }

    #[test]
    fn postgres_dollar_bodies_and_e_strings_are_one_statement() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 'a;b';\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nSELECT E'it\\'s; ok', $$x;y$$, $1;\nCREATE INDEX CONCURRENTLY ix ON t (c);";
        let parts = split(sql, Flavor::Postgres);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[0].sql.ends_with("$body$ LANGUAGE plpgsql"));
        assert_eq!(parts[1].sql, "SELECT E'it\\'s; ok', $$x;y$$, $1");
        assert_eq!(parts[2].line, 8);
    }

    #[test]
    fn nested_block_comments_in_postgres() {
        assert_eq!(texts("/* a /* b; */ c; */ SELECT 1; SELECT 2", Flavor::Postgres).len(), 2);
    }

    #[test]
    fn mysql_delimiter_after_a_statement_on_the_same_line() {
        // The `mysql` client reads `DELIMITER` wherever a statement may start.
        let sql = "SELECT 1; DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //  delimiter ;\nSELECT 2;";
        assert_eq!(texts(sql, Flavor::MySql), ["SELECT 1", "CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2"]);
        assert_eq!(texts("SELECT 'DELIMITER //'; SELECT 3", Flavor::MySql), ["SELECT 'DELIMITER //'", "SELECT 3"]);
        assert_eq!(
            texts("SELECT 1 DELIMITER //", Flavor::MySql),
            ["SELECT 1 DELIMITER //"],
            "mid-statement it is a word"
        );
        // Found by fuzzing: after a line comment it is still a statement's start.
        let sql = "SELECT 1;\n-- note\n# more\nDELIMITER //\nSELECT 2; SELECT 3 //";
        assert_eq!(texts(sql, Flavor::MySql), ["SELECT 1", "SELECT 2; SELECT 3"]);
    }

    #[test]
    fn mysql_delimiter_and_backslashes() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'a\\';b'; END //\nDELIMITER ;\nSELECT `a;b` FROM t; # comment;\nSELECT 2;";
        assert_eq!(
            texts(sql, Flavor::MySql),
            ["CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'a\\';b'; END", "SELECT `a;b` FROM t", "SELECT 2"]
        );
    }

    #[test]
    fn sql_server_go_batches() {
        let sql = "CREATE TABLE [a;b] (x int);\nINSERT INTO [a;b] VALUES (1);\nGO\nCREATE PROCEDURE p AS BEGIN SELECT 1; END\ngo 2\n";
        assert_eq!(
            texts(sql, Flavor::SqlServer),
            [
                "CREATE TABLE [a;b] (x int);\nINSERT INTO [a;b] VALUES (1);",
                "CREATE PROCEDURE p AS BEGIN SELECT 1; END",
                "CREATE PROCEDURE p AS BEGIN SELECT 1; END"
            ],
            "`go 2` sends its batch twice"
        );
    }

    #[test]
    fn sql_server_go_lines_take_comments_counts_and_escaped_brackets() {
        let sql = "SELECT 1\nGO -- first batch\nCREATE PROCEDURE p AS SELECT 2\nGO 3\nSELECT [a]]\nGO\nb]";
        assert_eq!(
            texts(sql, Flavor::SqlServer),
            [
                "SELECT 1",
                "CREATE PROCEDURE p AS SELECT 2",
                "CREATE PROCEDURE p AS SELECT 2",
                "CREATE PROCEDURE p AS SELECT 2",
                "SELECT [a]]\nGO\nb]"
            ]
        );
        assert_eq!(
            texts("SELECT 1\nGO 0\nSELECT 2", Flavor::SqlServer),
            ["SELECT 1\nGO 0\nSELECT 2"],
            "GO 0 is no batch end"
        );
        assert_eq!(texts("SELECT 1\nGO x\nSELECT 2", Flavor::SqlServer), ["SELECT 1\nGO x\nSELECT 2"]);
    }

    #[test]
    fn sqlite_triggers_keep_their_body() {
        let sql = "CREATE TABLE t (x);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = CASE WHEN x > 1 THEN 1 ELSE 2 END;\n  SELECT 1;\nEND;\nSELECT 2;";
        let parts = texts(sql, Flavor::Sqlite);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[1].starts_with("CREATE TRIGGER") && parts[1].ends_with("END"));
    }

    #[test]
    fn comment_only_input_is_empty() {
        assert!(split("-- nothing\n/* here */\n", Flavor::Postgres).is_empty());
        assert!(split("", Flavor::MySql).is_empty());
    }

    /// Quoted payloads that are full of delimiters, in every quoting style.
    fn payload() -> impl Strategy<Value = String> {
        "[a-z;'$\\\\ \\n-]{0,12}"
    }

    fn quoted(text: &str, style: u8) -> String {
        match style % 4 {
            0 => format!("'{}'", text.replace('\'', "''").replace('\\', "")),
            1 => format!("$q${}$q$", text.replace('$', "")),
            2 => format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
            _ => format!("/* {} */ 1", text.replace("*/", "").replace("/*", "")),
        }
    }

    proptest! {
        #[test]
        fn never_panics(sql in "\\PC{0,200}") {
            for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite] {
                let _ = split(&sql, flavor);
            }
        }

        #[test]
        fn never_splits_inside_quoted_bodies(items in proptest::collection::vec((payload(), any::<u8>()), 1..8)) {
            let statements: Vec<String> = items.iter().map(|(p, s)| format!("SELECT {}", quoted(p, *s))).collect();
            let sql = statements.join(";\n");
            prop_assert_eq!(texts(&sql, Flavor::Postgres), statements);
        }
    }
}
