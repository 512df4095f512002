//! retort-plugin-abi: the C ABI between retort and a driver loaded at run time.
//!
//! A plugin is a shared library exporting one function, [`ENTRY_SYMBOL`]
//! (`retort_plugin_entry`), that returns a pointer to a static [`RetortPlugin`]:
//! a table led by its own size and the ABI version, then the plugin's facts, then
//! `extern "C"` functions. The table only grows at its end; a host reads the
//! `size` bytes the plugin declares and treats every entry beyond them as absent,
//! so a newer host loads an older plugin. A different [`ABI_MAJOR`] is refused.
//!
//! Every call returns a status ([`RETORT_OK`], ...) and reports failure through a
//! [`RetortError`] out-parameter. Ownership: strings and rows the plugin hands
//! out belong to the plugin and are given back with its `free_string` and
//! `free_rows`; what the host passes in (URLs, SQL, settings) belongs to the host
//! and is valid only during the call. Static facts (`name`, `version`, `schemes`,
//! `quote`, `create_version_table`) live as long as the library is loaded and are
//! never freed. The C header is `include/retort_plugin.h`; a test checks that it
//! and these definitions agree. `docs/plugins.md` is the vendor's guide.
#![forbid(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_void};

/// The ABI's major version: a plugin of another major is refused.
pub const ABI_MAJOR: u16 = 1;
/// The ABI's minor version: entries added at the table's end.
pub const ABI_MINOR: u16 = 1;
/// The one symbol a plugin exports, NUL-terminated: a [`RetortPluginEntry`].
pub const ENTRY_SYMBOL: &[u8] = b"retort_plugin_entry\0";

/// The call succeeded.
pub const RETORT_OK: i32 = 0;
/// The call failed; the error out-parameter says why.
pub const RETORT_ERROR: i32 = 1;
/// `lock`: another session holds the run lock and `timeout_ms` passed.
pub const RETORT_LOCK_TIMEOUT: i32 = 2;
/// A statement gave up waiting for a table lock: the engine may retry the step.
pub const RETORT_LOCK_NOT_AVAILABLE: i32 = 3;

/// `flags`: DDL takes part in transactions.
pub const RETORT_TRANSACTIONAL_DDL: u32 = 1;
/// `flags`: a session can switch schemas (schema per tenant): `settings.schema`.
pub const RETORT_SCHEMAS: u32 = 2;

/// `lexer`: how revision bodies are split into statements. Standard SQL with
/// PostgreSQL's additions (`$$` quoting, nested comments).
pub const RETORT_LEXER_STANDARD: u32 = 0;
/// `lexer`: MySQL's (backticks, `#` comments, `DELIMITER`).
pub const RETORT_LEXER_MYSQL: u32 = 1;
/// `lexer`: SQLite's (`BEGIN … END` trigger bodies).
pub const RETORT_LEXER_SQLITE: u32 = 2;
/// `lexer`: SQL Server's (`GO` batches).
pub const RETORT_LEXER_SQLSERVER: u32 = 3;

/// `presence`: the kinds of catalog objects, [`RetortObject::kind`]: a table.
pub const RETORT_OBJECT_TABLE: u32 = 0;
/// A view or materialized view.
pub const RETORT_OBJECT_VIEW: u32 = 1;
/// An index (of [`RetortObject::table`] where the statement names it).
pub const RETORT_OBJECT_INDEX: u32 = 2;
/// A sequence.
pub const RETORT_OBJECT_SEQUENCE: u32 = 3;
/// A user-defined type.
pub const RETORT_OBJECT_TYPE: u32 = 4;
/// A function.
pub const RETORT_OBJECT_FUNCTION: u32 = 5;
/// A procedure.
pub const RETORT_OBJECT_PROCEDURE: u32 = 6;
/// A trigger of [`RetortObject::table`].
pub const RETORT_OBJECT_TRIGGER: u32 = 7;
/// A column of [`RetortObject::table`].
pub const RETORT_OBJECT_COLUMN: u32 = 8;
/// A named constraint of [`RetortObject::table`].
pub const RETORT_OBJECT_CONSTRAINT: u32 = 9;
/// A schema.
pub const RETORT_OBJECT_SCHEMA: u32 = 10;
/// A database.
pub const RETORT_OBJECT_DATABASE: u32 = 11;

