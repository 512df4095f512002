//! `retort revision` and `retort merge`: write a new `.sql` revision file.

use anyhow::Result;
use retort_history::author::NewRevision;
use retort_ops::authoring::{self, Written};
use retort_ops::expand_contract::{self, Rename};
use serde_json::json;

use crate::args::{Format, Global, MergeArgs, RevisionArgs};
use crate::output::{Exit, document};

/// `retort revision -m ...`, or `--rename-column TABLE.OLD:NEW`.
pub async fn revision(global: &Global, args: &RevisionArgs) -> Result<Exit> {
    if let Some(spec) = &args.rename_column {
        let rename = Rename::parse(spec, args.column_type.clone(), args.batch_size)?;
        let renamed = expand_contract::rename_column(&super::workspace(global)?, &rename).await?;
        for note in &renamed.notes {
            eprintln!("note: {note}");
        }
        return Ok(print_all(global, &renamed.written));
    }
    let request = NewRevision {
        message: args.message.clone(),
        heads: args.head.iter().cloned().collect(),
        splice: args.splice,
        branch_labels: args.branch_labels.clone(),
        depends_on: args.depends_on.clone(),
        rev_id: args.rev_id.clone(),
        transactional: !args.no_transaction,
    };
    let written = authoring::revision(&super::workspace(global)?, &request, args.version_path.as_deref())?;
    Ok(print(global, &written))
}

/// `retort merge [revs...] -m ...`.
pub fn merge(global: &Global, args: &MergeArgs) -> Result<Exit> {
    let request = NewRevision {
        message: args.message.clone(),
        branch_labels: args.branch_labels.clone(),
        rev_id: args.rev_id.clone(),
        transactional: true,
        ..Default::default()
    };
    let written = authoring::merge(&super::workspace(global)?, &args.revisions, request)?;
    Ok(print(global, &written))
}

/// The phases of a rename: one line each, or one JSON document listing them.
fn print_all(global: &Global, written: &[Written]) -> Exit {
    match global.format {
        Format::Json | Format::Ndjson => {
            let revisions: Vec<_> = written.iter().map(|w| json!({"revision": w.revision, "path": w.path})).collect();
            outln!("{}", document(json!({"ok": true, "revisions": revisions})))
        }
        Format::Text => written.iter().for_each(|w| outln!("Generating {} ... done", w.path.display())),
    }
    Exit::Ok
}

fn print(global: &Global, written: &Written) -> Exit {
    match global.format {
        Format::Json | Format::Ndjson => {
            outln!("{}", document(json!({"ok": true, "revision": written.revision, "path": written.path})))
        }
        Format::Text => outln!("Generating {} ... done", written.path.display()),
    }
    Exit::Ok
}
