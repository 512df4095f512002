//! retort-mssql: SQL Server over tiberius with rustls.
//!
//! Transactional DDL, so a revision and its version row commit together. Revision
//! bodies are split into `GO` batches (`GO n` sends one n times), each sent as a
//! plain batch, never through `sp_executesql`: `SET` options and a `BEGIN
//! TRANSACTION` whose `COMMIT` comes in a later batch keep working as in
//! `sqlcmd`. Every session starts with `SET XACT_ABORT ON; SET NOCOUNT OFF`, and no
//! round trip is cut at tiberius' 30 s default: only the target's
//! `statement_timeout` bounds one. The run lock is `sp_getapplock` owned by the
//! session, named with the session's default schema when none is configured.
//!
//! URLs (`parse_url`): `mssql://user:password@host[\instance][:port]/database`
//! (or `sqlserver://`, `[::1]` for IPv6, `%5C` for the backslash), or
//! go-mssqldb's `sqlserver://user:password@host/instance?database=db`; options
//! `encrypt` (`true` by default, `strict`, `false` for the login only, `disable`)
//! and `trust_server_certificate`; or an ADO.NET connection string after the
//! scheme (`mssql:Server=tcp:host,1433;Database=app;User Id=…;Password=…`,
//! `parse_ado`). Anything else is refused, as are Windows logins. Azure SQL's
//! routing to another server is followed once.
//!
//! There is no canceller. The TDS attention packet that cancels a running batch
//! goes out on the session's own socket, and tiberius 0.13 sends it only through
//! `Client::cancel_query(&mut self)`, which the running statement's borrow of the
//! client excludes: no handle can send it from another task. SQL Server has no
//! `pg_cancel_backend` or `KILL QUERY` for a second session to use, and `KILL`
//! would end the whole session, its run lock included.
#![forbid(unsafe_code)]

mod tsql;
mod url;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, SessionSetting, SessionStatement,
    VersionTable,
};
use retort_engine::session::run_lock_name;
use retort_engine::split::Flavor;
use retort_engine::statement::{Ident, Name, Object, ObjectKind};
use tiberius::{Client, ColumnData, Config, FromSql, SqlBrowser, ToSql};
use tokio::net::TcpStream;

use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};
use tsql::{Applock, applock_outcome, like_escaped, must_stand_alone, sql_error};
pub use url::{MssqlUrl, config, parse_ado, parse_url};

/// The SQL Server driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct MssqlDriver;

/// SQL Server's SQL: `[bracketed]` identifiers, `GO` batches.
#[derive(Debug, Default, Clone, Copy)]
pub struct MssqlDialect;

impl Dialect for MssqlDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: true, run_lock: true, schemas: false }
    }

    fn flavor(&self) -> Flavor {
        Flavor::SqlServer
    }

    fn session_sql(&self, setting: &SessionSetting) -> Vec<SessionStatement> {
        match setting {
            // SQL Server reads 0 as "do not wait" and -1 as "no limit"; retort's 0 means no limit.
            SessionSetting::LockTimeout(timeout) if timeout.is_zero() => {
                vec![SessionStatement::required("SET LOCK_TIMEOUT -1")]
            }
            SessionSetting::LockTimeout(timeout) => {
                vec![SessionStatement::required(format!("SET LOCK_TIMEOUT {}", timeout.as_millis()))]
            }
            SessionSetting::StatementTimeout(_) | SessionSetting::Schema(_) | SessionSetting::ApplicationName(_) => {
                vec![]
            }
        }
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("[{}]", name.replace(']', "]]"))
    }

    fn offline_transaction(&self) -> (&'static str, &'static str) {
        ("BEGIN TRANSACTION;\nGO", "COMMIT;\nGO")
    }

    fn offline_terminator(&self) -> &'static str {
        ";\nGO"
    }
}

#[async_trait]
impl Driver for MssqlDriver {
    fn name(&self) -> &str {
        "mssql"
    }

    fn schemes(&self) -> Vec<String> {
        ["mssql", "sqlserver"].map(String::from).to_vec()
    }

    fn dialect(&self) -> &dyn Dialect {
        &MssqlDialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let fail = DriverError::Connect;
        let url = parse_url(options.url.expose()).map_err(fail)?;
        let mut config = config(&url, options)?;
        let named = url.instance.is_some() && url.port.is_none();
        // Azure SQL may answer the login by routing the session to another server:
        // follow one redirect there.
        let client = match open(&config, named).await {
            Err(tiberius::error::Error::Routing { host, port }) => {
                config.host(&host);
                config.port(port);
                open(&config, false).await
            }
            other => other,
        };
        let mut conn = MsConn { client: client.map_err(|e| fail(e.to_string()))?, default_schema: String::new() };
        // A statement error ends the whole batch and its transaction (a 1222 lock
        // time-out would otherwise cancel one statement and let the rest commit), and
        // row counts are sent whatever the server's `user options` say.
        conn.batch(SESSION_SETUP).await?;
        let schema = conn.query("SELECT SCHEMA_NAME()").await?;
        conn.default_schema =
            schema.into_iter().next().and_then(|r| r.into_iter().next().flatten()).unwrap_or_default();
        Ok(Box::new(conn))
    }
}

