//! What a statement does, read from its text alone: whether it only changes data,
//! whether it must run outside a transaction, and which catalog objects it creates,
//! drops or renames.
//!
//! The executor asks these questions about the statements of non-transactional
//! revisions. A statement that may share a transaction with its progress record
//! commits together with it; one that may not runs in autocommit, and when a run
//! dies while it is in flight, its [`Effect`] tells the next run how to find out
//! from the catalog whether it took effect (see `docs/crash-safety.md`).
//!
//! The reader is deliberately small: it looks at leading keywords and the names
//! right after them, never at expressions. Anything it does not recognise is
//! [`Effect::Unknown`], which makes the executor stop and ask rather than guess.

use crate::split::Flavor;

/// An identifier as written: its text without quotes, and whether it was quoted
/// (PostgreSQL folds unquoted names to lower case; quoted ones keep their case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub text: String,
    pub quoted: bool,
}

/// A possibly schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub schema: Option<Ident>,
    pub name: Ident,
}

/// The kinds of catalog objects a statement's effect is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    View,
    Index,
    Sequence,
    /// A user-defined type (PostgreSQL `CREATE TYPE`, SQL Server `CREATE TYPE`).
    Type,
    Function,
    Procedure,
    Trigger,
    /// A column of [`Object::table`].
    Column,
    /// A named constraint of [`Object::table`].
    Constraint,
    Schema,
    Database,
}

/// A catalog object that a statement creates or drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub name: Name,
    /// The table the object belongs to: always set for columns and constraints,
    /// set for triggers and indexes where the statement names it.
    pub table: Option<Name>,
}

/// One change a statement makes to the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Creates(Object),
    Drops(Object),
    /// `from` and `to` have the same kind (a column or a table rename).
    Renames {
        from: Object,
        to: Object,
    },
}

/// What the catalog can tell about a statement after a run died while it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Running it again is harmless (`IF NOT EXISTS`, `IF EXISTS`, `OR REPLACE`,
    /// `VACUUM`, a plain `SELECT`, ...): re-run it.
    Repeatable,
    /// These changes, each visible in the catalog: all present means it took
    /// effect, none present means it did not, anything else is unknown.
    Changes(Vec<Change>),
    /// The catalog cannot tell (a data change, a procedure call, an unrecognised
    /// statement).
    Unknown,
}

/// Whether a statement only changes data (and so can share a transaction with its
/// progress record even where DDL commits implicitly). Leading comments are skipped.
pub fn is_data_change(sql: &str) -> bool {
    first_word(sql, Flavor::MySql).is_some_and(|w| is_any(&w, "INSERT|UPDATE|DELETE|MERGE|REPLACE|WITH"))
}

/// Whether a statement may share a transaction with its progress record on MySQL
/// and MariaDB, where DDL commits implicitly: data changes and plain `SELECT`s.
pub fn mysql_shares_transaction(sql: &str) -> bool {
    is_data_change(sql) || first_word(sql, Flavor::MySql).is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
}

/// Whether PostgreSQL refuses to run `sql` inside a transaction block on a server
/// of `server_version_num` (e.g. 150004). Reads keywords, not substrings.
pub fn postgres_needs_autocommit(sql: &str, server_version_num: u32) -> bool {
    let toks = tokens(sql, Flavor::Postgres);
    let mut r = Reader { toks: &toks, pos: 0, flavor: Flavor::Postgres };
    let special = "DATABASE|TABLESPACE|SUBSCRIPTION";
    match r.word().unwrap_or_default().as_str() {
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" | "VACUUM" | "CALL" => true,
        "START" | "PREPARE" => r.eat("TRANSACTION"),
        "CREATE" => r.eat(special) || r.eat("INDEX CONCURRENTLY") || r.eat("UNIQUE INDEX CONCURRENTLY"),
        "DROP" => r.eat(special) || r.eat("INDEX CONCURRENTLY"),
        "REINDEX" => r.has("CONCURRENTLY") || r.skip_parens().peek("DATABASE|SYSTEM"),
        "ALTER" => alter_needs_autocommit(&mut r, server_version_num),
        "CLUSTER" => {
            r.skip_parens().eat("VERBOSE");
            r.at_end()
        }
        "DISCARD" => r.eat("ALL"),
        "DO" => r.rest().iter().any(|t| t.kind == Kind::Str && has_word(&t.text, "COMMIT|ROLLBACK")),
        _ => false,
    }
}

/// `ALTER ...` that PostgreSQL refuses inside a transaction block. `ALTER SUBSCRIPTION`
/// changing publications refreshes them by default, so it counts too.
fn alter_needs_autocommit(r: &mut Reader, server_version_num: u32) -> bool {
    match r.word().unwrap_or_default().as_str() {
        "SYSTEM" => true,
        "TABLE" => r.has("DETACH PARTITION") && r.has("CONCURRENTLY"),
        "DATABASE" => r.has("SET TABLESPACE"),
        "SUBSCRIPTION" => r.has("REFRESH|PUBLICATION"),
        "TYPE" => server_version_num < 120000 && r.has("ADD VALUE"),
        _ => false,
    }
}

/// Whether SQLite refuses (or silently ignores) `sql` inside a transaction.
pub fn sqlite_needs_autocommit(sql: &str) -> bool {
    let words = "VACUUM|PRAGMA|ATTACH|DETACH|BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE";
    first_word(sql, Flavor::Sqlite).is_some_and(|w| is_any(&w, words))
}

