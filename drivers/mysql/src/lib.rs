//! retort-mysql: MySQL and MariaDB over mysql_async with rustls.
//!
//! DDL commits implicitly there, so the dialect declares `transactional_ddl: false`
//! and the executor runs every revision statement by statement, recording progress,
//! and reports exactly which statements ran when one fails. The run lock is
//! `GET_LOCK`, released with `RELEASE_LOCK` (and by the server if the session dies).
//! Catalog checks read `information_schema`; a running statement is stopped with
//! `KILL QUERY` from a second session.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};
use retort_engine::driver::{
    Canceller, Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, SessionSetting,
    SessionStatement, VersionTable, redact,
};
use retort_engine::session::run_lock_name;
use retort_engine::split::Flavor;
use retort_engine::statement::{self, Name, Object, ObjectKind};

/// The MySQL / MariaDB driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct MysqlDriver;

/// MySQL's SQL: backtick identifiers, no transactional DDL.
#[derive(Debug, Default, Clone, Copy)]
pub struct MysqlDialect;

impl Dialect for MysqlDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: false, run_lock: true, schemas: true }
    }

    fn flavor(&self) -> Flavor {
        Flavor::MySql
    }

    fn session_sql(&self, setting: &SessionSetting) -> Vec<SessionStatement> {
        match setting {
            // MariaDB and MySQL name this differently; each refuses the other's.
            SessionSetting::StatementTimeout(timeout) => vec![
                SessionStatement::optional(format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64())),
                SessionStatement::optional(format!("SET SESSION max_execution_time = {}", timeout.as_millis())),
            ],
            SessionSetting::LockTimeout(timeout) => {
                vec![SessionStatement::required(format!(
                    "SET SESSION lock_wait_timeout = {}",
                    timeout.as_secs().max(1)
                ))]
            }
            // A MySQL schema is a database: schema per tenant switches to it.
            SessionSetting::Schema(schema) => {
                vec![SessionStatement::required(format!("USE {}", self.quote_ident(schema)))]
            }
            SessionSetting::ApplicationName(_) => vec![],
        }
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn offline_transaction(&self) -> (&'static str, &'static str) {
        ("START TRANSACTION;", "COMMIT;")
    }
}

/// `mariadb://` is accepted as a synonym; mysql_async wants `mysql://`.
fn mysql_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    }
}

#[async_trait]
impl Driver for MysqlDriver {
    fn name(&self) -> &str {
        "mysql"
    }

    fn schemes(&self) -> Vec<String> {
        ["mysql", "mariadb"].map(String::from).to_vec()
    }

    fn dialect(&self) -> &dyn Dialect {
        &MysqlDialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let fail = DriverError::Connect;
        let mut opts = Opts::from_url(&mysql_url(options.url.expose())).map_err(|e| fail(e.to_string()))?;
        // With TLS asked for, `tls_roots = "system"` adds the system bundle to the built-in roots.
        if let Some(ssl) = opts.ssl_opts().cloned()
            && ssl.root_certs().is_empty()
            && let Some(bundle) = options.tls_roots.system_file()?
        {
            opts = OptsBuilder::from_opts(opts).ssl_opts(ssl.with_root_certs(vec![bundle.into()])).into();
        }
        let conn = Conn::new(opts).await.map_err(|e| fail(e.to_string()))?;
        let canceller = Arc::new(MyCanceller {
            opts: conn.opts().clone(),
            url: options.url.expose().to_string(),
            connection_id: conn.id(),
        });
        Ok(Box::new(MyConn { conn, held_lock: None, canceller }))
    }
}

/// One open MySQL session.
struct MyConn {
    conn: Conn,
    /// The `GET_LOCK` name taken, kept for the release (a revision may `USE` another database).
    held_lock: Option<String>,
    canceller: Arc<MyCanceller>,
}

/// Stops the running statement of one session with `KILL QUERY` from a new one.
struct MyCanceller {
    opts: Opts,
    /// The target's URL, for redacting error texts.
    url: String,
    /// `CONNECTION_ID()` of the session to stop.
    connection_id: u32,
}

/// `ER_NO_SUCH_THREAD`: the session is gone, so nothing of it runs.
const NO_SUCH_THREAD: u16 = 1094;

#[async_trait]
impl Canceller for MyCanceller {
    async fn cancel(&self) -> Result<(), DriverError> {
        let redacted = |e: mysql_async::Error| redact(&e.to_string(), &self.url);
        let mut conn = Conn::new(self.opts.clone()).await.map_err(|e| DriverError::Connect(redacted(e)))?;
        let killed = conn.query_drop(format!("KILL QUERY {}", self.connection_id)).await;
        let closed = conn.disconnect().await;
        match killed {
            Err(mysql_async::Error::Server(e)) if e.code == NO_SUCH_THREAD => {}
            other => other.map_err(|e| DriverError::Sql(redacted(e)))?,
        }
        closed.map_err(|e| DriverError::Sql(redacted(e)))
    }
}

