//! retort-sqlite: the embedded default driver, over sqlx's SQLite.
//!
//! URLs take sqlx's form: `sqlite://app.db` (relative to the config file's
//! folder) or `sqlite:///abs/path/app.db`; the file is created when missing.
//! SQLite has transactional DDL, so a revision and its version row commit together.
//! Catalog checks read `sqlite_master` and `pragma_table_xinfo`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, VersionTable,
};
use retort_engine::session::LockWait;
use retort_engine::split::Flavor;
use retort_engine::statement::{self, Ident, Object, ObjectKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection as _, Row};

/// The SQLite driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SqliteDriver;

/// SQLite's SQL: the standard defaults, split with SQLite's lexical rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: true, run_lock: true, schemas: false }
    }

    fn flavor(&self) -> Flavor {
        Flavor::Sqlite
    }
}

#[async_trait]
impl Driver for SqliteDriver {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn schemes(&self) -> Vec<String> {
        ["sqlite"].map(String::from).to_vec()
    }

    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    fn single_writer(&self) -> bool {
        true
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        // A read-only command on a file that does not exist yet sees an empty
        // in-memory database instead of creating the file.
        if options.url.scheme() != "sqlite" {
            return Err(DriverError::Connect(format!("not a sqlite URL: {}", options.url)));
        }
        let path = options.url.sqlite_path(&options.base_dir).filter(|p| options.writes || p.exists());
        let connect_options = match &path {
            Some(path) => SqliteConnectOptions::new().filename(path),
            None => {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| DriverError::Connect(e.to_string()))?
            }
        };
        let connect_options = connect_options.create_if_missing(true).busy_timeout(Duration::from_secs(30));
        let conn =
            SqliteConnection::connect_with(&connect_options).await.map_err(|e| DriverError::Connect(e.to_string()))?;
        Ok(Box::new(SqliteConn { conn, path, lock: None }))
    }
}

/// One open SQLite database.
struct SqliteConn {
    conn: SqliteConnection,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    /// The run lock: an OS file lock on `<database>.retort-lock`, held while open.
    lock: Option<std::fs::File>,
}

fn sql_error(e: sqlx::Error) -> DriverError {
    DriverError::Sql(e.to_string())
}

/// A row as text: SQLite's dynamic types are read as text, integers and reals printed.
fn text_row(row: &sqlx::sqlite::SqliteRow) -> Result<Vec<Option<String>>, DriverError> {
    (0..row.len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return Ok(v);
            }
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return Ok(v.map(|v| v.to_string()));
            }
            row.try_get::<Option<f64>, _>(i).map(|v| v.map(|v| v.to_string())).map_err(sql_error)
        })
        .collect()
}

/// `sqlite_master` of the schema (an attached database) named, else of `main`.
fn master(schema: Option<&str>) -> String {
    match schema {
        Some(schema) => format!("{}.sqlite_master", SqliteDialect.quote_ident(schema)),
        None => "sqlite_master".to_string(),
    }
}

/// The `sqlite_master` type of a kind it lists.
fn master_type(kind: ObjectKind) -> Option<&'static str> {
    match kind {
        ObjectKind::Table => Some("table"),
        ObjectKind::View => Some("view"),
        ObjectKind::Index => Some("index"),
        ObjectKind::Trigger => Some("trigger"),
        _ => None,
    }
}

impl SqliteConn {
    /// Whether `sqlite_master` of `schema` lists `name` as a `kind` (names compare
    /// case-insensitively, as SQLite resolves them).
    async fn listed(&mut self, schema: Option<&str>, kind: &str, name: &str) -> Result<bool, DriverError> {
        let sql = format!("SELECT 1 FROM {} WHERE type = ? AND name = ? COLLATE NOCASE", master(schema));
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(kind)
            .bind(name)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sql_error)?;
        Ok(found.is_some())
    }

    /// Whether `table` has a column `name` (generated columns included).
    async fn has_column(&mut self, schema: Option<&str>, table: &str, name: &str) -> Result<bool, DriverError> {
        let sql = match schema {
            Some(_) => "SELECT 1 FROM pragma_table_xinfo(?, ?) WHERE name = ? COLLATE NOCASE",
            None => "SELECT 1 FROM pragma_table_xinfo(?) WHERE name = ? COLLATE NOCASE",
        };
        let query = sqlx::query(sql).bind(table);
        let query = match schema {
            Some(schema) => query.bind(schema),
            None => query,
        };
        let found = query.bind(name).fetch_optional(&mut self.conn).await.map_err(sql_error)?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl Connection for SqliteConn {
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let done = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut self.conn).await.map_err(sql_error)?;
        Ok(done.rows_affected())
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let rows = sqlx::query(AssertSqlSafe(sql.to_string())).fetch_all(&mut self.conn).await.map_err(sql_error)?;
        rows.iter().map(text_row).collect()
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let master = master(table.schema.as_deref());
        let found = sqlx::query(AssertSqlSafe(format!("SELECT 1 FROM {master} WHERE type = 'table' AND name = ?")))
            .bind(&table.name)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sql_error)?;
        Ok(found.is_some())
    }

    /// SQLite allows one writer at a time but per-revision transactions would let two
    /// runners interleave; an exclusive OS lock on a file beside the database keeps
    /// a second runner waiting for the whole run.
    async fn lock(&mut self, _table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let Some(path) = &self.path else { return Ok(()) };
        let lock_path = path.with_extension("retort-lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| DriverError::Other(format!("{}: {e}", lock_path.display())))?;
        let mut wait = LockWait::new(timeout);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    self.lock = Some(file);
                    return Ok(());
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Err(waited) = wait.pause().await {
                        let holder = Some(format!("another process holds {}", lock_path.display()));
                        return Err(DriverError::LockTimeout { waited, holder });
                    }
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(DriverError::Other(format!("{}: {e}", lock_path.display())));
                }
            }
        }
    }

    async fn unlock(&mut self, _table: &VersionTable) -> Result<(), DriverError> {
        self.lock = None;
        Ok(())
    }

    fn shares_transaction(&self, statement: &str) -> bool {
        !statement::sqlite_needs_autocommit(statement)
    }

    /// Tables, views, indexes and triggers from `sqlite_master`, columns from
    /// `pragma_table_xinfo`; SQLite has none of the other kinds.
    async fn presence(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        let text = |ident: &Ident| ident.text.clone();
        let table_schema = object.table.as_ref().and_then(|t| t.schema.as_ref()).map(text);
        // An index or trigger lives in its table's database.
        let schema = object.name.schema.as_ref().map(text).or(table_schema.clone());
        let name = &object.name.name.text;
        let found = match (object.kind, &object.table) {
            (ObjectKind::Column, Some(table)) => {
                self.has_column(table_schema.as_deref(), &table.name.text, name).await?
            }
            (kind, _) => match master_type(kind) {
                Some(kind) => self.listed(schema.as_deref(), kind, name).await?,
                None => return Ok(None),
            },
        };
        Ok(Some(if found { Presence::Present } else { Presence::Absent }))
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.conn.close().await.map_err(sql_error)
    }
}