/// What the catalog can tell about `sql`, one statement as the splitter produced it
/// (for SQL Server a whole batch, which must hold just that statement). See [`Effect`].
pub fn effect(sql: &str, flavor: Flavor) -> Effect {
    let toks = tokens(sql, flavor);
    statement(&mut Reader { toks: &toks, pos: 0, flavor }).unwrap_or(Effect::Unknown)
}

fn statement(r: &mut Reader) -> Option<Effect> {
    let mysql = r.flavor == Flavor::MySql;
    let into = r.rest().iter().any(|t| t.depth == 0 && t.is("INTO"));
    match r.word()?.as_str() {
        "CREATE" => create(r),
        "DROP" => drop_objects(r),
        "ALTER" => alter(r),
        "RENAME" if mysql && r.eat("TABLE|TABLES") => rename_tables(r),
        "SELECT" if !into => r.repeatable(),
        "COMMENT" if r.eat("ON") => r.repeatable(),
        "REFRESH" if r.eat("MATERIALIZED VIEW") => r.repeatable(),
        "GRANT" | "REVOKE" if r.skip_to("ON|TO|FROM") => r.repeatable(),
        "PRAGMA" if r.flavor == Flavor::Sqlite => r.repeatable(),
        "OPTIMIZE" if mysql => r.repeatable(),
        "VACUUM" | "ANALYZE" | "REINDEX" | "CLUSTER" | "SET" | "RESET" | "CHECKPOINT" | "DISCARD" => r.repeatable(),
        _ => None,
    }
}

/// Words between `CREATE` and the object kind that change nothing here.
const CREATE_MODIFIERS: &str =
    "UNLOGGED|VIRTUAL|UNIQUE|CLUSTERED|NONCLUSTERED|COLUMNSTORE|FULLTEXT|SPATIAL|RECURSIVE|CONSTRAINT";

fn create(r: &mut Reader) -> Option<Effect> {
    if r.eat("OR REPLACE|ALTER") {
        return Some(Effect::Repeatable);
    }
    r.eat("GLOBAL|LOCAL");
    if r.eat("TEMP|TEMPORARY") {
        return r.repeatable();
    }
    while r.eat(CREATE_MODIFIERS) {}
    if r.flavor == Flavor::MySql && r.peek("DEFINER|ALGORITHM|SQL") {
        r.skip_to("VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT");
    }
    let kind = object_kind(r)?;
    if r.eat("IF NOT EXISTS") {
        return r.repeatable();
    }
    create_object(r, kind)
}

/// The object kind word (after `MATERIALIZED`), and an index's `CONCURRENTLY`.
fn object_kind(r: &mut Reader) -> Option<ObjectKind> {
    use ObjectKind::*;
    r.eat("MATERIALIZED");
    let word = r.word()?;
    let words = "TABLE VIEW INDEX SEQUENCE TYPE|DOMAIN FUNCTION PROCEDURE|PROC TRIGGER SCHEMA DATABASE";
    let kinds = [Table, View, Index, Sequence, Type, Function, Procedure, Trigger, Schema, Database];
    let kind = kinds[words.split(' ').position(|w| is_any(&word, w))?];
    if kind == Index {
        r.eat("CONCURRENTLY");
    }
    Some(kind)
}

/// `CREATE <kind> name ...`; an index or trigger also names its table (`ON table`).
/// In SQL Server a module's body runs to the end of its batch, so it needs no check.
fn create_object(r: &mut Reader, kind: ObjectKind) -> Option<Effect> {
    use ObjectKind::{Function, Index, Procedure, Schema, Trigger, View};
    if kind == Schema && r.peek("AUTHORIZATION") {
        return None;
    }
    let name = r.name()?;
    let table = match kind {
        Index => Some(on_table(r)??),
        Trigger if r.skip_to("ON") => Some(on_table(r)??),
        Trigger => return None,
        _ => None,
    };
    let module = matches!(kind, View | Function | Procedure | Trigger);
    (module || r.tail_ok()).then(|| Effect::Changes(vec![Change::Creates(Object { kind, name, table })]))
}

/// An optional `ON [ONLY] table`: `Some(None)` without one, `None` when it names no
/// table (SQL Server's `ON DATABASE`, `ON ALL SERVER`).
fn on_table(r: &mut Reader) -> Option<Option<Name>> {
    if !r.eat("ON") {
        return Some(None);
    }
    if r.peek("DATABASE|ALL") {
        return None;
    }
    r.eat("ONLY");
    r.name().map(Some)
}

fn drop_objects(r: &mut Reader) -> Option<Effect> {
    let kind = object_kind(r)?;
    if r.eat("IF EXISTS") {
        return r.repeatable();
    }
    let mut changes = vec![Change::Drops(drop_target(r, kind)?)];
    while r.eat(",") {
        changes.push(Change::Drops(drop_target(r, kind)?));
    }
    r.eat("CASCADE|RESTRICT");
    r.at_end().then_some(Effect::Changes(changes))
}

/// One name of a `DROP`, with a function's argument list; PostgreSQL names a
/// trigger's table and MySQL an index's (`ON table`).
fn drop_target(r: &mut Reader, kind: ObjectKind) -> Option<Object> {
    let name = r.name()?;
    let table = on_table(r.skip_parens())?;
    let needs_table = (r.flavor, kind) == (Flavor::Postgres, ObjectKind::Trigger)
        || (r.flavor, kind) == (Flavor::MySql, ObjectKind::Index);
    (table.is_some() || !needs_table).then_some(Object { kind, name, table })
}

