//! Offline `--sql` scripts: a plan rendered as the SQL a run would send.

use super::statements;
use crate::driver::{Dialect, VersionTable};
use crate::plan::Plan;
use crate::split::{Flavor, split};

/// Renders a plan as an offline SQL script, the way Alembic's `--sql` does:
/// each step introduced by `-- Running upgrade A -> B`.
pub fn render_offline(plan: &Plan, dialect: &dyn Dialect, table: &VersionTable, starting: &[String]) -> String {
    let end = dialect.offline_terminator();
    let mut out = String::new();
    if starting.is_empty() && !plan.steps.is_empty() {
        out.push_str(&format!("{}{end}\n\n", dialect.create_version_table(table)));
    }
    let (begin, commit) = dialect.offline_transaction();
    for step in &plan.steps {
        out.push_str(&format!("-- Running {}\n\n", step.short_log()));
        let body = if step.is_python && !step.is_stamp {
            format!("-- revision {} is an Alembic .py revision; its body is not rendered\n", step.revision)
        } else {
            statements(step, dialect).iter().map(|s| rendered(&s.sql, dialect.flavor(), end)).collect()
        };
        let version: String =
            step.change.ops().iter().map(|op| format!("{}{end}\n", dialect.version_op(table, op))).collect();
        let atomic = step.transactional && dialect.capabilities().transactional_ddl;
        if atomic {
            out.push_str(&format!("{begin}\n{body}{version}{commit}\n\n"));
        } else {
            out.push_str(&format!("{body}{begin}\n{version}{commit}\n\n"));
        }
    }
    if !plan.steps.is_empty() && plan.heads_after.is_empty() {
        out.push_str(&format!("{}{end}\n", dialect.drop_version_table(table)));
    }
    out
}

/// One statement as the dialect's own client reads it. The `mysql` client ends a
/// statement at its first `;`, so a procedure or trigger body holding several goes
/// between `DELIMITER` lines, with a delimiter the statement does not contain.
fn rendered(sql: &str, flavor: Flavor, end: &str) -> String {
    let sql = terminable(sql);
    if flavor != Flavor::MySql || split(&sql, Flavor::MySql).len() < 2 {
        return format!("{sql}{end}\n");
    }
    let candidates = ["//", "$$", ";;", "$$$", "///"].map(String::from);
    let fallback = (4..).map(|n| "/".repeat(n));
    // The fallback grows until it is longer than the statement, so `find` ends.
    let delimiter = candidates.into_iter().chain(fallback).find(|d| !sql.contains(d.as_str())).unwrap_or_default();
    format!("DELIMITER {delimiter}\n{sql}{delimiter}\nDELIMITER ;\n")
}

/// A statement ready for its terminator: a last line holding a `--` (or MySQL `#`)
/// comment would swallow a `;` written after it, so the terminator goes on a line of
/// its own there.
fn terminable(sql: &str) -> String {
    let sql = sql.trim_end_matches(';');
    let last = sql.rsplit('\n').next().unwrap_or_default();
    if last.contains("--") || last.contains('#') { format!("{sql}\n") } else { sql.to_string() }
}

#[cfg(test)]
mod tests {
    use super::{rendered, terminable};
    use crate::split::Flavor;

    #[test]
    fn mysql_bodies_holding_semicolons_go_between_delimiter_lines() {
        let body = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT '//'; END";
        assert_eq!(rendered(body, Flavor::MySql, ";"), format!("DELIMITER $$\n{body}$$\nDELIMITER ;\n"));
        assert_eq!(rendered("SELECT 'a;b'", Flavor::MySql, ";"), "SELECT 'a;b';\n", "one statement as it is");
        assert_eq!(rendered(body, Flavor::Postgres, ";"), format!("{body};\n"));
    }

    #[test]
    fn a_trailing_line_comment_does_not_swallow_the_terminator() {
        assert_eq!(terminable("SELECT 1 -- note"), "SELECT 1 -- note\n");
        assert_eq!(terminable("SELECT 1;"), "SELECT 1");
        assert_eq!(terminable("-- why\nSELECT 1"), "-- why\nSELECT 1");
    }
}
