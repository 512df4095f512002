//! Commands that touch databases: `current`, `status`, `upgrade`, `downgrade`,
//! `stamp`, `resolve`, `ensure-version`, and their `--sql` forms. The work is
//! `retort_ops::run` and `retort_ops::offline`; this builds the live board and
//! the signal handling around it, and renders the reports.

use std::sync::Arc;

use anyhow::{Result, bail};
use retort_engine::executor::{Action, Resolution};
use retort_engine::fleet::Status;
use retort_engine::rollout::Share;
use retort_ops::offline::{self, split_range};
use retort_ops::report::{StatusRow, Verdict, skipped_by_reason};
use retort_ops::run::{self, Control, CurrentTarget, RunReport, Staging};
use serde_json::json;

use std::path::{Path, PathBuf};

use retort_ops::html_report;

use crate::args::{Command, CurrentArgs, Format, Global, ResolveArgs, StampArgs};
use crate::board::Board;
use crate::output::{Exit, LineParts, document, event, revision_block, revision_line};
use crate::signals;

/// The run's control: its staging flags, SIGINT/SIGTERM, and `board` watching.
pub(super) fn control(global: &Global, board: Arc<Board>) -> Control {
    let says = board.clone();
    let interrupt = signals::install(move |text| says.message(text));
    let staging = Staging {
        canary: global.canary,
        waves: global.waves.clone(),
        max_failures: if global.fail_fast { Some(Share::Count(0)) } else { global.max_failures },
    };
    Control { staging, interrupt, observer: board }
}

/// 130/143 if a signal interrupted the run, else 1 if any target failed at run
/// time, else 3 for lock time-outs, else 2 for bad input.
pub(super) fn exit_code(verdict: Verdict) -> Exit {
    signals::exit_code().unwrap_or(match verdict {
        Verdict::Ok => Exit::Ok,
        Verdict::BadInput => Exit::Usage,
        Verdict::LockTimeout => Exit::LockTimeout,
        Verdict::TargetFailed => Exit::TargetFailed,
    })
}

/// Runs a writing action and reports it in the chosen format.
async fn run_and_report(global: &Global, action: Action) -> Result<Exit> {
    let workspace = super::workspace(global)?;
    let selected = workspace.targets().await?;
    let board = Arc::new(Board::new(global.format, selected.len(), global.quiet));
    let report = run::run(&workspace, &selected, action, &control(global, board.clone())).await;
    board.finish();
    let report = report?;
    let mut code = exit_code(report.verdict());
    let doc = document(json!({"ok": code == Exit::Ok, "targets": report.targets(), "summary": report.summary()}));
    for path in &global.reports {
        if let Err(e) = write_report(path, &doc, &report, code == Exit::Ok) {
            eprintln!("error: cannot write the report {}: {e}", path.display());
            code = code.max(Exit::TargetFailed);
        }
    }
    match global.format {
        Format::Json => outln!("{doc}"),
        Format::Ndjson => {
            let mut summary = event(json!(report.summary()));
            summary["event"] = json!("summary");
            summary["ok"] = json!(code == Exit::Ok);
            outln!("{summary}");
        }
        Format::Text => {
            if (report.outcomes().len() > 1 && !global.quiet) || signals::exit_code().is_some() {
                print_summary(&report);
            }
        }
    }
    Ok(code)
}

/// Refuses, before anything runs, a `--report` that no file kind matches or
/// that `command` does not write.
pub(super) fn check_reports(reports: &[PathBuf], command: &Command) -> Result<()> {
    let Some(first) = reports.first() else { return Ok(()) };
    let runs = moves_versions(command)
        || match command {
            Command::Stamp(args) => !args.sql,
            Command::Resolve(_) | Command::EnsureVersion => true,
            _ => false,
        };
    if !runs {
        bail!(
            "--report {}: only runs write reports (upgrade, downgrade, stamp, resolve, ensure-version; not --sql or --dry-run)",
            first.display()
        );
    }
    for path in reports {
        if report_kind(path).is_none() {
            bail!("--report {}: name a .json or an .html file", path.display());
        }
    }
    Ok(())
}

/// Refuses `--canary` and `--waves` where nothing runs in waves: only
/// `upgrade` and `downgrade` stage their targets (not with `--sql` or
/// `--dry-run`). A flag that silently does nothing would look like protection.
pub(super) fn check_staging(global: &Global, command: &Command) -> Result<()> {
    let staged = moves_versions(command);
    let flag = match (&global.canary, &global.waves) {
        (Some(_), _) => "--canary",
        (None, Some(_)) => "--waves",
        (None, None) => return Ok(()),
    };
    if !staged {
        bail!("{flag}: only upgrade and downgrade run in waves (not --sql or --dry-run)");
    }
    Ok(())
}

/// Whether `command` is an `upgrade` or `downgrade` that runs (not `--sql`,
/// not `--dry-run`).
fn moves_versions(command: &Command) -> bool {
    match command {
        Command::Upgrade(args) => !args.sql && !args.dry_run,
        Command::Downgrade(args) => !args.sql && !args.dry_run,
        _ => false,
    }
}

/// `json` or `html`, from the file's extension.
fn report_kind(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "json" => Some("json"),
        "html" | "htm" => Some("html"),
        _ => None,
    }
}

