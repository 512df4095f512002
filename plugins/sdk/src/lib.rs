//! retort-plugin-sdk: a retort driver plugin in safe Rust.
//!
//! Implement [`Plugin`] (the facts and `open`) and [`Session`] (what one open
//! session does), then export the plugin with [`export_plugin!`]; build the crate
//! as a `cdylib`. The SDK writes the C ABI's table and its `extern "C"` entry
//! points: every call is wrapped so that a panic becomes an error carrying its
//! message instead of crossing the boundary, strings and rows handed to retort
//! are freed by the SDK, and sessions are boxed behind the handle. A vendor's
//! crate needs no `unsafe`. `docs/plugins.md` walks through a whole plugin.

use std::cell::UnsafeCell;
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
    /// The audit table's `CREATE TABLE` with `{table}`, where the standard one
    /// does not fit (`docs/plugins.md` lists its columns).
    const CREATE_AUDIT_TABLE: Option<&'static CStr> = None;
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
    /// Whether `object` exists in the catalog as this session sees it; `None`
    /// when this engine cannot tell for its kind. After a run died while a
    /// statement of a non-transactional revision ran, the next run asks it
    /// whether that statement took effect. The default: cannot tell.
    fn presence(&mut self, _object: &Object) -> Result<Option<Presence>, Error> {
        Ok(None)
    }
    /// A function that asks the engine to stop what this session runs, called
    /// from another thread while a call of this session is in progress (or none
    /// is), so that an interrupted run stops promptly. Asked for once, right
    /// after `open`. The default: none (an interrupted run waits).
    fn canceller(&self) -> Option<Cancel> {
        None
    }
}

/// Stops what a session runs; see [`Session::canceller`].
pub type Cancel = Box<dyn Fn() -> Result<(), Error> + Send + Sync>;

/// The kinds of catalog objects [`Session::presence`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    View,
    Index,
    Sequence,
    /// A user-defined type.
    Type,
    Function,
    Procedure,
    /// A trigger of [`Object::table`].
    Trigger,
    /// A column of [`Object::table`].
    Column,
    /// A named constraint of [`Object::table`].
    Constraint,
    Schema,
    Database,
}

/// An identifier as the statement wrote it, without quotes; a quoted one keeps
/// its case, an unquoted one folds as the engine folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub text: String,
    pub quoted: bool,
}

/// A possibly schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub schema: Option<Ident>,
    pub name: Ident,
}

/// A catalog object a statement creates or drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub name: Name,
    /// The table it belongs to: always set for columns and constraints, set for
    /// triggers and indexes where the statement names it.
    pub table: Option<Name>,
}

/// Whether a catalog object exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    Present,
    /// Present but unusable (an index a failed concurrent build left behind).
    Invalid,
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
        cancel: Some(entry::cancel::<P>),
        presence: Some(entry::presence::<P>),
        create_audit_table: P::CREATE_AUDIT_TABLE.map_or(std::ptr::null(), CStr::as_ptr),
    }
}

/// What a handle points to: the session, used one call at a time, and its
/// canceller, used from any thread beside those calls.
struct Slot<S> {
    session: UnsafeCell<S>,
    canceller: Option<Cancel>,
}

mod entry;
