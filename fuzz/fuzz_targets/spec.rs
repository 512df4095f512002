//! The spec parser and planner on a fixed branching graph (two roots, labels, a
//! merge, a `depends_on`). Properties:
//! - resolving, planning `upgrade`/`downgrade`/`stamp` and `history` never panic;
//! - a spec with blanks around it is always refused;
//! - an upgrade plan only goes up and runs each revision once, a downgrade only down;
//! - a relative spec read by `relative` and written back reads the same.
//!
//! Agreement with Alembic itself is `tests/tests/conformance.rs`, on specs whose
//! verdicts Alembic recorded; the fuzz corpus is seeded from them.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use retort_history::graph::Graph;
use retort_history::plan::{self, Direction};
use retort_history::script::sql;
use retort_history::spec::relative;

/// id, parents, labels, depends_on.
const REVISIONS: [(&str, &str, &str, &str); 8] = [
    ("a1a1a1a1a1a1", "", "", ""),
    ("b2b2b2b2b2b2", "a1a1a1a1a1a1", "", ""),
    ("c3c3c3c3c3c3", "b2b2b2b2b2b2", "feature", ""),
    ("d4d4d4d4d4d4", "b2b2b2b2b2b2", "", ""),
    ("e5e5e5e5e5e5", "c3c3c3c3c3c3, d4d4d4d4d4d4", "", ""),
    ("f6f6f6f6f6f6", "", "other", ""),
    ("a7a7a7a7a7a7", "f6f6f6f6f6f6", "", "d4d4d4d4d4d4"),
    ("headroom0001", "e5e5e5e5e5e5", "", ""),
];

fn graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| {
        let revisions = REVISIONS.iter().map(|(id, parents, labels, depends)| {
            let text = format!(
                "-- Revision ID: {id}\n-- Revises: {parents}\n-- Branch Labels: {labels}\n-- Depends On: {depends}\n\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
            );
            sql::parse(Path::new("versions/x.sql"), &text).expect("fixture revision")
        });
        Graph::new(revisions.collect()).expect("fixture graph")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else { return };
    let g = graph();
    let current = ["c3c3c3c3c3c3".to_string(), "a7a7a7a7a7a7".to_string()];
    let resolved = g.resolve(spec);
    let up = plan::upgrade(g, &[], spec);
    let down = plan::downgrade(g, &current, spec);
    let _ = plan::stamp(g, &current, &[spec.to_string()], false);
    let _ = plan::history(g, &[spec.to_string()], "heads");
    let _ = plan::history(g, &["base".to_string()], spec);
    if spec.trim() != spec {
        let read = (resolved.is_ok(), up.is_ok(), down.is_ok());
        assert_eq!(read, (false, false, false), "{spec:?} has blanks around it, yet was read (resolve, up, down)");
    }
    if let Ok(plan) = &up {
        assert!(plan.steps.iter().all(|s| s.direction == Direction::Up), "{spec:?}: an upgrade went down");
        let mut ran: Vec<&str> = plan.steps.iter().map(|s| s.revision.as_str()).collect();
        ran.sort();
        assert!(ran.windows(2).all(|w| w[0] != w[1]), "{spec:?}: a revision ran twice");
    }
    if let Ok(plan) = &down {
        assert!(plan.steps.iter().all(|s| s.direction == Direction::Down), "{spec:?}: a downgrade went up");
    }
    if let Some(rel) = relative(spec) {
        let written = format!(
            "{}{}{}",
            rel.branch.map(|b| format!("{b}@")).unwrap_or_default(),
            rel.symbol.unwrap_or_default(),
            rel.text
        );
        let again = relative(&written).expect("a written relative spec reads back");
        assert_eq!((again.branch, again.symbol, again.steps), (rel.branch, rel.symbol, rel.steps), "{spec:?}");
    }
});