fn alter(r: &mut Reader) -> Option<Effect> {
    let system = r.flavor == Flavor::Postgres && r.peek("SYSTEM");
    if r.eat("TABLE") {
        alter_table(r)
    } else if system || (r.peek("TYPE") && r.has("ADD VALUE IF NOT EXISTS")) {
        Some(Effect::Repeatable)
    } else {
        alter_rename(r)
    }
}

/// `ALTER VIEW|MATERIALIZED VIEW|INDEX|SEQUENCE|TYPE [IF EXISTS] a RENAME TO b`.
fn alter_rename(r: &mut Reader) -> Option<Effect> {
    use ObjectKind::{Index, Sequence, Type, View};
    let kind = object_kind(r).filter(|kind| matches!(kind, View | Index | Sequence | Type))?;
    r.eat("IF EXISTS");
    let from = r.name()?;
    r.eat("RENAME TO").then_some(())?;
    let to = renamed(r, &from)?;
    r.at_end().then(|| Effect::Changes(vec![renaming(kind, from, to)]))
}

/// The new name of a renamed object: it stays in its schema unless it names
/// another (MySQL moves an unqualified one to the current database: no default).
fn renamed(r: &mut Reader, from: &Name) -> Option<Name> {
    let mut to = r.name()?;
    if to.schema.is_none() && r.flavor != Flavor::MySql {
        to.schema.clone_from(&from.schema);
    }
    Some(to)
}

fn renaming(kind: ObjectKind, from: Name, to: Name) -> Change {
    let object = |name| Object { kind, name, table: None };
    Change::Renames { from: object(from), to: object(to) }
}

/// `ALTER TABLE`: every clause must be understood. A table rename must stand alone,
/// since the other clauses' objects would be looked up under the old name.
fn alter_table(r: &mut Reader) -> Option<Effect> {
    r.eat("IF EXISTS");
    r.eat("ONLY");
    let table = r.name()?;
    r.eat("*");
    let mut changes = Vec::new();
    for clause in r.rest().split(|t| t.depth == 0 && t.is(",")) {
        changes.extend(alter_clause(&mut Reader { toks: clause, pos: 0, flavor: r.flavor }, &table)?);
    }
    let moves = changes.iter().any(|c| matches!(c, Change::Renames { from, .. } if from.kind == ObjectKind::Table));
    match changes.len() {
        0 => Some(Effect::Repeatable),
        n => (n == 1 || !moves).then_some(Effect::Changes(changes)),
    }
}

/// One clause's changes: none for `IF [NOT] EXISTS` and MySQL's `ALGORITHM`/`LOCK`.
fn alter_clause(r: &mut Reader, table: &Name) -> Option<Vec<Change>> {
    let clause = r.word()?;
    if r.flavor == Flavor::MySql && is_any(&clause, "ALGORITHM|LOCK") {
        return Some(Vec::new());
    }
    if clause == "RENAME" && r.eat("TO|AS") {
        let to = renamed(r, table)?;
        return r.at_end().then(|| vec![renaming(ObjectKind::Table, table.clone(), to)]);
    }
    let kind = member_kind(r, &clause);
    match clause.as_str() {
        "ADD" | "DROP" => add_or_drop(r, clause == "ADD", kind, table),
        "RENAME" => rename_member(r, kind, table),
        "CHANGE" if r.flavor == Flavor::MySql && kind == ObjectKind::Column => change_column(r, table),
        _ => None,
    }
}

/// What a clause's object is: a `CONSTRAINT`, one of MySQL's indexes (`INDEX|KEY`,
/// `UNIQUE|FULLTEXT|SPATIAL [INDEX|KEY]`) or constraints (`DROP FOREIGN KEY|CHECK`),
/// else a column.
fn member_kind(r: &mut Reader, clause: &str) -> ObjectKind {
    let (mysql, dropping) = (r.flavor == Flavor::MySql, clause == "DROP");
    if r.eat("CONSTRAINT") || (mysql && dropping && (r.eat("FOREIGN KEY") || r.eat("CHECK"))) {
        return ObjectKind::Constraint;
    }
    let prefixed = mysql && !dropping && r.eat("UNIQUE|FULLTEXT|SPATIAL");
    if (mysql && r.eat("INDEX|KEY")) || prefixed {
        return ObjectKind::Index;
    }
    r.eat("COLUMN");
    ObjectKind::Column
}

fn add_or_drop(r: &mut Reader, adding: bool, kind: ObjectKind, table: &Name) -> Option<Vec<Change>> {
    let optional = r.eat(if adding { "IF NOT EXISTS" } else { "IF EXISTS" });
    let object = member(r, kind, table)?;
    r.eat("CASCADE|RESTRICT");
    let complete = if adding { r.tail_ok() } else { r.at_end() };
    let change = if adding { Change::Creates(object) } else { Change::Drops(object) };
    complete.then(|| if optional { Vec::new() } else { vec![change] })
}

fn rename_member(r: &mut Reader, kind: ObjectKind, table: &Name) -> Option<Vec<Change>> {
    let from = member(r, kind, table)?;
    r.eat("TO").then_some(())?;
    let to = member(r, kind, table)?;
    r.at_end().then_some(vec![Change::Renames { from, to }])
}

