//! Target selection and checking before anything is touched, through the binary
//! on SQLite fleets: a `-d` part that selects nothing (a typo, a missing tenant,
//! one part of a comma list) is exit 2 with no database created; one bad target
//! (unknown scheme, a spec naming nothing) stops the run before any target is
//! touched; `--sql` renders every selected tenant; passwords in a URL's query
//! string never reach the output.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::write_revision;

/// A database and a three-tenant fleet on SQLite, sharing one two-revision history.
fn project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    write_revision(&scripts, "r1aaaaaaaaaa", &[], "", "CREATE TABLE t1 (id INTEGER);", "DROP TABLE t1;");
    write_revision(&scripts, "r2aaaaaaaaaa", &["r1aaaaaaaaaa"], "", "CREATE TABLE t2 (id INTEGER);", "DROP TABLE t2;");
    let config = format!(
        "[databases.main]\nurl = \"sqlite://main.db\"\nscript_location = \"scripts\"\n\n\
         [fleets.tenants]\nurl_template = \"sqlite://tenant_{{name}}.db\"\nscript_location = \"scripts\"\n\
         names = [\"t1\", \"t2\", \"t3\"]\n{extra}"
    );
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    dir
}

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `.db` files in the project: what a run touched.
fn databases(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".db"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_d_part_that_selects_nothing_exits_2_and_touches_nothing() {
    let dir = project("");
    for selection in ["tenants:t9", "tenants:t1,tenants:t7", "tenants:t1,nosuch", "tenants:x[12]"] {
        let out = retort(dir.path(), &["upgrade", "heads", "-d", selection]);
        assert_eq!(out.status.code(), Some(2), "-d {selection}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "-d {selection}: {}", stderr(&out));
        assert!(databases(dir.path()).is_empty(), "-d {selection} touched {:?}", databases(dir.path()));
    }
    let out = retort(dir.path(), &["upgrade", "heads", "-d", "tenants:t9"]);
    assert!(stderr(&out).contains("`-d tenants:t9` selects no target (there are: tenants:t1"), "{}", stderr(&out));
}

#[test]
fn comma_lists_and_character_classes_select_tenants() {
    for selection in ["tenants:t1,tenants:t2", "tenants:t[12]", "tenants:t[!3]"] {
        let dir = project("");
        let out = retort(dir.path(), &["upgrade", "heads", "-d", selection, "-q"]);
        assert!(out.status.success(), "-d {selection}: {}", stderr(&out));
        assert_eq!(databases(dir.path()), ["tenant_t1.db", "tenant_t2.db"], "-d {selection}");
    }
}

#[test]
fn one_bad_target_stops_the_run_before_any_is_touched() {
    let dir = project(
        "\n[databases.legacy]\nurl = \"oracle://scott:tiger@db/orcl?password=tiger2\"\nscript_location = \"scripts\"\n",
    );
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("database `legacy`: unknown URL scheme `oracle`"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("tiger"), "passwords masked: {}", stderr(&out));
    assert!(databases(dir.path()).is_empty(), "touched {:?}", databases(dir.path()));

    let dir = project("");
    let out = retort(dir.path(), &["upgrade", "nosuch", "-d", "tenants"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).trim(), "error: fleet `tenants`: no such revision or branch 'nosuch'");
    assert!(databases(dir.path()).is_empty(), "touched {:?}", databases(dir.path()));

    let dir = project(
        "\n[fleets.schemas]\nurl_template = \"sqlite://shared.db\"\nschema_template = \"t_{name}\"\n\
         script_location = \"scripts\"\nnames = [\"a\", \"b\"]\n",
    );
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected =
        "error: schemas:a: schema per tenant (`schema_template`) needs a database with schemas; sqlite has none";
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    assert!(databases(dir.path()).is_empty(), "touched {:?}", databases(dir.path()));
}

#[test]
fn sql_output_covers_every_selected_tenant_in_its_dialect() {
    let dir = project("");
    let out = retort(dir.path(), &["upgrade", "heads", "--sql", "-d", "tenants"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = String::from_utf8_lossy(&out.stdout);
    let sections: Vec<&str> = script.lines().filter(|l| l.starts_with("-- target: ")).collect();
    assert_eq!(sections, ["-- target: tenants:t1", "-- target: tenants:t2", "-- target: tenants:t3"]);
    assert_eq!(script.matches("CREATE TABLE t2").count(), 3);
    let one = retort(dir.path(), &["upgrade", "heads", "--sql", "-d", "tenants:t2"]);
    assert!(String::from_utf8_lossy(&one.stdout).contains("-- Running upgrade r1aaaaaaaaaa -> r2aaaaaaaaaa"));
    assert!(databases(dir.path()).is_empty(), "--sql touches nothing");
}

#[test]
fn a_password_in_the_query_string_is_masked() {
    let dir = project(
        "\n[databases.remote]\nurl = \"postgres://app@127.0.0.1:1/x?password=s3cretpw&connect_timeout=1\"\nscript_location = \"scripts\"\n",
    );
    for args in [&["current", "-d", "remote"][..], &["upgrade", "heads", "-d", "remote", "--format", "json"]] {
        let out = retort(dir.path(), args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!all.contains("s3cretpw"), "{args:?}: {all}");
        assert!(all.contains("password=***"), "{args:?}: {all}");
    }
}

#[test]
fn every_json_document_and_event_carries_the_format_version() {
    let dir = project("");
    let commands: [&[&str]; 6] = [
        &["upgrade", "heads", "-d", "tenants", "--format", "json"],
        &["status", "--format", "json"],
        &["current", "-d", "main", "--format", "json"],
        &["heads", "-d", "main", "--format", "json"],
        &["upgrade", "heads", "--sql", "-d", "main", "--format", "json"],
        &["upgrade", "nosuch", "--format", "json"],
    ];
    for args in commands {
        let out = retort(dir.path(), args);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(doc["format_version"], 1, "{args:?}: {doc}");
    }
    let out = retort(dir.path(), &["downgrade", "base", "-d", "tenants", "--format", "ndjson"]);
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.len() > 3, "{events:?}");
    for event in &events {
        assert_eq!(event["format_version"], 1, "{event}");
        assert!(event["ts_ms"].as_u64().is_some_and(|t| t > 1_700_000_000_000), "{event}");
    }
}
