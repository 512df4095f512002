//! retort-postgres: PostgreSQL over sqlx with rustls.
//!
//! Transactional DDL, so a revision and its version row commit together. Each
//! statement is sent on its own with the simple query protocol, never as one
//! multi-statement string (which PostgreSQL would wrap in one implicit transaction,
//! breaking `CREATE INDEX CONCURRENTLY`). The run lock is a session advisory lock,
//! waited for by polling `pg_try_advisory_lock` from the idle connection, so a
//! waiting runner holds no snapshot that a concurrent index build would wait on.
#![forbid(unsafe_code)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_core::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, VersionTable, fnv1a, redact,
};
use retort_core::split::Flavor;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection as _, Row};

/// The PostgreSQL driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct PostgresDriver;

/// PostgreSQL's SQL: the standard defaults, PostgreSQL's lexical rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: true, run_lock: true }
    }

    fn flavor(&self) -> Flavor {
        Flavor::Postgres
    }
}

#[async_trait]
impl Driver for PostgresDriver {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["postgres", "postgresql"]
    }

    fn dialect(&self) -> &dyn Dialect {
        &PostgresDialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let fail = |e: sqlx::Error| DriverError::Connect(redact(&e.to_string(), &options.url));
        let connect =
            PgConnectOptions::from_str(&options.url).map_err(fail)?.application_name(&options.application_name);
        let conn = PgConnection::connect_with(&connect).await.map_err(fail)?;
        let mut conn = PgConn { conn };
        if let Some(timeout) = options.statement_timeout {
            conn.execute(&format!("SET statement_timeout = '{}ms'", timeout.as_millis())).await?;
        }
        if let Some(timeout) = options.ddl_lock_timeout {
            conn.execute(&format!("SET lock_timeout = '{}ms'", timeout.as_millis())).await?;
        }
        if let Some(schema) = &options.search_path {
            conn.execute(&format!("SET search_path TO {}", PostgresDialect.quote_ident(schema))).await?;
        }
        Ok(Box::new(conn))
    }
}

/// One open PostgreSQL session.
struct PgConn {
    conn: PgConnection,
}

/// Maps a database error: `55P03 lock_not_available` is worth a retry.
fn sql_error(e: sqlx::Error) -> DriverError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let text = format!("{} (SQLSTATE {code})", db.message());
            if code == "55P03" { DriverError::LockNotAvailable(text) } else { DriverError::Sql(text) }
        }
        _ => DriverError::Sql(e.to_string()),
    }
}

/// A row as text, whatever the column types retort's own queries use.
fn text_row(row: &PgRow) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| {
            row.try_get::<Option<String>, _>(i)
                .or_else(|_| row.try_get::<Option<i32>, _>(i).map(|v| v.map(|v| v.to_string())))
                .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| v.map(|v| v.to_string())))
                .unwrap_or(None)
        })
        .collect()
}

/// The advisory-lock key of a version table: FNV-1a of its qualified name.
fn lock_key(table: &VersionTable) -> i64 {
    fnv1a(format!("retort:{}", PostgresDialect.table_name(table)).bytes()) as i64
}

impl PgConn {
    async fn try_lock(&mut self, key: i64) -> Result<bool, DriverError> {
        let row = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut self.conn)
            .await
            .map_err(sql_error)?;
        row.try_get::<bool, _>(0).map_err(sql_error)
    }

    /// Who holds the advisory lock: pid, application name and since when.
    async fn lock_holder(&mut self, key: i64) -> Option<String> {
        let sql = "SELECT a.pid, coalesce(a.application_name, ''), a.backend_start::text \
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND l.classid::bigint = $1 AND l.objid::bigint = $2";
        let (high, low) = (((key as u64) >> 32) as i64, ((key as u64) & 0xffff_ffff) as i64);
        let row = sqlx::query(sql).bind(high).bind(low).fetch_optional(&mut self.conn).await.ok()??;
        let pid: i32 = row.try_get(0).ok()?;
        let app: String = row.try_get(1).ok()?;
        let since: String = row.try_get(2).ok()?;
        Some(format!("pid {pid}, application '{app}', connected since {since}"))
    }

    /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] <name>`: the index name.
    fn concurrent_index_name(statement: &str) -> Option<String> {
        let mut words = statement.split_whitespace();
        let mut next_upper = || words.next().map(|w| (w.to_string(), w.to_ascii_uppercase()));
        if next_upper()?.1 != "CREATE" {
            return None;
        }
        let mut word = next_upper()?;
        if word.1 == "UNIQUE" {
            word = next_upper()?;
        }
        if word.1 != "INDEX" || next_upper()?.1 != "CONCURRENTLY" {
            return None;
        }
        let mut name = next_upper()?;
        if name.1 == "IF" {
            next_upper()?;
            next_upper()?;
            name = next_upper()?;
        }
        (name.1 != "ON").then_some(name.0)
    }
}

#[async_trait]
impl Connection for PgConn {
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let done = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut self.conn).await.map_err(sql_error)?;
        Ok(done.rows_affected())
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let rows = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).fetch_all(&mut self.conn).await.map_err(sql_error)?;
        Ok(rows.iter().map(text_row).collect())
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let row = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
            .bind(PostgresDialect.table_name(table))
            .fetch_one(&mut self.conn)
            .await
            .map_err(sql_error)?;
        row.try_get::<bool, _>(0).map_err(sql_error)
    }

    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let key = lock_key(table);
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            if self.try_lock(key).await? {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                let holder = self.lock_holder(key).await;
                return Err(DriverError::LockTimeout { waited: started.elapsed(), holder });
            }
            // Idle between polls: no transaction, no snapshot for an index build to wait on.
            tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    async fn unlock(&mut self, table: &VersionTable) -> Result<(), DriverError> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(lock_key(table))
            .execute(&mut self.conn)
            .await
            .map_err(sql_error)?;
        Ok(())
    }

    async fn repair_before(&mut self, statement: &str) -> Result<Option<String>, DriverError> {
        let Some(name) = Self::concurrent_index_name(statement) else { return Ok(None) };
        let invalid = sqlx::query("SELECT 1 FROM pg_index i WHERE i.indexrelid = to_regclass($1) AND NOT i.indisvalid")
            .bind(&name)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sql_error)?;
        if invalid.is_none() {
            return Ok(None);
        }
        self.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")).await?;
        Ok(Some(format!("dropped INVALID index {name} left by an earlier failed CREATE INDEX CONCURRENTLY")))
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.conn.close().await.map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_concurrent_index_names() {
        let name = |s: &str| PgConn::concurrent_index_name(s);
        assert_eq!(name("CREATE INDEX CONCURRENTLY ix_a ON t (a)").as_deref(), Some("ix_a"));
        assert_eq!(name("create unique index concurrently if not exists \"Ix\" on t (a)").as_deref(), Some("\"Ix\""));
        assert_eq!(name("CREATE INDEX CONCURRENTLY ON t (a)"), None);
        assert_eq!(name("CREATE INDEX ix ON t (a)"), None);
    }

    #[test]
    fn lock_keys_differ_per_table() {
        let a = VersionTable { name: "alembic_version_a".into(), schema: None };
        let b = VersionTable { name: "alembic_version_a".into(), schema: Some("tenant1".into()) };
        assert_ne!(lock_key(&a), lock_key(&b));
    }
}
