//! `upgrade --dry-run` and `downgrade --dry-run`: `retort_ops::dry_run`, rendered.

use std::sync::Arc;

use anyhow::Result;
use retort_engine::executor::Action;
use retort_ops::dry_run::{self, Planned};
use serde_json::json;

use super::run::{control, exit_code};
use crate::args::{Format, Global};
use crate::board::Board;
use crate::output::{Exit, document};

/// Reads every selected target and prints what `action` would run there.
pub async fn exec(global: &Global, action: Action) -> Result<Exit> {
    let workspace = super::workspace(global)?;
    let selected = workspace.targets().await?;
    let control = control(global, Arc::new(Board::Quiet));
    let (planned, verdict) = dry_run::dry_run(&workspace, &selected, &action, &control).await?;
    let code = exit_code(verdict);
    if global.format != Format::Text {
        outln!("{}", document(json!({"ok": code == Exit::Ok, "dry_run": true, "targets": planned})));
        return Ok(code);
    }
    for target in &planned {
        print_target(target);
    }
    let would = planned.iter().filter(|t| !t.would_run.is_empty()).count();
    let steps: usize = planned.iter().map(|t| t.would_run.len()).sum();
    outln!("dry run: {would} of {} target(s) would run {steps} revision(s); nothing was changed", planned.len());
    Ok(code)
}

/// `target: at X; would run N:` and one line per revision, its hazards under it.
fn print_target(target: &Planned) {
    if let Some(error) = &target.error {
        eprintln!("{}: FAILED: {error}", target.target);
        return;
    }
    let at = if target.current.is_empty() { "base".to_string() } else { target.current.join(", ") };
    match target.would_run.len() {
        0 => outln!("{}: at {at}; nothing to run", target.target),
        n => outln!("{}: at {at}; would run {n}:", target.target),
    }
    for step in &target.would_run {
        let transaction = if step.transactional { "" } else { "  [no transaction]" };
        let message = if step.message.is_empty() { String::new() } else { format!("  {}", step.message) };
        outln!("  {} {}{message}{transaction}", step.direction.verb(), step.revision);
        for hazard in &step.hazards {
            outln!("    {}:{}: {} [{}]", step.path, hazard.line, hazard.message, hazard.rule);
        }
    }
    for part_way in &target.part_way {
        outln!("  {part_way}");
    }
}
