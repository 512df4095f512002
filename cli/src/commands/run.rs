//! Commands that touch databases: `current`, `status`, `upgrade`, `downgrade`,
//! `stamp`, `resolve`. Targets run concurrently on the fleet runner; one failure
//! never stops or changes another. SIGINT/SIGTERM stop the run cleanly.

use std::sync::Arc;

use anyhow::{Result, bail};
use retort_config::Database;
use retort_engine::driver::{self, mask_password};
use retort_engine::executor::{self, Action, Resolution, RunOptions};
use retort_engine::fleet::{self, FleetOptions, Outcome, Status, Target};
use retort_engine::interrupt::Interrupt;
use retort_history::graph::Graph;
use retort_history::plan;
use serde_json::{Value, json};

use super::report::{StatusRow, Summary};
use crate::args::{CurrentArgs, Format, Global, ResolveArgs, StampArgs};
use crate::board::Board;
use crate::context::{self, Context};
use crate::output::{BadTargets, Exit, LineParts, document, error_line, event, revision_block, revision_line};
use crate::registry;
use crate::signals;

/// The version rows of a database, creating nothing.
pub(super) async fn read_rows(ctx: &Context, db: &Database) -> Result<Vec<String>> {
    let driver = registry::for_url(&db.name, &db.url)?;
    let mut conn = driver
        .connect(&ctx.connect_options(db, false))
        .await
        .map_err(|e| anyhow::anyhow!("database `{}`: cannot connect to {}: {e}", db.name, mask_password(&db.url)))?;
    let rows = driver::read_versions(conn.as_mut(), driver.dialect(), &context::version_table(db)).await?;
    let _ = conn.close().await;
    Ok(rows.unwrap_or_default())
}

/// Runs `action` on the selected targets with `board` watching; outcomes in the
/// targets' order. Every target is checked first (its driver, its history, the
/// spec on each history): bad input is one error and nothing is touched.
async fn run_fleet(
    ctx: &Context,
    global: &Global,
    selected: &[Database],
    action: Action,
    board: Arc<Board>,
) -> Result<Vec<Outcome>> {
    let says = board.clone();
    let interrupt = signals::install(move |text| says.message(text));
    let targets = checked_targets(ctx, selected, &action, &interrupt)?;
    let elsewhere = dependency_sources(ctx, &targets);
    let options = FleetOptions { jobs: ctx.config.jobs, fail_fast: global.fail_fast };
    let mut outcomes = fleet::run(targets, elsewhere, action, options, board).await;
    let order: Vec<&str> = selected.iter().map(|d| d.name.as_str()).collect();
    outcomes.sort_by_key(|o| order.iter().position(|n| *n == o.target));
    Ok(outcomes)
}

/// The fleet targets of `selected`, or every reason one of them cannot run: an
/// unknown URL scheme, an unreadable history, a spec that names nothing in it.
fn checked_targets(
    ctx: &Context,
    selected: &[Database],
    action: &Action,
    interrupt: &Interrupt,
) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    let mut checked: Vec<Arc<Graph>> = Vec::new();
    for db in selected {
        let target = match target(ctx, db, action.writes(), interrupt) {
            Ok(target) => target,
            Err(e) => {
                problems.push(error_line(&e));
                continue;
            }
        };
        if !checked.iter().any(|graph| Arc::ptr_eq(graph, &target.graph)) {
            checked.push(target.graph.clone());
            let history = db.fleet.as_deref().map_or(format!("database `{}`", db.name), |f| format!("fleet `{f}`"));
            for spec in action_specs(action) {
                if let Err(e) = plan::check_spec(&target.graph, spec) {
                    problems.push(format!("{history}: {e}"));
                }
            }
        }
        targets.push(target);
    }
    if problems.is_empty() { Ok(targets) } else { Err(BadTargets(problems).into()) }
}

/// The specs an action names.
fn action_specs(action: &Action) -> Vec<&str> {
    match action {
        Action::Upgrade(spec) | Action::Downgrade(spec) => vec![spec.as_str()],
        Action::Stamp { targets, .. } => targets.iter().map(String::as_str).collect(),
        _ => vec![],
    }
}

