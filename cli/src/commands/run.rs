//! Commands that touch databases: `current`, `upgrade`, `downgrade`, `stamp`.
//! Each selected database runs on its own: one failure never stops another.

use anyhow::{Result, bail};
use retort_config::Database;
use retort_core::driver::{self, ConnectOptions, mask_password};
use retort_core::executor::{self, Action, Report, RunError, RunOptions};
use retort_core::graph::Graph;
use serde_json::{Value, json};

use crate::args::{Format, Global, StampArgs, VerboseArgs};
use crate::context::{self, Context};
use crate::output::{Exit, LineParts, error_line, revision_line};
use crate::registry;

/// How one database's run ended.
struct Outcome {
    target: String,
    driver: &'static str,
    graph: Option<Graph>,
    report: Option<Report>,
    /// The error text and how it counts toward the exit code.
    error: Option<(String, Exit)>,
}

fn connect_options(ctx: &Context, db: &Database, writes: bool) -> ConnectOptions {
    ConnectOptions {
        url: db.url.clone(),
        base_dir: ctx.config.base_dir.clone(),
        application_name: db.application_name.clone(),
        writes,
        statement_timeout: db.statement_timeout,
        ddl_lock_timeout: db.ddl_lock_timeout,
    }
}

/// The version rows of a database, creating nothing.
pub(super) async fn read_rows(global: &Global, db: &Database) -> Result<Vec<String>> {
    let ctx = Context::load(global)?;
    let driver = registry::for_url(&db.name, &db.url)?;
    let mut conn = driver
        .connect(&connect_options(&ctx, db, false))
        .await
        .map_err(|e| anyhow::anyhow!("database `{}`: cannot connect to {}: {e}", db.name, mask_password(&db.url)))?;
    let rows = driver::read_versions(conn.as_mut(), driver.dialect(), &context::version_table(db)).await?;
    conn.close().await?;
    Ok(rows.unwrap_or_default())
}

async fn run_one(ctx: &Context, db: &Database, action: &Action) -> Outcome {
    let mut outcome = Outcome { target: db.name.clone(), driver: "", graph: None, report: None, error: None };
    let usage = |e: anyhow::Error| Some((error_line(&e), Exit::Usage));
    let driver = match registry::for_url(&db.name, &db.url) {
        Ok(d) => d,
        Err(e) => return Outcome { error: usage(e), ..outcome },
    };
    outcome.driver = driver.name();
    let graph = match context::graph(db) {
        Ok(g) => g,
        Err(e) => return Outcome { error: usage(e), ..outcome },
    };
    let mut conn = match driver.connect(&connect_options(ctx, db, action.writes())).await {
        Ok(c) => c,
        Err(e) => {
            let message = format!("cannot connect to {}: {e}", mask_password(&db.url));
            return Outcome { error: Some((message, Exit::TargetFailed)), graph: Some(graph), ..outcome };
        }
    };
    let table = context::version_table(db);
    let options = RunOptions { lock_timeout: db.lock_timeout, ddl_retries: db.ddl_retries, ..RunOptions::default() };
    let report = executor::run(conn.as_mut(), driver.dialect(), &graph, &table, action, &options).await;
    let _ = conn.close().await;
    outcome.error = report.error.as_ref().map(|e| (e.to_string(), exit_for(e)));
    outcome.graph = Some(graph);
    outcome.report = Some(report);
    outcome
}

fn exit_for(error: &RunError) -> Exit {
    match error {
        RunError::Spec(_) | RunError::PythonRevision { .. } => Exit::Usage,
        e if e.is_lock_timeout() => Exit::LockTimeout,
        _ => Exit::TargetFailed,
    }
}

/// 1 if any target failed at run time, else 3 for lock time-outs, else 2 for bad input.
fn exit_code(outcomes: &[Outcome]) -> Exit {
    let classes: Vec<Exit> = outcomes.iter().filter_map(|o| o.error.as_ref().map(|(_, c)| *c)).collect();
    [Exit::TargetFailed, Exit::LockTimeout, Exit::Usage].into_iter().find(|c| classes.contains(c)).unwrap_or(Exit::Ok)
}

async fn run_all(global: &Global, action: &Action) -> Result<Vec<Outcome>> {
    let ctx = Context::load(global)?;
    let mut outcomes = Vec::new();
    for db in &ctx.selected {
        outcomes.push(run_one(&ctx, db, action).await);
    }
    Ok(outcomes)
}

fn target_json(o: &Outcome, extra: Option<(&str, Value)>) -> Value {
    let report = o.report.as_ref();
    let mut value = json!({
        "target": o.target,
        "driver": o.driver,
        "status": if o.error.is_some() { "failed" } else { "ok" },
        "before": report.map(|r| r.before.clone()).unwrap_or_default(),
        "after": report.map(|r| r.after.clone()).unwrap_or_default(),
        "steps": report.map(|r| json!(r.steps)).unwrap_or(json!([])),
        "notes": report.map(|r| r.notes.clone()).unwrap_or_default(),
        "error": o.error.as_ref().map(|(message, _)| message.clone()),
    });
    if let Some((key, extra)) = extra {
        value[key] = extra;
    }
    value
}