/// The `information_schema` check of one object: `condition` over `view`, whose
/// `schema_column` is compared with the first parameter (the object's schema, else
/// its table's, else the current database). Names compare case-insensitively.
struct Check {
    view: &'static str,
    schema_column: &'static str,
    condition: &'static str,
    params: Vec<Value>,
}

impl Check {
    fn new(view: &'static str, schema_column: &'static str, condition: &'static str) -> Check {
        Check { view, schema_column, condition, params: Vec::new() }
    }

    fn sql(&self) -> String {
        format!(
            "SELECT EXISTS (SELECT 1 FROM information_schema.{} \
             WHERE LOWER({}) = LOWER(COALESCE(?, DATABASE())) AND {})",
            self.view, self.schema_column, self.condition
        )
    }
}

/// The check for `object`, or `None` for kinds `information_schema` cannot tell
/// (types; columns and constraints without their table).
fn check(object: &Object) -> Option<Check> {
    let text = |name: &Name| name.name.text.clone();
    let table = object.table.as_ref().map(text);
    let schema = object.name.schema.as_ref().or(object.table.as_ref().and_then(|t| t.schema.as_ref()));
    let mut check = match (object.kind, &table) {
        (ObjectKind::Table, _) => Check::new(
            "TABLES",
            "TABLE_SCHEMA",
            "LOWER(TABLE_NAME) = LOWER(?) AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')",
        ),
        (ObjectKind::View, _) => {
            Check::new("TABLES", "TABLE_SCHEMA", "LOWER(TABLE_NAME) = LOWER(?) AND TABLE_TYPE = 'VIEW'")
        }
        (ObjectKind::Sequence, _) => {
            Check::new("TABLES", "TABLE_SCHEMA", "LOWER(TABLE_NAME) = LOWER(?) AND TABLE_TYPE = 'SEQUENCE'")
        }
        (ObjectKind::Index, Some(_)) => {
            Check::new("STATISTICS", "TABLE_SCHEMA", "LOWER(TABLE_NAME) = LOWER(?) AND LOWER(INDEX_NAME) = LOWER(?)")
        }
        (ObjectKind::Index, None) => Check::new("STATISTICS", "TABLE_SCHEMA", "LOWER(INDEX_NAME) = LOWER(?)"),
        (ObjectKind::Column, Some(_)) => {
            Check::new("COLUMNS", "TABLE_SCHEMA", "LOWER(TABLE_NAME) = LOWER(?) AND LOWER(COLUMN_NAME) = LOWER(?)")
        }
        (ObjectKind::Constraint, Some(_)) => Check::new(
            "TABLE_CONSTRAINTS",
            "TABLE_SCHEMA",
            "LOWER(TABLE_NAME) = LOWER(?) AND LOWER(CONSTRAINT_NAME) = LOWER(?)",
        ),
        (ObjectKind::Function, _) => {
            Check::new("ROUTINES", "ROUTINE_SCHEMA", "LOWER(ROUTINE_NAME) = LOWER(?) AND ROUTINE_TYPE = 'FUNCTION'")
        }
        (ObjectKind::Procedure, _) => {
            Check::new("ROUTINES", "ROUTINE_SCHEMA", "LOWER(ROUTINE_NAME) = LOWER(?) AND ROUTINE_TYPE = 'PROCEDURE'")
        }
        (ObjectKind::Trigger, _) => Check::new("TRIGGERS", "TRIGGER_SCHEMA", "LOWER(TRIGGER_NAME) = LOWER(?)"),
        // A MySQL schema is a database: the name is the schema compared.
        (ObjectKind::Schema | ObjectKind::Database, _) => {
            let mut check = Check::new("SCHEMATA", "SCHEMA_NAME", "TRUE");
            check.params.push(Value::from(text(&object.name)));
            return Some(check);
        }
        (ObjectKind::Column | ObjectKind::Constraint, None) | (ObjectKind::Type, _) => return None,
    };
    check.params.push(Value::from(schema.map(|s| s.text.clone())));
    if matches!(object.kind, ObjectKind::Index | ObjectKind::Column | ObjectKind::Constraint) {
        check.params.extend(table.map(Value::from));
    }
    check.params.push(Value::from(text(&object.name)));
    Some(check)
}

