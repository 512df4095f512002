//! The script directory: reading revision files from `<script_location>/versions`
//! in Alembic's order, and writing new ones.
//!
//! Order matters: Alembic breaks ties between branches by the order files load in
//! (sorted names, a folder's own files before its subfolders, depth first), so the
//! loader reproduces exactly that walk.

mod constants;
pub mod python;
mod pytokens;
pub mod sql;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::ScriptError;
use crate::revision::Revision;

/// Reads every revision under `<script_location>/versions`, in load order. Large
/// histories are read by one thread per core, each taking a contiguous slice.
pub fn load(script_location: &Path) -> Result<Vec<Revision>, ScriptError> {
    let versions = versions_dir(script_location);
    if !versions.is_dir() {
        return Err(ScriptError::NoVersionsDir { path: script_location.to_path_buf() });
    }
    load_locations(&[versions], true)
}

/// Reads every revision in each folder in turn (Alembic's `version_locations`),
/// and in their subfolders when `recursive` (Alembic's `recursive_version_locations`).
pub fn load_locations(locations: &[PathBuf], recursive: bool) -> Result<Vec<Revision>, ScriptError> {
    let mut files = Vec::new();
    for location in locations {
        files.extend(revision_files(location, recursive)?);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().div_ceil(256)).max(1);
    let chunk = files.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Revision>, ScriptError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files.chunks(chunk).map(|part| scope.spawn(move || read_files(part))).collect();
        workers.into_iter().map(|w| w.join().expect("reader thread panicked")).collect()
    });
    let mut revisions = Vec::with_capacity(files.len());
    for part in parts {
        revisions.extend(part?);
    }
    Ok(revisions)
}

/// Reads files in order, skipping those that are not revisions.
fn read_files(paths: &[PathBuf]) -> Result<Vec<Revision>, ScriptError> {
    let mut revisions = Vec::with_capacity(paths.len());
    for path in paths {
        if let Some(revision) = read_file(path)? {
            revisions.push(revision);
        }
    }
    Ok(revisions)
}

/// `<script_location>/versions`.
pub fn versions_dir(script_location: &Path) -> PathBuf {
    script_location.join("versions")
}

/// Reads one file; `Ok(None)` for files that are not revisions.
pub fn read_file(path: &Path) -> Result<Option<Revision>, ScriptError> {
    let io = |source| ScriptError::Io { path: path.to_path_buf(), source };
    match path.extension().and_then(|e| e.to_str()) {
        Some("sql") => sql::parse(path, &fs::read_to_string(path).map_err(io)?).map(Some),
        Some("py") => python::parse(path, &fs::read_to_string(path).map_err(io)?),
        _ => Ok(None),
    }
}

/// The `.sql` and `.py` files in `dir` (and below it when `recursive`) in Alembic's order.
fn revision_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, ScriptError> {
    let io = |source| ScriptError::Io { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(io)?;
        let path = entry.path();
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            if name != "__pycache__" && !name.starts_with('.') {
                subdirs.push(name);
            }
        } else if !name.starts_with(".#") && (name.ends_with(".sql") || name.ends_with(".py")) {
            files.push(name);
        }
    }
    files.sort();
    subdirs.sort();
    let mut paths: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
    for sub in subdirs.into_iter().filter(|_| recursive) {
        paths.extend(revision_files(&dir.join(sub), recursive)?);
    }
    Ok(paths)
}

/// A file name for a new revision: `<id>_<slug>.sql`, the slug from the message.
pub fn file_name(id: &str, message: &str) -> String {
    // Alembic's slug: non-word characters (Unicode-aware) become spaces, words are
    // joined by `_` and lower-cased, and a slug over 40 characters is cut at its
    // last `_` within them (keeping that `_`).
    let spaced: String = message.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { ' ' }).collect();
    let mut slug = spaced.split_whitespace().collect::<Vec<_>>().join("_").to_lowercase();
    if slug.chars().count() > 40 {
        let cut: String = slug.chars().take(40).collect();
        slug = format!("{}_", cut.rsplit_once('_').map_or(cut.as_str(), |(kept, _)| kept));
    }
    if slug.is_empty() { format!("{id}.sql") } else { format!("{id}_{slug}.sql") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn loads_in_alembic_order_and_skips_non_revisions() {
        let tmp = tempfile::tempdir().unwrap();
        let v = tmp.path().join("versions");
        write(&v, "b_two.sql", "-- Revision ID: b\n-- Revises: a\n-- migrate:up\n");
        write(&v, "a_one.py", "revision = 'a'\ndown_revision = None\n");
        write(&v, "sub/0_three.sql", "-- Revision ID: c\n-- Revises: b\n-- migrate:up\n");
        write(&v, "aa/z_four.py", "revision = 'd'\ndown_revision = 'c'\n");
        write(&v, "__init__.py", "");
        write(&v, "README.md", "not a revision");
        write(&v, "__pycache__/x.py", "revision = 'cached'\n");
        let ids: Vec<String> = load(tmp.path()).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["a", "b", "d", "c"]);
    }

    #[test]
    fn missing_versions_dir_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("no `versions/` folder"), "{err}");
    }

    #[test]
    fn file_names_are_slugged() {
        assert_eq!(file_name("ab12", "Add payment_methods table!"), "ab12_add_payment_methods_table.sql");
        assert_eq!(file_name("ab12", ""), "ab12.sql");
        // What Alembic 1.20.1 named the same messages (`alembic revision -m ...`).
        assert_eq!(
            file_name("zz1", "Añadir tabla Ñandú-straße, 2 Größen!"),
            "zz1_añadir_tabla_ñandú_straße_2_größen.sql"
        );
        assert_eq!(
            file_name("zz2", "one two three four five six seven eight nine ten eleven"),
            "zz2_one_two_three_four_five_six_seven_eight_.sql"
        );
        assert_eq!(file_name("zz3", "under_score a__b"), "zz3_under_score_a__b.sql");
    }
}
