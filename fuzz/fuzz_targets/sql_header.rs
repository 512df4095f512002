//! The `.sql` revision reader. Properties:
//! - CRLF line endings read as LF do (bodies aside, which keep their CRs);
//! - what it reads, rendered back as `retort revision` writes files, reads the same.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use retort_history::revision::{Body, Revision};
use retort_history::script::sql;

/// The graph facts and flags of a revision, without its path and message.
fn facts(r: &Revision) -> (String, Vec<String>, Vec<String>, Vec<String>, bool, Option<String>) {
    let date = r.create_date.clone();
    (r.id.clone(), r.down_revisions.clone(), r.branch_labels.clone(), r.depends_on.clone(), r.transactional, date)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("versions/fuzz.sql");
    let read = sql::parse(path, text);
    if !text.contains('\r') {
        let crlf = sql::parse(path, &text.replace('\n', "\r\n"));
        assert_eq!(read.as_ref().map(facts).ok(), crlf.as_ref().map(facts).ok(), "CRLF changed what was read");
    }
    let Ok(revision) = read else { return };
    let Body::Sql { up, down, .. } = &revision.body else { panic!("a .sql file read as Python") };
    let rendered = sql::render(&revision, up, down);
    let again = sql::parse(path, &rendered).unwrap_or_else(|e| panic!("the rendered file is refused: {e}\n{rendered}"));
    assert_eq!(facts(&again), facts(&revision), "render changed the header:\n{rendered}");
    let Body::Sql { up: up_again, down: down_again, .. } = &again.body else { unreachable!() };
    assert_eq!((up_again, down_again), (up, down), "render changed a body:\n{rendered}");
});
