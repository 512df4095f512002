//! `--report FILE.html`: one self-contained page (inline CSS and a few lines of
//! script, no network resources) for the people who look after a run: the
//! summary, the targets that failed with their messages, the slowest ones, and
//! a timeline of every target (start, duration, revisions, outcome) that stays
//! usable at thousands of rows: failed targets first, then by start, in a
//! scrolling pane with a filter. See `docs/reports.md`.

use std::fmt::Write as _;

use retort_engine::fleet::Status;

use crate::report::{Summary, TargetReport, skipped_by_reason};

/// What the page shows at its top.
pub struct Heading<'a> {
    /// The command that ran, e.g. `retort upgrade heads`.
    pub command: &'a str,
    /// When the report was written, for people (`2026-12-01 20:46:06 UTC`).
    pub written: &'a str,
    pub ok: bool,
}

/// The page for a run's targets and summary.
pub fn render(heading: &Heading, targets: &[TargetReport], summary: &Summary) -> String {
    let mut page = String::with_capacity(4096 + targets.len() * 400);
    let verdict = if heading.ok { "succeeded" } else { "failed" };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — {verdict}</title><style>{STYLE}</style></head><body>\n\
         <header><h1>{}</h1><p><span class=\"verdict {verdict}\">{verdict}</span> · written {}</p></header>\n",
        escape(heading.command),
        escape(heading.command),
        escape(heading.written)
    );
    cards(&mut page, summary, wall_ms(targets));
    failures(&mut page, targets);
    skipped(&mut page, targets);
    slowest(&mut page, targets);
    timeline(&mut page, targets);
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body></html>\n");
    page
}

/// From the first start to the last end, in ms.
fn wall_ms(targets: &[TargetReport]) -> u64 {
    targets.iter().map(|t| t.started_ms + t.ms).max().unwrap_or(0)
}

fn cards(page: &mut String, summary: &Summary, wall: u64) {
    page.push_str("<section class=\"cards\">");
    let cards = [
        ("targets", summary.targets.to_string(), ""),
        ("ok", summary.ok.to_string(), "ok"),
        ("failed", summary.failed.to_string(), if summary.failed > 0 { "failed" } else { "" }),
        ("skipped", summary.skipped.to_string(), if summary.skipped > 0 { "skipped" } else { "" }),
        ("interrupted", summary.interrupted.to_string(), if summary.interrupted > 0 { "interrupted" } else { "" }),
        ("revisions applied", summary.revisions_applied.to_string(), ""),
        ("waves", summary.waves.to_string(), ""),
        ("wall time", duration(wall), ""),
    ];
    for (label, value, class) in cards {
        let _ = write!(page, "<div class=\"card {class}\"><b>{value}</b><span>{label}</span></div>");
    }
    page.push_str("</section>\n");
    if let Some(why) = &summary.stopped {
        let _ =
            writeln!(page, "<p class=\"stopped\">Stopped: {}; the targets not started are skipped.</p>", escape(why));
    }
}

