//! Rules about the statements of each revision, in its target's dialect:
//! statements the database refuses inside the transaction their revision runs in
//! (errors), and statements that break or lock a live application (warnings).

use std::collections::HashSet;

use retort_engine::split::{Flavor, Statement, split};
use retort_engine::statement::{self, Change, Effect, Hazard, ObjectKind};
use retort_history::graph::Graph;
use retort_history::plan::Direction;
use retort_history::revision::Revision;

use crate::{Facts, Finding, Rule};

pub(crate) fn check(graph: &Graph, flavor: Flavor, facts: &Facts) -> Vec<Finding> {
    let mut found = Vec::new();
    for rev in graph.revisions() {
        for direction in [Direction::Up, Direction::Down] {
            let Some((body, first_line)) = rev.sql_body(direction) else { continue };
            let statements = split(body, flavor);
            let line = |s: &Statement| s.file_line(first_line);
            if rev.transactional {
                for s in statements.iter().filter(|s| needs_autocommit(&s.sql, flavor, facts.postgres_version)) {
                    found.push(autocommit_finding(rev, direction, line(s), &s.sql));
                }
            }
            if direction == Direction::Up {
                found.extend(hazard_findings(rev, &statements, flavor, facts, line));
            }
        }
    }
    found
}

/// Whether the database refuses `sql` inside a transaction.
fn needs_autocommit(sql: &str, flavor: Flavor, postgres_version: u32) -> bool {
    match flavor {
        Flavor::Postgres => statement::postgres_needs_autocommit(sql, postgres_version),
        Flavor::Sqlite => statement::sqlite_needs_autocommit(sql),
        Flavor::SqlServer => statement::sqlserver_needs_autocommit(sql),
        Flavor::MySql => false,
    }
}

fn autocommit_finding(rev: &Revision, direction: Direction, line: usize, sql: &str) -> Finding {
    let section = if direction == Direction::Up { "upgrade" } else { "downgrade" };
    Rule::NeedsAutocommit.finding(
        &rev.path,
        line,
        Some(&rev.id),
        format!("`{}` cannot run inside a transaction, and revision {} runs its {section} in one", shown(sql), rev.id),
        "add `-- Transactional: false` to its header, or move the statement to a revision of its own that has it"
            .into(),
    )
}

/// The hazards of an upgrade body. A table or view the same revision creates is
/// used by nobody yet: what the revision does to it is no hazard.
fn hazard_findings(
    rev: &Revision,
    statements: &[Statement],
    flavor: Flavor,
    facts: &Facts,
    line: impl Fn(&Statement) -> usize,
) -> Vec<Finding> {
    let mut created: HashSet<String> = HashSet::new();
    let mut found = Vec::new();
    for s in statements {
        if let Effect::Changes(changes) = statement::effect(&s.sql, flavor) {
            for change in changes {
                if let Change::Creates(object) = change
                    && matches!(object.kind, ObjectKind::Table | ObjectKind::View)
                {
                    created.insert(object.name.name.text.to_ascii_lowercase());
                }
            }
        }
        for hazard in statement::hazards(&s.sql, flavor) {
            // Nobody uses what the same revision created yet.
            let table = hazard.table().name.text.to_ascii_lowercase();
            let skip = created.contains(&table)
                || matches!(hazard, Hazard::AlterWithoutAlgorithm { .. }) && !facts.large_tables.contains(&table);
            if skip {
                continue;
            }
            let (rule, message, fix) = describe(&hazard);
            found.push(rule.finding(&rev.path, line(s), Some(&rev.id), format!("`{}`: {message}", shown(&s.sql)), fix));
        }
    }
    found
}

/// A hazard's rule, what it does to a live application, and the safer way.
pub(crate) fn describe(hazard: &Hazard) -> (Rule, String, String) {
    let expand_contract = "split it into expand/contract revisions (`retort revision --rename-column`), \
                           or silence it with `-- Allow:"
        .to_string();
    match hazard {
        Hazard::DropColumn { table, column } => (
            Rule::DropColumn,
            format!("running code that still reads {}.{column} fails once it is gone", table.name.text),
            "drop it in a contract revision, after the application stopped using it; or `-- Allow: drop-column`".into(),
        ),
        Hazard::RenameColumn { table, column } => (
            Rule::RenameColumn,
            format!("code using either name of {}.{column} fails during the rollout", table.name.text),
            format!("{expand_contract} rename-column` in its header"),
        ),
        Hazard::SetNotNull { table, column } => (
            Rule::SetNotNull,
            format!("scans {} under an ACCESS EXCLUSIVE lock to check {column}", table.name.text),
            "add `CHECK ({column} IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it, then SET NOT NULL; \
             or `-- Allow: set-not-null`"
                .replace("{column}", column),
        ),
        Hazard::VolatileDefault { table, column } => (
            Rule::VolatileDefault,
            format!("rewrites {} under an ACCESS EXCLUSIVE lock to fill {column}", table.name.text),
            "add the column without a default, backfill it in batches, then SET DEFAULT; \
             or `-- Allow: volatile-default`"
                .into(),
        ),
        Hazard::IndexNotConcurrent { table } => (
            Rule::IndexNotConcurrent,
            format!("blocks writes to {} while the index builds", table.name.text),
            "use CREATE INDEX CONCURRENTLY in a `-- Transactional: false` revision; \
             or `-- Allow: index-not-concurrent`"
                .into(),
        ),
        Hazard::AlterWithoutAlgorithm { table } => (
            Rule::AlterWithoutAlgorithm,
            format!("{} is large; the server may copy it and block writes while it does", table.name.text),
            "add `, ALGORITHM=INSTANT` (or INPLACE) so that the server refuses instead of copying; \
             or `-- Allow: alter-without-algorithm`"
                .into(),
        ),
    }
}

/// A statement on one line, cut at 60 characters.
fn shown(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}
