//! retort-plugin-sdk: a retort driver plugin in safe Rust.
//!
//! Implement [`Plugin`] (the facts and `open`) and [`Session`] (what one open
//! session does), then export the plugin with [`export_plugin!`]; build the crate
//! as a `cdylib`. The SDK writes the C ABI's table and its `extern "C"` entry
//! points: every call is wrapped so that a panic becomes an error carrying its
//! message instead of crossing the boundary, strings and rows handed to retort
//! are freed by the SDK, and sessions are boxed behind the handle. A vendor's
//! crate needs no `unsafe`. `docs/plugins.md` walks through a whole plugin.

use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

pub use retort_plugin_abi as abi;
use retort_plugin_abi::*;

/// How revision bodies are split into statements for this engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lexer {
    /// Standard SQL with PostgreSQL's `$$` quoting.
    Standard,
    MySql,
    Sqlite,
    SqlServer,
}

/// A driver plugin: its facts and how it opens sessions.
pub trait Plugin: 'static {
    /// One open session.
    type Session: Session;
    /// Its name, e.g. `c"duckdb"`.
    const NAME: &'static CStr;
    /// Its own version.
    const VERSION: &'static CStr;
    /// URL schemes it serves, comma-separated, e.g. `c"duckdb"`.
    const SCHEMES: &'static CStr;
    /// DDL takes part in transactions.
    const TRANSACTIONAL_DDL: bool;
    /// A session can switch schemas (schema per tenant, [`Settings::schema`]).
    const SCHEMAS: bool = false;
    /// How revision bodies are split.
    const LEXER: Lexer = Lexer::Standard;
    /// The identifier quote.
    const QUOTE: &'static CStr = c"\"";
    /// The version table's `CREATE TABLE` with `{table}` and `{constraint}`, where
    /// the standard one does not fit.
    const CREATE_VERSION_TABLE: Option<&'static CStr> = None;
    /// The progress table's `CREATE TABLE` with `{table}`, where the standard one
    /// does not fit (`docs/plugins.md` lists its columns).
    const CREATE_PROGRESS_TABLE: Option<&'static CStr> = None;
    /// Whether [`Session::lock`] and [`Session::unlock`] hold a run lock.
    const RUN_LOCK: bool = false;
    /// Which statements of a non-transactional revision may share a transaction
    /// with their progress record; `None`: data changes only.
    const SHARES_TRANSACTION: Option<fn(&str) -> bool> = None;

    /// Opens a session on `url`.
    fn open(url: &str, settings: &Settings) -> Result<Self::Session, Error>;
}

/// What one open session does. Calls come one at a time, from any thread.
pub trait Session: Send + 'static {
    /// Runs one statement; returns the rows affected (0 where unknown).
    fn execute(&mut self, sql: &str) -> Result<u64, Error>;
    /// Runs a query; its rows as text, `None` for SQL NULL.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error>;
    /// Whether table `name` exists in `schema` (`None`: the session's).
    fn table_exists(&mut self, schema: Option<&str>, name: &str) -> Result<bool, Error>;
    /// Takes the run lock `name`, waiting at most `timeout`; `Ok(false)` when
    /// another session held it all that time. Used with [`Plugin::RUN_LOCK`].
    fn lock(&mut self, _name: &str, _timeout: Duration) -> Result<bool, Error> {
        Ok(true)
    }
    /// Releases the run lock `name`.
    fn unlock(&mut self, _name: &str) -> Result<(), Error> {
        Ok(())
    }
}

/// How to open a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Whether the command writes: a read-only command must create nothing.
    pub writes: bool,
    /// The folder relative paths in the URL are resolved against.
    pub base_dir: PathBuf,
    pub application_name: String,
    pub statement_timeout: Option<Duration>,
    pub lock_timeout: Option<Duration>,
    /// The schema to work in (schema per tenant), with [`Plugin::SCHEMAS`].
    pub schema: Option<String>,
}

/// Why a call failed: a message for the user and the engine's code, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub code: Option<String>,
    /// A statement gave up waiting for a table lock: the engine may retry.
    pub lock_not_available: bool,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Error {
        Error { message: message.into(), code: None, lock_not_available: false }
    }

    /// This error with the engine's `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Error {
        self.code = Some(code.into());
        self
    }

    /// This error marked as a table lock time-out, worth a retry.
    pub fn lock_not_available(mut self) -> Error {
        self.lock_not_available = true;
        self
    }
}

impl<E: std::fmt::Display> From<E> for Error {
    fn from(error: E) -> Error {
        Error::new(error.to_string())
    }
}

/// Exports `$plugin` (a type implementing [`Plugin`]) as this library's retort
/// plugin. Use it once, in a `cdylib` crate.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// The plugin's entry: retort calls it once, after loading the library.
        #[unsafe(no_mangle)]
        pub extern "C" fn retort_plugin_entry() -> *const $crate::abi::RetortPlugin {
            static TABLE: std::sync::OnceLock<$crate::abi::RetortPlugin> = std::sync::OnceLock::new();
            TABLE.get_or_init($crate::table::<$plugin>)
        }
    };
}