fn failures(page: &mut String, targets: &[TargetReport]) {
    let failed: Vec<&TargetReport> =
        targets.iter().filter(|t| matches!(t.status, Status::Failed | Status::Interrupted)).collect();
    let _ = write!(page, "<section id=\"failed\"><h2>Failed ({})</h2>", failed.len());
    if failed.is_empty() {
        page.push_str("<p>No target failed.</p></section>\n");
        return;
    }
    page.push_str("<table><thead><tr><th>target</th><th>status</th><th>at</th><th>error</th></tr></thead><tbody>");
    for t in failed {
        let at = if t.after.is_empty() { "base".to_string() } else { t.after.join(", ") };
        let _ = write!(
            page,
            "<tr class=\"failed-target\"><td>{}</td><td class=\"{}\">{}</td><td><code>{}</code></td><td class=\"error\">{}</td></tr>",
            escape(&t.target),
            status_name(t.status),
            status_name(t.status),
            escape(&at),
            escape(t.error.as_deref().unwrap_or(""))
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// Skipped targets, grouped by why, folded away.
fn skipped(page: &mut String, targets: &[TargetReport]) {
    let reasons = skipped_by_reason(targets.iter().map(|t| (t.target.as_str(), t.status, t.error.as_deref())));
    if reasons.is_empty() {
        return;
    }
    let count: usize = reasons.iter().map(|(_, n)| n.len()).sum();
    let _ = write!(page, "<section id=\"skipped\"><h2>Skipped ({count})</h2>");
    for (why, names) in reasons {
        let _ = write!(
            page,
            "<details><summary>{} — {} target(s)</summary><p class=\"names\">{}</p></details>",
            escape(why),
            names.len(),
            escape(&names.join(", "))
        );
    }
    page.push_str("</section>\n");
}

fn slowest(page: &mut String, targets: &[TargetReport]) {
    let mut ran: Vec<&TargetReport> = targets.iter().filter(|t| t.status != Status::Skipped).collect();
    ran.sort_by_key(|t| std::cmp::Reverse(t.ms));
    ran.truncate(10);
    let Some(longest) = ran.first().map(|t| t.ms.max(1)) else { return };
    page.push_str("<section id=\"slowest\"><h2>Slowest</h2><table><tbody>");
    for t in ran {
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"barcell\"><div class=\"bar {}\" style=\"width:{:.1}%\"></div></td></tr>",
            escape(&t.target),
            duration(t.ms),
            status_name(t.status),
            t.ms as f64 * 100.0 / longest as f64
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// Every target as a row: a bar from its start to its end on the run's time
/// axis, failed first, then by start.
fn timeline(page: &mut String, targets: &[TargetReport]) {
    let wall = wall_ms(targets).max(1);
    let mut rows: Vec<&TargetReport> = targets.iter().collect();
    rows.sort_by_key(|t| (!matches!(t.status, Status::Failed | Status::Interrupted), t.started_ms));
    let _ = write!(
        page,
        "<section id=\"timeline\"><h2>Timeline</h2>\
         <p class=\"tools\"><input id=\"filter\" type=\"search\" placeholder=\"filter targets\" aria-label=\"filter targets\"> \
         <span id=\"shown\">{} of {} shown</span> <span class=\"legend\"><i class=\"bar ok\"></i>ok \
         <i class=\"bar failed\"></i>failed <i class=\"bar skipped\"></i>skipped <i class=\"bar interrupted\"></i>interrupted</span></p>\
         <div class=\"axis\"><span>0</span><span>{}</span><span>{}</span><span class=\"revs\">revisions</span></div><div class=\"pane\">",
        targets.len(),
        targets.len(),
        duration(wall / 2),
        duration(wall)
    );
    for t in rows {
        let left = t.started_ms as f64 * 100.0 / wall as f64;
        let width = (t.ms as f64 * 100.0 / wall as f64).max(0.2);
        let revisions: Vec<&str> = t.steps.iter().map(|s| s.revision.as_str()).collect();
        let detail = format!(
            "{} · {} · started {} · {} · {} revision(s){}{}",
            t.target,
            status_name(t.status),
            duration(t.started_ms),
            duration(t.ms),
            revisions.len(),
            if revisions.is_empty() { String::new() } else { format!(": {}", revisions.join(", ")) },
            t.error.as_deref().map(|e| format!(" · {e}")).unwrap_or_default()
        );
        let _ = write!(
            page,
            "<div class=\"row\" data-name=\"{}\" title=\"{}\"><span class=\"name\">{}</span>\
             <span class=\"track\"><span class=\"bar {}\" style=\"left:{left:.2}%;width:{width:.2}%\"></span></span>\
             <span class=\"num\">{}</span></div>",
            escape(&t.target.to_lowercase()),
            escape(&detail),
            escape(&t.target),
            status_name(t.status),
            revisions.len()
        );
    }
    page.push_str("</div></section>\n");
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Interrupted => "interrupted",
    }
}

/// `850 ms`, `12.4 s`, `3 m 05 s`.
fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} m {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// Text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1b1f24;background:#fff}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\
.verdict{font-weight:600;padding:1px 8px;border-radius:10px;color:#fff}.verdict.succeeded{background:#1a7f37}.verdict.failed{background:#cf222e}\
.cards{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:96px}\
.card b{display:block;font-size:20px}.card span{color:#57606a}.card.failed b{color:#cf222e}.card.ok b{color:#1a7f37}.card.skipped b{color:#9a6700}\
.stopped{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}\
td.error{font-family:ui-monospace,Menlo,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word}\
td.failed,td.interrupted{color:#cf222e;font-weight:600}.num{text-align:right;color:#57606a;white-space:nowrap}\
.barcell{width:50%}.bar{display:block;height:10px;border-radius:2px;background:#1a7f37}\
.bar.failed{background:#cf222e}.bar.skipped{background:#d4a72c}.bar.interrupted{background:#8250df}\
.names{font-family:ui-monospace,Menlo,monospace;font-size:12px;word-break:break-word}\
.axis{display:flex;justify-content:space-between;margin-left:240px;color:#57606a;font-size:12px}.axis .revs{width:64px;text-align:right}\
.legend{margin-left:16px;color:#57606a}.legend i{display:inline-block;width:12px;margin:0 4px 0 8px;vertical-align:middle}\
.pane{max-height:70vh;overflow-y:auto;border:1px solid #d0d7de;border-radius:6px}\
.row{display:flex;align-items:center;height:16px;font-size:12px}.row:nth-child(even){background:#f6f8fa}\
.row .name{width:232px;padding-left:8px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:none}\
.track{position:relative;flex:1;height:10px}.track .bar{position:absolute;top:0;min-width:2px}.row .num{width:32px;flex:none;padding-right:8px}\
.hidden{display:none}";

/// The timeline's filter; it marks the page as scripted once it ran (the
/// browser test reads that mark).
const SCRIPT: &str = "\
(function(){var input=document.getElementById('filter');var rows=document.querySelectorAll('.pane .row');\
var shown=document.getElementById('shown');input.addEventListener('input',function(){var q=input.value.toLowerCase();var n=0;\
rows.forEach(function(r){var hit=r.dataset.name.indexOf(q)>=0;r.classList.toggle('hidden',!hit);if(hit){n++;}});\
shown.textContent=n+' of '+rows.length+' shown';});document.body.dataset.ready='1';})();";

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, status: Status, started_ms: u64, ms: u64, error: Option<&str>) -> TargetReport {
        TargetReport {
            target: name.into(),
            driver: "postgres".into(),
            status,
            before: vec![],
            after: vec![],
            steps: vec![],
            notes: vec![],
            part_way: vec![],
            started_ms,
            ms,
            error: error.map(String::from),
        }
    }

    #[test]
    fn failures_come_first_and_text_is_escaped() {
        let targets = [
            target("t:a", Status::Ok, 0, 40, None),
            target("t:<b>", Status::Failed, 10, 20, Some("relation \"x\" & <y> exists")),
            target("t:c", Status::Skipped, 50, 0, Some("not started: wave 2 of 3 ended with 1 failed target(s)")),
        ];
        let summary = Summary {
            targets: 3,
            ok: 1,
            failed: 1,
            skipped: 1,
            interrupted: 0,
            revisions_applied: 0,
            waves: 3,
            stopped: Some("wave 2 of 3 ended with 1 failed target(s)".into()),
            slowest: vec![],
        };
        let page = render(&Heading { command: "retort upgrade heads", written: "now", ok: false }, &targets, &summary);
        assert!(page.contains("relation &quot;x&quot; &amp; &lt;y&gt; exists"), "escaped");
        assert!(!page.contains("t:<b>"), "no markup from a name");
        let timeline = &page[page.find("id=\"timeline\"").unwrap()..];
        assert!(timeline.find("t:&lt;b&gt;").unwrap() < timeline.find("t:a").unwrap(), "failed first");
        assert!(page.contains("Stopped: wave 2 of 3"));
        assert!(!page.contains("http://") && !page.contains("https://"), "no network resources");
        assert_eq!(duration(65_000), "1 m 05 s");
        assert_eq!(duration(1_250), "1.2 s");
    }
}
