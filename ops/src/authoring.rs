//! `revision` and `merge`: write a new `.sql` revision file into the one
//! selected history.

use std::path::{Path, PathBuf};

use retort_config::Database;
use retort_history::author::{self, NewRevision};
use retort_history::revision::Revision;
use retort_history::script::sql;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

/// The file a new revision went to.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub revision: String,
    pub path: PathBuf,
}

/// `revision`: a new revision on the heads `request` names, written into
/// `version_path` (one of the history's version locations) or the first location.
pub fn revision(workspace: &Workspace, request: &NewRevision, version_path: Option<&Path>) -> Result<Written> {
    let db = workspace.single()?;
    let graph = workspace.graph(&db)?;
    let dir = match version_path {
        None => db.history.version_locations[0].clone(),
        Some(path) => location(&db, path)?,
    };
    let rev = author::new_revision(&graph, request, &dir).map_err(Error::author(label(&db)))?;
    write(&rev)
}

/// `--version-path` must name one of the history's version locations, as in Alembic.
fn location(db: &Database, path: &Path) -> Result<PathBuf> {
    let wanted = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let same =
        |location: &PathBuf| location.canonicalize().ok().zip(wanted.canonicalize().ok()).is_some_and(|(a, b)| a == b);
    match db.history.version_locations.iter().find(|l| same(l)) {
        Some(location) => Ok(location.clone()),
        None => {
            let known: Vec<String> = db.history.version_locations.iter().map(|l| l.display().to_string()).collect();
            Err(Error::Usage(format!(
                "--version-path {} is not one of the version locations of `{}` ({})",
                path.display(),
                db.name,
                known.join(", ")
            )))
        }
    }
}

/// `merge`: a revision whose parents are the heads `specs` name.
pub fn merge(workspace: &Workspace, specs: &[String], request: NewRevision) -> Result<Written> {
    let db = workspace.single()?;
    let graph = workspace.graph(&db)?;
    let mut rev = author::merge(&graph, specs, request).map_err(Error::author(label(&db)))?;
    if rev.path.parent().is_none_or(|p| p.as_os_str().is_empty()) {
        rev.path = db.history.version_locations[0].join(rev.path.file_name().unwrap_or_default());
    }
    write(&rev)
}

fn write(rev: &Revision) -> Result<Written> {
    std::fs::write(&rev.path, sql::render(rev, "", ""))
        .map_err(|cause| Error::Write { path: rev.path.display().to_string(), cause })?;
    Ok(Written { revision: rev.id.clone(), path: rev.path.clone() })
}
