//! `retort check`: renders `retort_ops::check` as lines for people or one JSON
//! document; exit 1 when any finding is an error.

use anyhow::Result;
use retort_check::Severity;
use serde_json::json;

use crate::args::{Format, Global};
use crate::output::{Exit, document};

/// `retort check`. Files are shown relative to the current folder when under it.
pub async fn exec(global: &Global) -> Result<Exit> {
    let mut report = retort_ops::check::check(&super::workspace(global)?).await?;
    if let Ok(here) = std::env::current_dir() {
        for f in &mut report.findings {
            if let Ok(relative) = f.file.strip_prefix(&here) {
                f.file = relative.to_path_buf();
            }
        }
    }
    let (errors, warnings) = (report.errors(), report.warnings());
    match global.format {
        Format::Json | Format::Ndjson => {
            let doc = json!({
                "ok": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "findings": report.findings,
            });
            outln!("{}", document(doc));
        }
        Format::Text => {
            for f in &report.findings {
                let severity = if f.severity == Severity::Error { "error" } else { "warning" };
                outln!("{}:{}: {severity}[{}]: {}", f.file.display(), f.line, f.rule.name(), f.message);
                outln!("  fix: {}", f.fix);
            }
            outln!("{errors} error{}, {warnings} warning{}", plural(errors), plural(warnings));
        }
    }
    Ok(if errors > 0 { Exit::TargetFailed } else { Exit::Ok })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
