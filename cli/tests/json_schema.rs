//! Every kind of JSON document and NDJSON event that real runs print, validated
//! against `docs/output.schema.json` by the reference validator (Python's
//! `jsonschema`, Draft 2020-12): a field added, renamed or retyped without the
//! schema following fails here. The runs cover success, a failing target, a
//! non-transactional revision left part-way, `--sql`, authoring, graph commands,
//! and bad input.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use retort_tests::servers::write_revision;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap()
}

/// Asserts that each non-empty stdout line of `out` matches `definition`.
fn assert_valid(out: &Output, definition: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut validator = Command::new("python3")
        .arg(root.join("tests/schema/validate.py"))
        .arg(root.join("docs/output.schema.json"))
        .arg(definition)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    validator.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let checked = validator.wait_with_output().unwrap();
    assert!(!out.stdout.is_empty(), "no output to validate as {definition}");
    assert!(
        checked.status.success(),
        "{definition}:\n{}{}\noutput:\n{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A database with a branch, a merge and a non-transactional revision whose
/// second statement fails, and a fleet of two tenants on the same history.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    write_revision(
        &scripts,
        "a1aaaaaaaaaa",
        &[],
        "-- Branch Labels: core",
        "CREATE TABLE t (id INTEGER);",
        "DROP TABLE t;",
    );
    write_revision(&scripts, "b1aaaaaaaaaa", &["a1aaaaaaaaaa"], "", "CREATE TABLE b (id INTEGER);", "DROP TABLE b;");
    write_revision(&scripts, "c1aaaaaaaaaa", &["a1aaaaaaaaaa"], "", "CREATE TABLE c (id INTEGER);", "DROP TABLE c;");
    write_revision(&scripts, "d1aaaaaaaaaa", &["b1aaaaaaaaaa", "c1aaaaaaaaaa"], "", "", "");
    let failing = "CREATE TABLE e (id INTEGER);\nINSERT INTO nosuch VALUES (1);";
    write_revision(&scripts, "e1aaaaaaaaaa", &["d1aaaaaaaaaa"], "-- Transactional: false", failing, "DROP TABLE e;");
    let config = "[databases.main]\nurl = \"sqlite://main.db\"\nscript_location = \"scripts\"\n\n\
                  [fleets.tenants]\nurl_template = \"sqlite://tenant_{name}.db\"\nscript_location = \"scripts\"\n\
                  names = [\"t1\", \"t2\"]\n";
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    dir
}

#[test]
fn every_output_matches_the_schema() {
    let dir = project();
    let d = dir.path();
    let json = ["--format", "json"];
    let with = |args: &[&str], format: &[&str]| retort(d, &[args, format].concat());

    assert_valid(&with(&["upgrade", "--dry-run"], &json), "dry_run_document");
    assert_valid(&with(&["upgrade", "d1aaaaaaaaaa"], &json), "run_document");
    assert_valid(&with(&["downgrade", "base", "--dry-run"], &json), "dry_run_document");
    assert_valid(&with(&["upgrade", "heads", "-d", "tenants:t1"], &["--format", "ndjson"]), "event");
    let staged = with(&["downgrade", "base", "-d", "tenants", "--waves", "1,100%"], &["--format", "ndjson"]);
    assert!(String::from_utf8_lossy(&staged.stdout).contains("\"wave_started\""), "a staged run announces its waves");
    assert_valid(&staged, "event");
    let failed = with(&["upgrade", "heads"], &json);
    assert_eq!(failed.status.code(), Some(1), "the non-transactional revision fails");
    assert_valid(&failed, "run_document");
    let status = with(&["status"], &json);
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"next_line\""), "a revision is part-way");
    assert_valid(&status, "status_document");
    assert_valid(&with(&["current"], &json), "current_document");
    assert_valid(&with(&["downgrade", "a1aaaaaaaaaa", "-d", "tenants:t1"], &["--format", "ndjson"]), "event");
    assert_valid(&with(&["stamp", "c1aaaaaaaaaa", "-d", "tenants:t2"], &json), "run_document");

    for listing in [&["heads"][..], &["branches"], &["history", "-d", "main"], &["history", "-i"], &["show", "d1aaaa"]]
    {
        assert_valid(&with(listing, &json), "listing_document");
    }
    assert_valid(&with(&["upgrade", "heads", "--sql"], &json), "sql_document");
    assert_valid(&with(&["downgrade", "heads:base", "--sql", "-d", "main"], &json), "sql_document");
    assert_valid(
        &with(&["revision", "-m", "add x", "-d", "main", "--head", "c1aaaaaaaaaa", "--splice"], &json),
        "written_document",
    );
    assert_valid(&with(&["merge", "heads", "-m", "join", "-d", "main"], &json), "written_document");
    let check = with(&["check"], &json);
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("\"findings\":[{"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_valid(&check, "check_document");
    let applied = with(&["history", "--applied"], &json);
    assert!(String::from_utf8_lossy(&applied.stdout).contains("\"outcome\":\"failed\""), "e1 failed");
    assert_valid(&applied, "applied_document");
    let rehearsed = with(&["test"], &json);
    assert_eq!(rehearsed.status.code(), Some(1), "e1's second statement fails on the scratch database too");
    assert_valid(&rehearsed, "test_document");

    for bad in [
        &["upgrade", "nosuch"][..],
        &["status", "-d", "tenants:t9"],
        &["show", "zzzz"],
        &["-c", "missing.toml", "heads"],
    ] {
        let out = with(bad, &json);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_valid(&out, "error_document");
    }
}