/// Maps a server error: 1205 (lock wait timeout) is worth a retry.
fn sql_error(e: mysql_async::Error) -> DriverError {
    match &e {
        mysql_async::Error::Server(server) => {
            let text = format!("{} (error {}, SQLSTATE {})", server.message, server.code, server.state);
            if server.code == 1205 { DriverError::LockNotAvailable(text) } else { DriverError::Sql(text) }
        }
        _ => DriverError::Sql(e.to_string()),
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(v) => Some(v.to_string()),
        Value::UInt(v) => Some(v.to_string()),
        Value::Float(v) => Some(v.to_string()),
        Value::Double(v) => Some(v.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// The `GET_LOCK` name of a version table (at most 64 characters). `GET_LOCK`
/// names are server-wide, so the table is named with its database, the session's
/// when the table names none.
fn lock_name(database: &str, table: &VersionTable) -> String {
    let schema = table.schema.clone().unwrap_or_else(|| database.to_string());
    run_lock_name(&MysqlDialect, &VersionTable { schema: Some(schema), ..table.clone() }, 64)
}

impl MyConn {
    async fn lock_name(&mut self, table: &VersionTable) -> Result<String, DriverError> {
        let database: Option<String> = self.conn.query_first("SELECT DATABASE()").await.map_err(sql_error)?.flatten();
        Ok(lock_name(&database.unwrap_or_default(), table))
    }

    async fn lock_holder(&mut self, name: &str) -> Option<String> {
        let id: Option<u64> = self.conn.exec_first("SELECT IS_USED_LOCK(?)", (name,)).await.ok()?.flatten();
        let id = id?;
        let row: Option<(String, String, u64)> = self
            .conn
            .exec_first("SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", (id,))
            .await
            .ok()?;
        Some(match row {
            Some((user, host, time)) => format!("connection {id} ({user}@{host}, {time} s in its current state)"),
            None => format!("connection {id}"),
        })
    }
}

#[async_trait]
impl Connection for MyConn {
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        self.conn.query_drop(sql).await.map_err(sql_error)?;
        Ok(self.conn.affected_rows())
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let rows: Vec<mysql_async::Row> = self.conn.query(sql).await.map_err(sql_error)?;
        Ok(rows.into_iter().map(|row| row.unwrap().into_iter().map(text).collect()).collect())
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let sql =
            "SELECT 1 FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?";
        let found: Option<u8> =
            self.conn.exec_first(sql, (table.schema.clone(), table.name.clone())).await.map_err(sql_error)?;
        Ok(found.is_some())
    }

    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let name = self.lock_name(table).await?;
        let started = Instant::now();
        let got: Option<i64> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, ?)", (&name, timeout.as_secs_f64()))
            .await
            .map_err(sql_error)?
            .flatten();
        if got == Some(1) {
            self.held_lock = Some(name);
            return Ok(());
        }
        let holder = self.lock_holder(&name).await;
        Err(DriverError::LockTimeout { waited: started.elapsed(), holder })
    }

    async fn unlock(&mut self, _table: &VersionTable) -> Result<(), DriverError> {
        match self.held_lock.take() {
            Some(name) => self.conn.exec_drop("SELECT RELEASE_LOCK(?)", (name,)).await.map_err(sql_error),
            None => Ok(()),
        }
    }

    /// Data changes and plain `SELECT`s; anything else may commit implicitly.
    fn shares_transaction(&self, statement: &str) -> bool {
        statement::mysql_shares_transaction(statement)
    }

    async fn presence(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        let Some(check) = check(object) else { return Ok(None) };
        let found: Option<i64> = self.conn.exec_first(check.sql(), check.params).await.map_err(sql_error)?;
        Ok(Some(if found == Some(1) { Presence::Present } else { Presence::Absent }))
    }

    fn canceller(&self) -> Option<Arc<dyn Canceller>> {
        Some(self.canceller.clone())
    }

    /// `COM_RESET_CONNECTION` (MySQL 5.7.3+, MariaDB 10.2.4+): rolls back, drops
    /// temporary tables, resets session and user variables, releases `GET_LOCK`
    /// locks; mysql_async then forgets its prepared statements.
    async fn reset(&mut self) -> Result<bool, DriverError> {
        self.held_lock = None;
        self.conn.reset().await.map_err(sql_error)
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.conn.disconnect().await.map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_urls_are_mysql_urls() {
        assert_eq!(mysql_url("mariadb://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(mysql_url("mysql://root@h/d"), "mysql://root@h/d");
    }

    #[test]
    fn lock_names_fit_in_64_characters() {
        let long = VersionTable { name: "v".repeat(80), schema: Some("tenant".into()) };
        assert!(lock_name("app", &long).len() <= 64);
        let short = VersionTable { name: "alembic_version_t".into(), schema: None };
        assert_eq!(lock_name("t1", &short), "retort:`t1`.`alembic_version_t`");
        assert_ne!(lock_name("t1", &short), lock_name("t2", &short), "tenants on one server do not share a lock");
    }

    #[test]
    fn checks_bind_schema_table_then_name() {
        let ident = |text: &str| statement::Ident { text: text.into(), quoted: false };
        let object = Object {
            kind: ObjectKind::Column,
            name: Name { schema: None, name: ident("c") },
            table: Some(Name { schema: Some(ident("app")), name: ident("t") }),
        };
        let check = check(&object).unwrap();
        assert_eq!(check.params, [Value::from("app"), Value::from("t"), Value::from("c")]);
        assert!(check.sql().contains("information_schema.COLUMNS"));
        let types = Object { kind: ObjectKind::Type, ..object };
        assert!(super::check(&types).is_none());
    }

    #[test]
    fn identifiers_use_backticks() {
        let t = VersionTable { name: "alembic_version".into(), schema: Some("app".into()) };
        assert_eq!(MysqlDialect.table_name(&t), "`app`.`alembic_version`");
    }
}
