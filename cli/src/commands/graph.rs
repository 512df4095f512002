//! Read-only graph commands: `heads`, `branches`, `history`, `show` (the work is
//! `retort_ops::listing`; this renders it).

use anyhow::{Result, bail};
use retort_history::draw::Notation;
use retort_ops::listing::{self, Listing, Range};
use serde_json::{Value, json};

use crate::args::{Format, Global, GraphNotation, HeadsArgs, HistoryArgs, ShowArgs, VerboseArgs};
use crate::output::{Exit, LineParts, document, revision_block, revision_line};

/// Prints listings as text (a `# name` header when several) or one JSON document.
fn print(global: &Global, listings: &[Listing], verbose: bool, parts: LineParts) -> Exit {
    match global.format {
        Format::Json | Format::Ndjson => {
            let targets: Vec<Value> =
                listings.iter().map(|l| json!({"target": l.target, "revisions": l.revisions_info()})).collect();
            outln!("{}", document(json!({ "targets": targets })));
        }
        Format::Text => {
            for l in listings {
                if listings.len() > 1 {
                    outln!("# {}", l.target);
                }
                for &i in &l.revisions {
                    let current = l.current.contains(&i);
                    if verbose {
                        outln!("{}", revision_block(&l.graph, i, current));
                    } else {
                        outln!("{}", revision_line(&l.graph, i, LineParts { current, ..parts }));
                    }
                }
            }
        }
    }
    Exit::Ok
}

/// `retort heads`.
pub fn heads(global: &Global, args: &HeadsArgs) -> Result<Exit> {
    let listings = listing::heads(&super::workspace(global)?, args.resolve_dependencies)?;
    Ok(print(global, &listings, args.verbose, LineParts::default()))
}

/// `retort branches`: branch points, newest first, each with where it branches to.
pub fn branches(global: &Global, args: &VerboseArgs) -> Result<Exit> {
    let listings = listing::branches(&super::workspace(global)?)?;
    if global.format == Format::Text && !args.verbose {
        for l in &listings {
            for &p in &l.revisions {
                outln!("{}", revision_line(&l.graph, p, LineParts::default()));
                for &c in l.graph.children(p) {
                    let child = revision_line(&l.graph, c, LineParts::default());
                    outln!("{} -> {child}", " ".repeat(l.graph.revision(p).id.len()));
                }
            }
        }
        return Ok(Exit::Ok);
    }
    Ok(if listings.is_empty() { Exit::Ok } else { print(global, &listings, args.verbose, LineParts::default()) })
}

/// `retort history [-r A:B] [-i]`, or `--applied`.
pub async fn history(global: &Global, args: &HistoryArgs) -> Result<Exit> {
    if args.applied {
        return applied(global).await;
    }
    if let Some(notation) = args.graph {
        if global.format != Format::Text {
            bail!("history --graph prints Mermaid or DOT text; leave out --format");
        }
        let notation = match notation {
            GraphNotation::Mermaid => Notation::Mermaid,
            GraphNotation::Dot => Notation::Dot,
        };
        out!("{}", listing::drawing(&super::workspace(global)?, notation)?);
        return Ok(Exit::Ok);
    }
    let range = Range::parse(args.range.as_deref(), args.indicate_current)?;
    let listings = listing::history(&super::workspace(global)?, &range).await?;
    let parts = LineParts { parents: true, tree: true, message: true, current: false };
    Ok(print(global, &listings, args.verbose, parts))
}

/// `retort history --applied`: each target's audit trail, one step per line.
async fn applied(global: &Global) -> Result<Exit> {
    let trails = listing::applied(&super::workspace(global)?).await?;
    match global.format {
        Format::Json | Format::Ndjson => outln!("{}", document(json!({ "targets": trails }))),
        Format::Text => {
            for trail in &trails {
                if trails.len() > 1 {
                    outln!("# {}", trail.target);
                }
                if let Some(error) = &trail.error {
                    eprintln!("error: {error}");
                    continue;
                }
                if trail.applied.is_empty() {
                    outln!("(no audit trail yet)");
                }
                let width = trail.applied.iter().map(|e| e.revision.len()).max().unwrap_or(0);
                for e in &trail.applied {
                    outln!(
                        "{}  {:<4}  {:<width$}  {:<6}  {:>7} ms  {}@{}  retort {}  checksum {}",
                        e.finished_at,
                        e.direction,
                        e.revision,
                        e.outcome,
                        e.duration_ms,
                        e.os_user,
                        e.host,
                        e.retort_version,
                        e.checksum
                    );
                }
            }
        }
    }
    Ok(if trails.iter().any(|t| t.error.is_some()) { Exit::TargetFailed } else { Exit::Ok })
}

/// `retort show <rev>...`.
pub fn show(global: &Global, args: &ShowArgs) -> Result<Exit> {
    let listings = listing::show(&super::workspace(global)?, &args.revisions)?;
    Ok(print(global, &listings, true, LineParts::default()))
}