/// The ABI table of plugin `P`; [`export_plugin!`] hands it to retort.
pub fn table<P: Plugin>() -> RetortPlugin {
    let flags =
        if P::TRANSACTIONAL_DDL { RETORT_TRANSACTIONAL_DDL } else { 0 } | if P::SCHEMAS { RETORT_SCHEMAS } else { 0 };
    let lexer = match P::LEXER {
        Lexer::Standard => RETORT_LEXER_STANDARD,
        Lexer::MySql => RETORT_LEXER_MYSQL,
        Lexer::Sqlite => RETORT_LEXER_SQLITE,
        Lexer::SqlServer => RETORT_LEXER_SQLSERVER,
    };
    RetortPlugin {
        size: std::mem::size_of::<RetortPlugin>() as u32,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        name: P::NAME.as_ptr(),
        version: P::VERSION.as_ptr(),
        schemes: P::SCHEMES.as_ptr(),
        flags,
        lexer,
        quote: P::QUOTE.as_ptr(),
        create_version_table: P::CREATE_VERSION_TABLE.map_or(std::ptr::null(), CStr::as_ptr),
        create_progress_table: P::CREATE_PROGRESS_TABLE.map_or(std::ptr::null(), CStr::as_ptr),
        open: Some(entry::open::<P>),
        close: Some(entry::close::<P>),
        execute: Some(entry::execute::<P>),
        query: Some(entry::query::<P>),
        free_rows: Some(entry::free_rows),
        table_exists: Some(entry::table_exists::<P>),
        free_string: Some(entry::free_string),
        begin: None,
        commit: None,
        rollback: None,
        lock: if P::RUN_LOCK { Some(entry::lock::<P>) } else { None },
        unlock: if P::RUN_LOCK { Some(entry::unlock::<P>) } else { None },
        shares_transaction: P::SHARES_TRANSACTION.map(|_| entry::shares_transaction::<P> as _),
    }
}

/// The `extern "C"` entry points: the only unsafe code, all of it here.
mod entry {
    use super::*;

