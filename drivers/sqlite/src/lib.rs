//! retort-sqlite: the embedded default driver, over sqlx's SQLite.
//!
//! URLs take sqlx's form: `sqlite://app.db` (relative to the config file's
//! folder) or `sqlite:///abs/path/app.db`; the file is created when missing.
//! SQLite has transactional DDL, so a revision and its version row commit together.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use retort_core::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, VersionTable, quote_literal,
};
use retort_core::plan::VersionOp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection as _, Row};

/// The SQLite driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SqliteDriver;

/// SQLite's SQL for the version table.
#[derive(Debug, Default, Clone, Copy)]
pub struct SqliteDialect;

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn table_name(table: &VersionTable) -> String {
    match &table.schema {
        Some(schema) => format!("{}.{}", ident(schema), ident(&table.name)),
        None => ident(&table.name),
    }
}

impl Dialect for SqliteDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: true, run_lock: false }
    }

    fn create_version_table(&self, table: &VersionTable) -> String {
        format!(
            "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
            table_name(table),
            ident(&format!("{}_pkc", table.name))
        )
    }

    fn drop_version_table(&self, table: &VersionTable) -> String {
        format!("DROP TABLE {}", table_name(table))
    }

    fn version_op(&self, table: &VersionTable, op: &VersionOp) -> String {
        let t = table_name(table);
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
}

/// Where a `sqlite:` URL points, relative paths taken from `base_dir`.
pub fn database_path(url: &str, base_dir: &Path) -> Result<Option<PathBuf>, DriverError> {
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| DriverError::Connect(format!("not a sqlite URL: {url}")))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || path == "memory:" {
        return Ok(None);
    }
    let path = Path::new(path);
    Ok(Some(if path.is_absolute() { path.to_path_buf() } else { base_dir.join(path) }))
}

#[async_trait]
impl Driver for SqliteDriver {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sqlite"]
    }

    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        // A read-only command on a file that does not exist yet sees an empty
        // in-memory database instead of creating the file.
        let path = database_path(&options.url, &options.base_dir)?.filter(|p| options.writes || p.exists());
        let connect_options = match path {
            Some(path) => SqliteConnectOptions::new().filename(path),
            None => {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| DriverError::Connect(e.to_string()))?
            }
        };
        let connect_options = connect_options.create_if_missing(true).busy_timeout(Duration::from_secs(30));
        let conn =
            SqliteConnection::connect_with(&connect_options).await.map_err(|e| DriverError::Connect(e.to_string()))?;
        Ok(Box::new(SqliteConn { conn }))
    }
}

/// One open SQLite database.
struct SqliteConn {
    conn: SqliteConnection,
}

fn sql_error(e: sqlx::Error) -> DriverError {
    DriverError::Sql(e.to_string())
}

#[async_trait]
impl Connection for SqliteConn {
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let done = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut self.conn).await.map_err(sql_error)?;
        Ok(done.rows_affected())
    }

    async fn begin(&mut self) -> Result<(), DriverError> {
        self.execute("BEGIN").await.map(drop)
    }

    async fn commit(&mut self) -> Result<(), DriverError> {
        self.execute("COMMIT").await.map(drop)
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        self.execute("ROLLBACK").await.map(drop)
    }

    async fn read_versions(&mut self, table: &VersionTable) -> Result<Option<Vec<String>>, DriverError> {
        let master = match &table.schema {
            Some(schema) => format!("{}.sqlite_master", ident(schema)),
            None => "sqlite_master".to_string(),
        };
        let exists = sqlx::query(AssertSqlSafe(format!("SELECT 1 FROM {master} WHERE type = 'table' AND name = ?")))
            .bind(&table.name)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sql_error)?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT version_num FROM {}", table_name(table))))
            .fetch_all(&mut self.conn)
            .await
            .map_err(sql_error)?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(sql_error)).collect::<Result<_, _>>().map(Some)
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.conn.close().await.map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let base = Path::new("/cfg");
        assert_eq!(database_path("sqlite://app.db", base).unwrap(), Some(PathBuf::from("/cfg/app.db")));
        assert_eq!(database_path("sqlite:///abs/app.db", base).unwrap(), Some(PathBuf::from("/abs/app.db")));
        assert_eq!(database_path("sqlite::memory:", base).unwrap(), None);
        assert!(database_path("postgres://x", base).is_err());
    }
}