/// MySQL's `CHANGE [COLUMN] old new type`: a rename when the names differ.
fn change_column(r: &mut Reader, table: &Name) -> Option<Vec<Change>> {
    let from = member(r, ObjectKind::Column, table)?;
    let to = member(r, ObjectKind::Column, table)?;
    let same = from.name.name.text.eq_ignore_ascii_case(&to.name.name.text);
    (!same).then_some(vec![Change::Renames { from, to }])
}

/// Words that start a table element (`ADD PRIMARY KEY`, ...) rather than name one.
const ELEMENT_WORDS: &str =
    "PRIMARY|FOREIGN|UNIQUE|CHECK|KEY|INDEX|FULLTEXT|SPATIAL|CONSTRAINT|EXCLUDE|PERIOD|PARTITION|COLUMN|IF|USING";

/// A column, constraint or index of `table`, named by one identifier.
fn member(r: &mut Reader, kind: ObjectKind, table: &Name) -> Option<Object> {
    let name = r.ident()?;
    let element = !name.quoted && is_any(&name.text, ELEMENT_WORDS);
    (!element).then(|| Object { kind, name: Name { schema: None, name }, table: Some(table.clone()) })
}

/// MySQL's `RENAME TABLE a TO b [, c TO d]`.
fn rename_tables(r: &mut Reader) -> Option<Effect> {
    let mut changes = Vec::new();
    loop {
        let from = r.name()?;
        r.eat("TO").then_some(())?;
        changes.push(renaming(ObjectKind::Table, from, r.name()?));
        if !r.eat(",") {
            return r.at_end().then_some(Effect::Changes(changes));
        }
    }
}

/// Words that start a statement in a SQL Server batch.
const TSQL_STATEMENTS: &str = "CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|EXEC|EXECUTE|SET|DECLARE|IF|\
    WHILE|BEGIN|COMMIT|ROLLBACK|SAVE|SELECT|GRANT|REVOKE|DENY|PRINT|RAISERROR|THROW|RETURN|USE|WAITFOR|DBCC|BULK|\
    CHECKPOINT|KILL|BACKUP|RESTORE|RECONFIGURE|ENABLE|DISABLE|GOTO|OPEN|FETCH|CLOSE|DEALLOCATE|SHUTDOWN";

/// Whether `toks` hold the start of another statement: a `;` with more after it, or a
/// statement word at the top level that is no foreign key action (`ON DELETE SET NULL`).
fn another_statement(toks: &[Token]) -> bool {
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
fn is_any(text: &str, words: &str) -> bool {
    words.split('|').any(|word| text.eq_ignore_ascii_case(word))
}

/// Whether one of `words` occurs in `text` as a whole word.
fn has_word(text: &str, words: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|part| is_any(part, words))
}

/// Whether `toks` start with `pattern`: space-separated slots of `|`-separated words.
fn starts_with(toks: &[Token], pattern: &str) -> bool {
    toks.len() >= pattern.split(' ').count() && toks.iter().zip(pattern.split(' ')).all(|(t, slot)| t.is(slot))
}

/// Reads tokens left to right. Patterns are as in [`starts_with`].
struct Reader<'t> {
    toks: &'t [Token],
    pos: usize,
    flavor: Flavor,
}

impl<'t> Reader<'t> {
    fn rest(&self) -> &'t [Token] {
        self.toks.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self, pattern: &str) -> bool {
        starts_with(self.rest(), pattern)
    }

    /// Eats `pattern` if it comes next.
    fn eat(&mut self, pattern: &str) -> bool {
        let hit = self.peek(pattern);
        self.pos += if hit { pattern.split(' ').count() } else { 0 };
        hit
    }

    /// Whether `pattern` occurs somewhere in the rest.
    fn has(&self, pattern: &str) -> bool {
        let rest = self.rest();
        (0..rest.len()).any(|i| starts_with(&rest[i..], pattern))
    }

    /// The next unquoted word, upper-cased.
    fn word(&mut self) -> Option<String> {
        let token = self.rest().first().filter(|t| t.kind == Kind::Word)?;
        self.pos += 1;
        Some(token.text.to_ascii_uppercase())
    }

    fn ident(&mut self) -> Option<Ident> {
        let token = self.rest().first().filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))?;
        self.pos += 1;
        Some(Ident { text: token.text.clone(), quoted: token.kind == Kind::Quoted })
    }

    /// `name` or `schema.name`; three parts are not understood.
    fn name(&mut self) -> Option<Name> {
        let first = self.ident()?;
        let name = match self.eat(".") {
            true => Name { schema: Some(first), name: self.ident()? },
            false => Name { schema: None, name: first },
        };
        (!self.peek(".")).then_some(name)
    }

    /// Skips a parenthesised group if one comes next.
    fn skip_parens(&mut self) -> &mut Self {
        if let Some(open) = self.rest().first().filter(|t| t.is("(")) {
            let close = self.rest().iter().skip(1).position(|t| t.depth == open.depth && t.is(")"));
            self.pos = close.map_or(self.toks.len(), |i| self.pos + i + 2);
        }
        self
    }

    /// Moves to the next top-level token among `words`; false (not moving) if none.
    fn skip_to(&mut self, words: &str) -> bool {
        let found = self.rest().iter().position(|t| t.depth == 0 && t.is(words));
        self.pos += found.unwrap_or(0);
        found.is_some()
    }

    fn at_end(&self) -> bool {
        self.rest().iter().all(|t| t.is(";"))
    }

    /// Whether nothing in the rest starts another statement (only a SQL Server batch can).
    fn tail_ok(&self) -> bool {
        self.flavor != Flavor::SqlServer || !another_statement(self.rest())
    }

    fn repeatable(&self) -> Option<Effect> {
        self.tail_ok().then_some(Effect::Repeatable)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    /// A quoted identifier.
    Quoted,
    /// A string literal or dollar-quoted body.
    Str,
    Punct,
}