/// Writes the run's report to `path`: the JSON document, or the HTML page.
fn write_report(path: &Path, doc: &serde_json::Value, report: &RunReport, ok: bool) -> std::io::Result<()> {
    let text = match report_kind(path) {
        Some("html") => {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let command = retort_url::scrub_urls(&format!("retort {}", args.join(" ")));
            let written = format!("{} UTC", retort_history::author::now_utc());
            let heading = html_report::Heading { command: &command, written: &written, ok };
            html_report::render(&heading, &report.targets(), &report.summary())
        }
        _ => format!("{doc}\n"),
    };
    std::fs::write(path, text)
}

/// The summary lines, each failed target with its error, and the skipped ones
/// grouped by why (a stopped rollout may skip thousands).
fn print_summary(report: &RunReport) {
    for line in report.summary().lines() {
        outln!("{line}");
    }
    let outcomes = report.outcomes();
    for o in outcomes.iter().filter(|o| !matches!(o.status, Status::Ok | Status::Skipped)) {
        outln!("  {}: {}", o.target, o.error.as_deref().unwrap_or(""));
    }
    let skipped = skipped_by_reason(outcomes.iter().map(|o| (o.target.as_str(), o.status, o.error.as_deref())));
    for (why, names) in skipped {
        let shown = match names.as_slice() {
            [one] => one.to_string(),
            [first, .., last] => format!("{} targets, {first} … {last}", names.len()),
            [] => continue,
        };
        outln!("  skipped {shown}: {why}");
    }
}

/// `retort current`: what each database is at, as Alembic shows it.
pub async fn current(global: &Global, args: &CurrentArgs) -> Result<Exit> {
    let workspace = super::workspace(global)?;
    let selected = workspace.targets().await?;
    let (targets, verdict) = run::current(&workspace, &selected, &control(global, Arc::new(Board::Quiet))).await?;
    let mut code = exit_code(verdict);
    for target in targets.iter().filter(|t| args.check_heads && t.behind) {
        eprintln!(
            "{}: FAILED: the database is not at the script's heads (`retort status` lists what is pending)",
            target.report.target
        );
        code = code.max(Exit::TargetFailed);
    }
    if global.format != Format::Text {
        outln!("{}", document(json!({"ok": code == Exit::Ok, "targets": targets})));
        return Ok(code);
    }
    for target in &targets {
        print_current(target, targets.len() > 1, args.verbose);
    }
    Ok(code)
}

/// One target of `current` as text: its applied heads, bad rows, part-way revisions.
fn print_current(target: &CurrentTarget, several: bool, verbose: bool) {
    if several {
        outln!("# {}", target.report.target);
    }
    if let Some(error) = &target.report.error {
        eprintln!("{}: FAILED: {error}", target.report.target);
    }
    let tree = LineParts { tree: true, ..Default::default() };
    if let Some(g) = &target.graph {
        for &i in &target.heads {
            if verbose {
                outln!("{}", revision_block(g, i, true));
            } else {
                outln!("{}", revision_line(g, i, tree));
            }
        }
        for &row in target.rows.iter().filter(|r| !target.heads.contains(r)) {
            outln!("{} (bad version row: an ancestor of another row)", revision_line(g, row, tree));
        }
    }
    for part_way in &target.report.part_way {
        outln!("{part_way}");
    }
}

/// `retort status`: current heads, script heads and pending count per target;
/// with `exit_code`, exit 1 when one has revisions pending.
pub async fn status(global: &Global, exit_code_on_pending: bool) -> Result<Exit> {
    let workspace = super::workspace(global)?;
    let selected = workspace.targets().await?;
    let (rows, verdict) = run::status(&workspace, &selected, &control(global, Arc::new(Board::Quiet))).await?;
    let mut code = exit_code(verdict);
    let behind = rows.iter().filter(|r| r.pending.is_some_and(|p| p > 0)).count();
    if exit_code_on_pending && behind > 0 {
        eprintln!("{behind} of {} target(s) have revisions to apply", rows.len());
        code = code.max(Exit::TargetFailed);
    }
    if global.format != Format::Text {
        outln!("{}", document(json!({"ok": code == Exit::Ok, "targets": rows})));
        return Ok(code);
    }
    outln!("{}", StatusRow::header());
    for row in &rows {
        outln!("{}", row.line());
    }
    for row in &rows {
        for part_way in &row.part_way {
            outln!("  {}: {part_way}", row.target);
        }
    }
    Ok(code)
}

/// `retort upgrade <rev>`.
pub async fn upgrade(global: &Global, revision: &str, sql: bool) -> Result<Exit> {
    if sql {
        let (start, target) = split_range(revision);
        return render_sql(global, start, Action::Upgrade(target.to_string())).await;
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
        return render_sql(global, start, Action::Downgrade(target.to_string())).await;
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
        return render_sql(global, start, Action::Stamp { targets, purge: false }).await;
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

/// `--sql`: each target's script in its own dialect, without connecting to it.
async fn render_sql(global: &Global, start: Option<&str>, action: Action) -> Result<Exit> {
    let workspace = super::workspace(global)?;
    let scripts = offline::render(&workspace, &workspace.targets().await?, start, &action)?;
    match global.format {
        Format::Text => {
            for script in &scripts {
                if scripts.len() > 1 {
                    outln!("-- target: {}\n", script.target);
                }
                out!("{}", script.sql);
            }
        }
        _ => outln!("{}", document(json!({"ok": true, "targets": scripts}))),
    }
    Ok(Exit::Ok)
}
