//! A loaded plugin as an engine driver: its dialect facts, and sessions whose
//! every call runs on tokio's blocking pool.

use std::ffi::{CStr, CString, c_char};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, VersionTable, standard_progress_table,
    standard_version_table,
};
use retort_engine::session::run_lock_name;
use retort_engine::split::Flavor;
use retort_plugin_abi::*;

use crate::load::{LoadError, fact};

/// A driver loaded from a plugin file.
pub struct PluginDriver {
    table: &'static RetortPlugin,
    name: String,
    version: String,
    schemes: Vec<String>,
    /// Shared with its sessions, which name run locks in it.
    dialect: &'static PluginDialect,
}

impl PluginDriver {
    /// The driver of a checked table; refuses a table that lacks a required
    /// entry or fact.
    pub(crate) fn new(table: RetortPlugin, path: &str) -> Result<PluginDriver, LoadError> {
        let bad = |message: String| LoadError::BadTable {
            path: path.to_string(),
            major: table.abi_major,
            minor: table.abi_minor,
            message,
        };
        let required = [
            ("open", table.open.is_some()),
            ("close", table.close.is_some()),
            ("execute", table.execute.is_some()),
            ("query", table.query.is_some()),
            ("free_rows", table.free_rows.is_some()),
            ("table_exists", table.table_exists.is_some()),
            ("free_string", table.free_string.is_some()),
        ];
        if let Some((entry, _)) = required.iter().find(|(_, present)| !present) {
            return Err(bad(format!("its table lacks the required entry `{entry}`")));
        }
        let name = fact(table.name).filter(|n| !n.is_empty()).ok_or_else(|| bad("it gives no name".into()))?;
        let schemes: Vec<String> = fact(table.schemes)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if schemes.is_empty() {
            return Err(bad("it serves no URL scheme".into()));
        }
        let flavor = match table.lexer {
            RETORT_LEXER_STANDARD => Flavor::Postgres,
            RETORT_LEXER_MYSQL => Flavor::MySql,
            RETORT_LEXER_SQLITE => Flavor::Sqlite,
            RETORT_LEXER_SQLSERVER => Flavor::SqlServer,
            other => return Err(bad(format!("unknown lexer {other}"))),
        };
        let quote = fact(table.quote).and_then(|q| q.chars().next()).unwrap_or('"');
        let capabilities = Capabilities {
            transactional_ddl: table.flags & RETORT_TRANSACTIONAL_DDL != 0,
            run_lock: table.lock.is_some() && table.unlock.is_some(),
            schemas: table.flags & RETORT_SCHEMAS != 0,
        };
        let dialect = PluginDialect {
            capabilities,
            flavor,
            quote,
            create: fact(table.create_version_table),
            create_progress: fact(table.create_progress_table),
        };
        let version = fact(table.version).unwrap_or_default();
        let (table, dialect) = (Box::leak(Box::new(table)), Box::leak(Box::new(dialect)));
        Ok(PluginDriver { table, name, version, schemes, dialect })
    }

    /// The plugin's own version.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A plugin's dialect facts.
struct PluginDialect {
    capabilities: Capabilities,
    flavor: Flavor,
    quote: char,
    /// `CREATE TABLE` of the version table with `{table}` (and `{constraint}`).
    create: Option<String>,
    /// `CREATE TABLE` of the progress table with `{table}`.
    create_progress: Option<String>,
}

impl Dialect for PluginDialect {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn quote_ident(&self, name: &str) -> String {
        let q = self.quote;
        format!("{q}{}{q}", name.replace(q, &format!("{q}{q}")))
    }

    fn create_version_table(&self, table: &VersionTable) -> String {
        let name = self.table_name(table);
        let constraint = self.quote_ident(&format!("{}_pkc", table.name));
        match &self.create {
            Some(template) => template.replace("{table}", &name).replace("{constraint}", &constraint),
            None => standard_version_table(&name, &constraint),
        }
    }

    fn create_progress_table(&self, table: &VersionTable) -> String {
        match &self.create_progress {
            Some(template) => template.replace("{table}", &self.table_name(&table.progress())),
            None => standard_progress_table(&self.table_name(&table.progress())),
        }
    }
}

#[async_trait]
impl Driver for PluginDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn schemes(&self) -> Vec<String> {
        self.schemes.clone()
    }

