//! Read-only graph commands: `heads`, `branches`, `history`, `show`.

use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use retort_config::Database;
use retort_history::graph::Graph;
use retort_history::plan;
use serde_json::{Value, json};

use super::run::read_rows;
use crate::args::{Format, Global, HeadsArgs, HistoryArgs, ShowArgs, VerboseArgs};
use crate::context::Context;
use crate::output::{Exit, LineParts, document, revision_block, revision_json, revision_line};

/// How one database's revisions are listed.
struct Listing<'a> {
    graph: &'a Graph,
    revisions: Vec<usize>,
    verbose: bool,
    parts: LineParts,
    current: Vec<usize>,
}

/// Prints listings as text (a `# name` header when several databases) or one JSON document.
fn print(global: &Global, listings: &[(String, Listing)]) -> Exit {
    match global.format {
        Format::Json | Format::Ndjson => {
            let targets: Vec<Value> = listings
                .iter()
                .map(|(name, l)| {
                    let revisions: Vec<Value> = l.revisions.iter().map(|&i| revision_json(l.graph, i)).collect();
                    json!({"target": name, "revisions": revisions})
                })
                .collect();
            outln!("{}", document(json!({ "targets": targets })));
        }
        Format::Text => {
            for (name, l) in listings {
                if listings.len() > 1 {
                    outln!("# {name}");
                }
                for &i in &l.revisions {
                    let current = l.current.contains(&i);
                    if l.verbose {
                        outln!("{}", revision_block(l.graph, i, current));
                    } else {
                        outln!("{}", revision_line(l.graph, i, LineParts { current, ..l.parts }));
                    }
                }
            }
        }
    }
    Exit::Ok
}

/// The selected histories (databases and fleets) with their graphs.
fn graphs(ctx: &Context) -> Result<Vec<(Database, Arc<Graph>)>> {
    ctx.histories().into_iter().map(|db| ctx.graph(&db).map(|g| (db, g))).collect()
}

/// `retort heads`.
pub fn heads(global: &Global, args: &HeadsArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let graphs = graphs(&ctx)?;
    let listings = graphs
        .iter()
        .map(|(db, g)| {
            let heads = if args.resolve_dependencies { g.real_heads() } else { g.heads() };
            let listing = Listing {
                graph: g,
                revisions: heads.to_vec(),
                verbose: args.verbose,
                parts: LineParts::default(),
                current: vec![],
            };
            (db.name.clone(), listing)
        })
        .collect::<Vec<_>>();
    Ok(print(global, &listings))
}

/// `retort branches`: branch points, newest first, each with where it branches to.
pub fn branches(global: &Global, args: &VerboseArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let graphs = graphs(&ctx)?;
    let mut listings = Vec::new();
    for (db, g) in &graphs {
        let order = plan::history(g, &["base".to_string()], "heads")?;
        let points: Vec<usize> = order.into_iter().filter(|&i| g.is_branch_point(i)).collect();
        if global.format == Format::Text && !args.verbose {
            for &p in &points {
                outln!("{}", revision_line(g, p, LineParts::default()));
                for &c in g.children(p) {
                    let child = revision_line(g, c, LineParts { message: args.verbose, ..Default::default() });
                    outln!("{} -> {child}", " ".repeat(g.revision(p).id.len()));
                }
            }
            continue;
        }
        let listing = Listing {
            graph: g,
            revisions: points,
            verbose: args.verbose,
            parts: LineParts::default(),
            current: vec![],
        };
        listings.push((db.name.clone(), listing));
    }
    Ok(if listings.is_empty() { Exit::Ok } else { print(global, &listings) })
}

/// `retort history [-r A:B] [-i]`.
pub async fn history(global: &Global, args: &HistoryArgs) -> Result<Exit> {
    let (lower, upper) = match &args.range {
        None => (String::new(), String::new()),
        Some(range) => match range.split_once(':') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => bail!("history range `{range}` must be [start]:[end], [start]: or :[end]"),
        },
    };
    let ctx = Context::load(global)?;
    let needs_db = args.indicate_current || lower == "current" || upper == "current";
    // Reading the database needs real targets (fleet tenants, not the fleet's template).
    let graphs = if needs_db {
        ctx.targets().await?.into_iter().map(|db| ctx.graph(&db).map(|g| (db, g))).collect::<Result<Vec<_>>>()?
    } else {
        graphs(&ctx)?
    };
    let mut listings = Vec::new();
    for (db, g) in &graphs {
        let rows = if needs_db { read_rows(&ctx, db).await? } else { vec![] };
        let current_specs = |spec: &str, default: &str| -> Vec<String> {
            match spec {
                "" => vec![default.to_string()],
                "current" if rows.is_empty() => vec!["base".to_string()],
                "current" => rows.clone(),
                other => vec![other.to_string()],
            }
        };
        let lower_specs = current_specs(&lower, "base");
        let upper_spec = match current_specs(&upper, "heads").as_slice() {
            [one] => one.clone(),
            many => bail!(
                "database `{}`: history up to `current` needs one current head, found {}",
                db.name,
                many.join(", ")
            ),
        };
        let revisions =
            plan::history(g, &lower_specs, &upper_spec).with_context(|| format!("database `{}`", db.name))?;
        let current: Vec<usize> = if args.indicate_current {
            let indexes: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
            g.applied_heads(&indexes)
        } else {
            vec![]
        };
        let parts = LineParts { parents: true, tree: true, message: true, current: false };
        listings.push((db.name.clone(), Listing { graph: g, revisions, verbose: args.verbose, parts, current }));
    }
    Ok(print(global, &listings))
}

/// `retort show <rev>...`.
pub fn show(global: &Global, args: &ShowArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let graphs = graphs(&ctx)?;
    let mut listings = Vec::new();
    for (db, g) in &graphs {
        let mut revisions = Vec::new();
        for spec in &args.revisions {
            let found = g.resolve(spec).with_context(|| format!("database `{}`", db.name))?;
            // `base` and `label@base` show nothing, as in Alembic; a label must exist.
            let names_base = spec == "base" || spec.ends_with("@base");
            if let Some(branch) = spec.strip_suffix("@base") {
                g.resolve_branch(branch).with_context(|| format!("database `{}`", db.name))?;
            }
            if found.is_empty() && !names_base {
                bail!("database `{}`: `{spec}` names no revision", db.name);
            }
            revisions.extend(found);
        }
        listings.push((
            db.name.clone(),
            Listing { graph: g, revisions, verbose: true, parts: LineParts::default(), current: vec![] },
        ));
    }
    Ok(print(global, &listings))
}
