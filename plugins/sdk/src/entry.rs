//! The `extern "C"` entry points: the only unsafe code of the SDK, all of it here.

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

/// The slot behind a handle.
unsafe fn slot<'a, P: Plugin>(conn: RetortConn) -> &'a Slot<P::Session> {
    // SAFETY: handles come from `open` below and live until `close`.
    unsafe { &*conn.cast::<Slot<P::Session>>() }
}

/// The session behind a handle.
unsafe fn session<'a, P: Plugin>(conn: RetortConn) -> &'a mut P::Session {
    // SAFETY: the host makes session calls one at a time; only `cancel` runs
    // beside them, and it touches the canceller, not the session.
    unsafe { &mut *slot::<P>(conn).session.get() }
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
        let canceller = session.canceller();
        let slot = Slot { session: UnsafeCell::new(session), canceller };
        // SAFETY: `conn` is the host's out-parameter.
        unsafe { *conn = Box::into_raw(Box::new(slot)).cast::<c_void>() };
        Ok(RETORT_OK)
    })
}

pub unsafe extern "C" fn close<P: Plugin>(conn: RetortConn) {
    // SAFETY: the handle came from `open` and is not used again; a panic in
    // the session's drop must not cross the boundary.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(conn.cast::<Slot<P::Session>>()) })));
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

pub unsafe extern "C" fn cancel<P: Plugin>(conn: RetortConn, err: *mut RetortError) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle; the canceller is meant to be called beside session calls.
        match &unsafe { slot::<P>(conn) }.canceller {
            Some(cancel) => cancel().map(|()| RETORT_OK),
            None => Ok(RETORT_OK),
        }
    })
}

pub unsafe extern "C" fn presence<P: Plugin>(
    conn: RetortConn,
    object: *const RetortObject,
    state: *mut i32,
    err: *mut RetortError,
) -> i32 {
    guarded(err, || {
        // SAFETY: the host passes an object valid during the call, and `state`.
        let object = unsafe { object_of(&*object) }?;
        let found = unsafe { session::<P>(conn) }.presence(&object)?;
        let answer = match found {
            None => RETORT_UNKNOWN,
            Some(Presence::Absent) => RETORT_ABSENT,
            Some(Presence::Present) => RETORT_PRESENT,
            Some(Presence::Invalid) => RETORT_INVALID,
        };
        unsafe { *state = answer };
        Ok(RETORT_OK)
    })
}

/// The host's object as owned values.
unsafe fn object_of(raw: &RetortObject) -> Result<Object, Error> {
    let kind = match raw.kind {
        RETORT_OBJECT_TABLE => ObjectKind::Table,
        RETORT_OBJECT_VIEW => ObjectKind::View,
        RETORT_OBJECT_INDEX => ObjectKind::Index,
        RETORT_OBJECT_SEQUENCE => ObjectKind::Sequence,
        RETORT_OBJECT_TYPE => ObjectKind::Type,
        RETORT_OBJECT_FUNCTION => ObjectKind::Function,
        RETORT_OBJECT_PROCEDURE => ObjectKind::Procedure,
        RETORT_OBJECT_TRIGGER => ObjectKind::Trigger,
        RETORT_OBJECT_COLUMN => ObjectKind::Column,
        RETORT_OBJECT_CONSTRAINT => ObjectKind::Constraint,
        RETORT_OBJECT_SCHEMA => ObjectKind::Schema,
        RETORT_OBJECT_DATABASE => ObjectKind::Database,
        other => return Err(Error::new(format!("retort asked about an unknown object kind {other}"))),
    };
    // SAFETY: the names' strings are the host's, valid during the call.
    let name = unsafe { name_of(&raw.name) }?.ok_or_else(|| Error::new("retort asked about an unnamed object"))?;
    Ok(Object { kind, name, table: unsafe { name_of(&raw.table) }? })
}

/// A host name; `None` when it has no name.
unsafe fn name_of(raw: &RetortName) -> Result<Option<Name>, Error> {
    let ident = |text: &str, flag: u32| Ident { text: text.to_string(), quoted: raw.quoted & flag != 0 };
    // SAFETY: NULL or NUL-terminated strings valid during the call.
    let (schema, name) = unsafe { (text(raw.schema)?, text(raw.name)?) };
    Ok(name.map(|name| Name {
        schema: schema.map(|s| ident(s, RETORT_QUOTED_SCHEMA)),
        name: ident(name, RETORT_QUOTED_NAME),
    }))
}

pub unsafe extern "C" fn unlock<P: Plugin>(conn: RetortConn, name: *const c_char, err: *mut RetortError) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle and the host's string.
        let name = unsafe { text(name) }?.unwrap_or_default();
        unsafe { session::<P>(conn) }.unlock(name)?;
        Ok(RETORT_OK)
    })
}
