//! The seam between retort and a database: a [`Driver`] per URL scheme opens
//! [`Connection`]s and describes its [`Dialect`].
//!
//! Drivers never see the graph. A connection offers a handful of primitives
//! (execute, query text, transactions, lock) and the [`crate::executor`] sequences
//! them; the dialect renders SQL text, with standard-SQL defaults that a driver
//! overrides only where its database differs. That keeps the run's order in one
//! place and lets a synchronous C plugin be adapted to these traits at the host.

use std::time::Duration;

pub use retort_url::{DatabaseUrl, mask_password, percent_decode, redact};

pub use crate::session::{SessionSetting, SessionStatement};

use async_trait::async_trait;

use crate::split::Flavor;
use crate::statement::{self, Object};
use retort_history::plan::VersionOp;

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

    /// The table beside this one that records per-statement progress of
    /// non-transactional revisions (never the version table itself).
    pub fn progress(&self) -> VersionTable {
        VersionTable { name: format!("{}_progress", self.name), schema: self.schema.clone() }
    }
}

/// What a dialect can do, declared rather than discovered by failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// DDL takes part in transactions (PostgreSQL, SQLite, SQL Server; not MySQL).
    pub transactional_ddl: bool,
    /// The connection holds a lock for a whole run (without one, runs say so).
    pub run_lock: bool,
    /// Databases hold schemas a session can switch to: schema per tenant
    /// (PostgreSQL `search_path`, MySQL `USE`).
    pub schemas: bool,
}

/// SQL text a dialect writes, online and offline. The defaults are standard SQL.
pub trait Dialect: Send + Sync {
    /// Declared capabilities.
    fn capabilities(&self) -> Capabilities;

    /// Lexical rules for splitting revision bodies into statements.
    fn flavor(&self) -> Flavor;

    /// Quotes an identifier.
    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// The quoted, schema-qualified name of a table.
    fn table_name(&self, table: &VersionTable) -> String {
        match &table.schema {
            Some(schema) => format!("{}.{}", self.quote_ident(schema), self.quote_ident(&table.name)),
            None => self.quote_ident(&table.name),
        }
    }

    /// How this dialect applies a session setting; nothing where it has no such
    /// setting (timeouts are best effort), which is the default.
    fn session_sql(&self, _setting: &SessionSetting) -> Vec<SessionStatement> {
        Vec::new()
    }

    /// `CREATE TABLE` for the version table with Alembic's shape.
    fn create_version_table(&self, table: &VersionTable) -> String {
        standard_version_table(&self.table_name(table), &self.quote_ident(&format!("{}_pkc", table.name)))
    }

    /// `DROP TABLE` for the version table (offline downgrades to base).
    fn drop_version_table(&self, table: &VersionTable) -> String {
        format!("DROP TABLE {}", self.table_name(table))
    }

    /// The statement for one version-row change. Ids are quoted as literals.
    fn version_op(&self, table: &VersionTable, op: &VersionOp) -> String {
        let t = self.table_name(table);
        match op {
            VersionOp::Insert(id) => format!("INSERT INTO {t} (version_num) VALUES ({})", quote_literal(id)),
            VersionOp::Delete(id) => format!("DELETE FROM {t} WHERE version_num = {}", quote_literal(id)),
            VersionOp::Update { from, to } => {
                format!(
                    "UPDATE {t} SET version_num = {} WHERE version_num = {}",
                    quote_literal(to),
                    quote_literal(from)
                )
            }
        }
    }

    /// `CREATE TABLE` for the progress table of non-transactional revisions.
    fn create_progress_table(&self, table: &VersionTable) -> String {
        standard_progress_table(&self.table_name(&table.progress()))
    }

    /// `CREATE TABLE` for the audit table beside `table` ([`crate::audit`]).
    fn create_audit_table(&self, table: &VersionTable) -> String {
        crate::audit::create_table(&self.table_name(&crate::audit::table(table)))
    }

    /// Statements that open and close a transaction in offline scripts.
    fn offline_transaction(&self) -> (&'static str, &'static str) {
        ("BEGIN;", "COMMIT;")
    }

    /// What ends a statement in offline scripts (`;`, or `;\nGO` for SQL Server).
    fn offline_terminator(&self) -> &'static str {
        ";"
    }
}