/// Connects and logs in, through the SQL Browser for a named instance without a port.
async fn open(config: &Config, named: bool) -> tiberius::Result<Client<Compat<TcpStream>>> {
    let tcp = match named {
        true => <TcpStream as SqlBrowser>::connect_named(config).await?,
        false => TcpStream::connect(config.get_addr()).await?,
    };
    tcp.set_nodelay(true)?;
    Client::connect(config.clone(), tcp.compat_write()).await
}

/// Run on every new session.
pub const SESSION_SETUP: &str = "SET XACT_ABORT ON; SET NOCOUNT OFF;";

/// The `sp_getapplock` resource of a version table (at most 255 characters), its
/// schema the session's default when none is configured, so that two runners
/// naming the table with and without `dbo` still exclude each other.
fn lock_resource(table: &VersionTable, default_schema: &str) -> String {
    let schema = table.schema.clone().or_else(|| (!default_schema.is_empty()).then(|| default_schema.to_string()));
    run_lock_name(&MssqlDialect, &VersionTable { name: table.name.clone(), schema }, 255)
}

/// One open SQL Server session.
struct MsConn {
    client: Client<Compat<TcpStream>>,
    /// `SCHEMA_NAME()`: where an unqualified version table lives.
    default_schema: String,
}

impl MsConn {
    /// Runs SQL as a plain batch. `execute` goes through `sp_executesql`, where
    /// `BEGIN TRANSACTION`/`COMMIT` fail (error 266) and `SET` options end with the call.
    async fn batch(&mut self, sql: &str) -> Result<(), DriverError> {
        let stream = self.client.simple_query(sql).await.map_err(sql_error)?;
        stream.into_results().await.map_err(sql_error)?;
        Ok(())
    }

    /// Who holds the application lock `resource`, as `login@host (session N,
    /// program)`, from `sys.dm_tran_locks` (whose description shows the first 32
    /// characters of the name); `None` when it cannot be read (no `VIEW SERVER
    /// STATE`, or the holder just left).
    async fn lock_holder(&mut self, resource: &str) -> Option<String> {
        let sql = "SELECT TOP 1 CONCAT(s.login_name, '@', s.host_name, ' (session ', l.request_session_id, ', ', \
                   s.program_name, ')') FROM sys.dm_tran_locks l \
                   JOIN sys.dm_exec_sessions s ON s.session_id = l.request_session_id \
                   WHERE l.resource_type = 'APPLICATION' AND l.request_status = 'GRANT' \
                   AND l.request_session_id <> @@SPID AND l.resource_description LIKE @P1";
        let pattern = format!("%:[[]{}%", like_escaped(&resource.chars().take(32).collect::<String>()));
        let stream = self.client.query(sql, &[&pattern]).await.ok()?;
        let row = stream.into_row().await.ok()??;
        row.get::<&str, _>(0).map(str::to_string)
    }

    /// Evaluates `condition` (a T-SQL predicate over `@P1`, `@P2`, ...).
    async fn holds(&mut self, condition: &str, params: &[&dyn ToSql]) -> Result<bool, DriverError> {
        let sql = format!("SELECT CASE WHEN {condition} THEN 1 ELSE 0 END");
        let stream = self.client.query(sql, params).await.map_err(sql_error)?;
        let row = stream.into_row().await.map_err(sql_error)?;
        Ok(row.and_then(|r| r.get::<i32, _>(0)) == Some(1))
    }