    fn dialect(&self) -> &dyn Dialect {
        self.dialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let (table, dialect) = (self.table, self.dialect);
        let plugin = self.name.clone();
        let text = |value: &str| c_string(value).map_err(DriverError::Connect);
        let url = text(options.url.expose())?;
        let base_dir = text(&options.base_dir.display().to_string())?;
        let application_name = text(&options.application_name)?;
        let schema = options.search_path.as_deref().map(text).transpose()?;
        let millis = |d: Option<Duration>| d.map_or(0, |d| d.as_millis().max(1) as u64);
        let (writes, statement_ms, lock_ms) =
            (options.writes, millis(options.statement_timeout), millis(options.ddl_lock_timeout));
        let handle = blocking(move || {
            let settings = RetortSettings {
                size: std::mem::size_of::<RetortSettings>() as u32,
                writes: i32::from(writes),
                base_dir: base_dir.as_ptr(),
                application_name: application_name.as_ptr(),
                statement_timeout_ms: statement_ms,
                lock_timeout_ms: lock_ms,
                schema: schema.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            };
            let mut conn: RetortConn = std::ptr::null_mut();
            let mut error = no_error();
            let open = table.open.expect("checked at load");
            // SAFETY: every pointer passed is valid for the call; `conn` and `error`
            // are out-parameters the plugin fills.
            let status = unsafe { open(url.as_ptr(), &settings, &mut conn, &mut error) };
            match status {
                RETORT_OK if !conn.is_null() => Ok(Handle(conn)),
                RETORT_OK => Err(DriverError::Connect(format!("plugin {plugin}: open gave no session"))),
                _ => Err(DriverError::Connect(take_error(table, &mut error, "open failed"))),
            }
        })
        .await??;
        Ok(Box::new(PluginConn { table, dialect, handle: Some(handle) }))
    }
}

/// A plugin's session handle, used by one task at a time.
#[derive(Clone, Copy)]
struct Handle(RetortConn);

impl Handle {
    /// The raw handle (a method, so that closures capture the `Send` wrapper).
    fn raw(self) -> RetortConn {
        self.0
    }
}

// SAFETY: the ABI lets a session be used from any thread, one call at a time;
// `PluginConn` makes every call through `&mut self`.
unsafe impl Send for Handle {}

/// One open session of a plugin.
struct PluginConn {
    table: &'static RetortPlugin,
    dialect: &'static PluginDialect,
    /// `None` once closed.
    handle: Option<Handle>,
}

impl PluginConn {
    fn handle(&self) -> Result<Handle, DriverError> {
        self.handle.ok_or_else(|| DriverError::Other("the plugin session is closed".into()))
    }

    /// Runs a call that takes the session and an error out-parameter, on the
    /// blocking pool, and maps its status.
    async fn call<T: Send + 'static>(
        &mut self,
        what: &'static str,
        run: impl FnOnce(&'static RetortPlugin, RetortConn, &mut RetortError) -> (i32, T) + Send + 'static,
    ) -> Result<T, DriverError> {
        let (table, handle) = (self.table, self.handle()?);
        blocking(move || {
            let mut error = no_error();
            let (status, value) = run(table, handle.raw(), &mut error);
            match status {
                RETORT_OK => Ok(value),
                RETORT_LOCK_NOT_AVAILABLE => Err(DriverError::LockNotAvailable(take_error(table, &mut error, what))),
                RETORT_LOCK_TIMEOUT => {
                    let _ = take_error(table, &mut error, what);
                    Err(DriverError::LockTimeout { waited: Duration::ZERO, holder: None })
                }
                _ => Err(DriverError::Sql(take_error(table, &mut error, what))),
            }
        })
        .await?
    }

    /// A statement-like call: `entry(conn, text, err)`.
    async fn with_text(
        &mut self,
        what: &'static str,
        text: &str,
        entry: unsafe extern "C" fn(RetortConn, *const c_char, *mut RetortError) -> i32,
    ) -> Result<(), DriverError> {
        let text = c_string(text).map_err(DriverError::Sql)?;
        // SAFETY: `text` lives through the call; the handle is open.
        self.call(what, move |_, conn, error| (unsafe { entry(conn, text.as_ptr(), error) }, ())).await
    }

    /// A transaction call, or its SQL when the plugin has no entry for it.
    async fn transaction(
        &mut self,
        entry: Option<unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32>,
        sql: &str,
    ) -> Result<(), DriverError> {
        match entry {
            // SAFETY: the handle is open; `error` is an out-parameter.
            Some(entry) => self.call("transaction", move |_, conn, error| (unsafe { entry(conn, error) }, ())).await,
            None => self.execute(sql).await.map(drop),
        }
    }
}

