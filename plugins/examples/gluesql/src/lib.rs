//! retort-gluesql: a retort driver plugin written through the SDK, with no
//! `unsafe`, driving GlueSQL, an embedded SQL engine in Rust, on redb files.
//! URLs are `gluesql://relative/path.redb` (relative to the config) or
//! `gluesql:///absolute/path.redb`.
//!
//! A redb file is opened once per process: the sessions of one file share it,
//! and the run lock is held per file among them (another process cannot open a
//! file this one holds). DDL is transactional. GlueSQL has no `VARCHAR(n)` and
//! cannot update a primary key, so the version table's `version_num` is a unique
//! `TEXT` and the progress table uses `TEXT` too.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use gluesql::prelude::{Glue, Payload, RedbStorage, Value};
use retort_plugin_sdk::{Error, Plugin, Session, Settings, export_plugin};

struct GlueSql;

/// One open redb file, shared by the sessions on it.
type Shared = Arc<Mutex<Glue<RedbStorage>>>;

/// The open files by path, held weakly: a file closes with its last session.
type OpenFiles = Mutex<HashMap<PathBuf, Weak<Mutex<Glue<RedbStorage>>>>>;

/// A session on one file.
struct GlueSession {
    glue: Shared,
    path: PathBuf,
    /// The run locks this session holds, by name.
    locks: Vec<String>,
    /// A read-only session on a file that does not exist works on a scratch file,
    /// removed when it closes.
    scratch: Option<PathBuf>,
}

/// Open files, so that two sessions on one file share it.
fn open_files() -> &'static OpenFiles {
    static FILES: OnceLock<OpenFiles> = OnceLock::new();
    FILES.get_or_init(Default::default)
}

/// Run locks held in this process: (file, lock name).
fn held_locks() -> &'static Mutex<Vec<(PathBuf, String)>> {
    static LOCKS: OnceLock<Mutex<Vec<(PathBuf, String)>>> = OnceLock::new();
    LOCKS.get_or_init(Default::default)
}

fn shared(path: &Path) -> Result<Shared, Error> {
    let mut files = open_files().lock().map_err(|_| Error::new("plugin state poisoned"))?;
    if let Some(glue) = files.get(path).and_then(Weak::upgrade) {
        return Ok(glue);
    }
    let storage = RedbStorage::new(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let glue = Arc::new(Mutex::new(Glue::new(storage)));
    files.insert(path.to_path_buf(), Arc::downgrade(&glue));
    Ok(glue)
}

impl Plugin for GlueSql {
    type Session = GlueSession;
    const NAME: &'static CStr = c"gluesql";
    const VERSION: &'static CStr = c"0.1.0";
    const SCHEMES: &'static CStr = c"gluesql";
    const TRANSACTIONAL_DDL: bool = true;
    const RUN_LOCK: bool = true;
    // GlueSQL's transactions cover every statement it has.
    const SHARES_TRANSACTION: Option<fn(&str) -> bool> = Some(|_| true);
    const CREATE_VERSION_TABLE: Option<&'static CStr> =
        Some(c"CREATE TABLE {table} (version_num TEXT NOT NULL UNIQUE)");
    const CREATE_AUDIT_TABLE: Option<&'static CStr> = Some(
        c"CREATE TABLE {table} (revision TEXT NOT NULL, direction TEXT NOT NULL, checksum TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, host TEXT NOT NULL, os_user TEXT NOT NULL, retort_version TEXT NOT NULL, outcome TEXT NOT NULL)",
    );
    const CREATE_PROGRESS_TABLE: Option<&'static CStr> = Some(
        c"CREATE TABLE {table} (revision TEXT NOT NULL PRIMARY KEY, direction TEXT NOT NULL, statements_done INTEGER NOT NULL, checksum TEXT NOT NULL, running INTEGER NULL, running_checksum TEXT NULL)",
    );

    fn open(url: &str, settings: &Settings) -> Result<GlueSession, Error> {
        let rest = url.strip_prefix("gluesql://").ok_or_else(|| Error::new(format!("not a gluesql:// URL: {url}")))?;
        let path = settings.base_dir.join(rest);
        let (path, scratch) = if settings.writes || path.exists() {
            (path, None)
        } else {
            let scratch =
                std::env::temp_dir().join(format!("retort-gluesql-{}-{:?}.redb", std::process::id(), Instant::now()));
            (scratch.clone(), Some(scratch))
        };
        Ok(GlueSession { glue: shared(&path)?, path, locks: Vec::new(), scratch })
    }
}

impl GlueSession {
    fn run(&mut self, sql: &str) -> Result<Vec<Payload>, Error> {
        let mut glue = self.glue.lock().map_err(|_| Error::new("plugin state poisoned"))?;
        glue.execute(sql).map_err(|e| Error::new(e.to_string()))
    }
}

/// A value as text, as retort reads query results.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::I64(n) => Some(n.to_string()),
        other => Some(String::from(other)),
    }
}

impl Session for GlueSession {
    fn execute(&mut self, sql: &str) -> Result<u64, Error> {
        let payloads = self.run(sql)?;
        let affected = payloads.iter().map(|p| match p {
            Payload::Insert(n) | Payload::Update(n) | Payload::Delete(n) => *n as u64,
            _ => 0,
        });
        Ok(affected.sum())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
        let rows = self.run(sql)?.into_iter().flat_map(|payload| match payload {
            Payload::Select { rows, .. } => rows,
            _ => Vec::new(),
        });
        Ok(rows.map(|row| row.iter().map(text).collect()).collect())
    }

    fn table_exists(&mut self, _schema: Option<&str>, name: &str) -> Result<bool, Error> {
        let tables = self.run("SHOW TABLES")?;
        Ok(tables
            .iter()
            .any(|p| matches!(p, Payload::ShowVariable(v) if format!("{v:?}").contains(&format!("\"{name}\"")))))
    }

    fn lock(&mut self, name: &str, timeout: Duration) -> Result<bool, Error> {
        let started = Instant::now();
        loop {
            {
                let mut held = held_locks().lock().map_err(|_| Error::new("plugin state poisoned"))?;
                if !held.iter().any(|(path, n)| path == &self.path && n == name) {
                    held.push((self.path.clone(), name.to_string()));
                    self.locks.push(name.to_string());
                    return Ok(true);
                }
            }
            if started.elapsed() >= timeout {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20).min(timeout.saturating_sub(started.elapsed())));
        }
    }

    fn unlock(&mut self, name: &str) -> Result<(), Error> {
        let mut held = held_locks().lock().map_err(|_| Error::new("plugin state poisoned"))?;
        held.retain(|(path, n)| !(path == &self.path && n == name));
        self.locks.retain(|n| n != name);
        Ok(())
    }
}

impl Drop for GlueSession {
    fn drop(&mut self) {
        if let Ok(mut held) = held_locks().lock() {
            held.retain(|(path, n)| !(path == &self.path && self.locks.contains(n)));
        }
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_file(scratch);
        }
    }
}

export_plugin!(GlueSql);
