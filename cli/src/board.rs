//! Seeing a fleet run: a live board on a terminal (a progress bar for the fleet and
//! a line per running target with its current revision), plain lines when piped,
//! one JSON event per line for `--format ndjson`, nothing for `--format json`.

use std::io::IsTerminal;
use std::time::Duration;

use dashmap::DashMap;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use retort_engine::fleet::{Event, Observer, Outcome, Status};
use serde_json::json;

use crate::args::Format;

/// Renders fleet events as they happen.
pub enum Board {
    Live(Live),
    Lines,
    /// `-q`: only targets that did not end well.
    Failures,
    Events,
    Quiet,
}

/// The terminal board.
pub struct Live {
    bars: MultiProgress,
    fleet: ProgressBar,
    /// One line per running target.
    running: DashMap<String, ProgressBar>,
}

impl Board {
    /// The board for a format and `total` targets; `quiet` (`-q`) keeps only failures.
    pub fn new(format: Format, total: usize, quiet: bool) -> Board {
        match format {
            Format::Text if quiet => Board::Failures,
            Format::Json => Board::Quiet,
            Format::Ndjson => Board::Events,
            Format::Text if std::io::stderr().is_terminal() && total > 1 => {
                let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let fleet = bars.add(ProgressBar::new(total as u64));
                fleet.set_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} targets  {msg}  [{elapsed}]").expect("template"),
                );
                Board::Live(Live { bars, fleet, running: DashMap::new() })
            }
            Format::Text => Board::Lines,
        }
    }

    /// Says something that is not an event of one target (a signal arrived) on
    /// stderr, above the live board when there is one.
    pub fn message(&self, text: &str) {
        match self {
            Board::Live(live) => {
                let _ = live.bars.println(text);
            }
            _ => eprintln!("{text}"),
        }
    }

    /// Clears the live board before the summary is printed.
    pub fn finish(&self) {
        if let Board::Live(live) = self {
            live.fleet.finish_and_clear();
        }
    }
}

impl Observer for Board {
    fn event(&self, event: Event<'_>) {
        match self {
            Board::Live(live) => live.event(event),
            Board::Lines => lines(event),
            Board::Failures => {
                if let Event::TargetFinished { outcome } = event
                    && outcome.status != Status::Ok
                {
                    eprintln!("{}", finished_badly(outcome));
                }
            }
            Board::Events => event_line(format_args!("{}", crate::output::event(event_json(&event)))),
            Board::Quiet => {}
        }
    }
}

impl Live {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::TargetStarted { target } => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(ProgressStyle::with_template("  {spinner} {prefix}: {msg}").expect("template"));
                bar.set_prefix(target.to_string());
                bar.set_message("connecting");
                bar.enable_steady_tick(Duration::from_millis(120));
                self.running.insert(target.to_string(), bar);
            }
            Event::StepStarted { target, step } => {
                if let Some(bar) = self.running.get(target) {
                    bar.set_message(format!("{} {}", step.direction.verb(), step.revision));
                }
            }
            Event::StepFinished { .. } => {}
            Event::Note { target, text } => {
                let _ = self.bars.println(format!("{target}: {text}"));
            }
            Event::WaveStarted { wave, of, targets } => {
                self.fleet.set_message(format!("wave {wave}/{of}"));
                let _ = self.bars.println(format!("wave {wave} of {of}: {targets} target(s)"));
            }
            Event::Stopped { why } => {
                self.fleet.set_message("stopping");
                let _ = self.bars.println(format!("stopping: {why}; targets not started are skipped"));
            }
            Event::TargetFinished { outcome } => {
                if let Some((_, bar)) = self.running.remove(&outcome.target) {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                if matches!(outcome.status, Status::Failed | Status::Interrupted) {
                    let _ = self.bars.println(finished_badly(outcome));
                }
                self.fleet.inc(1);
            }
        }
    }
}

/// Writes one progress line. A closed stdout must not stop or fail a run that is
/// changing databases, so write errors are ignored here.
fn event_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn lines(event: Event<'_>) {
    match event {
        Event::StepFinished { target, step } => {
            event_line(format_args!("{target}: {} {} ({} ms)", step.direction.verb(), step.revision, step.ms))
        }
        Event::Note { target, text } => event_line(format_args!("{target}: {text}")),
        Event::TargetFinished { outcome } => match outcome.status {
            Status::Ok => event_line(format_args!("{}: ok, at {}", outcome.target, at(outcome))),
            _ => eprintln!("{}", finished_badly(outcome)),
        },
        Event::WaveStarted { wave, of, targets } => {
            event_line(format_args!("wave {wave} of {of}: {targets} target(s)"))
        }
        Event::Stopped { why } => eprintln!("stopping: {why}; targets not started are skipped"),
        Event::TargetStarted { .. } | Event::StepStarted { .. } => {}
    }
}

/// How a target that did not end well is announced (an interrupted target's
/// error already starts with "interrupted").
fn finished_badly(outcome: &Outcome) -> String {
    let error = outcome.error.as_deref().unwrap_or("");
    match outcome.status {
        Status::Failed => format!("{}: FAILED: {error}", outcome.target),
        _ => format!("{}: {error}", outcome.target),
    }
}

/// The version rows a target ended at, `base` for none.
pub fn at(outcome: &Outcome) -> String {
    let after = outcome.report.as_ref().map(|r| r.after.join(", ")).unwrap_or_default();
    if after.is_empty() { "base".to_string() } else { after }
}

fn event_json(event: &Event<'_>) -> serde_json::Value {
    match event {
        Event::TargetStarted { target } => json!({"event": "target_started", "target": target}),
        Event::StepStarted { target, step } => {
            json!({"event": "step_started", "target": target, "revision": step.revision, "direction": step.direction})
        }
        Event::StepFinished { target, step } => json!({
            "event": "step_finished", "target": target, "revision": step.revision, "direction": step.direction, "ms": step.ms
        }),
        Event::Note { target, text } => json!({"event": "note", "target": target, "text": text}),
        Event::TargetFinished { outcome } => json!({
            "event": "target_finished", "target": outcome.target, "status": outcome.status,
            "after": outcome.report.as_ref().map(|r| r.after.clone()).unwrap_or_default(),
            "ms": outcome.elapsed.as_millis() as u64, "error": outcome.error,
        }),
        Event::WaveStarted { wave, of, targets } => {
            json!({"event": "wave_started", "wave": wave, "of": of, "targets": targets})
        }
        Event::Stopped { why } => json!({"event": "stopped", "reason": why}),
    }
}