/// `presence` answers: the object is not in the catalog.
pub const RETORT_ABSENT: i32 = 0;
/// `presence`: the object is in the catalog.
pub const RETORT_PRESENT: i32 = 1;
/// `presence`: the object is in the catalog but unusable (an index left invalid
/// by a failed concurrent build).
pub const RETORT_INVALID: i32 = 2;
/// `presence`: the plugin cannot tell for this kind of object.
pub const RETORT_UNKNOWN: i32 = -1;

/// [`RetortName::quoted`]: the schema was written in quotes (keeps its case).
pub const RETORT_QUOTED_SCHEMA: u32 = 1;
/// [`RetortName::quoted`]: the name was written in quotes (keeps its case).
pub const RETORT_QUOTED_NAME: u32 = 2;

/// The function a plugin exports as [`ENTRY_SYMBOL`].
pub type RetortPluginEntry = unsafe extern "C" fn() -> *const RetortPlugin;

/// Why a call failed. The plugin fills it; the host frees both strings with the
/// plugin's `free_string`.
#[repr(C)]
#[derive(Debug)]
pub struct RetortError {
    /// One line for the user; may be NULL.
    pub message: *mut c_char,
    /// The engine's own code (an SQLSTATE, an error number), where it has one; may be NULL.
    pub code: *mut c_char,
}

/// How to open a session. Host-owned, valid during `open` only. Zero and NULL
/// mean "not set".
#[repr(C)]
#[derive(Debug)]
pub struct RetortSettings {
    /// `sizeof(RetortSettings)` as the host built it; fields may be added at the end.
    pub size: u32,
    /// Whether the command writes: a read-only command must create nothing.
    pub writes: i32,
    /// The folder relative paths in the URL are resolved against.
    pub base_dir: *const c_char,
    /// The session's application name, where the engine has one.
    pub application_name: *const c_char,
    /// No statement runs longer than this, where the engine can say so.
    pub statement_timeout_ms: u64,
    /// No statement waits longer for a table lock, where the engine can say so.
    pub lock_timeout_ms: u64,
    /// The schema the session works in (schema per tenant), with [`RETORT_SCHEMAS`].
    pub schema: *const c_char,
}

/// Rows of a query as text, row-major: `cells[row * columns + column]`, NULL
/// for SQL NULL. Plugin-owned; the host gives them back with `free_rows`.
#[repr(C)]
#[derive(Debug)]
pub struct RetortRows {
    pub rows: u64,
    pub columns: u32,
    pub cells: *mut *mut c_char,
}

/// A possibly schema-qualified name as a statement wrote it, without quotes.
/// Host-owned, valid during the call.
#[repr(C)]
#[derive(Debug)]
pub struct RetortName {
    /// NULL: not qualified (the session's schema).
    pub schema: *const c_char,
    /// NULL: no name (a [`RetortObject::table`] that is not known).
    pub name: *const c_char,
    /// [`RETORT_QUOTED_SCHEMA`], [`RETORT_QUOTED_NAME`]: which parts were quoted,
    /// so that the plugin folds the others as its engine does.
    pub quoted: u32,
}

/// A catalog object that a statement of a non-transactional revision creates or
/// drops, for `presence`. Host-owned, valid during the call.
#[repr(C)]
#[derive(Debug)]
pub struct RetortObject {
    /// `sizeof(RetortObject)` as the host built it; fields may be added at the end.
    pub size: u32,
    /// [`RETORT_OBJECT_TABLE`], ...
    pub kind: u32,
    pub name: RetortName,
    /// The table the object belongs to: always set for columns and constraints,
    /// set for triggers and indexes where the statement names it.
    pub table: RetortName,
}

/// An open session, the plugin's own.
pub type RetortConn = *mut c_void;

