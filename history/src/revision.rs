//! One revision as read from a script file, before it joins a graph.

use std::path::PathBuf;

/// What a revision does when it runs, as far as retort can know statically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A `.sql` revision: the text of its `migrate:up` and `migrate:down` sections,
    /// and the file lines they start on (so errors can name `file:line`).
    Sql { up: String, down: String, up_line: usize, down_line: usize },
    /// An Alembic `.py` revision: its graph facts are known, its code is never run.
    Python,
}

/// A revision file's header: the facts the graph is built from, plus its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The revision id (`Revision ID:` or `revision = ...`).
    pub id: String,
    /// Parents in declared order; empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    /// Branch labels exactly as declared in this file (not inherited ones).
    pub branch_labels: Vec<String>,
    /// `depends_on` entries as declared: revision ids, prefixes or branch labels.
    pub depends_on: Vec<String>,
    /// The message (first paragraph of the header comment or docstring).
    pub message: String,
    /// `Create Date:` when present.
    pub create_date: Option<String>,
    /// Whether the body and its version-row change commit together (default true).
    pub transactional: bool,
    /// `retort check` rules this revision silences (`Allow:` in a `.sql` header).
    pub allow: Vec<String>,
    /// Whether running any of its statements again is harmless (`Idempotent: true`):
    /// a statement in flight when a run died then simply runs again.
    pub idempotent: bool,
    /// The file it was read from.
    pub path: PathBuf,
    /// What runs.
    pub body: Body,
}

impl Revision {
    /// The `.sql` body that runs going `direction`, and the file line it starts on;
    /// `None` for a `.py` revision.
    pub fn sql_body(&self, direction: crate::plan::Direction) -> Option<(&str, usize)> {
        use crate::plan::Direction;
        match (&self.body, direction) {
            (Body::Sql { up, up_line, .. }, Direction::Up) => Some((up, *up_line)),
            (Body::Sql { down, down_line, .. }, Direction::Down) => Some((down, *down_line)),
            (Body::Python, _) => None,
        }
    }
}

/// Characters that Alembic forbids in revision ids because the spec grammar uses them.
pub const ILLEGAL_ID_CHARS: [char; 3] = ['@', '-', '+'];
