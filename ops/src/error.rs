//! Why an operation did not start: bad input, found before any target is touched.
//! Failures of one target at run time are not errors; they are in its report.

use retort_config::ConfigError;
use retort_history::author::AuthorError;
use retort_history::error::{GraphError, ScriptError, SpecError};

/// An operation's error. Each message names what it is about (the database, the
/// fleet, the file) and holds its cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A revision file could not be read.
    #[error("{context}: {cause}")]
    Script { context: String, cause: ScriptError },
    /// The revisions do not form a valid history.
    #[error("{context}: {cause}")]
    Graph { context: String, cause: GraphError },
    /// A revision spec names nothing, or nothing reachable.
    #[error("{context}: {cause}")]
    Spec { context: String, cause: SpecError },
    /// A new revision cannot be written where it was asked for.
    #[error("{context}: {cause}")]
    Author { context: String, cause: AuthorError },
    /// Several targets cannot run, one reason each; none was touched.
    #[error("{}", .0.join("; "))]
    BadTargets(Vec<String>),
    /// Bad usage: a selection that matches nothing, a command given several
    /// histories where it takes one, a missing revision folder, an unknown URL scheme.
    #[error("{0}")]
    Usage(String),
    /// A database the operation had to read before planning (a fleet's control
    /// database, a target for `history current`) could not be read.
    #[error("{0}")]
    Unreachable(String),
    /// A file could not be written.
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
}

impl Error {
    /// The error's class, as the JSON error document's `kind` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Script { .. } | Error::Graph { .. } => "script",
            Error::Spec { .. } | Error::Author { cause: AuthorError::Spec(_), .. } => "spec",
            Error::Author { cause: AuthorError::Graph(_), .. } => "script",
            Error::Author { .. }
            | Error::BadTargets(_)
            | Error::Usage(_)
            | Error::Unreachable(_)
            | Error::Write { .. } => "usage",
        }
    }

    /// One line per problem.
    pub fn problems(&self) -> Vec<String> {
        match self {
            Error::BadTargets(lines) => lines.clone(),
            other => vec![other.to_string()],
        }
    }

    /// A spec error about `context`.
    pub(crate) fn spec(context: impl Into<String>) -> impl FnOnce(SpecError) -> Error {
        let context = context.into();
        move |cause| Error::Spec { context, cause }
    }

    /// An authoring error about `context`.
    pub(crate) fn author(context: impl Into<String>) -> impl FnOnce(AuthorError) -> Error {
        let context = context.into();
        move |cause| Error::Author { context, cause }
    }
}

/// An operation's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
