//! Errors of the library, as data. The CLI adds context and maps them to exit codes.

use std::path::PathBuf;

/// A script file could not be read into a revision.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", .path.display())]
    Malformed { path: PathBuf, line: usize, message: String },
    #[error("{}: no `versions/` folder in this script location", .path.display())]
    NoVersionsDir { path: PathBuf },
}

/// The revisions do not form a valid history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("revision {id} is defined twice: {first} and {second}")]
    DuplicateRevision { id: String, first: String, second: String },
    #[error("branch label '{label}' in revision {revision} is already used by revision {other}")]
    DuplicateLabel { label: String, revision: String, other: String },
    #[error("branch label '{label}' in revision {revision} is the id of a revision")]
    LabelIsRevisionId { label: String, revision: String },
    #[error("revision {parent} referenced as down_revision of {revision} is not present")]
    MissingParent { revision: String, parent: String },
    #[error("revision {revision} depends on '{dependency}', which is not a revision or branch label")]
    MissingDependency { revision: String, dependency: String },
    #[error("revision {0} is its own down_revision")]
    SelfLoop(String),
    #[error("revision {0} depends on itself")]
    DependencySelfLoop(String),
    #[error("cycle among revisions: {}", .0.join(", "))]
    Cycle(Vec<String>),
    #[error("cycle among dependencies of revisions: {}", .0.join(", "))]
    DependencyCycle(Vec<String>),
    #[error("revision id '{id}' contains the character '{ch}', which specs reserve")]
    IllegalCharacter { id: String, ch: char },
    #[error("revision id '{0}' must be 1 to 32 characters without whitespace, quotes, '\\' or ':'")]
    BadId(String),
}

/// A revision spec could not be resolved or planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("no such revision or branch '{0}'{hint}", hint = if .0.len() < 4 { "; use at least four characters of a partial revision id" } else { "" })]
    NotFound(String),
    #[error("no such branch: '{0}'")]
    NoSuchBranch(String),
    #[error("multiple revisions start with '{prefix}': {}", .candidates.join(", "))]
    Ambiguous { prefix: String, candidates: Vec<String> },
    #[error("'{spec}' matches several heads: {}; name one ({})", .heads.join(", "), .heads.iter().map(|h| format!("{h}@head")).collect::<Vec<_>>().join(", "))]
    MultipleHeads { spec: String, heads: Vec<String> },
    #[error("revision {revision} is not a member of branch '{branch}'")]
    NotOnBranch { revision: String, branch: String },
    #[error("relative revision {spec} didn't produce {steps} migrations")]
    RelativeTooFar { spec: String, steps: u64 },
    #[error("'{spec}' walks through several revisions at once: {}; name one", .choices.join(", "))]
    AmbiguousWalk { spec: String, choices: Vec<String> },
    #[error("'{spec}' is relative to several current heads; name one of: {}", .choices.join(", "))]
    AmbiguousRelative { spec: String, choices: Vec<String> },
    #[error("destination {target} is not a valid {direction} target from current head(s) {current}", current = if .current.is_empty() { "<base>".to_string() } else { .current.join(", ") })]
    NotReachable { target: String, direction: &'static str, current: Vec<String> },
    #[error("requested revision {revision} overlaps with other requested revisions {}", .others.join(", "))]
    Overlap { revision: String, others: Vec<String> },
    #[error("the version table holds '{0}', which is not a revision of this script directory")]
    UnknownCurrent(String),
    #[error("version table is inconsistent: {0}")]
    Inconsistent(String),
    #[error("{0}")]
    Other(String),
}
