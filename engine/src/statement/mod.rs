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

mod hazard;
mod lex;
#[cfg(test)]
mod tests;

use crate::split::Flavor;
pub use hazard::{Hazard, hazards};
use lex::*;

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

/// Whether SQL Server refuses `sql` (one `GO` batch) inside a user transaction:
/// `CREATE`/`ALTER`/`DROP DATABASE`, full-text catalogs and indexes, `BACKUP`,
/// `RESTORE`, `RECONFIGURE`.
pub fn sqlserver_needs_autocommit(sql: &str) -> bool {
    let toks = tokens(sql, Flavor::SqlServer);
    let mut r = Reader { toks: &toks, pos: 0, flavor: Flavor::SqlServer };
    match r.word().unwrap_or_default().as_str() {
        "BACKUP" | "RESTORE" | "RECONFIGURE" => true,
        "CREATE" | "ALTER" | "DROP" => r.eat("DATABASE") || r.eat("FULLTEXT"),
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