/// An error from a driver, with any password already removed from its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The server could not be reached or refused the login; callers name the target.
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Sql(String),
    /// A statement gave up waiting for a table lock (PostgreSQL `lock_timeout`,
    /// MySQL 1205, SQL Server 1222): worth retrying the step.
    #[error("{0}")]
    LockNotAvailable(String),
    #[error("another runner holds the migration lock; gave up after {waited:?}{}", holder.as_ref().map(|h| format!(" (holder: {h})")).unwrap_or_default())]
    LockTimeout { waited: Duration, holder: Option<String> },
    #[error("{0}")]
    Other(String),
}

/// One open connection to one database.
#[async_trait]
pub trait Connection: Send {
    /// Runs one statement; returns rows affected.
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError>;

    /// Runs a query and returns its rows as text (`NULL` as `None`).
    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError>;

    /// Whether a table exists. Creates nothing.
    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError>;

    /// Applies the session's settings right after connecting ([`crate::session::open`]).
    /// The default runs them one by one; a driver may send them in one round trip.
    async fn set_up(&mut self, statements: &[SessionStatement]) -> Result<(), DriverError> {
        for statement in statements {
            match self.execute(&statement.sql).await {
                Err(_) if statement.optional => {}
                result => {
                    result?;
                }
            }
        }
        Ok(())
    }

    /// Starts a transaction.
    async fn begin(&mut self) -> Result<(), DriverError> {
        self.execute("BEGIN").await.map(drop)
    }

    /// Commits the open transaction.
    async fn commit(&mut self) -> Result<(), DriverError> {
        self.execute("COMMIT").await.map(drop)
    }

    /// Rolls the open transaction back.
    async fn rollback(&mut self) -> Result<(), DriverError> {
        self.execute("ROLLBACK").await.map(drop)
    }

    /// Takes the run lock for `table`, waiting at most `timeout`.
    async fn lock(&mut self, _table: &VersionTable, _timeout: Duration) -> Result<(), DriverError> {
        Ok(())
    }

    /// Releases the run lock.
    async fn unlock(&mut self, _table: &VersionTable) -> Result<(), DriverError> {
        Ok(())
    }

    /// Called before each statement of a non-transactional revision: repairs what a
    /// failed earlier attempt may have left (PostgreSQL: an INVALID index from a
    /// failed `CREATE INDEX CONCURRENTLY`). Returns a note when it repaired something.
    async fn repair_before(&mut self, _statement: &str) -> Result<Option<String>, DriverError> {
        Ok(None)
    }

    /// Whether a statement of a non-transactional revision may run inside a
    /// transaction together with its progress record. Those that may not (DDL where
    /// it commits implicitly, `CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) run in
    /// autocommit, and a run killed while one is in flight leaves its outcome to
    /// [`Connection::presence`]. The default: data changes only.
    fn shares_transaction(&self, statement: &str) -> bool {
        statement::is_data_change(statement)
    }

    /// Whether `object` exists in the catalog, as this session sees it; `None` when
    /// this driver cannot tell for this kind of object. Creates nothing.
    async fn presence(&mut self, _object: &Object) -> Result<Option<Presence>, DriverError> {
        Ok(None)
    }

    /// A handle that cancels the statement this connection is running, from
    /// elsewhere (another task, a new connection). `None` when the driver cannot.
    fn canceller(&self) -> Option<std::sync::Arc<dyn Canceller>> {
        None
    }

    /// Returns the session to the state it had right after connecting, before its
    /// settings, so that the next target on the same database may use it: an open
    /// transaction rolled back, session variables, the current schema, temporary
    /// tables and session locks gone. `Ok(false)` when the driver cannot; the
    /// session is then closed instead of reused.
    async fn reset(&mut self) -> Result<bool, DriverError> {
        Ok(false)
    }

    /// Closes the connection.
    async fn close(self: Box<Self>) -> Result<(), DriverError>;
}

/// Whether a catalog object exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    Present,
    /// Present but unusable: a PostgreSQL index left INVALID by a failed
    /// `CREATE INDEX CONCURRENTLY` or `DROP INDEX CONCURRENTLY`.
    Invalid,
}

/// Cancels the statement a connection is running (PostgreSQL `pg_cancel_backend`,
/// MySQL `KILL QUERY`), so an interrupted run stops promptly. Cancelling when
/// nothing runs does nothing.
#[async_trait]
pub trait Canceller: Send + Sync {
    async fn cancel(&self) -> Result<(), DriverError>;
}

