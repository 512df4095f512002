//! The seam between retort and a database: a [`Driver`] per URL scheme opens
//! [`Connection`]s and describes its [`Dialect`].
//!
//! Drivers never see the graph. A connection offers a handful of primitives
//! (execute, transactions, read the version rows, lock) and the [`crate::executor`]
//! sequences them; that keeps the run's order in one place and lets a synchronous C
//! plugin be adapted to these traits at the host without changing core.

use std::time::Duration;

use async_trait::async_trait;

use crate::plan::VersionOp;

/// Where a target keeps its version rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionTable {
    /// Table name, e.g. `alembic_version_default`.
    pub name: String,
    /// Schema holding the table, where the dialect has schemas.
    pub schema: Option<String>,
}

impl VersionTable {
    /// The default table for a target: `alembic_version_<target>`.
    pub fn for_target(target: &str) -> VersionTable {
        VersionTable { name: format!("alembic_version_{target}"), schema: None }
    }
}

/// What a dialect can do, declared rather than discovered by failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// DDL takes part in transactions (PostgreSQL, SQLite, SQL Server; not MySQL).
    pub transactional_ddl: bool,
    /// The connection can hold a lock for a whole run.
    pub run_lock: bool,
}

/// SQL text a dialect writes for the version table, online and offline.
pub trait Dialect: Send + Sync {
    /// Declared capabilities.
    fn capabilities(&self) -> Capabilities;

    /// `CREATE TABLE` for the version table with Alembic's shape.
    fn create_version_table(&self, table: &VersionTable) -> String;

    /// `DROP TABLE` for the version table (offline downgrades to base).
    fn drop_version_table(&self, table: &VersionTable) -> String;

    /// The statement for one version-row change. Ids are quoted as literals.
    fn version_op(&self, table: &VersionTable, op: &VersionOp) -> String;

    /// Statements that open and close a transaction in offline scripts.
    fn offline_transaction(&self) -> (&'static str, &'static str) {
        ("BEGIN;", "COMMIT;")
    }
}

/// An error from a driver, with any password already removed from its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Sql(String),
    #[error("lock not acquired within {0:?}")]
    LockTimeout(Duration),
    #[error("{0}")]
    Other(String),
}

/// One open connection to one database.
#[async_trait]
pub trait Connection: Send {
    /// Runs SQL (one statement, or a script where the dialect allows); returns rows affected.
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError>;

    /// Starts a transaction.
    async fn begin(&mut self) -> Result<(), DriverError>;

    /// Commits the open transaction.
    async fn commit(&mut self) -> Result<(), DriverError>;

    /// Rolls the open transaction back.
    async fn rollback(&mut self) -> Result<(), DriverError>;

    /// The version rows in stored order, or `None` when the table does not exist.
    /// Creates nothing.
    async fn read_versions(&mut self, table: &VersionTable) -> Result<Option<Vec<String>>, DriverError>;

    /// Takes the run lock for `table`, waiting at most `timeout`.
    async fn lock(&mut self, _table: &VersionTable, _timeout: Duration) -> Result<(), DriverError> {
        Ok(())
    }

    /// Releases the run lock.
    async fn unlock(&mut self, _table: &VersionTable) -> Result<(), DriverError> {
        Ok(())
    }

    /// Closes the connection.
    async fn close(self: Box<Self>) -> Result<(), DriverError>;
}

/// Settings a driver needs to open a connection to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The target's URL, password included; never print it, use [`mask_password`].
    pub url: String,
    /// The folder relative URLs (SQLite files) are resolved against.
    pub base_dir: std::path::PathBuf,
    /// Sent as the session's application name where the dialect has one.
    pub application_name: String,
    /// Whether the command writes. A read-only command must create nothing, not
    /// even an embedded database file.
    pub writes: bool,
}

/// Opens connections for a family of URL schemes.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Short name used in reports, e.g. `sqlite`.
    fn name(&self) -> &'static str;

    /// URL schemes this driver serves, e.g. `["sqlite"]`.
    fn schemes(&self) -> &'static [&'static str];

    /// The dialect, usable without connecting (offline `--sql`).
    fn dialect(&self) -> &dyn Dialect;

    /// Opens a connection.
    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError>;
}

/// Quotes `value` as an SQL string literal.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `url` with the password (if any) replaced by `***`.
pub fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(mask_password("postgres://app:s3cret@db/main"), "postgres://app:***@db/main");
        assert_eq!(mask_password("postgres://app@db/main"), "postgres://app@db/main");
        assert_eq!(mask_password("sqlite://app.db"), "sqlite://app.db");
        assert_eq!(mask_password("mysql://u:p@ss:w@h:3306/d"), "mysql://u:***@h:3306/d");
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