    /// Runs `call`, turning an error or a panic into a status and `err`.
    fn guarded(err: *mut RetortError, call: impl FnOnce() -> Result<i32, Error>) -> i32 {
        let failed = match catch_unwind(AssertUnwindSafe(call)) {
            Ok(Ok(status)) => return status,
            Ok(Err(error)) => error,
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Error::new(format!("the plugin panicked: {text}"))
            }
        };
        if !err.is_null() {
            // SAFETY: the host passes a valid out-parameter (or NULL, checked).
            unsafe {
                (*err).message = owned(&failed.message);
                (*err).code = failed.code.as_deref().map_or(std::ptr::null_mut(), owned);
            }
        }
        if failed.lock_not_available { RETORT_LOCK_NOT_AVAILABLE } else { RETORT_ERROR }
    }

    /// `text` as a string retort frees with `free_string`.
    fn owned(text: &str) -> *mut c_char {
        CString::new(text.replace('\0', " ")).map_or(std::ptr::null_mut(), CString::into_raw)
    }

    /// A host string, valid during the call.
    unsafe fn text<'a>(ptr: *const c_char) -> Result<Option<&'a str>, Error> {
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: the host passes NUL-terminated strings valid during the call.
        let text = unsafe { CStr::from_ptr(ptr) };
        text.to_str().map(Some).map_err(|_| Error::new("retort passed text that is not UTF-8"))
    }

    /// The session behind a handle.
    unsafe fn session<'a, P: Plugin>(conn: RetortConn) -> &'a mut P::Session {
        // SAFETY: handles come from `open` below and are used one call at a time.
        unsafe { &mut *conn.cast::<P::Session>() }
    }

    fn millis(ms: u64) -> Option<Duration> {
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    pub unsafe extern "C" fn open<P: Plugin>(
        url: *const c_char,
        settings: *const RetortSettings,
        conn: *mut RetortConn,
        err: *mut RetortError,
    ) -> i32 {
        guarded(err, || {
            // SAFETY: the host passes a valid URL and settings for the call.
            let url = unsafe { text(url) }?.unwrap_or_default();
            let raw = unsafe { &*settings };
            let settings = Settings {
                writes: raw.writes != 0,
                base_dir: PathBuf::from(unsafe { text(raw.base_dir) }?.unwrap_or_default()),
                application_name: unsafe { text(raw.application_name) }?.unwrap_or_default().to_string(),
                statement_timeout: millis(raw.statement_timeout_ms),
                lock_timeout: millis(raw.lock_timeout_ms),
                schema: unsafe { text(raw.schema) }?.map(String::from),
            };
            let session = P::open(url, &settings)?;
            // SAFETY: `conn` is the host's out-parameter.
            unsafe { *conn = Box::into_raw(Box::new(session)).cast::<c_void>() };
            Ok(RETORT_OK)
        })
    }

    pub unsafe extern "C" fn close<P: Plugin>(conn: RetortConn) {
        // SAFETY: the handle came from `open` and is not used again; a panic in
        // the session's drop must not cross the boundary.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(conn.cast::<P::Session>()) })));
    }

    pub unsafe extern "C" fn execute<P: Plugin>(
        conn: RetortConn,
        sql: *const c_char,
        affected: *mut u64,
        err: *mut RetortError,
    ) -> i32 {
        guarded(err, || {
            // SAFETY: a live handle and the host's strings and out-parameter.
            let sql = unsafe { text(sql) }?.unwrap_or_default();
            let rows = unsafe { session::<P>(conn) }.execute(sql)?;
            unsafe { *affected = rows };
            Ok(RETORT_OK)
        })
    }

    pub unsafe extern "C" fn query<P: Plugin>(
        conn: RetortConn,
        sql: *const c_char,
        rows: *mut RetortRows,
        err: *mut RetortError,
    ) -> i32 {
        guarded(err, || {
            // SAFETY: a live handle and the host's strings and out-parameter.
            let sql = unsafe { text(sql) }?.unwrap_or_default();
            let found = unsafe { session::<P>(conn) }.query(sql)?;
            let columns = found.first().map_or(0, Vec::len);
            if found.iter().any(|row| row.len() != columns) {
                return Err(Error::new("the plugin returned rows of different lengths"));
            }
            let cells: Vec<*mut c_char> =
                found.iter().flatten().map(|cell| cell.as_deref().map_or(std::ptr::null_mut(), owned)).collect();
            let cells = Box::leak(cells.into_boxed_slice());
            unsafe {
                *rows = RetortRows { rows: found.len() as u64, columns: columns as u32, cells: cells.as_mut_ptr() };
            }
            Ok(RETORT_OK)
        })
    }

    pub unsafe extern "C" fn free_rows(rows: *mut RetortRows) {
        // SAFETY: the rows came from `query` above, whose cells are a leaked boxed
        // slice of `rows * columns` owned strings.
        unsafe {
            let rows = &mut *rows;
            let len = (rows.rows * u64::from(rows.columns)) as usize;
            let cells = Box::from_raw(std::ptr::slice_from_raw_parts_mut(rows.cells, len));
            for cell in cells.iter().filter(|c| !c.is_null()) {
                drop(CString::from_raw(*cell));
            }
            rows.cells = std::ptr::null_mut();
        }
    }

    pub unsafe extern "C" fn table_exists<P: Plugin>(
        conn: RetortConn,
        schema: *const c_char,
        name: *const c_char,
        exists: *mut i32,
        err: *mut RetortError,
    ) -> i32 {
        guarded(err, || {
            // SAFETY: a live handle and the host's strings and out-parameter.
            let (schema, name) = unsafe { (text(schema)?, text(name)?.unwrap_or_default()) };
            let found = unsafe { session::<P>(conn) }.table_exists(schema, name)?;
            unsafe { *exists = i32::from(found) };
            Ok(RETORT_OK)
        })
    }

    pub unsafe extern "C" fn free_string(text: *mut c_char) {
        if !text.is_null() {
            // SAFETY: every string handed out comes from `owned`.
            drop(unsafe { CString::from_raw(text) });
        }
    }

    pub unsafe extern "C" fn lock<P: Plugin>(
        conn: RetortConn,
        name: *const c_char,
        timeout_ms: u64,
        err: *mut RetortError,
    ) -> i32 {
        guarded(err, || {
            // SAFETY: a live handle and the host's string.
            let name = unsafe { text(name) }?.unwrap_or_default();
            let got = unsafe { session::<P>(conn) }.lock(name, Duration::from_millis(timeout_ms))?;
            Ok(if got { RETORT_OK } else { RETORT_LOCK_TIMEOUT })
        })
    }

    pub unsafe extern "C" fn shares_transaction<P: Plugin>(sql: *const c_char) -> i32 {
        let shares = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the host passes a NUL-terminated statement valid during the call.
            let sql = unsafe { text(sql) }.ok().flatten().unwrap_or_default();
            P::SHARES_TRANSACTION.is_some_and(|shares| shares(sql))
        }));
        i32::from(shares.unwrap_or(false))
    }

    pub unsafe extern "C" fn unlock<P: Plugin>(conn: RetortConn, name: *const c_char, err: *mut RetortError) -> i32 {
        guarded(err, || {
            // SAFETY: a live handle and the host's string.
            let name = unsafe { text(name) }?.unwrap_or_default();
            unsafe { session::<P>(conn) }.unlock(name)?;
            Ok(RETORT_OK)
        })
    }
}
