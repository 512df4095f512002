//! One open session of a plugin: every call runs on tokio's blocking pool, one at
//! a time; its canceller may run beside them, never beside `close`.

use std::ffi::{CStr, CString, c_char};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use retort_engine::driver::{Canceller, Connection, DriverError, Presence, VersionTable};
use retort_engine::session::run_lock_name;
use retort_engine::statement::Object;
use retort_plugin_abi::*;

use crate::driver::PluginDialect;
use crate::object::ObjectText;

/// A plugin's session handle, used by one task at a time.
#[derive(Clone, Copy)]
pub(crate) struct Handle(pub(crate) RetortConn);

impl Handle {
    /// The raw handle (a method, so that closures capture the `Send` wrapper).
    fn raw(self) -> RetortConn {
        self.0
    }
}

// SAFETY: the ABI lets a session be used from any thread, one call at a time,
// and be cancelled from another thread at any time but during `close`;
// `Shared` enforces both.
unsafe impl Send for Handle {}

/// A session, shared by its connection, its canceller and the calls running on
/// the blocking pool. A call holds `busy` while it runs (a call whose future was
/// dropped, by an interrupt, still runs to its end); `close` takes `busy` and
/// then `handle`, so it never overlaps a call; `cancel` takes only `handle`, so
/// it runs beside a call but never beside `close`.
struct Shared {
    /// `None` once closed.
    handle: Mutex<Option<Handle>>,
    busy: Mutex<()>,
}

type SharedHandle = Arc<Shared>;

/// One open session of a plugin.
pub(crate) struct PluginConn {
    table: &'static RetortPlugin,
    dialect: &'static PluginDialect,
    handle: SharedHandle,
}

impl PluginConn {
    /// The session `handle` that `table`'s `open` gave.
    pub(crate) fn new(table: &'static RetortPlugin, dialect: &'static PluginDialect, handle: Handle) -> PluginConn {
        PluginConn {
            table,
            dialect,
            handle: Arc::new(Shared { handle: Mutex::new(Some(handle)), busy: Mutex::new(()) }),
        }
    }

    /// Runs a call that takes the session and an error out-parameter, on the
    /// blocking pool, and maps its status.
    async fn call<T: Send + 'static>(
        &mut self,
        what: &'static str,
        run: impl FnOnce(&'static RetortPlugin, RetortConn, &mut RetortError) -> (i32, T) + Send + 'static,
    ) -> Result<T, DriverError> {
        let (table, shared) = (self.table, self.handle.clone());
        blocking(move || {
            let _busy = shared.busy.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(handle) = *shared.handle.lock().unwrap_or_else(PoisonError::into_inner) else {
                return Err(DriverError::Other("the plugin session is closed".into()));
            };
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

    async fn presence(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        let Some(presence) = self.table.presence else { return Ok(None) };
        let object = ObjectText::new(object).map_err(DriverError::Other)?;
        let state = self
            .call("presence", move |_, conn, error| {
                let mut state = RETORT_UNKNOWN;
                // SAFETY: `object`'s strings live through the call; `state` is an out-parameter.
                (unsafe { presence(conn, &object.raw(), &mut state, error) }, state)
            })
            .await?;
        match state {
            RETORT_ABSENT => Ok(Some(Presence::Absent)),
            RETORT_PRESENT => Ok(Some(Presence::Present)),
            RETORT_INVALID => Ok(Some(Presence::Invalid)),
            RETORT_UNKNOWN => Ok(None),
            other => Err(DriverError::Other(format!("the plugin's presence gave the unknown answer {other}"))),
        }
    }

    fn canceller(&self) -> Option<Arc<dyn Canceller>> {
        let cancel = self.table.cancel?;
        Some(Arc::new(PluginCanceller { table: self.table, cancel, handle: self.handle.clone() }))
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        let (table, shared) = (self.table, self.handle.clone());
        blocking(move || {
            let _busy = shared.busy.lock().unwrap_or_else(PoisonError::into_inner);
            close_idle(table, &shared);
        })
        .await
    }
}

impl Drop for PluginConn {
    /// A session dropped without `close` (a failed or interrupted run) is still
    /// given back: at once when no call runs on it, else by a thread that waits
    /// for that call to end, so that dropping never blocks the async runtime.
    fn drop(&mut self) {
        let (table, shared) = (self.table, self.handle.clone());
        if let Ok(_idle) = shared.busy.try_lock() {
            close_idle(table, &shared);
            return;
        }
        std::thread::spawn(move || {
            let _busy = shared.busy.lock().unwrap_or_else(PoisonError::into_inner);
            close_idle(table, &shared);
        });
    }
}

/// Gives a session back to its plugin, once; the caller holds `busy`.
fn close_idle(table: &RetortPlugin, shared: &Shared) {
    let mut slot = shared.handle.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = slot.take() {
        // SAFETY: the handle is open and not used again; no call runs (the caller
        // holds `busy`) and no cancel (this holds `handle`).
        unsafe { table.close.expect("checked at load")(handle.raw()) };
    }
}

/// Cancels what a plugin session runs, through its `cancel` entry.
struct PluginCanceller {
    table: &'static RetortPlugin,
    cancel: unsafe extern "C" fn(RetortConn, *mut RetortError) -> i32,
    handle: SharedHandle,
}

#[async_trait]
impl Canceller for PluginCanceller {
    async fn cancel(&self) -> Result<(), DriverError> {
        let (table, cancel, handle) = (self.table, self.cancel, self.handle.clone());
        blocking(move || {
            let slot = handle.handle.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(open) = *slot else { return Ok(()) };
            let mut error = no_error();
            // SAFETY: the session is open and cannot close while `slot` is held; the
            // ABI lets `cancel` run beside another call on it.
            match unsafe { cancel(open.raw(), &mut error) } {
                RETORT_OK => Ok(()),
                _ => Err(DriverError::Other(take_error(table, &mut error, "cancel"))),
            }
        })
        .await?
    }
}

/// Runs a blocking plugin call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(run).await.map_err(|e| DriverError::Other(format!("plugin call did not finish: {e}")))
}

pub(crate) fn no_error() -> RetortError {
    RetortError { message: std::ptr::null_mut(), code: std::ptr::null_mut() }
}

/// The error a plugin filled in, as one line (`message (code X)`), its strings
/// given back to the plugin.
pub(crate) fn take_error(table: &RetortPlugin, error: &mut RetortError, what: &str) -> String {
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
pub(crate) fn c_string(text: &str) -> Result<CString, String> {
    CString::new(text)
        .map_err(|_| format!("`{}` holds a NUL byte, which a plugin cannot be given", text.escape_debug()))
}
