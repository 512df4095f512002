//! `retort revision` and `retort merge`: write a new `.sql` revision file.

use anyhow::{Context as _, Result};
use retort_history::author::{self, NewRevision};
use retort_history::script::sql;
use serde_json::json;

use crate::args::{Format, Global, MergeArgs, RevisionArgs};
use crate::context::Context;
use crate::output::{Exit, document};

/// `retort revision -m ...`.
pub fn revision(global: &Global, args: &RevisionArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let db = ctx.single()?;
    let graph = ctx.graph(&db)?;
    let request = NewRevision {
        message: args.message.clone(),
        heads: args.head.iter().cloned().collect(),
        splice: args.splice,
        branch_labels: args.branch_labels.clone(),
        depends_on: args.depends_on.clone(),
        rev_id: args.rev_id.clone(),
        transactional: !args.no_transaction,
    };
    let dir = match &args.version_path {
        None => db.version_locations[0].clone(),
        Some(path) => version_path(&db, path)?,
    };
    let rev = author::new_revision(&graph, &request, &dir).with_context(|| format!("database `{}`", db.name))?;
    write(global, &rev)
}

/// `--version-path`: must name one of the history's version locations, as in Alembic.
fn version_path(db: &retort_config::Database, path: &std::path::Path) -> Result<std::path::PathBuf> {
    let wanted = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let same = |location: &std::path::PathBuf| {
        location.canonicalize().ok().zip(wanted.canonicalize().ok()).is_some_and(|(a, b)| a == b)
    };
    match db.version_locations.iter().find(|l| same(l)) {
        Some(location) => Ok(location.clone()),
        None => {
            let known: Vec<String> = db.version_locations.iter().map(|l| l.display().to_string()).collect();
            anyhow::bail!(
                "--version-path {} is not one of the version locations of `{}` ({})",
                path.display(),
                db.name,
                known.join(", ")
            )
        }
    }
}

/// `retort merge [revs...] -m ...`.
pub fn merge(global: &Global, args: &MergeArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let db = ctx.single()?;
    let graph = ctx.graph(&db)?;
    let request = NewRevision {
        message: args.message.clone(),
        branch_labels: args.branch_labels.clone(),
        rev_id: args.rev_id.clone(),
        transactional: true,
        ..Default::default()
    };
    let mut rev = author::merge(&graph, &args.revisions, request).with_context(|| format!("database `{}`", db.name))?;
    if rev.path.parent().is_none_or(|p| p.as_os_str().is_empty()) {
        rev.path = db.version_locations[0].clone().join(rev.path.file_name().unwrap_or_default());
    }
    write(global, &rev)
}

fn write(global: &Global, rev: &retort_history::revision::Revision) -> Result<Exit> {
    let text = sql::render(rev, "", "");
    std::fs::write(&rev.path, text).with_context(|| format!("cannot write {}", rev.path.display()))?;
    match global.format {
        Format::Json | Format::Ndjson => {
            outln!("{}", document(json!({"ok": true, "revision": rev.id, "path": rev.path.display().to_string()})))
        }
        Format::Text => outln!("Generating {} ... done", rev.path.display()),
    }
    Ok(Exit::Ok)
}