fn print_runs(global: &Global, outcomes: &[Outcome]) -> Exit {
    let code = exit_code(outcomes);
    if global.format == Format::Json {
        let targets: Vec<Value> = outcomes.iter().map(|o| target_json(o, None)).collect();
        println!("{}", json!({"ok": code == Exit::Ok, "targets": targets}));
        return code;
    }
    for o in outcomes {
        for note in o.report.iter().flat_map(|r| &r.notes) {
            println!("{}: note: {note}", o.target);
        }
        for step in o.report.iter().flat_map(|r| &r.steps) {
            let message =
                o.graph.as_ref().and_then(|g| g.index_of(&step.revision).map(|i| g.revision(i).message.clone()));
            let verb = step.direction.verb();
            println!("{}: {verb} {}, {} ({} ms)", o.target, step.revision, message.unwrap_or_default(), step.ms);
        }
        match &o.error {
            Some((message, _)) => eprintln!("{}: FAILED: {message}", o.target),
            None => {
                let after = o.report.as_ref().map(|r| r.after.join(", ")).unwrap_or_default();
                println!("{}: ok, at {}", o.target, if after.is_empty() { "base" } else { &after });
            }
        }
    }
    code
}

/// `retort current`: what each database is at, as Alembic shows it.
pub async fn current(global: &Global, args: &VerboseArgs) -> Result<Exit> {
    let outcomes = run_all(global, &Action::Current).await?;
    let shown = |o: &Outcome| -> Vec<usize> {
        match (&o.graph, &o.report) {
            (Some(g), Some(r)) => g.applied_heads(&r.before.iter().filter_map(|id| g.index_of(id)).collect::<Vec<_>>()),
            _ => vec![],
        }
    };
    let code = exit_code(&outcomes);
    if global.format == Format::Json {
        let targets: Vec<Value> = outcomes
            .iter()
            .map(|o| {
                let ids = o.graph.as_ref().map(|g| g.ids(&shown(o))).unwrap_or_default();
                target_json(o, Some(("current", json!(ids))))
            })
            .collect();
        println!("{}", json!({"ok": code == Exit::Ok, "targets": targets}));
        return Ok(code);
    }
    for o in &outcomes {
        if outcomes.len() > 1 {
            println!("# {}", o.target);
        }
        if let Some((message, _)) = &o.error {
            eprintln!("{}: FAILED: {message}", o.target);
            continue;
        }
        let g = o.graph.as_ref().expect("graph of a successful target");
        for i in shown(o) {
            if args.verbose {
                println!("{}", crate::output::revision_block(g, i, true));
            } else {
                println!("{}", revision_line(g, i, LineParts { tree: true, ..Default::default() }));
            }
        }
    }
    Ok(code)
}

/// `retort upgrade <rev>`.
pub async fn upgrade(global: &Global, revision: &str, sql: bool) -> Result<Exit> {
    if sql {
        let (start, target) = split_range(revision);
        return offline(global, start, Action::Upgrade(target.to_string()));
    }
    Ok(print_runs(global, &run_all(global, &Action::Upgrade(revision.to_string())).await?))
}

/// `retort downgrade <rev>`.
pub async fn downgrade(global: &Global, revision: &str, sql: bool) -> Result<Exit> {
    if sql {
        let (start, target) = split_range(revision);
        if start.is_none() {
            bail!("downgrade with --sql needs <fromrev>:<torev>, e.g. `downgrade --sql heads:base`");
        }
        return offline(global, start, Action::Downgrade(target.to_string()));
    }
    Ok(print_runs(global, &run_all(global, &Action::Downgrade(revision.to_string())).await?))
}

/// `retort stamp <rev>...`.
pub async fn stamp(global: &Global, args: &StampArgs) -> Result<Exit> {
    if args.sql {
        if args.purge {
            bail!("--purge cannot be combined with --sql");
        }
        let start = args.revisions.iter().find_map(|r| split_range(r).0);
        let targets: Vec<String> = args.revisions.iter().map(|r| split_range(r).1.to_string()).collect();
        return offline(global, start, Action::Stamp { targets, purge: false });
    }
    let action = Action::Stamp { targets: args.revisions.clone(), purge: args.purge };
    Ok(print_runs(global, &run_all(global, &action).await?))
}

/// `from:to` → (Some(from), to); `to` → (None, to).
fn split_range(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once(':') {
        Some((from, to)) => (Some(from), to),
        None => (None, spec),
    }
}

/// `--sql`: renders each database's plan without connecting.
fn offline(global: &Global, start: Option<&str>, action: Action) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let mut scripts = Vec::new();
    for db in &ctx.selected {
        let driver = registry::for_url(&db.name, &db.url)?;
        let graph = context::graph(db)?;
        let starting: Vec<String> = match start {
            None | Some("base") | Some("") => vec![],
            Some(spec) => graph.ids(&graph.resolve(spec)?),
        };
        let plan = action.plan(&graph, &starting)?;
        let table = context::version_table(db);
        scripts.push((db.name.clone(), executor::render_offline(&plan, driver.dialect(), &table, &starting)));
    }
    match global.format {
        Format::Json => {
            let targets: Vec<Value> = scripts.iter().map(|(t, sql)| json!({"target": t, "sql": sql})).collect();
            println!("{}", json!({"ok": true, "targets": targets}));
        }
        Format::Text => {
            for (target, sql) in &scripts {
                if scripts.len() > 1 {
                    println!("-- target: {target}\n");
                }
                print!("{sql}");
            }
        }
    }
    Ok(Exit::Ok)
}
