//! The `retort` binary end to end on real SQLite files: every command, both output
//! formats, exit codes, and what ends up in the database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::{Connection, Row, SqliteConnection};

/// A scratch project made by `retort init`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn init() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run_in(dir.path(), &["init", "."]);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn retort(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args)
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.retort(&all);
        let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
        (out.status.code().expect("exit code"), doc)
    }

    fn write(&self, rel: &str, body: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
    }

    /// Rows of a query against one of the project's SQLite files.
    fn query(&self, db: &str, sql: &'static str) -> Vec<String> {
        let path = self.path(db);
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(async move {
            let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("open");
            let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("query");
            rows.iter().map(|r| r.try_get::<String, _>(0).expect("text column")).collect()
        })
    }

    fn tables(&self, db: &str) -> Vec<String> {
        self.query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const DEFAULT_HEAD: &str = "9d2e4f6a8b0c";

#[test]
fn init_upgrade_history_current_downgrade() {
    let p = Project::init();
    let out = p.retort(&["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        p.tables("default.db"),
        ["accounts", "alembic_version_default", "invoices", "retort_audit_default", "sessions"]
    );
    assert_eq!(p.query("default.db", "SELECT version_num FROM alembic_version_default"), [DEFAULT_HEAD]);
    assert_eq!(p.query("analytics.db", "SELECT version_num FROM alembic_version_analytics"), ["7e9a1c3b5d4f"]);

    let history = text(&p.retort(&["-d", "default", "history"]).stdout);
    let first = history.lines().next().expect("a line");
    assert_eq!(
        first,
        "2c6a8e0b4d17, c5d7e9f1a2b4 -> 9d2e4f6a8b0c (billing, sessions) (head) (mergepoint), merge billing and sessions"
    );
    assert!(history.ends_with("<base> -> 3f1a9c2b7d10 (branchpoint), create accounts\n"), "{history}");

    let (code, doc) = p.json(&["current", "-d", "default"]);
    assert_eq!(code, 0);
    assert_eq!(doc["targets"][0]["current"], serde_json::json!([DEFAULT_HEAD]));

    let (code, doc) = p.json(&["downgrade", "-d", "default", "3f1a9c2b7d10"]);
    assert_eq!(code, 0, "{doc}");
    let steps: Vec<&str> =
        doc["targets"][0]["steps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(steps, ["9d2e4f6a8b0c", "2c6a8e0b4d17", "8b4e2d6f1a37", "c5d7e9f1a2b4"]);
    assert_eq!(p.tables("default.db"), ["accounts", "alembic_version_default", "retort_audit_default"]);

    let out = p.retort(&["downgrade", "base"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.tables("default.db"), ["alembic_version_default", "retort_audit_default"]);
    assert!(p.query("default.db", "SELECT version_num FROM alembic_version_default").is_empty());
}

#[test]
fn run_json_has_the_documented_shape() {
    let p = Project::init();
    let (code, doc) = p.json(&["upgrade", "heads", "-d", "analytics"]);
    assert_eq!(code, 0);
    assert_eq!(doc["ok"], true);
    let t = &doc["targets"][0];
    assert_eq!(t["target"], "analytics");
    assert_eq!(t["driver"], "sqlite");
    assert_eq!(t["status"], "ok");
    assert_eq!(t["before"], serde_json::json!([]));
    assert_eq!(t["after"], serde_json::json!(["7e9a1c3b5d4f"]));
    assert_eq!(t["steps"][0]["revision"], "5a7c9e1b3d2f");
    assert_eq!(t["steps"][0]["direction"], "up");
    assert!(t["steps"][0]["ms"].is_u64());
    assert!(t["error"].is_null());
    let (_, doc) = p.json(&["heads", "-d", "default"]);
    let rev = &doc["targets"][0]["revisions"][0];
    for key in [
        "revision",
        "down_revisions",
        "branch_labels",
        "depends_on",
        "message",
        "next_revisions",
        "is_head",
        "is_base",
        "is_branch_point",
        "is_merge_point",
        "path",
    ] {
        assert!(rev.get(key).is_some(), "missing {key} in {rev}");
    }
}

#[test]
fn failing_revision_rolls_back_with_its_version_row() {
    let p = Project::init();
    assert!(p.retort(&["upgrade", "heads", "-d", "analytics"]).status.success());
    p.write(
        "migrations/analytics/versions/ffff00000001_broken.sql",
        "-- broken\n-- Revision ID: ffff00000001\n-- Revises: 7e9a1c3b5d4f\n\n-- migrate:up\nCREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n\n-- migrate:down\nDROP TABLE half;\n",
    );
    let (code, doc) = p.json(&["upgrade", "heads", "-d", "analytics"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["targets"][0]["status"], "failed");
    assert!(doc["targets"][0]["error"].as_str().unwrap().contains("ffff00000001"), "{doc}");
    assert!(!p.tables("analytics.db").contains(&"half".to_string()));
    assert_eq!(p.query("analytics.db", "SELECT version_num FROM alembic_version_analytics"), ["7e9a1c3b5d4f"]);
}

#[test]
fn one_failing_database_does_not_stop_another() {
    let p = Project::init();
    p.write(
        "migrations/default/versions/zz_bad.sql",
        "-- bad\n-- Revision ID: bad000000001\n-- Revises: 9d2e4f6a8b0c\n-- migrate:up\nSELECT * FROM nowhere;\n",
    );
    let (code, doc) = p.json(&["upgrade", "heads"]);
    assert_eq!(code, 1);
    let status: Vec<(&str, &str)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(status, [("analytics", "ok"), ("default", "failed")]);
    assert_eq!(p.query("default.db", "SELECT version_num FROM alembic_version_default"), [DEFAULT_HEAD]);
}

#[test]
fn read_only_commands_create_nothing() {
    let p = Project::init();
    for args in [&["current"][..], &["heads"], &["history", "-i"], &["branches"]] {
        let out = p.retort(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert!(!p.path("default.db").exists());
    assert!(!p.path("analytics.db").exists());
}

#[test]
fn revision_and_merge_follow_alembics_rules() {
    let p = Project::init();
    let out = p.retort(&["-d", "default", "revision", "-m", "add audit log", "--rev-id", "aaaa00000001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(p.path("migrations/default/versions/aaaa00000001_add_audit_log.sql").exists());
    let out = p.retort(&["-d", "default", "revision", "-m", "side", "--head", "3f1a9c2b7d10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a head; pass --splice"), "{}", text(&out.stderr));
    let out = p.retort(&[
        "-d",
        "default",
        "revision",
        "-m",
        "side",
        "--head",
        "3f1a9c2b7d10",
        "--splice",
        "--rev-id",
        "bbbb00000001",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = p.retort(&["-d", "default", "revision", "-m", "where"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("several heads are present"), "{}", text(&out.stderr));
    let out = p.retort(&["-d", "default", "merge", "-m", "join", "--rev-id", "cccc00000001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, doc) = p.json(&["-d", "default", "heads"]);
    assert_eq!(
        doc["targets"][0]["revisions"][0]["down_revisions"],
        serde_json::json!(["aaaa00000001", "bbbb00000001"])
    );
    let out = p.retort(&["revision", "-m", "which db"]);
    assert!(text(&out.stderr).contains("choose one with -d"), "{}", text(&out.stderr));
    assert!(p.retort(&["upgrade", "heads", "-d", "default"]).status.success());
}

#[test]
fn stamp_and_purge_touch_only_the_version_table() {
    let p = Project::init();
    let out = p.retort(&["-d", "default", "stamp", "8b4e2d6f1a37", "c5d7e9f1a2b4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.tables("default.db"), ["alembic_version_default"]);
    let mut rows = p.query("default.db", "SELECT version_num FROM alembic_version_default");
    rows.sort();
    assert_eq!(rows, ["8b4e2d6f1a37", "c5d7e9f1a2b4"]);
    assert!(p.retort(&["-d", "default", "stamp", "--purge", "3f1a9c2b7d10"]).status.success());
    assert_eq!(p.query("default.db", "SELECT version_num FROM alembic_version_default"), ["3f1a9c2b7d10"]);
}

#[test]
fn offline_sql_matches_alembics_comments() {
    let p = Project::init();
    let out = p.retort(&["-d", "analytics", "upgrade", "--sql", "heads"]);
    let sql = text(&out.stdout);
    assert!(out.status.success());
    assert!(sql.starts_with("CREATE TABLE \"alembic_version_analytics\""), "{sql}");
    assert!(sql.contains("-- Running upgrade  -> 5a7c9e1b3d2f\n"), "{sql}");
    assert!(sql.contains("-- Running upgrade 5a7c9e1b3d2f -> 7e9a1c3b5d4f\n"), "{sql}");
    assert!(
        sql.contains(
            "UPDATE \"alembic_version_analytics\" SET version_num = '7e9a1c3b5d4f' WHERE version_num = '5a7c9e1b3d2f'"
        ),
        "{sql}"
    );
    assert!(!p.path("analytics.db").exists());
    let out = p.retort(&["-d", "analytics", "downgrade", "--sql", "7e9a1c3b5d4f:base"]);
    let sql = text(&out.stdout);
    assert!(sql.contains("-- Running downgrade 5a7c9e1b3d2f -> \n"), "{sql}");
    assert!(sql.trim_end().ends_with("DROP TABLE \"alembic_version_analytics\";"), "{sql}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let p = Project::init();
    let out = p.retort(&["upgrade", "nope", "-d", "default"]);
    assert_eq!(out.status.code(), Some(2));
    // Checked before any target is touched: one error, no connection.
    assert_eq!(text(&out.stderr).trim(), "error: database `default`: no such revision or branch 'nope'");
    p.write("retort.toml", "jobz = 1\n");
    let out = p.retort(&["heads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("jobz"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).lines().count(), 1);
    p.write(
        "retort.toml",
        "[databases.x]\nurl = \"oracle://u:hunter2@h/db\"\nscript_location = \"migrations/default\"\n",
    );
    let (code, doc) = p.json(&["upgrade", "heads"]);
    assert_eq!(code, 2);
    let error = doc["error"]["problems"][0].as_str().unwrap();
    assert!(error.contains("unknown URL scheme `oracle`") && !error.contains("hunter2"), "{error}");
    let out = p.retort(&["heads", "-c", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("retort init"), "{}", text(&out.stderr));
}

#[test]
fn alembic_py_revisions_are_read_but_not_run() {
    let p = Project::init();
    p.write("retort.toml", "[databases.legacy]\nurl = \"sqlite://legacy.db\"\nscript_location = \"alembic\"\nversion_table = \"alembic_version\"\n");
    p.write("alembic/versions/__init__.py", "");
    p.write(
        "alembic/versions/1a_first.py",
        "\"\"\"first\"\"\"\nrevision = '1a1a1a1a1a1a'\ndown_revision = None\ndef upgrade():\n    pass\n",
    );
    p.write(
        "alembic/versions/2b_second.py",
        "revision: str = '2b2b2b2b2b2b'\ndown_revision: str | None = '1a1a1a1a1a1a'\n",
    );
    let heads = text(&p.retort(&["heads"]).stdout);
    assert_eq!(heads.trim(), "2b2b2b2b2b2b (head)");
    let out = p.retort(&["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Alembic .py revision"), "{}", text(&out.stderr));
    assert!(p.retort(&["stamp", "heads"]).status.success());
    assert_eq!(p.query("legacy.db", "SELECT version_num FROM alembic_version"), ["2b2b2b2b2b2b"]);
    let sql = text(&p.retort(&["upgrade", "--sql", "heads"]).stdout);
    assert!(sql.contains("-- Running upgrade  -> 1a1a1a1a1a1a") && sql.contains("body is not rendered"), "{sql}");
}

#[test]
fn current_refuses_version_rows_the_scripts_do_not_know() {
    let p = Project::init();
    assert!(p.retort(&["-d", "analytics", "upgrade", "heads"]).status.success());
    std::fs::remove_file(p.path("migrations/analytics/versions/7e9a1c3b5d4f_index_events_by_name.sql")).unwrap();
    let out = p.retort(&["-d", "analytics", "current"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("holds '7e9a1c3b5d4f', which is not a revision"), "{}", text(&out.stderr));
}

#[test]
fn stamping_one_revision_twice_is_fine() {
    let p = Project::init();
    let out = p.retort(&["-d", "analytics", "stamp", "7e9a1c3b5d4f", "7e9a1c3b5d4f"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.query("analytics.db", "SELECT version_num FROM alembic_version_analytics"), ["7e9a1c3b5d4f"]);
}

#[test]
fn completions_are_generated() {
    let out = Command::new(env!("CARGO_BIN_EXE_retort")).args(["completions", "bash"]).output().expect("run");
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("retort"));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let p = Project::init();
    let mut child = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(["history"])
        .current_dir(p.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as with `| head`
    let out = child.wait_with_output().unwrap();
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

/// A head that another branch depends on is Alembic's "effective head". The
/// expected lines are what Alembic 1.20.1 printed for these three files.
#[test]
fn effective_heads_are_shown_and_merged_as_alembic_lists_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (id, down, labels, depends) in
        [("u1", "None", "('u',)", "None"), ("u2", "'u1'", "None", "None"), ("v1", "None", "('v',)", "'u2'")]
    {
        let body = format!(
            "revision = '{id}'\ndown_revision = {down}\nbranch_labels = {labels}\ndepends_on = {depends}\ndef upgrade(): pass\n"
        );
        std::fs::create_dir_all(dir.path().join("versions")).unwrap();
        std::fs::write(dir.path().join(format!("versions/{id}.py")), body).unwrap();
    }
    std::fs::write(
        dir.path().join("retort.toml"),
        "[databases.default]\nurl = \"sqlite://x.db\"\nscript_location = \".\"\n",
    )
    .unwrap();
    let heads = text(&run_in(dir.path(), &["heads"]).stdout);
    assert_eq!(heads, "u2 (u) (effective head)\nv1 (v) (head)\n");
    let history = text(&run_in(dir.path(), &["history"]).stdout);
    assert_eq!(history, "<base> (u2) -> v1 (v) (head), \nu1 -> u2 (u) (effective head), \n<base> -> u1 (u), \n");
    let out = run_in(dir.path(), &["merge", "heads", "-m", "m", "--rev-id", "mm"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let merged = std::fs::read_to_string(dir.path().join("versions/mm_m.sql")).unwrap();
    assert!(merged.contains("-- Revises: u2, v1"), "{merged}");
}

#[test]
fn current_check_heads_fails_until_the_database_is_at_heads() {
    let p = Project::init();
    let out = p.retort(&["current", "--check-heads"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("default: FAILED: the database is not at the script's heads"));
    assert!(p.retort(&["upgrade", "heads"]).status.success());
    let out = p.retort(&["current", "--check-heads"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn show_prints_transactional_and_depends_on() {
    let p = Project::init();
    p.write(
        "migrations/default/versions/ffff00000001_nt.sql",
        "-- nt\n-- Revision ID: ffff00000001\n-- Revises: 9d2e4f6a8b0c\n-- Depends On: 3f1a9c2b7d10\n-- Transactional: false\n\n-- migrate:up\nSELECT 1;\n",
    );
    let shown = text(&p.retort(&["-d", "default", "show", "ffff00000001"]).stdout);
    assert!(shown.contains("    Depends On: 3f1a9c2b7d10\n"), "{shown}");
    assert!(shown.contains("    Transactional: false\n"), "{shown}");
    let (_, doc) = p.json(&["-d", "default", "show", "ffff00000001"]);
    assert_eq!(doc["targets"][0]["revisions"][0]["transactional"], false, "{doc}");
}

/// `retort -c alembic.ini` on a project made by the real `alembic init`: the graph
/// commands read its `.py` revisions, `stamp` writes Alembic's `alembic_version`
/// table, and Alembic reads back what retort wrote.
#[test]
fn an_alembic_ini_is_a_retort_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alembic = |args: &[&str]| {
        let out = Command::new("python3").args(["-m", "alembic"]).args(args).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "alembic {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    alembic(&["init", "migrations"]);
    let ini = std::fs::read_to_string(dir.path().join("alembic.ini")).unwrap();
    let ini: String = ini
        .lines()
        .map(|l| if l.starts_with("sqlalchemy.url") { "sqlalchemy.url = sqlite:///app.db" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("alembic.ini"), ini).unwrap();
    alembic(&["revision", "-m", "first", "--rev-id", "aaaa00000001"]);
    alembic(&["revision", "-m", "second", "--rev-id", "bbbb00000002"]);
    // Alembic reads no subfolder unless `recursive_version_locations = true`.
    std::fs::create_dir_all(dir.path().join("migrations/versions/nested")).unwrap();
    let nested = "revision = 'cccc00000003'\ndown_revision = 'bbbb00000002'\ndef upgrade(): pass\n";
    std::fs::write(dir.path().join("migrations/versions/nested/cccc00000003.py"), nested).unwrap();
    assert_eq!(alembic(&["heads"]).trim(), "bbbb00000002 (head)");
    let out = run_in(dir.path(), &["-c", "alembic.ini", "heads"]);
    assert_eq!(text(&out.stdout), "bbbb00000002 (head)\n", "{}", text(&out.stderr));
    let out = run_in(dir.path(), &["stamp", "head", "-c", "alembic.ini", "--name", "alembic"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(alembic(&["current"]).contains("bbbb00000002 (head)"), "Alembic reads retort's alembic_version row");
    let out = run_in(dir.path(), &["-c", "alembic.ini", "-n", "nope", "current"]);
    assert_eq!(out.status.code(), Some(2), "an unknown section is bad usage");
}

#[test]
fn revision_version_path_must_be_a_version_location() {
    let p = Project::init();
    let out =
        p.retort(&["-d", "default", "revision", "-m", "Größe ändern", "--version-path", "migrations/default/versions"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let made: Vec<String> = std::fs::read_dir(p.path("migrations/default/versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_größe_ändern.sql"))
        .collect();
    assert_eq!(made.len(), 1, "slugged as Alembic does: {made:?}");
    std::fs::create_dir_all(p.path("elsewhere")).unwrap();
    let out = p.retort(&["-d", "default", "revision", "-m", "x", "--version-path", "elsewhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--version-path elsewhere is not one of the version locations"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn ensure_version_creates_the_table_and_quiet_prints_only_failures() {
    let p = Project::init();
    let out = p.retort(&["ensure_version", "-d", "default"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.tables("default.db"), ["alembic_version_default"]);
    let out = p.retort(&["upgrade", "heads", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!((text(&out.stdout), text(&out.stderr)), (String::new(), String::new()), "-q prints nothing on success");
    let out = p.retort(&["-q", "downgrade", "-d", "default", "nope"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).is_empty(), "failures are still printed");
}

#[test]
fn a_spec_naming_an_unknown_branch_never_exits_0() {
    let p = Project::init();
    for args in [&["upgrade", "nosuch@", "-d", "default"][..], &["upgrade", "garbage++x@", "--sql", "-d", "default"]] {
        let out = p.retort(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("no such branch"), "{args:?}: {}", text(&out.stderr));
    }
    p.write("retort.toml", "[databases.default]\nurl = \"sqlite://d.db\"\nscript_location = \"migrations/default\"\nversion_table = \"\"\n");
    let out = p.retort(&["heads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`version_table` is empty"), "{}", text(&out.stderr));
}

#[test]
fn specs_with_blanks_or_unknown_branches_never_exit_0() {
    let p = Project::init();
    let cases: [&[&str]; 6] = [
        &["upgrade", " heads", "-d", "default", "--sql"],
        &["upgrade", "heads ", "-d", "default"],
        &["history", "-r", "nosuch@-1:", "-d", "default"],
        &["history", "-r", "c5d7: heads", "-d", "default"],
        &["show", "nosuch@base", "-d", "default"],
        &["show", "@head", "-d", "default"], // an unset `$LABEL@head`
    ];
    for args in cases {
        let out = p.retort(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stdout));
        assert_eq!(text(&out.stderr).lines().count(), 1, "{args:?}: one line: {}", text(&out.stderr));
    }
}

#[test]
fn history_past_the_end_and_show_base_read_as_alembic_does() {
    let p = Project::init();
    let to_end = p.retort(&["history", "-r", "c5d7:+5", "-d", "default"]);
    let one_up = p.retort(&["history", "-r", "c5d7:+1", "-d", "default"]);
    assert!(to_end.status.success(), "{}", text(&to_end.stderr));
    assert_eq!(text(&to_end.stdout), text(&one_up.stdout), "the upper end stops at the last revision");
    assert_eq!(text(&to_end.stdout).lines().count(), 2);
    for spec in ["base", "billing@base"] {
        let out = p.retort(&["show", spec, "-d", "default"]);
        assert!(out.status.success(), "{spec}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{spec} shows nothing");
    }
}