#[async_trait]
impl Connection for PluginConn {
    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let sql = c_string(sql).map_err(DriverError::Sql)?;
        let execute = self.table.execute.expect("checked at load");
        self.call("execute", move |_, conn, error| {
            let mut affected = 0u64;
            // SAFETY: `sql` lives through the call; `affected` and `error` are out-parameters.
            (unsafe { execute(conn, sql.as_ptr(), &mut affected, error) }, affected)
        })
        .await
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let sql = c_string(sql).map_err(DriverError::Sql)?;
        self.call("query", move |table, conn, error| {
            let mut rows = RetortRows { rows: 0, columns: 0, cells: std::ptr::null_mut() };
            let query = table.query.expect("checked at load");
            // SAFETY: `sql` lives through the call; `rows` is an out-parameter.
            let status = unsafe { query(conn, sql.as_ptr(), &mut rows, error) };
            if status != RETORT_OK {
                return (status, Vec::new());
            }
            let read = read_rows(&rows);
            // SAFETY: the rows came from this plugin's `query` and go back once.
            unsafe { table.free_rows.expect("checked at load")(&mut rows) };
            (status, read)
        })
        .await
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let schema = table.schema.as_deref().map(c_string).transpose().map_err(DriverError::Sql)?;
        let name = c_string(&table.name).map_err(DriverError::Sql)?;
        self.call("table_exists", move |plugin, conn, error| {
            let mut exists = 0i32;
            let schema_ptr = schema.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
            let entry = plugin.table_exists.expect("checked at load");
            // SAFETY: the strings live through the call; `exists` is an out-parameter.
            (unsafe { entry(conn, schema_ptr, name.as_ptr(), &mut exists, error) }, exists != 0)
        })
        .await
    }

    async fn begin(&mut self) -> Result<(), DriverError> {
        self.transaction(self.table.begin, "BEGIN").await
    }

    async fn commit(&mut self) -> Result<(), DriverError> {
        self.transaction(self.table.commit, "COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        self.transaction(self.table.rollback, "ROLLBACK").await
    }

    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let Some(lock) = self.table.lock else { return Ok(()) };
        let name = c_string(&run_lock_name(self.dialect, table, 255)).map_err(DriverError::Other)?;
        let millis = timeout.as_millis().min(u128::from(u64::MAX)) as u64;
        let started = Instant::now();
        let result = self
            .call("lock", move |_, conn, error| {
                // SAFETY: `name` lives through the call; `error` is an out-parameter.
                (unsafe { lock(conn, name.as_ptr(), millis, error) }, ())
            })
            .await;
        match result {
            Err(DriverError::LockTimeout { holder, .. }) => {
                Err(DriverError::LockTimeout { waited: started.elapsed(), holder })
            }
            other => other,
        }
    }

    async fn unlock(&mut self, table: &VersionTable) -> Result<(), DriverError> {
        let Some(unlock) = self.table.unlock else { return Ok(()) };
        let name = run_lock_name(self.dialect, table, 255);
        self.with_text("unlock", &name, unlock).await
    }

    fn shares_transaction(&self, statement: &str) -> bool {
        match (self.table.shares_transaction, CString::new(statement)) {
            // SAFETY: a pure question about a NUL-terminated statement valid during the call.
            (Some(shares), Ok(sql)) => (unsafe { shares(sql.as_ptr()) }) != 0,
            _ => retort_engine::statement::is_data_change(statement),
        }
    }

    async fn close(mut self: Box<Self>) -> Result<(), DriverError> {
        let (table, handle) = (self.table, self.handle.take());
        if let Some(handle) = handle {
            // SAFETY: the handle is open and not used again.
            blocking(move || unsafe { table.close.expect("checked at load")(handle.raw()) }).await?;
        }
        Ok(())
    }
}

impl Drop for PluginConn {
    /// A session dropped without `close` (a failed run) is still given back.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // SAFETY: the handle is open and not used again.
            unsafe { self.table.close.expect("checked at load")(handle.raw()) };
        }
    }
}

/// Runs a blocking plugin call off the async runtime.
async fn blocking<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(run).await.map_err(|e| DriverError::Other(format!("plugin call did not finish: {e}")))
}

fn no_error() -> RetortError {
    RetortError { message: std::ptr::null_mut(), code: std::ptr::null_mut() }
}

/// The error a plugin filled in, as one line (`message (code X)`), its strings
/// given back to the plugin.
fn take_error(table: &RetortPlugin, error: &mut RetortError, what: &str) -> String {
    let free = table.free_string.expect("checked at load");
    let take = |field: &mut *mut c_char| -> Option<String> {
        let raw = std::mem::replace(field, std::ptr::null_mut());
        if raw.is_null() {
            return None;
        }
        // SAFETY: the plugin hands out NUL-terminated strings and takes them back
        // with its `free_string`, once.
        let text = unsafe { CStr::from_ptr(raw) }.to_string_lossy().into_owned();
        unsafe { free(raw) };
        Some(text)
    };
    // One line, whatever the plugin sent: its lines joined.
    let message = take(&mut error.message)
        .map(|m| m.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{what} failed"));
    match take(&mut error.code) {
        Some(code) => format!("{message} (code {code})"),
        None => message,
    }
}

/// Copies a plugin's rows into owned text.
fn read_rows(rows: &RetortRows) -> Vec<Vec<Option<String>>> {
    let columns = rows.columns as usize;
    (0..rows.rows as usize)
        .map(|r| {
            (0..columns)
                .map(|c| {
                    // SAFETY: the plugin hands out `rows * columns` cells, each NULL or
                    // a NUL-terminated string, valid until `free_rows`.
                    let cell = unsafe { *rows.cells.add(r * columns + c) };
                    (!cell.is_null()).then(|| unsafe { CStr::from_ptr(cell) }.to_string_lossy().into_owned())
                })
                .collect()
        })
        .collect()
}

/// `text` as a C string; an error for text holding a NUL byte.
fn c_string(text: &str) -> Result<CString, String> {
    CString::new(text)
        .map_err(|_| format!("`{}` holds a NUL byte, which a plugin cannot be given", text.escape_debug()))
}
