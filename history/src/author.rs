//! Writing history: new revisions (`retort revision`) and merges (`retort merge`),
//! with Alembic's rules on where a new revision may attach.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{GraphError, SpecError};
use crate::graph::Graph;
use crate::revision::{Body, ILLEGAL_ID_CHARS, Revision};
use crate::script;

/// What `retort revision` / `retort merge` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRevision {
    pub message: String,
    /// Specs of the parents; empty means `head`.
    pub heads: Vec<String>,
    /// Allow attaching to a revision that is not a head (a new branch).
    pub splice: bool,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub rev_id: Option<String>,
    pub transactional: bool,
}

/// Why a revision could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorError {
    #[error(
        "several heads are present ({}); name the parent with --head (e.g. --head {}@head), or merge them with `retort merge heads`",
        .0.join(", "), .0[0]
    )]
    MultipleHeads(Vec<String>),
    #[error("revision {0} is not a head; pass --splice to start a new branch from it")]
    NotAHead(String),
    #[error("duplicate parent revisions given")]
    DuplicateParents,
    #[error("a merge needs at least two revisions; {0} named only {1}")]
    NothingToMerge(String, usize),
    #[error("revision id '{0}' is already used")]
    IdTaken(String),
    #[error("revision id '{0}' must be non-empty and contain no whitespace, '@', '-' or '+'")]
    BadId(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// Builds the header of a new revision attached where `request` says.
pub fn new_revision(graph: &Graph, request: &NewRevision, path_dir: &Path) -> Result<Revision, AuthorError> {
    let specs = if request.heads.is_empty() { vec!["head".to_string()] } else { request.heads.clone() };
    let mut parents = Vec::new();
    for spec in &specs {
        let resolved = graph.resolve(spec).map_err(|e| match e {
            SpecError::MultipleHeads { heads, .. } => AuthorError::MultipleHeads(heads),
            other => other.into(),
        })?;
        parents.extend(resolved);
    }
    let mut unique = parents.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != parents.len() {
        return Err(AuthorError::DuplicateParents);
    }
    if !request.splice
        && let Some(&p) = parents.iter().find(|&&p| !graph.is_head(p))
    {
        return Err(AuthorError::NotAHead(graph.revision(p).id.clone()));
    }
    let id = match &request.rev_id {
        Some(id) => id.clone(),
        None => random_id(),
    };
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || ILLEGAL_ID_CHARS.contains(&c)) {
        return Err(AuthorError::BadId(id));
    }
    if graph.index_of(&id).is_some() {
        return Err(AuthorError::IdTaken(id));
    }
    let depends_on = request
        .depends_on
        .iter()
        .map(|dep| {
            if dep.contains(':') {
                return Ok(dep.clone()); // another database's revision, checked when it runs
            }
            let index = graph.resolve_one(dep)?.ok_or_else(|| SpecError::NotFound(dep.clone()))?;
            let keep_label = graph.has_label(index, dep);
            Ok(if keep_label { dep.clone() } else { graph.revision(index).id.clone() })
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    let revision = Revision {
        path: path_dir.join(script::file_name(&id, &request.message)),
        id,
        down_revisions: graph.ids(&parents),
        branch_labels: request.branch_labels.clone(),
        depends_on,
        message: request.message.clone(),
        create_date: Some(now_utc()),
        transactional: request.transactional,
        allow: Vec::new(),
        idempotent: false,
        body: Body::Sql { up: String::new(), down: String::new(), up_line: 0, down_line: 0 },
    };
    let mut all = graph.revisions().to_vec();
    all.push(revision.clone());
    Graph::new(all)?;
    Ok(revision)
}

/// Builds a merge of the revisions `specs` name (default: `heads`).
pub fn merge(graph: &Graph, specs: &[String], mut request: NewRevision) -> Result<Revision, AuthorError> {
    // No arguments, or `heads`, merges what `retort heads` lists: effective heads
    // (heads another revision depends on) too, not only the upgrade target `heads`.
    let specs = if specs.is_empty() || specs == ["heads"] { graph.ids(graph.heads()) } else { specs.to_vec() };
    let count: usize = specs.iter().map(|s| graph.resolve(s).map(|r| r.len())).sum::<Result<usize, _>>()?;
    if count < 2 {
        return Err(AuthorError::NothingToMerge(specs.join(" "), count));
    }
    request.heads = specs;
    request.splice = false;
    let dir = graph.revisions().first().and_then(|r| r.path.parent()).map(Path::to_path_buf).unwrap_or_default();
    new_revision(graph, &request, &dir)
}

/// A fresh 12-hex-digit revision id.
pub fn random_id() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default());
    hasher.write_u32(std::process::id());
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// The current UTC time as `YYYY-MM-DD HH:MM:SS`.
pub fn now_utc() -> String {
    let (year, month, day, rest) = utc_date(SystemTime::now());
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `time` in UTC as year, month, day and seconds into the day.
pub fn utc_date(time: SystemTime) -> (i64, i64, i64, i64) {
    let secs = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::graph;

    fn request(heads: &[&str]) -> NewRevision {
        NewRevision { heads: heads.iter().map(|s| s.to_string()).collect(), transactional: true, ..Default::default() }
    }

    #[test]
    fn attaches_to_the_single_head() {
        let g = graph(&["a:", "b:a"]);
        let rev = new_revision(&g, &request(&[]), Path::new("v")).unwrap();
        assert_eq!(rev.down_revisions, ["b"]);
        assert_eq!(rev.id.len(), 12);
    }

    #[test]
    fn refuses_new_heads_without_head_or_splice() {
        let g = graph(&["a:", "b:a", "c:a"]);
        assert!(matches!(new_revision(&g, &request(&[]), Path::new("v")), Err(AuthorError::MultipleHeads(_))));
        assert!(matches!(new_revision(&g, &request(&["a"]), Path::new("v")), Err(AuthorError::NotAHead(_))));
        let mut spliced = request(&["a"]);
        spliced.splice = true;
        assert_eq!(new_revision(&g, &spliced, Path::new("v")).unwrap().down_revisions, ["a"]);
        assert!(new_revision(&g, &request(&["base"]), Path::new("v")).unwrap().down_revisions.is_empty());
    }

    #[test]
    fn merges_heads_and_resolves_dependencies() {
        let g = graph(&["a: @lbl", "b:a", "c:a"]);
        let rev = merge(&g, &[], request(&[])).unwrap();
        assert_eq!(rev.down_revisions, ["b", "c"]);
        let mut req = request(&["b"]);
        req.depends_on = vec!["lbl".into(), "c".into()];
        assert_eq!(new_revision(&g, &req, Path::new("v")).unwrap().depends_on, ["lbl", "c"]);
        let g = graph(&["a:", "b:a"]);
        assert!(matches!(merge(&g, &[], request(&[])), Err(AuthorError::NothingToMerge(..))));
        let g = graph(&["u1:", "u2:u1", "v1: ~u2"]);
        let rev = merge(&g, &["heads".into()], request(&[])).unwrap();
        assert_eq!(rev.down_revisions, ["u2", "v1"], "the effective head u2 is merged too");
    }

    #[test]
    fn dates_look_right() {
        let date = now_utc();
        assert_eq!(date.len(), 19);
        assert!(date.starts_with("20"));
    }
}