    /// Whether the catalog has `object`; `None` for columns and constraints
    /// without their table.
    async fn presence_of(&mut self, object: &Object) -> Result<Option<bool>, DriverError> {
        let name = &object.name.name.text;
        let table = object.table.as_ref().map(bracketed);
        // An object of a table named without a schema (a trigger) is in the table's.
        let qualified = match (&object.name.schema, &object.table) {
            (None, Some(Name { schema: Some(schema), .. })) => {
                bracketed(&Name { schema: Some(schema.clone()), name: object.name.name.clone() })
            }
            _ => bracketed(&object.name),
        };
        let found = match (object.kind, &table) {
            (ObjectKind::Table, _) => self.holds("OBJECT_ID(@P1, 'U') IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::View, _) => self.holds("OBJECT_ID(@P1, 'V') IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::Sequence, _) => self.holds("OBJECT_ID(@P1, 'SO') IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::Procedure, _) => self.holds("OBJECT_ID(@P1, 'P') IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::Trigger, _) => self.holds("OBJECT_ID(@P1, 'TR') IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::Function, _) => {
                let condition = "OBJECT_ID(@P1, 'FN') IS NOT NULL OR OBJECT_ID(@P1, 'IF') IS NOT NULL \
                                 OR OBJECT_ID(@P1, 'TF') IS NOT NULL";
                self.holds(condition, &[&qualified]).await?
            }
            (ObjectKind::Type, _) => self.holds("TYPE_ID(@P1) IS NOT NULL", &[&qualified]).await?,
            (ObjectKind::Index, Some(table)) => {
                let condition = "EXISTS (SELECT 1 FROM sys.indexes WHERE name = @P1 AND object_id = OBJECT_ID(@P2))";
                self.holds(condition, &[name, table]).await?
            }
            (ObjectKind::Index, None) => {
                self.holds("EXISTS (SELECT 1 FROM sys.indexes WHERE name = @P1)", &[name]).await?
            }
            (ObjectKind::Column, Some(table)) => self.holds("COL_LENGTH(@P1, @P2) IS NOT NULL", &[table, name]).await?,
            (ObjectKind::Constraint, Some(table)) => {
                let condition = "EXISTS (SELECT 1 FROM sys.objects WHERE name = @P1 \
                                 AND parent_object_id = OBJECT_ID(@P2) AND type IN ('C', 'D', 'F', 'PK', 'UQ', 'EC'))";
                self.holds(condition, &[name, table]).await?
            }
            (ObjectKind::Column | ObjectKind::Constraint, None) => return Ok(None),
            // SCHEMA_ID and DB_ID take a plain name, not a bracketed one.
            (ObjectKind::Schema, _) => self.holds("SCHEMA_ID(@P1) IS NOT NULL", &[name]).await?,
            (ObjectKind::Database, _) => self.holds("DB_ID(@P1) IS NOT NULL", &[name]).await?,
        };
        Ok(Some(found))
    }
}

/// `[schema].[name]` (or `[name]`), as `OBJECT_ID`, `TYPE_ID` and `COL_LENGTH` read it.
fn bracketed(name: &Name) -> String {
    let part = |ident: &Ident| MssqlDialect.quote_ident(&ident.text);
    match &name.schema {
        Some(schema) => format!("{}.{}", part(schema), part(&name.name)),
        None => part(&name.name),
    }
}

fn text(data: &ColumnData<'static>) -> Option<String> {
    match data {
        ColumnData::String(s) => s.as_ref().map(|s| s.to_string()),
        ColumnData::I32(v) => v.map(|v| v.to_string()),
        ColumnData::I64(v) => v.map(|v| v.to_string()),
        ColumnData::I16(v) => v.map(|v| v.to_string()),
        ColumnData::U8(v) => v.map(|v| v.to_string()),
        ColumnData::Bit(v) => v.map(|v| v.to_string()),
        other => <&str>::from_sql(other).ok().flatten().map(str::to_string),
    }
}

#[async_trait]
impl Connection for MsConn {
    /// As plain batches: a `SET` inside `sp_executesql` ends with the call.
    async fn set_up(&mut self, statements: &[SessionStatement]) -> Result<(), DriverError> {
        for statement in statements {
            match self.batch(&statement.sql).await {
                Err(_) if statement.optional => {}
                result => result?,
            }
        }
        Ok(())
    }