/// The plugin's table. Entries up to `free_string` are required in every
/// plugin of this major version; the ones after it are optional (NULL or beyond
/// `size`: absent).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RetortPlugin {
    /// `sizeof(RetortPlugin)` as the plugin was built: how many bytes to read.
    pub size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    /// The plugin's name, e.g. `duckdb`.
    pub name: *const c_char,
    /// The plugin's own version, e.g. `1.2.0`.
    pub version: *const c_char,
    /// URL schemes it serves, comma-separated, e.g. `duckdb` or `pq,libpq`.
    pub schemes: *const c_char,
    /// [`RETORT_TRANSACTIONAL_DDL`], [`RETORT_SCHEMAS`].
    pub flags: u32,
    /// How revision bodies are split: [`RETORT_LEXER_STANDARD`], ...
    pub lexer: u32,
    /// The identifier quote character; NULL for the standard `"`.
    pub quote: *const c_char,
    /// The version table's `CREATE TABLE`, with `{table}` where its quoted name
    /// goes; NULL for the standard one.
    pub create_version_table: *const c_char,
    /// The `CREATE TABLE` of the progress table of non-transactional revisions,
    /// with `{table}`; NULL for the standard one (`docs/plugins.md` lists its columns).
    pub create_progress_table: *const c_char,
    /// Opens a session on `url`; on success stores it in `*conn`.
    pub open:
        Option<unsafe extern "C" fn(*const c_char, *const RetortSettings, *mut RetortConn, *mut RetortError) -> i32>,
    /// Closes a session; the handle is not used again.
    pub close: Option<unsafe extern "C" fn(RetortConn)>,
    /// Runs one statement; stores the rows affected (0 where unknown).
    pub execute: Option<unsafe extern "C" fn(RetortConn, *const c_char, *mut u64, *mut RetortError) -> i32>,
    /// Runs a query and stores its rows as text.
    pub query: Option<unsafe extern "C" fn(RetortConn, *const c_char, *mut RetortRows, *mut RetortError) -> i32>,
    /// Gives back rows from `query`.
    pub free_rows: Option<unsafe extern "C" fn(*mut RetortRows)>,
    /// Whether table `name` exists, in `schema` (NULL: the session's); stores 1 or 0.
    pub table_exists:
        Option<unsafe extern "C" fn(RetortConn, *const c_char, *const c_char, *mut i32, *mut RetortError) -> i32>,
    /// Gives back a string the plugin handed out (error messages and codes).
    pub free_string: Option<unsafe extern "C" fn(*mut c_char)>,
    /// Starts a transaction; absent: the host runs `BEGIN`.
    pub begin: Option<unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32>,
    /// Commits; absent: the host runs `COMMIT`.
    pub commit: Option<unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32>,
    /// Rolls back; absent: the host runs `ROLLBACK`.
    pub rollback: Option<unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32>,
    /// Takes the run lock `name` for the session, waiting at most `timeout_ms`;
    /// [`RETORT_LOCK_TIMEOUT`] when it could not. Absent: runs take no lock.
    pub lock: Option<unsafe extern "C" fn(RetortConn, *const c_char, u64, *mut RetortError) -> i32>,
    /// Releases the run lock `name`.
    pub unlock: Option<unsafe extern "C" fn(RetortConn, *const c_char, *mut RetortError) -> i32>,
    /// Whether statement `sql` of a non-transactional revision may run inside a
    /// transaction together with its progress record (1) or must run in
    /// autocommit (0). Absent: data changes only share one.
    pub shares_transaction: Option<unsafe extern "C" fn(*const c_char) -> i32>,
    /// Asks the server to stop what the session is running now, so that an
    /// interrupted run stops promptly. Called from another thread while another
    /// call on the same session is in progress, or while none is (then it does
    /// nothing); never at the same time as `close`. Absent: an interrupted run
    /// waits for the running statement. Since ABI 1.1.
    pub cancel: Option<unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32>,
    /// Whether `object` exists in the catalog as the session sees it: stores
    /// [`RETORT_PRESENT`], [`RETORT_ABSENT`], [`RETORT_INVALID`] or
    /// [`RETORT_UNKNOWN`]. After a run died while a statement of a
    /// non-transactional revision ran, the next run asks it to tell whether that
    /// statement took effect. Absent: always unknown (the user decides with
    /// `retort resolve`). Since ABI 1.1.
    pub presence: Option<unsafe extern "C" fn(RetortConn, *const RetortObject, *mut i32, *mut RetortError) -> i32>,
    /// The `CREATE TABLE` of the audit table, with `{table}`; NULL (or absent) for
    /// the standard one (`docs/plugins.md` lists its columns). Since ABI 1.1.
    pub create_audit_table: *const c_char,
}

// The table holds pointers to static data and functions: a plugin's table is
// shared by every thread of the host.
unsafe impl Sync for RetortPlugin {}
unsafe impl Send for RetortPlugin {}

/// The size of the smallest table of this major version: up to `free_string`.
pub const MIN_TABLE_SIZE: usize = std::mem::offset_of!(RetortPlugin, begin);
