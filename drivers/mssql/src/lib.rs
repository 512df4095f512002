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

use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, SessionSetting, SessionStatement,
    VersionTable, percent_decode,
};
use retort_engine::session::run_lock_name;
use retort_engine::split::Flavor;
use retort_engine::statement::{Ident, Name, Object, ObjectKind};
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, FromSql, SqlBrowser, ToSql};
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
            // SQL Server reads 0 as "do not wait" and -1 as "no limit"; retort's 0 means no limit.
            SessionSetting::LockTimeout(timeout) if timeout.is_zero() => {
                vec![SessionStatement::required("SET LOCK_TIMEOUT -1")]
            }
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
    /// A named instance (`host\instance`, `%5C` in a URL), found through the
    /// SQL Browser when no port is given.
    pub instance: Option<String>,
    /// `None`: 1433, or the instance's port.
    pub port: Option<u16>,
    /// From the path, or `?database=` (the form go-mssqldb and dbmate use).
    pub database: Option<String>,
    pub user: String,
    pub password: String,
    pub trust_server_certificate: bool,
    pub encryption: EncryptionLevel,
}

/// The query keys a SQL Server URL may carry.
const URL_KEYS: [&str; 4] = ["database", "encrypt", "trust_server_certificate", "trustservercertificate"];

/// Parses `mssql://user:password@host[\instance][:port]/database?options`.
///
/// `encrypt`: `true`/`yes`/`mandatory`/`required` (the default) encrypt the whole
/// session; `strict` is TDS 8 strict encryption; `false`/`no`/`optional` encrypt
/// the login only (as ADO.NET and go-mssqldb do); `disable` turns TLS off
/// entirely, the password included. Any other value, and any unknown key, is an
/// error: a typo must never send a password in clear.
pub fn parse_url(url: &str) -> Result<MssqlUrl, String> {
    if let Some(ado) =
        ["mssql:", "sqlserver:"].iter().find_map(|s| url.strip_prefix(s)).filter(|r| !r.starts_with("//"))
    {
        return parse_ado(ado);
    }
    let rest = url
        .strip_prefix("mssql://")
        .or_else(|| url.strip_prefix("sqlserver://"))
        .ok_or("a SQL Server URL starts with mssql:// or sqlserver://")?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, after) = main.rsplit_once('@').ok_or("the URL needs user:password@host")?;
    let (hostport, path) = after.split_once('/').unwrap_or((after, ""));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (user, password) = (percent_decode(user), percent_decode(password));
    if user.contains('\\') {
        return Err(format!(
            "`{user}` is a Windows login; retort connects with SQL Server logins only (no integrated authentication)"
        ));
    }
    let (host, port) = split_host_port(hostport)?;
    let host = percent_decode(host);
    let (host, instance) = match host.split_once('\\') {
        Some((host, instance)) => (host.to_string(), Some(instance.to_string())),
        None => (host, None),
    };
    let mut options = std::collections::HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase();
        if !URL_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown URL option `{key}` (known: {})", URL_KEYS.join(", ")));
        }
        options.insert(key, percent_decode(value));
    }
    // With `?database=` the path names the instance, as go-mssqldb writes it;
    // without, the path is the database.
    let path = Some(percent_decode(path)).filter(|p| !p.is_empty());
    let (instance, database) = match (options.get("database").filter(|d| !d.is_empty()).cloned(), path) {
        (Some(_), Some(_)) if instance.is_some() => {
            return Err("the URL names an instance twice: after the host and in its path".into());
        }
        (Some(db), path) => (instance.or(path), Some(db)),
        (None, path) => (instance, path),
    };
    finish(host, instance, port, database, user, password, &options)
}

