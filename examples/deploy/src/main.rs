//! An example deploy program built on retort's library (`retort-ops`), the way a
//! team embeds retort in its own deploy tooling instead of shelling out to the CLI.
//!
//! `deploy <retort.toml> [selection...]` upgrades every selected target to
//! `heads`, then acts on each outcome: a target whose run lock was busy is tried
//! once more on its own (another deploy was finishing); a target that failed is
//! reported with where it was left, so the deploy can page someone or hold the
//! application rollout for those tenants. It exits 0 only when every target is
//! at its heads, 2 when the config or selection is bad (nothing was touched).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use retort_config::Overrides;
use retort_engine::executor::Action;
use retort_engine::fleet::{Event, Observer, Outcome, Status};
use retort_engine::interrupt::Interrupt;
use retort_ops::run::{self, Control, Staging};
use retort_ops::{Choice, Drivers, Workspace};

/// Prints each revision as it lands.
struct Progress;

impl Observer for Progress {
    fn event(&self, event: Event<'_>) {
        if let Event::StepFinished { target, step } = event {
            println!("{target}: {} {}", step.direction.verb(), step.revision);
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(config) = args.next().map(PathBuf::from) else {
        eprintln!("usage: deploy <retort.toml> [selection...]");
        return ExitCode::from(2);
    };
    let choice = Choice { patterns: args.collect(), shard: None };
    let drivers = Drivers::new(vec![Arc::new(retort_postgres::PostgresDriver), Arc::new(retort_sqlite::SqliteDriver)]);
    match deploy(&config, &choice, drivers).await {
        Ok(failed) if failed.is_empty() => ExitCode::SUCCESS,
        Ok(failed) => {
            println!("held back: {}", failed.join(", "));
            ExitCode::from(1)
        }
        Err(error) => {
            for problem in error.problems() {
                eprintln!("error: {problem}");
            }
            ExitCode::from(2)
        }
    }
}

/// Upgrades the selection; returns the targets that are not at their heads.
async fn deploy(config: &std::path::Path, choice: &Choice, drivers: Drivers) -> retort_ops::Result<Vec<String>> {
    let workspace = Workspace::load(config, &Overrides::default(), drivers, choice)?;
    let targets = workspace.targets().await?;
    let control =
        Control { staging: Staging::default(), interrupt: Interrupt::default(), observer: Arc::new(Progress) };
    let upgrade = || Action::Upgrade("heads".to_string());
    let mut outcomes = run::run(&workspace, &targets, upgrade(), &control).await?.fleet.outcomes;

    let was_busy = |name: &str| outcomes.iter().any(|o| o.target == name && o.lock_timeout);
    let busy: Vec<_> = targets.iter().filter(|t| was_busy(&t.name)).cloned().collect();
    if !busy.is_empty() {
        println!("retrying {} target(s) whose lock was busy", busy.len());
        let retried = run::run(&workspace, &busy, upgrade(), &control).await?.fleet.outcomes;
        outcomes.retain(|o| !retried.iter().any(|r| r.target == o.target));
        outcomes.extend(retried);
    }
    for o in &outcomes {
        println!("{}", verdict_line(o));
    }
    Ok(outcomes.iter().filter(|o| o.status != Status::Ok).map(|o| o.target.clone()).collect())
}

/// `tenant: at abc123` or `tenant: FAILED (left at abc123): why`.
fn verdict_line(o: &Outcome) -> String {
    let at = o.report.as_ref().map(|r| r.after.join(",")).filter(|a| !a.is_empty());
    let at = at.unwrap_or_else(|| "base".to_string());
    match o.status {
        Status::Ok => format!("{}: at {at}", o.target),
        _ => format!("{}: FAILED (left at {at}): {}", o.target, o.error.as_deref().unwrap_or("")),
    }
}
