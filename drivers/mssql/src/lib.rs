//! retort-mssql: SQL Server over tiberius with rustls.
//!
//! Transactional DDL, so a revision and its version row commit together. Revision
//! bodies are split into `GO` batches, each sent as one batch (T-SQL batches may
//! hold several statements). The run lock is `sp_getapplock` owned by the session.
//!
//! URLs: `mssql://user:password@host:1433/database` (or `sqlserver://`), with
//! `?trust_server_certificate=true` for development servers with self-signed
//! certificates and `?encrypt=false` to turn TLS off.
//!
//! There is no canceller. The TDS attention packet that cancels a running batch
//! goes out on the session's own socket, and tiberius 0.13 sends it only through
//! `Client::cancel_query(&mut self)`, which the running statement's borrow of the
//! client excludes: no handle can send it from another task. SQL Server has no
//! `pg_cancel_backend` or `KILL QUERY` for a second session to use, and `KILL`
//! would end the whole session, its run lock included.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, SessionSetting, SessionStatement,
    VersionTable, percent_decode,
};
use retort_engine::session::run_lock_name;
use retort_engine::split::Flavor;
use retort_engine::statement::{Ident, Name, Object, ObjectKind};
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, FromSql, ToSql};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

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
            SessionSetting::LockTimeout(timeout) => {
                vec![SessionStatement::required(format!("SET LOCK_TIMEOUT {}", timeout.as_millis()))]
            }
            SessionSetting::StatementTimeout(_) | SessionSetting::Schema(_) => vec![],
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

/// A parsed `mssql://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MssqlUrl {
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
    pub user: String,
    pub password: String,
    pub trust_server_certificate: bool,
    pub encrypt: bool,
}

/// Parses `mssql://user:password@host:port/database?options`.
pub fn parse_url(url: &str) -> Result<MssqlUrl, String> {
    let rest = url
        .strip_prefix("mssql://")
        .or_else(|| url.strip_prefix("sqlserver://"))
        .ok_or("a SQL Server URL starts with mssql:// or sqlserver://")?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = main.split_once('/').unwrap_or((main, ""));
    let (userinfo, hostport) = authority.rsplit_once('@').ok_or("the URL needs user:password@host")?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?),
        None => (hostport, 1433),
    };
    let flag = |name: &str, default: bool| {
        query
            .split('&')
            .find_map(|kv| kv.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
            .map_or(default, |v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
    };
    Ok(MssqlUrl {
        host: host.to_string(),
        port,
        database: (!database.is_empty()).then(|| database.to_string()),
        user: percent_decode(user),
        password: percent_decode(password),
        trust_server_certificate: flag("trust_server_certificate", false) || flag("trustservercertificate", false),
        encrypt: flag("encrypt", true),
    })
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
        let mut config = Config::new();
        config.host(&url.host);
        config.port(url.port);
        if let Some(db) = &url.database {
            config.database(db);
        }
        config.application_name(&options.application_name);
        config.authentication(AuthMethod::sql_server(&url.user, &url.password));
        if url.trust_server_certificate {
            config.trust_cert();
        }
        if !url.encrypt {
            config.encryption(EncryptionLevel::NotSupported);
        }
        let tcp = TcpStream::connect(config.get_addr()).await.map_err(|e| fail(e.to_string()))?;
        tcp.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
        let client = Client::connect(config, tcp.compat_write()).await.map_err(|e| fail(e.to_string()))?;
        Ok(Box::new(MsConn { client }))
    }
}

/// The `sp_getapplock` resource of a version table (at most 255 characters).
fn lock_resource(table: &VersionTable) -> String {
    run_lock_name(&MssqlDialect, table, 255)
}

/// One open SQL Server session.
struct MsConn {
    client: Client<Compat<TcpStream>>,
}

impl MsConn {
    /// Runs SQL as a plain batch. `execute` goes through `sp_executesql`, where
    /// `BEGIN TRANSACTION`/`COMMIT` fail (error 266) and `SET` options end with the call.
    async fn batch(&mut self, sql: &str) -> Result<(), DriverError> {
        let stream = self.client.simple_query(sql).await.map_err(sql_error)?;
        stream.into_results().await.map_err(sql_error)?;
        Ok(())
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

/// Maps a server error: 1222 (lock request time out) is worth a retry.
fn sql_error(e: tiberius::error::Error) -> DriverError {
    match &e {
        tiberius::error::Error::Server(token) if token.code() == 1222 => {
            DriverError::LockNotAvailable(token.to_string())
        }
        _ => DriverError::Sql(e.to_string()),
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

    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let result = self.client.execute(sql, &[]).await.map_err(sql_error)?;
        Ok(result.total())
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

    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let started = Instant::now();
        let resource = lock_resource(table);
        let sql = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = 'Exclusive', \
                   @LockOwner = 'Session', @LockTimeout = @P2; SELECT @r";
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let stream = self.client.query(sql, &[&resource, &millis]).await.map_err(sql_error)?;
        let status = stream.into_row().await.map_err(sql_error)?.and_then(|r| r.get::<i32, _>(0));
        match status {
            Some(s) if s >= 0 => Ok(()),
            Some(-1) => Err(DriverError::LockTimeout { waited: started.elapsed(), holder: None }),
            other => Err(DriverError::Other(format!("sp_getapplock failed with status {other:?}"))),
        }
    }

    async fn unlock(&mut self, table: &VersionTable) -> Result<(), DriverError> {
        let resource = lock_resource(table);
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
    fn parses_urls() {
        let u = parse_url("mssql://sa:p%40ss@db.local:14330/app?trust_server_certificate=true").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.database.as_deref()), ("db.local", 14330, Some("app")));
        assert_eq!((u.user.as_str(), u.password.as_str()), ("sa", "p@ss"));
        assert!(u.trust_server_certificate && u.encrypt);
        let u = parse_url("sqlserver://sa:x@h?encrypt=false").unwrap();
        assert_eq!((u.port, u.database), (1433, None));
        assert!(!u.encrypt);
        assert!(parse_url("postgres://x@y/z").is_err());
        assert!(parse_url("mssql://h:notaport/db").is_err());
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
