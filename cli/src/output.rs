//! Rendering: Alembic-style text lines, the JSON documents of DESIGN.md, errors.

use retort_history::graph::Graph;
use serde_json::{Value, json};

use crate::args::Format;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Ok = 0,
    TargetFailed = 1,
    Usage = 2,
    LockTimeout = 3,
    /// Stopped by SIGINT.
    Interrupted = 130,
    /// Stopped by SIGTERM.
    Terminated = 143,
}

/// Ends the process after stdout failed: quietly for a closed pipe (the reader
/// has what it wanted), with exit 1 for anything else, so output that did not get
/// written is never reported as success.
pub fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {error}");
    std::process::exit(1);
}

/// The problems an error stands for, one line each, and its `kind` in JSON output.
/// Errors of the operations layer carry both; anything else is bad usage.
fn problems(error: &anyhow::Error) -> (Vec<String>, &'static str) {
    match error.downcast_ref::<retort_ops::Error>() {
        Some(e) => (e.problems(), e.kind()),
        None => (vec![error_line(error)], "usage"),
    }
}

/// One line for a top-level error: `error: <context>: <cause>`.
pub fn error_line(error: &anyhow::Error) -> String {
    error.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

/// The version of retort's JSON and NDJSON output shapes (`docs/json-output.md`),
/// carried by every document and event as `format_version`. Raised only when a
/// field changes meaning or goes away; new fields may appear without it.
pub const FORMAT_VERSION: u32 = 1;

/// A top-level JSON document: `fields` and the format version.
pub fn document(fields: Value) -> Value {
    let mut doc = match fields {
        Value::Object(fields) => fields,
        _ => serde_json::Map::new(),
    };
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    Value::Object(doc)
}

/// An NDJSON event: `fields` with the format version and the time it happened,
/// `ts_ms` in milliseconds since the Unix epoch.
pub fn event(fields: Value) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut doc = document(fields);
    doc["ts_ms"] = json!(now.as_millis() as u64);
    doc
}

/// Prints a command's error on stderr (text) or as the JSON error document (stdout).
pub fn print_error(format: Format, error: &anyhow::Error) {
    let (problems, kind) = problems(error);
    match format {
        Format::Text => problems.iter().for_each(|line| eprintln!("error: {line}")),
        Format::Json | Format::Ndjson => {
            use std::io::Write as _;
            let error = json!({"kind": kind, "message": problems.join("; "), "problems": problems});
            let doc = document(json!({"ok": false, "error": error}));
            let _ = writeln!(std::io::stdout().lock(), "{doc}"); // the exit code says it failed either way
        }
    }
}

/// What a one-line revision shows besides its id.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineParts {
    pub parents: bool,
    pub tree: bool,
    pub message: bool,
    pub current: bool,
}

/// Alembic's one-line form: `a1 -> b2 (label) (head) (mergepoint), message`.
pub fn revision_line(graph: &Graph, index: usize, parts: LineParts) -> String {
    let rev = graph.revision(index);
    let mut text = rev.id.clone();
    if parts.parents {
        let down = if rev.down_revisions.is_empty() { "<base>".to_string() } else { rev.down_revisions.join(", ") };
        let deps = if rev.depends_on.is_empty() { String::new() } else { format!(" ({})", rev.depends_on.join(", ")) };
        text = format!("{down}{deps} -> {text}");
    }
    let labels = graph.effective_labels(index);
    if !labels.is_empty() {
        text.push_str(&format!(" ({})", labels.into_iter().collect::<Vec<_>>().join(", ")));
    }
    if graph.is_effective_head(index) {
        text.push_str(" (effective head)");
    } else if graph.is_head(index) {
        text.push_str(" (head)");
    }
    if parts.tree && graph.is_branch_point(index) {
        text.push_str(" (branchpoint)");
    }
    if parts.tree && graph.is_merge_point(index) {
        text.push_str(" (mergepoint)");
    }
    if parts.current {
        text.push_str(" (current)");
    }
    if parts.message {
        text.push_str(&format!(", {}", rev.message));
    }
    text
}

/// Alembic's verbose entry: `Rev:`, `Parent:`, `Path:` and the message.
pub fn revision_block(graph: &Graph, index: usize, current: bool) -> String {
    let rev = graph.revision(index);
    let mut out =
        format!("Rev: {}", revision_line(graph, index, LineParts { tree: true, current, ..Default::default() }));
    let parent = if rev.down_revisions.is_empty() { "<base>".to_string() } else { rev.down_revisions.join(", ") };
    out.push_str(&format!("\n{}: {parent}", if graph.is_merge_point(index) { "Merges" } else { "Parent" }));
    if !rev.depends_on.is_empty() {
        out.push_str(&format!("\nAlso depends on: {}", rev.depends_on.join(", ")));
    }
    if graph.is_branch_point(index) {
        out.push_str(&format!("\nBranches into: {}", graph.ids(graph.children(index)).join(", ")));
    }
    if !rev.branch_labels.is_empty() {
        out.push_str(&format!("\nBranch names: {}", rev.branch_labels.join(", ")));
    }
    out.push_str(&format!("\nPath: {}\n", rev.path.display()));
    for line in rev.message.lines() {
        out.push_str(&format!("\n    {line}"));
    }
    out.push_str(&format!("\n\n    Revision ID: {}\n    Revises: {}\n", rev.id, rev.down_revisions.join(", ")));
    if !rev.depends_on.is_empty() {
        out.push_str(&format!("    Depends On: {}\n", rev.depends_on.join(", ")));
    }
    if let Some(date) = &rev.create_date {
        out.push_str(&format!("    Create Date: {date}\n"));
    }
    if !rev.transactional {
        out.push_str("    Transactional: false\n");
    }
    out
}
