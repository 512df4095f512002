//! The rules, their names and severities, and how a revision silences one.

use std::path::Path;

use retort_history::graph::Graph;

use crate::Finding;

/// How bad a finding is: errors make `retort check` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A mistake that breaks a deploy: `retort check` exits 1.
    Error,
    /// A risk worth a second look.
    Warning,
}

/// A rule of `retort check`; its [`Rule::name`] is what findings show and what
/// an `Allow:` header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Several heads grow from one base and were never merged.
    UnmergedHeads,
    /// A transactional revision holds a statement its database refuses inside a
    /// transaction.
    NeedsAutocommit,
    /// A branch starts without a branch label.
    UnlabelledBranch,
    /// A `.sql` revision's downgrade section is empty.
    NoDowngrade,
    /// `ALTER TABLE … DROP COLUMN` outside an expand/contract set.
    DropColumn,
    /// A column renamed in one step.
    RenameColumn,
    /// PostgreSQL `SET NOT NULL` (a full scan under an exclusive lock).
    SetNotNull,
    /// PostgreSQL `ADD COLUMN … DEFAULT` with a volatile default (a table rewrite).
    VolatileDefault,
    /// PostgreSQL `CREATE INDEX` without `CONCURRENTLY`.
    IndexNotConcurrent,
    /// MySQL/MariaDB `ALTER TABLE` without `ALGORITHM=INSTANT/INPLACE` on a large
    /// table of a selected database.
    AlterWithoutAlgorithm,
    /// An `Allow:` header names no rule.
    UnknownRule,
    /// An applied revision's file changed since it was applied (from the audit
    /// trail of a selected database).
    Drift,
    /// A selected database could not be read.
    Unreachable,
}

impl Rule {
    /// The rules a revision may silence.
    pub const ALL: [Rule; 10] = [
        Rule::UnmergedHeads,
        Rule::NeedsAutocommit,
        Rule::UnlabelledBranch,
        Rule::NoDowngrade,
        Rule::DropColumn,
        Rule::RenameColumn,
        Rule::SetNotNull,
        Rule::VolatileDefault,
        Rule::IndexNotConcurrent,
        Rule::AlterWithoutAlgorithm,
    ];

    /// The rule's name, e.g. `drop-column`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::UnmergedHeads => "unmerged-heads",
            Rule::NeedsAutocommit => "needs-autocommit",
            Rule::UnlabelledBranch => "unlabelled-branch",
            Rule::NoDowngrade => "no-downgrade",
            Rule::DropColumn => "drop-column",
            Rule::RenameColumn => "rename-column",
            Rule::SetNotNull => "set-not-null",
            Rule::VolatileDefault => "volatile-default",
            Rule::IndexNotConcurrent => "index-not-concurrent",
            Rule::AlterWithoutAlgorithm => "alter-without-algorithm",
            Rule::UnknownRule => "unknown-rule",
            Rule::Drift => "drift",
            Rule::Unreachable => "unreachable",
        }
    }

    /// How bad its findings are.
    pub fn severity(self) -> Severity {
        match self {
            Rule::UnmergedHeads | Rule::NeedsAutocommit | Rule::UnknownRule | Rule::Drift | Rule::Unreachable => {
                Severity::Error
            }
            _ => Severity::Warning,
        }
    }

    /// A finding of this rule at `file:line`.
    pub fn finding(self, file: &Path, line: usize, revision: Option<&str>, message: String, fix: String) -> Finding {
        Finding {
            rule: self,
            severity: self.severity(),
            file: file.to_path_buf(),
            line,
            revision: revision.map(String::from),
            message,
            fix,
        }
    }
}

/// Drops the warnings a revision's `Allow:` header silences (rule names in any
/// case), and adds an error for each name there that is no rule or names an
/// error (errors break deploys: they cannot be silenced).
pub(crate) fn apply_allow(graph: &Graph, found: Vec<Finding>) -> Vec<Finding> {
    let allows = |id: &str, rule: Rule| {
        graph.index_of(id).is_some_and(|i| graph.revision(i).allow.iter().any(|a| a.eq_ignore_ascii_case(rule.name())))
    };
    let silenced =
        |f: &Finding| f.severity == Severity::Warning && f.revision.as_deref().is_some_and(|id| allows(id, f.rule));
    let mut kept: Vec<Finding> = found.into_iter().filter(|f| !silenced(f)).collect();
    let warnings: Vec<&str> =
        Rule::ALL.iter().filter(|r| r.severity() == Severity::Warning).map(|r| r.name()).collect();
    for rev in graph.revisions() {
        for name in &rev.allow {
            let rule = Rule::ALL.iter().find(|r| r.name().eq_ignore_ascii_case(name));
            let message = match rule {
                Some(rule) if rule.severity() == Severity::Warning => continue,
                Some(_) => {
                    format!("`Allow:` names `{name}`, an error: errors cannot be silenced, they break the deploy")
                }
                None => format!("`Allow:` names `{name}`, which is no rule of retort check"),
            };
            kept.push(Rule::UnknownRule.finding(
                &rev.path,
                allow_line(&rev.path).unwrap_or(1),
                Some(&rev.id),
                message,
                format!("name only warnings: {}", warnings.join(", ")),
            ));
        }
    }
    kept
}

/// The line of a file's `-- Allow:` header.
fn allow_line(path: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let allow = |line: &str| {
        let field = line.trim_start().strip_prefix("--").map(|c| c.trim_start().to_ascii_lowercase());
        field.is_some_and(|f| f.starts_with("allow:") || f.starts_with("allow :"))
    };
    text.lines().position(allow).map(|i| i + 1)
}