/// A fleet target for one selected database.
fn target(ctx: &Context, db: &Database, writes: bool, interrupt: &Interrupt) -> Result<Target> {
    Ok(Target {
        name: db.name.clone(),
        driver: registry::for_url(&db.name, &db.url)?,
        connect: ctx.connect_options(db, writes),
        table: context::version_table(db),
        graph: ctx.graph(db)?,
        run: RunOptions {
            lock_timeout: db.lock_timeout,
            ddl_retries: db.ddl_retries,
            transaction_per_run: db.transaction_per_run,
            target: db.name.clone(),
            interrupt: interrupt.clone(),
            ..RunOptions::default()
        },
        exclusive: exclusivity_key(db),
    })
}

/// Databases that are not run now but that the targets' histories depend on
/// (`Depends On: default:abc123`): the runner reads them to check the dependency.
fn dependency_sources(ctx: &Context, targets: &[Target]) -> Vec<Target> {
    let mut names: Vec<String> = targets.iter().flat_map(|t| fleet::dependency_targets(&t.graph)).collect();
    names.sort();
    names.dedup();
    names.retain(|n| !targets.iter().any(|t| &t.name == n));
    ctx.config
        .databases
        .iter()
        .filter(|d| names.contains(&d.name))
        .filter_map(|d| target(ctx, d, false, &Interrupt::default()).ok())
        .collect()
}

/// SQLite allows one writer per file; server targets are kept apart by their lock.
fn exclusivity_key(db: &Database) -> String {
    if db.url.starts_with("sqlite:") { db.url.clone() } else { db.name.clone() }
}

/// 130/143 if a signal interrupted the run, else 1 if any target failed at run
/// time, else 3 for lock time-outs, else 2 for bad input.
fn exit_code(outcomes: &[Outcome]) -> Exit {
    if let Some(interrupted) = signals::exit_code() {
        return interrupted;
    }
    let failed = outcomes.iter().filter(|o| o.status == Status::Failed);
    let classes: Vec<Exit> = failed
        .map(|o| {
            if o.lock_timeout {
                Exit::LockTimeout
            } else if o.bad_input {
                Exit::Usage
            } else {
                Exit::TargetFailed
            }
        })
        .collect();
    [Exit::TargetFailed, Exit::LockTimeout, Exit::Usage].into_iter().find(|c| classes.contains(c)).unwrap_or(Exit::Ok)
}

fn target_json(o: &Outcome) -> Value {
    let report = o.report.as_ref();
    json!({
        "target": o.target,
        "driver": o.driver,
        "status": o.status,
        "before": report.map(|r| r.before.clone()).unwrap_or_default(),
        "after": report.map(|r| r.after.clone()).unwrap_or_default(),
        "steps": report.map(|r| json!(r.steps)).unwrap_or(json!([])),
        "notes": report.map(|r| r.notes.clone()).unwrap_or_default(),
        "part_way": report.map(|r| json!(r.part_way)).unwrap_or(json!([])),
        "ms": o.elapsed.as_millis() as u64,
        "error": o.error,
    })
}

fn print_summary(outcomes: &[Outcome]) {
    for line in Summary::of(outcomes).lines() {
        outln!("{line}");
    }
    for o in outcomes.iter().filter(|o| o.status != Status::Ok) {
        outln!("  {}: {}", o.target, o.error.as_deref().unwrap_or(""));
    }
}

/// Runs a writing action and reports it in the chosen format.
async fn run_and_report(global: &Global, action: Action) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let selected = ctx.targets().await?;
    let board = Arc::new(Board::new(global.format, selected.len(), global.quiet));
    let outcomes = run_fleet(&ctx, global, &selected, action, board.clone()).await;
    board.finish();
    let outcomes = outcomes?;
    let code = exit_code(&outcomes);
    match global.format {
        Format::Json => {
            let targets: Vec<Value> = outcomes.iter().map(target_json).collect();
            outln!(
                "{}",
                document(json!({"ok": code == Exit::Ok, "targets": targets, "summary": Summary::of(&outcomes)}))
            );
        }
        Format::Ndjson => {
            let mut summary = event(json!(Summary::of(&outcomes)));
            summary["event"] = json!("summary");
            summary["ok"] = json!(code == Exit::Ok);
            outln!("{summary}");
        }
        Format::Text => {
            if (outcomes.len() > 1 && !global.quiet) || signals::exit_code().is_some() {
                print_summary(&outcomes);
            }
        }
    }
    Ok(code)
}