fn finish(
    host: String,
    instance: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: String,
    password: String,
    options: &std::collections::HashMap<String, String>,
) -> Result<MssqlUrl, String> {
    let flag = |key: &str| options.get(key).map(|v| v.to_ascii_lowercase());
    let trust = match flag("trust_server_certificate").or_else(|| flag("trustservercertificate")).as_deref() {
        None | Some("false" | "no" | "0") => false,
        Some("true" | "yes" | "1") => true,
        Some(other) => return Err(format!("trust_server_certificate must be true or false, not `{other}`")),
    };
    let encryption = match flag("encrypt").as_deref() {
        None | Some("true" | "yes" | "1" | "mandatory" | "required") => EncryptionLevel::Required,
        Some("strict") => EncryptionLevel::Strict,
        Some("false" | "no" | "0" | "optional") => EncryptionLevel::Off,
        Some("disable") => EncryptionLevel::NotSupported,
        Some(other) => {
            return Err(format!(
                "encrypt must be true, strict, false (the login only) or disable (nothing), not `{other}`"
            ));
        }
    };
    Ok(MssqlUrl { host, instance, port, database, user, password, trust_server_certificate: trust, encryption })
}

/// The keys of an ADO.NET connection string retort reads (any case; spaces as written).
const ADO_KEYS: [&str; 14] = [
    "server",
    "data source",
    "address",
    "addr",
    "database",
    "initial catalog",
    "user id",
    "uid",
    "user",
    "password",
    "pwd",
    "encrypt",
    "trustservercertificate",
    "trust server certificate",
];

/// Reads an ADO.NET connection string, as .NET teams have them:
/// `Server=tcp:host\instance,port;Database=app;User Id=sa;Password=…;Encrypt=true`
/// (written in retort.toml as `mssql:Server=…`). `Encrypt` takes the values the
/// URL's `encrypt` does; an unknown key is an error.
pub fn parse_ado(ado: &str) -> Result<MssqlUrl, String> {
    let mut values = std::collections::HashMap::new();
    for (key, value) in ado_pairs(ado)? {
        let key = key.trim().to_ascii_lowercase();
        if !ADO_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown connection-string key `{key}` (known: {})", ADO_KEYS.join(", ")));
        }
        let name = match key.as_str() {
            "data source" | "address" | "addr" => "server",
            "initial catalog" => "database",
            "uid" | "user" => "user id",
            "pwd" => "password",
            "trust server certificate" => "trustservercertificate",
            other => other,
        };
        values.insert(name.to_string(), value);
    }
    let server = values.get("server").ok_or("the connection string names no Server")?;
    let server = server.strip_prefix("tcp:").unwrap_or(server);
    let (host, port) = match server.rsplit_once(',') {
        Some((host, port)) => (host, Some(port.trim().parse::<u16>().map_err(|_| format!("bad port `{port}`"))?)),
        None => (server, None),
    };
    let (host, instance) = match host.split_once('\\') {
        Some((host, instance)) => (host.to_string(), Some(instance.to_string())),
        None => (host.to_string(), None),
    };
    let user = values.get("user id").cloned().unwrap_or_default();
    if user.contains('\\') {
        return Err(format!("`{user}` is a Windows login; retort connects with SQL Server logins only"));
    }
    let mut options = std::collections::HashMap::new();
    if let Some(encrypt) = values.get("encrypt") {
        options.insert("encrypt".to_string(), encrypt.clone());
    }
    if let Some(trust) = values.get("trustservercertificate") {
        options.insert("trust_server_certificate".to_string(), trust.clone());
    }
    let password = values.get("password").cloned().unwrap_or_default();
    finish(host, instance, port, values.get("database").cloned(), user, password, &options)
}

/// The `key=value` pairs of a connection string: `;` separates them, and a value
/// in `'…'` or `"…"` may hold `;` (a doubled quote stands for one).
fn ado_pairs(ado: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = ado.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.trim().is_empty() {
            if chars.peek().is_none() {
                return Ok(pairs);
            }
            return Err("an empty key in the connection string".into());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        match chars.peek().copied() {
            Some(quote @ ('\'' | '"')) => {
                chars.next();
                loop {
                    match chars.next() {
                        Some(c) if c == quote && chars.peek() == Some(&quote) => {
                            chars.next();
                            value.push(quote);
                        }
                        Some(c) if c == quote => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("the value of `{}` has no closing quote", key.trim())),
                    }
                }
                let rest: String = chars.by_ref().take_while(|c| *c != ';').collect();
                if !rest.trim().is_empty() {
                    return Err(format!("`{}` after the quoted value of `{}`", rest.trim(), key.trim()));
                }
            }
            _ => value = chars.by_ref().take_while(|c| *c != ';').collect::<String>().trim().to_string(),
        }
        if key.contains(';') {
            return Err(format!("`{}` is not key=value", key.trim()));
        }
        pairs.push((key, value));
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ';') {
            chars.next();
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port `{p}`"));
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("an IPv6 host needs its closing `]`")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(port(p)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected `{after}` after the host")),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, p)) => Ok((host, Some(port(p)?))),
        None => Ok((hostport, None)),
    }
}

