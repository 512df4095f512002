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
    let report = retort_ops::rehearse::test(&super::workspace(global)?, &progress).await?;
    if live {
        eprint!("\r\x1b[2K");
    }
    match global.format {
        Format::Json | Format::Ndjson => outln!("{}", document(json!({"ok": report.ok(), "targets": report.targets}))),
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
                    outln!("  {} {}: {}", f.kind, f.revision, f.message);
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
    Ok(if report.ok() { Exit::Ok } else { Exit::TargetFailed })
}