/// `retort current`: what each database is at, as Alembic shows it.
pub async fn current(global: &Global, args: &CurrentArgs) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let selected = ctx.targets().await?;
    let outcomes = run_fleet(&ctx, global, &selected, Action::Current, Arc::new(Board::Quiet)).await?;
    let mut code = exit_code(&outcomes);
    let mut targets = Vec::new();
    for (db, o) in selected.iter().zip(&outcomes) {
        if args.check_heads
            && let Some(report) = &o.report
            && plan::upgrade(ctx.graph(db)?.as_ref(), &report.before, "heads").is_ok_and(|p| !p.steps.is_empty())
        {
            eprintln!(
                "{}: FAILED: the database is not at the script's heads (`retort status` lists what is pending)",
                o.target
            );
            code = code.max(Exit::TargetFailed);
        }
        let shown = match &o.report {
            Some(r) => {
                let g = ctx.graph(db)?;
                let rows: Vec<usize> = r.before.iter().filter_map(|id| g.index_of(id)).collect();
                Some((g.clone(), g.applied_heads(&rows), rows))
            }
            _ => None,
        };
        match global.format {
            Format::Text => {
                if outcomes.len() > 1 {
                    outln!("# {}", o.target);
                }
                if let Some(error) = &o.error {
                    eprintln!("{}: FAILED: {error}", o.target);
                }
                for (g, i) in shown.iter().flat_map(|(g, list, _)| list.iter().map(move |&i| (g, i))) {
                    if args.verbose {
                        outln!("{}", revision_block(g, i, true));
                    } else {
                        outln!("{}", revision_line(g, i, LineParts { tree: true, ..Default::default() }));
                    }
                }
                if let Some((g, heads, rows)) = &shown {
                    for &row in rows.iter().filter(|r| !heads.contains(r)) {
                        let line = revision_line(g, row, LineParts { tree: true, ..Default::default() });
                        outln!("{line} (bad version row: an ancestor of another row)");
                    }
                }
                for part_way in o.report.iter().flat_map(|r| &r.part_way) {
                    outln!("{part_way}");
                }
            }
            _ => {
                let mut value = target_json(o);
                value["current"] = json!(shown.map(|(g, list, _)| g.ids(&list)).unwrap_or_default());
                targets.push(value);
            }
        }
    }
    if global.format != Format::Text {
        outln!("{}", document(json!({"ok": code == Exit::Ok, "targets": targets})));
    }
    Ok(code)
}

/// `retort status`: current heads, script heads and pending count per target.
pub async fn status(global: &Global) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let selected = ctx.targets().await?;
    let outcomes = run_fleet(&ctx, global, &selected, Action::Current, Arc::new(Board::Quiet)).await?;
    let code = exit_code(&outcomes);
    let mut rows = Vec::new();
    for (db, o) in selected.iter().zip(&outcomes) {
        let graph = ctx.graph(db).ok();
        let current = o.report.as_ref().map(|r| r.before.clone()).unwrap_or_default();
        let heads = graph.as_ref().map(|g| g.ids(g.heads())).unwrap_or_default();
        let pending = match (&graph, &o.report) {
            (Some(g), Some(_)) => plan::upgrade(g, &current, "heads").map(|p| p.steps.len()).ok(),
            _ => None,
        };
        rows.push(StatusRow {
            target: o.target.clone(),
            driver: o.driver.to_string(),
            status: o.status,
            current,
            heads,
            pending,
            part_way: o.report.as_ref().map(|r| r.part_way.clone()).unwrap_or_default(),
            error: o.error.clone(),
        });
    }
    if global.format == Format::Text {
        outln!("{}", StatusRow::header());
        for row in &rows {
            outln!("{}", row.line());
        }
        for o in &outcomes {
            for part_way in o.report.iter().flat_map(|r| &r.part_way) {
                outln!("  {}: {part_way}", o.target);
            }
        }
    } else {
        outln!("{}", document(json!({"ok": code == Exit::Ok, "targets": rows})));
    }
    Ok(code)
}