/// Settings a driver needs to open a connection to one target: the connection
/// settings of `retort.toml`. Its `Debug` masks the URL's passwords.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectOptions {
    /// The target's URL; `Display` and `Debug` mask its passwords.
    pub url: DatabaseUrl,
    /// The folder relative URLs (SQLite files) are resolved against.
    pub base_dir: std::path::PathBuf,
    /// Sent as the session's application name where the dialect has one.
    pub application_name: String,
    /// Whether the command writes. A read-only command must create nothing, not
    /// even an embedded database file.
    pub writes: bool,
    /// Session statement timeout, where the dialect has one.
    pub statement_timeout: Option<Duration>,
    /// How long one DDL statement may wait for a table lock before it fails with
    /// [`DriverError::LockNotAvailable`] (PostgreSQL `lock_timeout`).
    pub ddl_lock_timeout: Option<Duration>,
    /// Schema the session works in (schema-per-tenant), where the dialect has one.
    pub search_path: Option<String>,
    /// What TLS server certificates are checked against.
    pub tls_roots: TlsRoots,
}

/// The trust anchors of TLS connections, the same for every driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsRoots {
    /// Mozilla's root certificates, built into retort (`webpki-roots`): the same
    /// on every machine and in a bare container.
    #[default]
    Bundled,
    /// Those plus the operating system's store, for a private or corporate CA:
    /// the file `SSL_CERT_FILE` names, or the distribution's bundle.
    System,
}

impl TlsRoots {
    /// The CA file a driver adds to the bundled roots: the system bundle for
    /// `System`, nothing for `Bundled`; an error when `System` finds none.
    pub fn system_file(self) -> Result<Option<std::path::PathBuf>, DriverError> {
        match self {
            TlsRoots::Bundled => Ok(None),
            TlsRoots::System => system_ca_bundle().map(Some).ok_or_else(|| {
                DriverError::Connect(
                    "tls_roots = \"system\", but no CA bundle was found; set SSL_CERT_FILE to the file".into(),
                )
            }),
        }
    }
}

/// The operating system's CA bundle: `SSL_CERT_FILE`, else the first file found
/// among the usual places (Debian/Ubuntu/Alpine, Fedora/RHEL, openSUSE, macOS and
/// the BSDs).
pub fn system_ca_bundle() -> Option<std::path::PathBuf> {
    const PLACES: [&str; 5] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/usr/local/share/certs/ca-root-nss.crt",
    ];
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    from_env.into_iter().chain(PLACES.iter().map(std::path::PathBuf::from)).find(|p| p.is_file())
}

/// Opens connections for a family of URL schemes.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Short name used in reports, e.g. `sqlite`.
    fn name(&self) -> &str;

    /// URL schemes this driver serves, e.g. `["sqlite"]`.
    fn schemes(&self) -> Vec<String>;

    /// The dialect, usable without connecting (offline `--sql`).
    fn dialect(&self) -> &dyn Dialect;

    /// Whether a database of this driver takes one writer at a time (an SQLite
    /// file): the fleet runner then never runs two targets on one URL at once.
    fn single_writer(&self) -> bool {
        false
    }

    /// Opens a connection. Callers go through [`crate::session::open`], which
    /// applies the session settings and removes the URL's passwords from errors.
    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError>;
}

/// Alembic's version table: `name` (quoted, qualified) with its primary key
/// constraint `constraint` (quoted).
pub fn standard_version_table(name: &str, constraint: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT {constraint} PRIMARY KEY (version_num)\n)"
    )
}

/// The progress table of non-transactional revisions, `name` quoted and qualified.
pub fn standard_progress_table(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n    revision VARCHAR(32) NOT NULL PRIMARY KEY,\n    direction VARCHAR(10) NOT NULL,\n    statements_done INTEGER NOT NULL,\n    checksum VARCHAR(16) NOT NULL,\n    running INTEGER NULL,\n    running_checksum VARCHAR(16) NULL\n)"
    )
}

/// Reads the version rows, or `None` when the table does not exist. Creates nothing.
pub async fn read_versions(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    table: &VersionTable,
) -> Result<Option<Vec<String>>, DriverError> {
    if !conn.table_exists(table).await? {
        return Ok(None);
    }
    let rows = conn.query(&format!("SELECT version_num FROM {}", dialect.table_name(table))).await?;
    Ok(Some(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()))
}

/// Quotes `value` as an SQL string literal.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A stable 64-bit FNV-1a hash: lock keys and checksums that must agree across
/// processes and versions (unlike `std`'s randomly seeded hasher).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_options_debug_masks_the_password() {
        let options =
            ConnectOptions { url: "postgres://app:s3cretpw@db/x?password=other1".into(), ..Default::default() };
        let shown = format!("{options:?}");
        assert!(!shown.contains("s3cretpw") && !shown.contains("other1"), "{shown}");
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
