//! The `.py` reader against Python itself: `conformance/fixtures_py/py_reader.json`
//! holds revision files and what Python binds when it imports them (written by
//! `conformance/generate_py_reader.py`). Where Python's `ast` says the four names
//! are plain literals at module level, retort must read exactly Python's values;
//! elsewhere it must read the same values or refuse the file, never read others.

use std::path::Path;

use retort_history::revision::Revision;
use retort_history::script::python;
use serde_json::Value;

/// Static files retort refuses on purpose, each with its reason (the refusal names
/// file and line; nothing is misread).
const REFUSED_ON_PURPOSE: [(&str, &str); 1] =
    [("escape_named", "a `\\N{…}` escape: retort carries no table of Unicode character names")];

/// What retort read, in the fixture's shape: `None` for a refusal.
fn read(source: &str) -> Option<Value> {
    match python::parse(Path::new("versions/case.py"), source) {
        Err(_) => None,
        Ok(None) => Some(serde_json::json!({ "revision": null })),
        Ok(Some(Revision { id, down_revisions, branch_labels, depends_on, .. })) => Some(serde_json::json!({
            "revision": [id],
            "down_revision": down_revisions,
            "branch_labels": branch_labels,
            "depends_on": depends_on,
        })),
    }
}

#[test]
fn the_py_reader_reads_what_python_binds_or_refuses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/fixtures_py/py_reader.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(cases.len() > 300, "the fixture holds {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let (name, source, expected) = (&case["name"], case["source"].as_str().unwrap(), &case["expected"]);
        let is_static = case["static"].as_bool().unwrap();
        let readable = expected.get("error").is_none()
            && expected["revision"].as_array().is_none_or(|ids| ids.len() == 1 && ids[0].is_string());
        let got = read(source);
        let base = name.as_str().unwrap().rsplit_once("__").map_or("", |(base, _)| base);
        let on_purpose = REFUSED_ON_PURPOSE.iter().any(|(case, _)| *case == base);
        let fine = match &got {
            None => on_purpose || !(is_static && readable),
            Some(value) => readable && value == expected,
        };
        if !fine {
            wrong.push(format!("{name}: static={is_static} python={expected} retort={got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}
