//! Offline `--sql` scripts: a plan rendered as the SQL a run would send.

use super::statements;
use crate::driver::{Dialect, VersionTable};
use crate::split::{Flavor, split};
use retort_history::plan::Plan;

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
            statements(step, dialect).iter().map(|s| render_statement(&s.sql, dialect.flavor(), end)).collect()
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

/// One statement of an offline script, as the dialect's own client reads it,
/// ended by `end` (the dialect's [`Dialect::offline_terminator`]). The `mysql`
/// client ends a statement at its first `;`, so a statement it would not read back
/// whole (a procedure or trigger body holding several) goes between `DELIMITER`
/// lines, with a delimiter the statement does not contain.
pub fn render_statement(sql: &str, flavor: Flavor, end: &str) -> String {
    let read_back = || split(sql, Flavor::MySql).into_iter().map(|s| s.sql).collect::<Vec<_>>();
    if flavor == Flavor::MySql && read_back() != [sql.trim_end_matches(';').trim_end()] {
        let candidates = ["//", "$$", ";;", "$$$", "///"].map(String::from);
        let fallback = (4..).map(|n| "/".repeat(n));
        // The fallback grows until it is longer than the statement, so `find` ends.
        let delimiter = candidates.into_iter().chain(fallback).find(|d| !sql.contains(d.as_str())).unwrap_or_default();
        // Between DELIMITER lines every `;` is the statement's own: none is trimmed.
        // On a line of its own, the delimiter cannot join the statement's last characters.
        return format!("DELIMITER {delimiter}\n{sql}\n{delimiter}\nDELIMITER ;\n");
    }
    // A `--` (or MySQL `#`) comment on the last line would swallow a terminator
    // written after it, so the terminator gets a line of its own; a `;` at the end of
    // such a line belongs to the comment and stays.
    if ends_in_comment(sql, flavor) {
        format!("{sql}\n{end}\n")
    } else {
        format!("{}{end}\n", sql.trim_end_matches(';'))
    }
}

/// Whether the last line of `sql` may hold a line comment (a `--`, or MySQL's `#`).
fn ends_in_comment(sql: &str, flavor: Flavor) -> bool {
    let last = sql.rsplit('\n').next().unwrap_or_default();
    last.contains("--") || (flavor == Flavor::MySql && last.contains('#'))
}

#[cfg(test)]
mod tests {
    use super::render_statement;
    use crate::split::Flavor;

    #[test]
    fn mysql_bodies_holding_semicolons_go_between_delimiter_lines() {
        let body = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT '//'; END";
        assert_eq!(render_statement(body, Flavor::MySql, ";"), format!("DELIMITER $$\n{body}\n$$\nDELIMITER ;\n"));
        assert_eq!(render_statement("SELECT 'a;b'", Flavor::MySql, ";"), "SELECT 'a;b';\n", "one statement as it is");
        assert_eq!(render_statement(body, Flavor::Postgres, ";"), format!("{body};\n"));
        // Found by fuzzing: the client would read only `EC` of this one.
        assert_eq!(render_statement("EC; # c;", Flavor::MySql, ";"), "DELIMITER //\nEC; # c;\n//\nDELIMITER ;\n");
    }

    #[test]
    fn a_trailing_line_comment_does_not_swallow_the_terminator() {
        let render = |sql| render_statement(sql, Flavor::Postgres, ";");
        assert_eq!(render("SELECT 1 -- note"), "SELECT 1 -- note\n;\n");
        assert_eq!(render("SELECT 1;"), "SELECT 1;\n");
        assert_eq!(render("SELECT 1 -- note;"), "SELECT 1 -- note;\n;\n", "the comment keeps its text");
        assert_eq!(render("-- why\nSELECT 1"), "-- why\nSELECT 1;\n");
    }
}