/// The tiberius configuration a URL and a target's settings make.
pub fn config(url: &MssqlUrl, options: &ConnectOptions) -> Config {
    let mut config = Config::new();
    config.host(&url.host);
    if let Some(port) = url.port {
        config.port(port);
    }
    if let Some(instance) = &url.instance {
        config.instance_name(instance);
    }
    if let Some(db) = &url.database {
        config.database(db);
    }
    config.application_name(&options.application_name);
    config.authentication(AuthMethod::sql_server(&url.user, &url.password));
    if url.trust_server_certificate {
        config.trust_cert();
    }
    config.encryption(url.encryption);
    // tiberius bounds every round trip to 30 s by default: a long CREATE INDEX or a
    // lock wait would end as an I/O error. Only the target's statement_timeout bounds it.
    config.command_timeout(options.statement_timeout);
    config
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
        let mut config = config(&url, options);
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

/// Maps a server error: 1222 (lock request time out) and 1205 (chosen as a
/// deadlock victim: the server has rolled the transaction back) are worth a retry.
fn sql_error(e: tiberius::error::Error) -> DriverError {
    match &e {
        tiberius::error::Error::Server(token) => error_for(token.code(), token.to_string()),
        _ => DriverError::Sql(e.to_string()),
    }
}

/// The engine's error for a server error `code`. A statement refused inside a
/// transaction (226 `ALTER DATABASE`, 574 full-text and others, 3021 `BACKUP`)
/// says how to run it.
fn error_for(code: u32, message: String) -> DriverError {
    match code {
        1222 | 1205 => DriverError::LockNotAvailable(message),
        226 | 574 | 3021 => DriverError::Sql(format!(
            "{message}; it cannot run inside a transaction: mark its revision `-- Transactional: false`"
        )),
        _ => DriverError::Sql(message),
    }
}

/// `text` as a literal part of a T-SQL `LIKE` pattern.
fn like_escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' | '%' | '_' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

/// What an `sp_getapplock` status means.
#[derive(Debug, PartialEq, Eq)]
enum Applock {
    Granted,
    TimedOut,
    /// Chosen as a deadlock victim: ask again.
    Retry,
    Failed(String),
}

fn applock_outcome(status: Option<i32>) -> Applock {
    match status {
        Some(0 | 1) => Applock::Granted,
        Some(-1) => Applock::TimedOut,
        Some(-3) => Applock::Retry,
        Some(-2) => Applock::Failed("sp_getapplock: the lock request was cancelled".into()),
        other => Applock::Failed(format!("sp_getapplock failed with status {other:?}")),
    }
}

/// Whether a batch must be the only one of its kind: `CREATE`/`ALTER` of a
/// procedure, function, trigger or view, `CREATE SCHEMA`, `CREATE DEFAULT`/`RULE`
/// take the whole batch, so nothing may be appended to it.
fn must_stand_alone(sql: &str) -> bool {
    let words: Vec<String> = code_words(sql).take(4).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or_default();
    let object = |word: &str| matches!(word, "PROCEDURE" | "PROC" | "FUNCTION" | "TRIGGER" | "VIEW");
    match (w(0), w(1), w(2)) {
        ("CREATE", "OR", "ALTER") => object(w(3)),
        ("CREATE", kind, _) => object(kind) || matches!(kind, "SCHEMA" | "DEFAULT" | "RULE"),
        ("ALTER", kind, _) => object(kind),
        _ => false,
    }
}

/// The upper-cased words of `sql`, comments skipped.
fn code_words(sql: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = sql;
    let mut code = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if code.len() > 200 {
            break;
        }
    }
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .into_iter()
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
    fn parses_urls() {
        let u = parse_url("mssql://sa:p%40ss@db.local:14330/app?trust_server_certificate=true").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.database.as_deref()), ("db.local", Some(14330), Some("app")));
        assert_eq!((u.user.as_str(), u.password.as_str()), ("sa", "p@ss"));
        assert!(u.trust_server_certificate);
        assert_eq!(u.encryption, EncryptionLevel::Required, "encrypted by default");
        let u = parse_url("sqlserver://sa:x@h").unwrap();
        assert_eq!((u.port, u.database, u.instance), (None, None, None));
        assert!(parse_url("postgres://x@y/z").is_err());
        assert!(parse_url("mssql://sa@h:notaport/db").is_err());
    }

    #[test]
    fn reads_the_database_from_the_path_or_the_query_and_instances_either_way() {
        let u = parse_url("sqlserver://sa:x@db/SQLEXPRESS?database=app").unwrap();
        assert_eq!(
            (u.instance.as_deref(), u.database.as_deref()),
            (Some("SQLEXPRESS"), Some("app")),
            "go-mssqldb's form"
        );
        let u = parse_url("mssql://sa:x@db%5CSQLEXPRESS/my%20db").unwrap();
        assert_eq!(
            (u.host.as_str(), u.instance.as_deref(), u.database.as_deref()),
            ("db", Some("SQLEXPRESS"), Some("my db"))
        );
        let u = parse_url("mssql://sa:x@[::1]:1444/app").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", Some(1444)));
        assert_eq!(parse_url("mssql://sa:x@[::1]/app").unwrap().port, None);
        let u = parse_url("mssql://sa:x@h?DATABASE=app").unwrap();
        assert_eq!(u.database.as_deref(), Some("app"), "keys in any case");
        assert!(parse_url("mssql://sa:x@h%5Ci/inst?database=d").unwrap_err().contains("instance twice"));
        assert!(parse_url("mssql://sa:x@h/app?datbase=x").unwrap_err().contains("unknown URL option `datbase`"));
        assert!(parse_url("mssql://CORP%5Cjane:x@h/app").unwrap_err().contains("Windows login"));
        assert!(parse_url("mssql://sa:x@[::1/app").is_err());
    }

    #[test]
    fn reads_ado_net_connection_strings() {
        let u = parse_url("mssql:Server=tcp:db.local\\SQLEXPRESS,14330;Initial Catalog=app;User ID=sa;Password='p;w''x';Encrypt=strict;TrustServerCertificate=True").unwrap();
        assert_eq!((u.host.as_str(), u.instance.as_deref(), u.port), ("db.local", Some("SQLEXPRESS"), Some(14330)));
        assert_eq!((u.database.as_deref(), u.user.as_str(), u.password.as_str()), (Some("app"), "sa", "p;w'x"));
        assert_eq!(u.encryption, EncryptionLevel::Strict);
        assert!(u.trust_server_certificate);
        let u = parse_url("sqlserver:Data Source=db;Database=app;UID=sa;PWD=x").unwrap();
        assert_eq!((u.port, u.encryption), (None, EncryptionLevel::Required));
        assert!(parse_url("mssql:Server=db;Encrypt=maybe").unwrap_err().contains("encrypt must be"));
        assert!(
            parse_url("mssql:Server=db;Conection Timeout=5").unwrap_err().contains("unknown connection-string key")
        );
        assert!(parse_url("mssql:Database=app").unwrap_err().contains("no Server"));
        assert!(parse_url("mssql:Server=db;User Id=CORP\\jane").unwrap_err().contains("Windows login"));
    }

    #[test]
    fn every_encrypt_value_is_understood_or_refused() {
        let level = |value: &str| parse_url(&format!("mssql://sa:x@h/app?encrypt={value}")).map(|u| u.encryption);
        for on in ["true", "TRUE", "yes", "1", "mandatory", "required"] {
            assert_eq!(level(on), Ok(EncryptionLevel::Required), "{on}");
        }
        assert_eq!(level("strict"), Ok(EncryptionLevel::Strict));
        for login_only in ["false", "no", "0", "optional"] {
            assert_eq!(level(login_only), Ok(EncryptionLevel::Off), "{login_only}: the login stays encrypted");
        }
        assert_eq!(level("disable"), Ok(EncryptionLevel::NotSupported));
        for typo in ["ture", "stict", "off", ""] {
            assert!(level(typo).is_err(), "{typo} must not turn TLS off");
        }
        assert!(parse_url("mssql://sa:x@h/app?trust_server_certificate=maybe").is_err());
    }

    #[test]
    fn the_config_takes_address_instance_and_no_30_second_cut() {
        let url = parse_url("mssql://sa:x@db.local:14330/app").unwrap();
        let options = ConnectOptions { application_name: "retort".into(), ..Default::default() };
        assert_eq!(config(&url, &options).get_addr(), "db.local:14330");
        let named = parse_url("mssql://sa:x@db.local%5CSQLEXPRESS/app").unwrap();
        assert!(config(&named, &options).get_addr().starts_with("db.local:"));
        assert_eq!(config(&url, &options).get_command_timeout(), None, "no cut unless a statement timeout is set");
        let bounded = ConnectOptions { statement_timeout: Some(Duration::from_secs(90)), ..options };
        assert_eq!(config(&url, &bounded).get_command_timeout(), Some(Duration::from_secs(90)));
    }

    #[test]
    fn batches_that_must_stand_alone_are_known() {
        for alone in [
            "CREATE PROCEDURE p AS SELECT 1",
            "-- note\ncreate or alter view v as select 1",
            "/* x */ CREATE TRIGGER t ON a AFTER INSERT AS SELECT 1",
            "ALTER FUNCTION f() RETURNS int AS BEGIN RETURN 1 END",
            "CREATE SCHEMA app",
        ] {
            assert!(must_stand_alone(alone), "{alone}");
        }
        for counted in
            ["UPDATE t SET a = 1", "CREATE TABLE p (id int)", "SET IDENTITY_INSERT t ON", "EXEC sp_rename 'a', 'b'"]
        {
            assert!(!must_stand_alone(counted), "{counted}");
        }
    }

    #[test]
    fn deadlocks_and_lock_time_outs_are_retried() {
        assert!(matches!(error_for(1205, "victim".into()), DriverError::LockNotAvailable(_)));
        assert!(matches!(error_for(1222, "lock".into()), DriverError::LockNotAvailable(_)));
        assert!(matches!(error_for(102, "syntax".into()), DriverError::Sql(_)));
        let hint = error_for(226, "ALTER DATABASE statement not allowed".into()).to_string();
        assert!(hint.contains("-- Transactional: false"), "{hint}");
        assert_eq!(applock_outcome(Some(0)), Applock::Granted);
        assert_eq!(applock_outcome(Some(1)), Applock::Granted);
        assert_eq!(applock_outcome(Some(-1)), Applock::TimedOut);
        assert_eq!(applock_outcome(Some(-3)), Applock::Retry);
        assert!(matches!(applock_outcome(Some(-999)), Applock::Failed(_)));
    }

    #[test]
    fn the_lock_names_the_same_table_alike_with_and_without_its_schema() {
        let bare = VersionTable { name: "alembic_version".into(), schema: None };
        let qualified = VersionTable { name: "alembic_version".into(), schema: Some("dbo".into()) };
        assert_eq!(lock_resource(&bare, "dbo"), lock_resource(&qualified, "dbo"));
        assert_ne!(lock_resource(&bare, "sales"), lock_resource(&qualified, "dbo"));
    }

    #[test]
    fn lock_names_match_literally_in_like_patterns() {
        assert_eq!(like_escaped("[dbo].[alembic_version]"), "[[]dbo].[[]alembic[_]version]");
        assert_eq!(like_escaped("a%b_c"), "a[%]b[_]c");
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
