//! The `.py` revision reader. Properties:
//! - LF, CRLF and CR-only line endings read the same, as in Python;
//! - what it reads, written back as a canonical Alembic file (every character of
//!   every id as a `\U` escape), reads the same.
//!
//! The differential against Python itself is `tests/tests/py_reader.rs`, on
//! sources whose bindings Python recorded; the fuzz corpus is seeded from them.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use retort_history::revision::Revision;
use retort_history::script::python;

fn facts(r: &Revision) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    (r.id.clone(), r.down_revisions.clone(), r.branch_labels.clone(), r.depends_on.clone())
}

/// A Python string literal for `text`, every character escaped.
fn literal(text: &str) -> String {
    format!("'{}'", text.chars().map(|c| format!("\\U{:08x}", u32::from(c))).collect::<String>())
}

fn tuple(items: &[String]) -> String {
    format!("({})", items.iter().map(|i| literal(i) + ",").collect::<String>())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("versions/fuzz.py");
    let read = python::parse(path, text);
    let seen = |r: &Result<Option<Revision>, _>| r.as_ref().ok().map(|r| r.as_ref().map(facts));
    if !text.contains('\r') {
        for ending in ["\r\n", "\r"] {
            let other = python::parse(path, &text.replace('\n', ending));
            assert_eq!(seen(&read), seen(&other), "{ending:?} line endings changed what was read");
        }
    }
    let Ok(Some(revision)) = read else { return };
    let canonical = format!(
        "revision = {}\ndown_revision = {}\nbranch_labels = {}\ndepends_on = {}\n",
        literal(&revision.id),
        tuple(&revision.down_revisions),
        tuple(&revision.branch_labels),
        tuple(&revision.depends_on)
    );
    let again = python::parse(path, &canonical).unwrap_or_else(|e| panic!("canonical file refused: {e}\n{canonical}"));
    assert_eq!(again.as_ref().map(facts), Some(facts(&revision)), "canonical file read differently:\n{canonical}");
});
