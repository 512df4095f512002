//! Finding, checking and loading one plugin file.

use std::collections::HashMap;
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use retort_plugin_abi::{ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, MIN_TABLE_SIZE, RetortPlugin, RetortPluginEntry};

use crate::driver::PluginDriver;

/// Why a plugin file was refused. Each names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("plugin {path}: {message}")]
    File { path: String, message: String },
    #[error("plugin {path}: not a retort plugin ({message})")]
    NotAPlugin { path: String, message: String },
    #[error(
        "plugin {path}: built for plugin ABI {major}.{minor}, this retort speaks {}.{}; rebuild it against this retort's retort_plugin.h",
        ABI_MAJOR,
        ABI_MINOR
    )]
    AbiMismatch { path: String, major: u16, minor: u16 },
    #[error("plugin {path}: {message} (plugin ABI {major}.{minor}, this retort speaks {}.{})", ABI_MAJOR, ABI_MINOR)]
    BadTable { path: String, major: u16, minor: u16, message: String },
}

/// Loads the plugin at `path`, once per process (a second call returns the
/// same driver).
pub fn load(path: &Path) -> Result<Arc<PluginDriver>, LoadError> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<PluginDriver>>>> = OnceLock::new();
    let shown = path.display().to_string();
    let file = |message: String| LoadError::File { path: shown.clone(), message };
    let canonical = path.canonicalize().map_err(|e| file(e.to_string()))?;
    let mut loaded = LOADED.get_or_init(Default::default).lock().expect("plugin registry");
    if let Some(driver) = loaded.get(&canonical) {
        return Ok(driver.clone());
    }
    check_file(&canonical).map_err(file)?;
    let table = open_table(&canonical, &shown)?;
    let driver = Arc::new(PluginDriver::new(table, &shown)?);
    loaded.insert(canonical, driver.clone());
    Ok(driver)
}

/// A plugin runs with retort's rights: refuse a file that is not a regular file
/// or that users other than its owner may write (nor may they its folder).
fn check_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    let writable_by_others = |mode: u32| mode & 0o022 != 0;
    if writable_by_others(meta.permissions().mode()) {
        return Err(format!(
            "writable by other users (mode {:o}); refusing to load it: chmod go-w it",
            meta.permissions().mode() & 0o777
        ));
    }
    let folder = path.parent().map(std::fs::metadata).transpose().map_err(|e| e.to_string())?;
    if let Some(folder) = folder {
        let mode = folder.permissions().mode();
        // A sticky folder (/tmp) lets others add files but not replace this one.
        if writable_by_others(mode) && mode & 0o1000 == 0 {
            return Err(format!(
                "its folder is writable by other users (mode {:o}); refusing to load it",
                mode & 0o7777
            ));
        }
    }
    Ok(())
}

/// Opens the library, finds the entry symbol and copies the plugin's table,
/// after checking its version and size. The library is never unloaded.
fn open_table(path: &Path, shown: &str) -> Result<RetortPlugin, LoadError> {
    let not_a_plugin = |message: String| LoadError::NotAPlugin { path: shown.to_string(), message };
    // SAFETY: loading a library runs its initializers; the file passed the
    // ownership checks above and was configured by the user as a plugin.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| not_a_plugin(e.to_string()))?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the ABI's entry type; a plugin that exports it
    // under another type breaks the ABI contract it claims.
    let entry = unsafe { library.get::<RetortPluginEntry>(ENTRY_SYMBOL) }.map_err(|_| {
        not_a_plugin(format!("no `{}` symbol", String::from_utf8_lossy(&ENTRY_SYMBOL[..ENTRY_SYMBOL.len() - 1])))
    })?;
    // SAFETY: the entry takes no arguments and returns a pointer to a static table.
    let raw = unsafe { entry() };
    if raw.is_null() {
        return Err(not_a_plugin("its entry returned no table".into()));
    }
    // SAFETY: every table, of any version, starts with size, major and minor.
    let (size, major, minor) = unsafe { ((*raw).size as usize, (*raw).abi_major, (*raw).abi_minor) };
    if major != ABI_MAJOR {
        return Err(LoadError::AbiMismatch { path: shown.to_string(), major, minor });
    }
    if size < MIN_TABLE_SIZE {
        let message = format!("its table has {size} bytes, fewer than the {MIN_TABLE_SIZE} every ABI 1 table has");
        return Err(LoadError::BadTable { path: shown.to_string(), major, minor, message });
    }
    Ok(copy_table(raw, size))
}

/// The plugin's table as this host knows it: the bytes the plugin declares, the
/// entries beyond them absent (NULL).
fn copy_table(raw: *const RetortPlugin, size: usize) -> RetortPlugin {
    let mut table = std::mem::MaybeUninit::<RetortPlugin>::zeroed();
    let known = size.min(std::mem::size_of::<RetortPlugin>());
    // SAFETY: the plugin declares `size` readable bytes at `raw`; at most the
    // host's table size is copied into a zeroed table, and an all-zero table is a
    // valid one (NULL pointers, absent entries).
    unsafe {
        std::ptr::copy_nonoverlapping(raw.cast::<u8>(), table.as_mut_ptr().cast::<u8>(), known);
        table.assume_init()
    }
}

/// A static string of the table, as UTF-8.
pub(crate) fn fact(value: *const c_char) -> Option<String> {
    if value.is_null() {
        return None;
    }
    // SAFETY: the ABI says static facts are NUL-terminated and live as long as the
    // library, which is never unloaded.
    Some(unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
}
