//! Histories written as one-line specs, for tests here and in the crates that
//! build on this one (the `testing` feature).

use crate::graph::Graph;
use crate::revision::{Body, Revision};

/// Builds revisions from `id:parent1,parent2` specs; `@label` and `~dep` suffixes.
pub fn revs(specs: &[&str]) -> Vec<Revision> {
    specs
        .iter()
        .map(|spec| {
            let mut parts = spec.split_whitespace();
            let (id, parents) = parts.next().unwrap().split_once(':').unwrap_or((spec, ""));
            let mut rev = Revision {
                id: id.to_string(),
                down_revisions: parents.split(',').filter(|p| !p.is_empty()).map(String::from).collect(),
                branch_labels: vec![],
                depends_on: vec![],
                message: String::new(),
                create_date: None,
                transactional: true,
                allow: Vec::new(),
                idempotent: false,
                path: format!("{id}.sql").into(),
                body: Body::Sql { up: String::new(), down: String::new(), up_line: 0, down_line: 0 },
            };
            for extra in parts {
                if let Some(label) = extra.strip_prefix('@') {
                    rev.branch_labels.push(label.to_string());
                } else if let Some(dep) = extra.strip_prefix('~') {
                    rev.depends_on.push(dep.to_string());
                }
            }
            rev
        })
        .collect()
}

pub fn graph(specs: &[&str]) -> Graph {
    Graph::new(revs(specs)).unwrap()
}