/// `retort upgrade <rev>`.
pub async fn upgrade(global: &Global, revision: &str, sql: bool) -> Result<Exit> {
    if sql {
        let (start, target) = split_range(revision);
        return offline(global, start, Action::Upgrade(target.to_string())).await;
    }
    run_and_report(global, Action::Upgrade(revision.to_string())).await
}

/// `retort downgrade <rev>`.
pub async fn downgrade(global: &Global, revision: &str, sql: bool) -> Result<Exit> {
    if sql {
        let (start, target) = split_range(revision);
        if start.is_none() {
            bail!("downgrade with --sql needs <fromrev>:<torev>, e.g. `downgrade --sql heads:base`");
        }
        return offline(global, start, Action::Downgrade(target.to_string())).await;
    }
    run_and_report(global, Action::Downgrade(revision.to_string())).await
}

/// `retort stamp <rev>...`.
pub async fn stamp(global: &Global, args: &StampArgs) -> Result<Exit> {
    if args.sql {
        if args.purge {
            bail!("--purge cannot be combined with --sql");
        }
        let start = args.revisions.iter().find_map(|r| split_range(r).0);
        let targets: Vec<String> = args.revisions.iter().map(|r| split_range(r).1.to_string()).collect();
        return offline(global, start, Action::Stamp { targets, purge: false }).await;
    }
    run_and_report(global, Action::Stamp { targets: args.revisions.clone(), purge: args.purge }).await
}

/// `retort resolve <revision> --applied | --not-applied | --abandon`.
pub async fn resolve(global: &Global, args: &ResolveArgs) -> Result<Exit> {
    let how = if args.applied {
        Resolution::Applied
    } else if args.not_applied {
        Resolution::NotApplied
    } else {
        Resolution::Abandon
    };
    run_and_report(global, Action::Resolve { revision: args.revision.clone(), how }).await
}

/// `retort ensure-version`: creates each selected version table that is missing.
pub async fn ensure_version(global: &Global) -> Result<Exit> {
    run_and_report(global, Action::EnsureVersion).await
}

/// `from:to` → (Some(from), to); `to` → (None, to).
fn split_range(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once(':') {
        Some((from, to)) => (Some(from), to),
        None => (None, spec),
    }
}

/// `--sql`: renders each target's plan (every database, every fleet tenant) in its
/// own dialect, without connecting to it.
async fn offline(global: &Global, start: Option<&str>, action: Action) -> Result<Exit> {
    let ctx = Context::load(global)?;
    let mut scripts = Vec::new();
    for db in ctx.targets().await? {
        let driver = registry::for_url(&db.name, &db.url)?;
        let graph = ctx.graph(&db)?;
        let starting: Vec<String> = match start {
            None | Some("base") | Some("") => vec![],
            Some(spec) => graph.ids(&graph.resolve(spec)?),
        };
        let plan = action.plan(&graph, &starting)?;
        let table = context::version_table(&db);
        scripts.push((db.name.clone(), executor::render_offline(&plan, driver.dialect(), &table, &starting)));
    }
    match global.format {
        Format::Text => {
            for (target, sql) in &scripts {
                if scripts.len() > 1 {
                    outln!("-- target: {target}\n");
                }
                out!("{sql}");
            }
        }
        _ => {
            let targets: Vec<Value> = scripts.iter().map(|(t, sql)| json!({"target": t, "sql": sql})).collect();
            outln!("{}", document(json!({"ok": true, "targets": targets})));
        }
    }
    Ok(Exit::Ok)
}