    /// As a plain batch (not `sp_executesql`, which undoes `SET` options and refuses
    /// a `BEGIN TRANSACTION` whose `COMMIT` comes in a later batch). Its row count is
    /// the last statement's `@@ROWCOUNT`, whatever `NOCOUNT` says; a batch that must
    /// stand alone (`CREATE PROCEDURE`, ...) counts 0.
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        if must_stand_alone(sql) {
            self.batch(sql).await?;
            return Ok(0);
        }
        let counted = format!("{sql}\n;SELECT CAST(@@ROWCOUNT AS bigint)");
        let results = self.client.simple_query(counted).await.map_err(sql_error)?;
        let results = results.into_results().await.map_err(sql_error)?;
        let count = results.last().and_then(|rows| rows.first()).and_then(|row| row.get::<i64, _>(0));
        Ok(count.map_or(0, |n| n.max(0) as u64))
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let stream = self.client.simple_query(sql).await.map_err(sql_error)?;
        let rows = stream.into_first_result().await.map_err(sql_error)?;
        Ok(rows.into_iter().map(|row| row.into_iter().map(|c| text(&c)).collect()).collect())
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let stream = self
            .client
            .query("SELECT CASE WHEN OBJECT_ID(@P1, 'U') IS NULL THEN 0 ELSE 1 END", &[&MssqlDialect.table_name(table)])
            .await
            .map_err(sql_error)?;
        let row = stream.into_row().await.map_err(sql_error)?;
        Ok(row.and_then(|r| r.get::<i32, _>(0)) == Some(1))
    }

    async fn begin(&mut self) -> Result<(), DriverError> {
        self.batch("BEGIN TRANSACTION").await
    }

    async fn commit(&mut self) -> Result<(), DriverError> {
        self.batch("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        self.batch("IF @@TRANCOUNT > 0 ROLLBACK").await
    }

    /// `sp_getapplock`, owned by the session; chosen as a deadlock victim (-3), it
    /// asks again for the time left.
    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let started = Instant::now();
        let resource = lock_resource(table, &self.default_schema);
        let sql = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = 'Exclusive', \
                   @LockOwner = 'Session', @LockTimeout = @P2; SELECT @r";
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let millis = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let stream = self.client.query(sql, &[&resource, &millis]).await.map_err(sql_error)?;
            let status = stream.into_row().await.map_err(sql_error)?.and_then(|r| r.get::<i32, _>(0));
            match applock_outcome(status) {
                Applock::Granted => return Ok(()),
                Applock::Retry if !left.is_zero() => continue,
                Applock::Retry | Applock::TimedOut => {
                    let holder = self.lock_holder(&resource).await;
                    return Err(DriverError::LockTimeout { waited: started.elapsed(), holder });
                }
                Applock::Failed(why) => return Err(DriverError::Other(why)),
            }
        }
    }

    async fn unlock(&mut self, table: &VersionTable) -> Result<(), DriverError> {
        let resource = lock_resource(table, &self.default_schema);
        self.client
            .execute("EXEC sp_releaseapplock @Resource = @P1, @LockOwner = 'Session'", &[&resource])
            .await
            .map_err(sql_error)?;
        Ok(())
    }

    /// Never: a `GO` batch may mix statements that cannot run in a transaction
    /// (`ALTER DATABASE`, full-text DDL, ...), and the driver cannot tell them apart.
    fn shares_transaction(&self, _statement: &str) -> bool {
        false
    }

    async fn presence(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        let found = self.presence_of(object).await?;
        Ok(found.map(|found| if found { Presence::Present } else { Presence::Absent }))
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.client.close().await.map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retort_history::plan::VersionOp;

    #[test]
    fn the_lock_names_the_same_table_alike_with_and_without_its_schema() {
        let bare = VersionTable { name: "alembic_version".into(), schema: None };
        let qualified = VersionTable { name: "alembic_version".into(), schema: Some("dbo".into()) };
        assert_eq!(lock_resource(&bare, "dbo"), lock_resource(&qualified, "dbo"));
        assert_ne!(lock_resource(&bare, "sales"), lock_resource(&qualified, "dbo"));
    }

    #[test]
    fn zero_lock_timeout_means_no_limit() {
        let sql = MssqlDialect.session_sql(&SessionSetting::LockTimeout(Duration::ZERO));
        assert_eq!(sql[0].sql, "SET LOCK_TIMEOUT -1");
        let sql = MssqlDialect.session_sql(&SessionSetting::LockTimeout(Duration::from_millis(700)));
        assert_eq!(sql[0].sql, "SET LOCK_TIMEOUT 700");
    }

    #[test]
    fn names_render_bracketed() {
        let ident = |text: &str| Ident { text: text.into(), quoted: false };
        assert_eq!(bracketed(&Name { schema: Some(ident("dbo")), name: ident("a]b") }), "[dbo].[a]]b]");
        assert_eq!(bracketed(&Name { schema: None, name: ident("t") }), "[t]");
    }

    #[test]
    fn dialect_renders_brackets_and_go() {
        let t = VersionTable { name: "alembic_version".into(), schema: Some("dbo".into()) };
        assert_eq!(MssqlDialect.table_name(&t), "[dbo].[alembic_version]");
        assert_eq!(
            MssqlDialect.version_op(&t, &VersionOp::Update { from: "a".into(), to: "b".into() }),
            "UPDATE [dbo].[alembic_version] SET version_num = 'b' WHERE version_num = 'a'"
        );
        assert!(MssqlDialect.create_version_table(&t).contains("CONSTRAINT [alembic_version_pkc] PRIMARY KEY"));
        assert_eq!(MssqlDialect.offline_terminator(), ";\nGO");
    }
}
