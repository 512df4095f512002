//! `retort test`: renders `retort_ops::rehearse` — a progress line per step on a
//! terminal, then per history its verdict and each divergence with the lines that
//! differ; or one JSON document. Exit 1 when any rehearsal failed.

use std::io::IsTerminal as _;

use anyhow::Result;
use serde_json::json;

use crate::args::{Format, Global};
use crate::output::{Exit, document};

/// `retort test`.
pub async fn exec(global: &Global) -> Result<Exit> {
    let live = global.format == Format::Text && std::io::stderr().is_terminal();
    let progress = move |line: &str| {
        if live {
            eprint!("\r\x1b[2K{line}");
        }
    };
    let workspace = super::workspace(global)?;
    let interrupt = crate::signals::install(|text| eprintln!("{text}"));
    let report = retort_ops::rehearse::test(&workspace, &progress, &interrupt).await?;
    if live {
        eprint!("\r\x1b[2K");
    }
    match global.format {
        Format::Json | Format::Ndjson => {
            let doc = json!({"ok": report.ok(), "interrupted": report.interrupted, "targets": report.targets});
            outln!("{}", document(doc))
        }
        Format::Text => {
            for t in &report.targets {
                let verdict = if t.failures.is_empty() { "ok" } else { "FAILED" };
                outln!(
                    "{}: {verdict}: {} revisions up, down and up; {} merges in {} branch orders",
                    t.target,
                    t.revisions,
                    t.merges,
                    t.orders
                );
                for f in &t.failures {
                    match f.revision.is_empty() {
                        true => outln!("  {}: {}", f.kind, f.message),
                        false => outln!("  {} {}: {}", f.kind, f.revision, f.message),
                    }
                    for line in &f.only_in_first {
                        outln!("    - {line}");
                    }
                    for line in &f.only_in_second {
                        outln!("    + {line}");
                    }
                }
            }
        }
    }
    if report.interrupted && global.format == Format::Text {
        outln!("interrupted: the rehearsal stopped early; its scratch databases are dropped");
    }
    Ok(crate::signals::exit_code().unwrap_or(if report.ok() { Exit::Ok } else { Exit::TargetFailed }))
}