/// A token; whitespace and comments are dropped.
#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// Without quotes and unescaped for quoted names and strings.
    text: String,
    /// Parenthesis depth; a parenthesis itself sits at the outer depth.
    depth: usize,
}

impl Token {
    /// Whether this is an unquoted word or a punctuation character among `words`.
    fn is(&self, words: &str) -> bool {
        matches!(self.kind, Kind::Word | Kind::Punct) && is_any(&self.text, words)
    }
}

fn tokens(sql: &str, flavor: Flavor) -> Vec<Token> {
    Lexer { sql, pos: 0, depth: 0, flavor }.collect()
}

fn first_word(sql: &str, flavor: Flavor) -> Option<String> {
    Lexer { sql, pos: 0, depth: 0, flavor }.next().filter(|t| t.kind == Kind::Word).map(|t| t.text)
}

/// Splits SQL into tokens by the flavor's lexical rules, never failing. It works on
/// bytes: every delimiter is ASCII, so the text between two stays valid UTF-8.
struct Lexer<'a> {
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
    fn byte(&self, ahead: usize) -> Option<u8> {
        self.sql.as_bytes().get(self.pos + ahead).copied()
    }

    fn at(&self, text: &str) -> bool {
        self.sql.as_bytes().get(self.pos..).is_some_and(|rest| rest.starts_with(text.as_bytes()))
    }

    /// Skips whitespace and comments: `--`, `/* */` and MySQL's `#`.
    fn skip_trivia(&mut self) {
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
    fn skip_block_comment(&mut self) {
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

    fn token(&mut self, b: u8) -> (Kind, String) {
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
    fn quoted(&mut self, close: u8, backslash: bool) -> String {
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
    fn dollar(&mut self) -> Option<String> {
        let rest = self.sql.get(self.pos + 1..)?;
        let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count() + 2;
        let digit = rest.starts_with(|c: char| c.is_ascii_digit());
        let tag = self.sql.get(self.pos..self.pos + len).filter(|tag| tag.ends_with('$') && !digit)?;
        let body = self.pos + len;
        let end = self.sql.get(body..).and_then(|rest| rest.find(tag)).map_or(self.sql.len(), |i| body + i);
        self.pos = (end + len).min(self.sql.len());
        Some(self.sql.get(body..end).unwrap_or_default().to_string())
    }

    fn word_byte(&self, b: u8) -> bool {
        let tsql = self.flavor == Flavor::SqlServer && (b == b'@' || b == b'#');
        b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 || tsql
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.byte(0).is_some_and(|b| self.word_byte(b)) {
            self.pos += 1;
        }
        self.sql.get(start..self.pos).unwrap_or_default().to_string()
    }

    fn punct(&mut self, b: u8) -> String {
        self.pos += 1;
        match b {
            b'(' => self.depth += 1,
            b')' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        char::from(b).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `R`, `U`, or the changes: `+Kind name [on table]`, `-...`, `~Kind from > to [on table]`.
    fn show(effect: &Effect) -> String {
        let name = |n: &Name| {
            let part = |i: &Ident| if i.quoted { format!("\"{}\"", i.text) } else { i.text.clone() };
            n.schema.iter().chain([&n.name]).map(part).collect::<Vec<_>>().join(".")
        };
        let on = |o: &Object| o.table.as_ref().map(|t| format!(" on {}", name(t))).unwrap_or_default();
        let change = |c: &Change| match c {
            Change::Creates(o) => format!("+{:?} {}{}", o.kind, name(&o.name), on(o)),
            Change::Drops(o) => format!("-{:?} {}{}", o.kind, name(&o.name), on(o)),
            Change::Renames { from, to } => {
                assert_eq!((from.kind, &from.table), (to.kind, &to.table));
                format!("~{:?} {} > {}{}", from.kind, name(&from.name), name(&to.name), on(from))
            }
        };
        match effect {
            Effect::Repeatable => "R".into(),
            Effect::Unknown => "U".into(),
            Effect::Changes(changes) => changes.iter().map(change).collect::<Vec<_>>().join("; "),
        }
    }

    /// `flavor | statement [|| statement ...] | effect as shown`; `\n` stands for a newline.
    const EFFECTS: &str = r#"
pg | CREATE TABLE IF NOT EXISTS t (a int) || CREATE SCHEMA IF NOT EXISTS app || DROP TABLE IF EXISTS a, b CASCADE | R
pg | CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON t (a) || DROP INDEX CONCURRENTLY IF EXISTS ix | R
pg | CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql || CREATE OR REPLACE VIEW v AS SELECT | R
pg | CREATE GLOBAL TEMPORARY TABLE scratch (a int) || CREATE TEMP TABLE scratch AS SELECT 1 | R
pg | VACUUM (VERBOSE) t || ANALYZE t || REINDEX TABLE CONCURRENTLY t || CLUSTER t USING ix || CHECKPOINT | R
pg | REFRESH MATERIALIZED VIEW CONCURRENTLY mv || ALTER SYSTEM SET work_mem = '64MB' || DISCARD ALL | R
pg | SET search_path = app || RESET ALL || COMMENT ON TABLE t IS 'x' | R
pg | GRANT SELECT ON t TO app || REVOKE ALL ON t FROM app | R
pg | SELECT count(*) FROM t WHERE a IN (SELECT 1) || ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' | R
pg | ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN IF EXISTS b, DROP CONSTRAINT IF EXISTS c | R
my | OPTIMIZE TABLE t || ANALYZE TABLE t || ALTER TABLE t ADD INDEX IF NOT EXISTS ix (a), ALGORITHM=INPLACE | R
sqlite | PRAGMA foreign_keys = ON || CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END | R
ms | CREATE OR ALTER PROCEDURE p AS BEGIN UPDATE t SET a = 1 END || GRANT SELECT, INSERT ON t TO app | R
pg | SELECT * INTO t2 FROM t || ALTER TYPE mood ADD VALUE 'meh' || PRAGMA x || OPTIMIZE TABLE t | U
ms | SELECT * INTO t2 FROM t | U
pg | CREATE INDEX CONCURRENTLY "Ix" ON public.t (a) | +Index "Ix" on public.t
pg | CREATE UNIQUE INDEX ix ON ONLY app.t USING btree (a) | +Index ix on app.t
sqlite | CREATE INDEX main.ix ON t (a) | +Index main.ix on t
my | CREATE UNIQUE INDEX ix ON t (a) | +Index ix on t
pg | CREATE UNLOGGED TABLE t (a numeric(10, 2)) | +Table t
pg | CREATE TABLE app.t2 AS SELECT * FROM t | +Table app.t2
pg | CREATE MATERIALIZED VIEW mv AS SELECT 1 || CREATE VIEW mv AS SELECT 1 | +View mv
pg | CREATE SEQUENCE s START 1 | +Sequence s
pg | CREATE TYPE mood AS ENUM ('a', 'b') || CREATE DOMAIN mood AS int CHECK (VALUE > 0) | +Type mood
pg | CREATE FUNCTION f() RETURNS int AS $b$ SELECT 1; $b$ LANGUAGE sql | +Function f
pg | CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$ | +Procedure p
ms | CREATE PROC dbo.p AS SELECT 1; SELECT 2 | +Procedure dbo.p
pg | CREATE TRIGGER tr BEFORE INSERT OR UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION f() | +Trigger tr on app.t
my | CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 | +Trigger tr on t
sqlite | CREATE TRIGGER tr AFTER UPDATE OF a, b ON t BEGIN UPDATE u SET x = 1; END | +Trigger tr on t
ms | CREATE TRIGGER dbo.tr ON dbo.t AFTER INSERT AS INSERT INTO log VALUES (1) | +Trigger dbo.tr on dbo.t
pg | CREATE SCHEMA app | +Schema app
pg | CREATE DATABASE shop | +Database shop
my | CREATE TABLE `Order` (`id` int) ENGINE=InnoDB | +Table "Order"
pg | CREATE TABLE "we""ird" (a int) | +Table "we"ird"
pg | CREATE TABLE tête (a int) | +Table tête
pg | CREATE INDEX ON t (a) || CREATE SCHEMA AUTHORIZATION joe || CREATE TABLE a.b.c (x int) || CREATE TABLE | U
pg | DROP TABLE a, app.b CASCADE | -Table a; -Table app.b
pg | DROP MATERIALIZED VIEW mv | -View mv
pg | DROP INDEX CONCURRENTLY app.ix | -Index app.ix
my | DROP INDEX ix ON t | -Index ix on t
pg | DROP SEQUENCE s RESTRICT | -Sequence s
pg | DROP TYPE mood, pos | -Type mood; -Type pos
pg | DROP DOMAIN pos | -Type pos
pg | DROP FUNCTION f(int, text), g | -Function f; -Function g
ms | DROP PROCEDURE dbo.p | -Procedure dbo.p
pg | DROP TRIGGER tr ON t | -Trigger tr on t
my | DROP TRIGGER tr | -Trigger tr
pg | DROP SCHEMA app CASCADE | -Schema app
my | DROP DATABASE shop | -Database shop
pg | DROP TABLE a b || DROP TRIGGER tr || DROP INDEX ix ON t ON u | U
my | DROP INDEX ix | U
pg | ALTER TABLE ONLY app.t ADD COLUMN a int NOT NULL DEFAULT 0, DROP b CASCADE | +Column a on app.t; -Column b on app.t
pg | ALTER TABLE t ADD a text DEFAULT 'x, y', ADD COLUMN b numeric(10, 2) | +Column a on t; +Column b on t
pg | ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN b | -Column b on t
pg | ALTER TABLE IF EXISTS t RENAME COLUMN a TO b | ~Column a > b on t
pg | ALTER TABLE t RENAME a TO "B" | ~Column a > "B" on t
pg | ALTER TABLE app.t RENAME TO u | ~Table app.t > app.u
my | ALTER TABLE shop.t RENAME TO u | ~Table shop.t > u
pg | ALTER TABLE t RENAME CONSTRAINT a TO b | ~Constraint a > b on t
pg | ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) ON DELETE CASCADE | +Constraint fk on t
pg | ALTER TABLE t DROP CONSTRAINT IF EXISTS ck, DROP CONSTRAINT ck2 | -Constraint ck2 on t
pg | ALTER TABLE t ALTER COLUMN a SET NOT NULL || ALTER TABLE t ADD COLUMN b int, ALTER COLUMN a DROP DEFAULT | U
pg | ALTER TABLE t ADD PRIMARY KEY (a) || ALTER TABLE t ADD CHECK (a > 0) | U
pg | ALTER TABLE t ADD COLUMN a int, RENAME TO u | U
my | ALTER TABLE t ADD c INT, ADD INDEX i (c), LOCK=NONE | +Column c on t; +Index i on t
my | ALTER TABLE t ADD UNIQUE KEY k (c), ALGORITHM=COPY | +Index k on t
my | ALTER TABLE t ADD FULLTEXT f (d), ADD SPATIAL INDEX s (g) | +Index f on t; +Index s on t
my | ALTER TABLE t ADD UNIQUE u (c) | +Index u on t
my | ALTER TABLE t DROP INDEX ix, DROP KEY k | -Index ix on t; -Index k on t
my | ALTER TABLE t DROP FOREIGN KEY fk, DROP CHECK ck | -Constraint fk on t; -Constraint ck on t
my | ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) | +Constraint fk on t
my | ALTER TABLE `t` CHANGE COLUMN `a` `b` INT NOT NULL | ~Column "a" > "b" on "t"
my | ALTER TABLE t RENAME INDEX a TO b | ~Index a > b on t
my | ALTER TABLE t CHANGE a A BIGINT || ALTER TABLE t MODIFY a BIGINT || ALTER TABLE t ADD INDEX (a) | U
my | ALTER TABLE t ADD FOREIGN KEY fk (a) REFERENCES p (id) || ALTER TABLE t DROP PRIMARY KEY | U
my | RENAME TABLE a TO b, shop.c TO shop.d | ~Table a > b; ~Table shop.c > shop.d
pg | ALTER INDEX app.a RENAME TO b | ~Index app.a > app.b
pg | ALTER SEQUENCE IF EXISTS s RENAME TO s2 | ~Sequence s > s2
pg | ALTER MATERIALIZED VIEW v RENAME TO w | ~View v > w
pg | ALTER INDEX ix SET TABLESPACE fast || ALTER VIEW v RENAME COLUMN a TO b | U
ms | CREATE TABLE [dbo].[Order] ([id] int NOT NULL) ON [PRIMARY] | +Table "dbo"."Order"
ms | CREATE TABLE t (a int); | +Table t
ms | ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p ON DELETE SET NULL | +Constraint f on t
ms | ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p ON UPDATE CASCADE | +Constraint f on t
ms | CREATE INDEX ix ON dbo.t (a) INCLUDE (b) WHERE b IS NOT NULL WITH (ONLINE = ON) | +Index ix on dbo.t
ms | DROP INDEX ix ON dbo.t | -Index ix on dbo.t
ms | CREATE TABLE t (a int)\nINSERT INTO t VALUES (1) || CREATE TABLE t (a int); SELECT 1 | U
ms | SET NOCOUNT ON DELETE FROM t | U
ms | DROP TABLE IF EXISTS t\nCREATE TABLE t (a int) || ALTER TABLE t DROP COLUMN c\nEXEC sp_refreshview 'v' | U
ms | ALTER TABLE t ADD c int, d int || IF OBJECT_ID('t') IS NULL CREATE TABLE t (a int) | U
ms | CREATE SCHEMA app CREATE TABLE t (a int) || CREATE TRIGGER tr ON DATABASE FOR CREATE_TABLE AS PRINT 'x' | U
pg | -- add it\n/* outer /* nested */ still */ CREATE TABLE t (a int) | +Table t
my | # note\n/* c */ CREATE TABLE t (a int) | +Table t
pg | /* unterminated CREATE TABLE t (a int) || CREATE || INSERT INTO t VALUES (1) || UPDATE t SET a = 1 | U
pg | DELETE FROM t | U
pg | MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE || COPY t FROM STDIN || CALL p() || FROBNICATE t | U
pg | DO $$ BEGIN CREATE TABLE t (); END $$ | U
ms | EXEC sp_rename 't.a', 'b', 'COLUMN' | U
pg |  | U
"#;

    /// `who | statement [|| statement ...] | yes or no`: `pg` at 16.0, `pg11` at 11, `lite` for SQLite.
    const AUTOCOMMIT: &str = r#"
pg | CREATE INDEX CONCURRENTLY ix ON t (a) || create unique index concurrently ix on t (a) | yes
pg | DROP INDEX CONCURRENTLY ix | yes
pg | REINDEX TABLE CONCURRENTLY t || REINDEX (CONCURRENTLY) INDEX i || REINDEX (VERBOSE) DATABASE d | yes
pg | REINDEX SYSTEM d | yes
pg | ALTER TABLE p DETACH PARTITION c CONCURRENTLY || VACUUM || -- c\n/* d */ vacuum t || ALTER SYSTEM SET x = 1 | yes
pg | CREATE DATABASE d || DROP DATABASE d || ALTER DATABASE d SET TABLESPACE fast | yes
pg | CREATE TABLESPACE fast LOCATION '/x' || DROP TABLESPACE fast | yes
pg | CREATE SUBSCRIPTION s CONNECTION '' PUBLICATION p || DROP SUBSCRIPTION s | yes
pg | ALTER SUBSCRIPTION s REFRESH PUBLICATION || ALTER SUBSCRIPTION s SET PUBLICATION p | yes
pg | CLUSTER || CLUSTER VERBOSE || DISCARD ALL || CALL p() || DO $$ BEGIN UPDATE t SET a = 1; commit; END $$ | yes
pg | BEGIN || START TRANSACTION || COMMIT || END || ROLLBACK || ABORT || SAVEPOINT a || RELEASE a | yes
pg | PREPARE TRANSACTION 'x' || COMMIT PREPARED 'x' || ROLLBACK PREPARED 'x' | yes
pg11 | ALTER TYPE m ADD VALUE 'x' | yes
pg | ALTER TYPE m ADD VALUE 'x' || CREATE TABLE concurrently_log (a int) || SELECT 'VACUUM' || -- VACUUM\nSELECT 1 | no
pg | CREATE INDEX ix ON t (a) || REINDEX TABLE t || CLUSTER t || DISCARD PLANS || PREPARE q AS SELECT 1 | no
pg | ALTER DATABASE d SET work_mem = '1MB' || ALTER TABLE p DETACH PARTITION c | no
pg | DO $$ BEGIN PERFORM committed(); END $$ || ALTER TABLE t ADD COLUMN "concurrently" int | no
lite | VACUUM || PRAGMA journal_mode = WAL || ATTACH 'f.db' AS f || DETACH f || -- c\npragma x | yes
lite | BEGIN || COMMIT || END || ROLLBACK || SAVEPOINT s || RELEASE s | yes
lite | CREATE TABLE vacuum_log (a) || SELECT 1 | no
"#;

    /// Each statement of a table, with its row's first and last cell.
    fn rows(table: &'static str) -> Vec<(&'static str, String, &'static str)> {
        let mut rows = Vec::new();
        for cells in table.lines().filter(|line| !line.is_empty()).map(|line| line.split(" | ").collect::<Vec<_>>()) {
            for sql in cells[1].split(" || ") {
                rows.push((cells[0], sql.replace("\\n", "\n"), cells[2]));
            }
        }
        rows
    }

    #[test]
    fn effects() {
        for (flavor, sql, expected) in rows(EFFECTS) {
            let flavor = match flavor {
                "pg" => Flavor::Postgres,
                "my" => Flavor::MySql,
                "ms" => Flavor::SqlServer,
                _ => Flavor::Sqlite,
            };
            assert_eq!(show(&effect(&sql, flavor)), expected, "{flavor:?}: {sql}");
        }
    }

    #[test]
    fn names_keep_quotes_and_schemas() {
        let ident = |text: &str, quoted| Ident { text: text.into(), quoted };
        let table = Some(Name { schema: Some(ident("public", false)), name: ident("t", false) });
        let index = Object { kind: ObjectKind::Index, name: Name { schema: None, name: ident("Ix", true) }, table };
        let sql = r#"CREATE INDEX CONCURRENTLY "Ix" ON public.t (a)"#;
        assert_eq!(effect(sql, Flavor::Postgres), Effect::Changes(vec![Change::Creates(index)]));
    }

    #[test]
    fn autocommit_classes() {
        for (who, sql, expected) in rows(AUTOCOMMIT) {
            let needs = match who {
                "pg" => postgres_needs_autocommit(&sql, 160000),
                "pg11" => postgres_needs_autocommit(&sql, 110000),
                _ => sqlite_needs_autocommit(&sql),
            };
            assert_eq!(needs, expected == "yes", "{who}: {sql}");
        }
    }

    #[test]
    fn mysql_shares_data_changes_and_selects() {
        // The cases the MySQL driver's own keyword reader was tested with.
        assert!(mysql_shares_transaction("  /* a */ -- b\n# c\nselect 1"));
        assert!(mysql_shares_transaction("INSERT INTO t VALUES (1)"));
        assert!(!mysql_shares_transaction("CREATE TABLE t (id int)"));
        assert!(!mysql_shares_transaction("/* unterminated"));
    }

    #[test]
    fn data_changes_are_recognised() {
        assert!(is_data_change("UPDATE t SET x = 1"));
        assert!(is_data_change("  /* hint */ insert into t values (1)"));
        assert!(is_data_change("-- note\n# more\nINSERT INTO t VALUES (1)"));
        assert!(is_data_change("WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved"));
        assert!(!is_data_change("CREATE INDEX CONCURRENTLY ix ON t (x)"));
        assert!(!is_data_change("ALTER TABLE t ADD COLUMN y int"));
        assert!(!is_data_change("/* unterminated"));
        assert!(!is_data_change("-- INSERT"));
    }

    #[test]
    fn never_panics_on_prefixes() {
        let odd = "'\n\"\n`\n[\n$\n$$\n$a$ x\n$1\nE'\\\n/* /*\n--\n#\n(((\n)))\né(ü'x\n\u{a0}é";
        let statements = rows(EFFECTS).into_iter().chain(rows(AUTOCOMMIT)).map(|(_, sql, _)| sql);
        for sql in statements.chain(odd.lines().map(String::from)) {
            for prefix in (0..=sql.len()).filter_map(|end| sql.get(..end)) {
                for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite] {
                    effect(prefix, flavor);
                }
                let _ = (
                    postgres_needs_autocommit(prefix, 110000),
                    sqlite_needs_autocommit(prefix),
                    is_data_change(prefix),
                );
            }
        }
    }
}
