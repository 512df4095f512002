//! Part-way revisions as users meet them, through the `retort` binary on SQLite:
//! `current` and `status` show them; a progress row that no longer fits the
//! version rows is refused (and `retort resolve` settles it); `downgrade`, `stamp`
//! and `stamp --purge` clear what they move past; version rows holding a revision
//! and its ancestor are shown and refused with exit 1; an in-flight statement the
//! catalog cannot judge stops the run naming `retort resolve`, unless its revision
//! says `Idempotent: true` and it simply runs again; SIGINT stops a run
//! with exit 130 and the next run finishes.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use retort_tests::servers::write_revision;

/// r1 (transactional) then r2 (non-transactional, 3 statements, the third fails
/// until `needed` exists), then r3.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    write_revision(&scripts, "r1aaaaaaaaaa", &[], "", "CREATE TABLE t1 (id INTEGER);", "DROP TABLE t1;");
    let up = "CREATE TABLE t2a (id INTEGER);\nCREATE TABLE t2b (id INTEGER);\nINSERT INTO needed (id) VALUES (1);";
    let down = "DROP TABLE t2b;\nDROP TABLE t2a;";
    write_revision(&scripts, "r2aaaaaaaaaa", &["r1aaaaaaaaaa"], "-- Transactional: false", up, down);
    write_revision(&scripts, "r3aaaaaaaaaa", &["r2aaaaaaaaaa"], "", "CREATE TABLE t3 (id INTEGER);", "DROP TABLE t3;");
    let config = "[databases.default]\nurl = \"sqlite://app.db\"\nscript_location = \"scripts\"\n";
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    dir
}

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn sql(dir: &Path, statement: &str) -> Vec<Vec<Option<String>>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use retort_engine::driver::Driver;
        let options = retort_engine::driver::ConnectOptions {
            url: "sqlite://app.db".into(),
            base_dir: dir.to_path_buf(),
            writes: true,
            ..Default::default()
        };
        let mut conn = retort_sqlite::SqliteDriver.connect(&options).await.unwrap();
        let rows = conn.query(statement).await.unwrap();
        conn.close().await.unwrap();
        rows
    })
}

/// `retort upgrade heads` in the background.
fn spawn_upgrade(dir: &Path) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retort"));
    command.args(["upgrade", "heads"]).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().unwrap()
}

fn sigint(child: &std::process::Child) {
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
}

/// Runs `upgrade heads` into the failure at r2's third statement.
fn stop_part_way(dir: &Path) {
    let out = retort(dir, &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("upgrade r2aaaaaaaaaa failed at statement 3 of 3"), "{}", text(&out));
}

/// After [`stop_part_way`], what a kill during r2's statement 3 leaves (a data
/// change in autocommit would): "statement 3 started" recorded, its end never;
/// then makes the statement able to succeed.
fn as_if_killed_in_statement_3(dir: &Path) {
    let statements = retort_engine::split::split(
        "CREATE TABLE t2a (id INTEGER);\nCREATE TABLE t2b (id INTEGER);\nINSERT INTO needed (id) VALUES (1);",
        retort_engine::split::Flavor::Sqlite,
    );
    let sum = retort_engine::progress::checksum(&statements[2..]);
    sql(dir, &format!("UPDATE alembic_version_default_progress SET running = 3, running_checksum = '{sum}'"));
    sql(dir, "CREATE TABLE needed (id INTEGER)");
}

#[test]
fn current_and_status_show_a_part_way_revision() {
    let dir = project();
    stop_part_way(dir.path());
    let current = text(&retort(dir.path(), &["current"]));
    assert!(current.contains("r2aaaaaaaaaa: upgrade part-way, 2 of 3 statements done, next: line 8 of"), "{current}");
    let status = text(&retort(dir.path(), &["status"]));
    assert!(status.contains("default: r2aaaaaaaaaa: upgrade part-way, 2 of 3"), "{status}");
    let json: serde_json::Value =
        serde_json::from_slice(&retort(dir.path(), &["status", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["targets"][0]["part_way"][0]["done"], 2, "{json}");
}

#[test]
fn a_progress_row_that_no_longer_fits_is_refused_then_resolved() {
    let dir = project();
    stop_part_way(dir.path());
    // By hand: the revision's objects dropped and the version table emptied.
    sql(dir.path(), "DROP TABLE t2a");
    sql(dir.path(), "DROP TABLE t2b");
    sql(dir.path(), "DROP TABLE t1");
    sql(dir.path(), "DELETE FROM alembic_version_default");
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains("cannot be trusted"), "{message}");
    assert!(message.contains("retort -d default resolve r2aaaaaaaaaa --abandon"), "{message}");
    assert!(sql(dir.path(), "SELECT name FROM sqlite_master WHERE name = 't1'").is_empty(), "nothing ran");
    let out = retort(dir.path(), &["resolve", "r2aaaaaaaaaa", "--applied"]);
    assert_eq!(out.status.code(), Some(1), "no statement is in flight: {}", text(&out));
    assert!(text(&out).contains("has no statement whose outcome is unknown"), "{}", text(&out));
    let out = retort(dir.path(), &["resolve", "heads", "--abandon"]);
    assert_eq!(out.status.code(), Some(1), "a symbolic spec is refused: {}", text(&out));
    let out = retort(dir.path(), &["resolve", "--abandon", "r2aaaaaaaaaa"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("statements 1-2 ran and stay applied"), "{}", text(&out));
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sql(dir.path(), "SELECT version_num FROM alembic_version_default"), [[Some("r3aaaaaaaaaa".into())]]);
    let out = retort(dir.path(), &["resolve", "r2aaaaaaaaaa", "--abandon"]);
    assert_eq!(out.status.code(), Some(1), "nothing left to resolve: {}", text(&out));
}

#[test]
fn a_downgrade_refuses_to_move_beneath_a_part_way_upgrade() {
    let dir = project();
    stop_part_way(dir.path());
    let out = retort(dir.path(), &["downgrade", "base"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("upgrade r2aaaaaaaaaa stopped part-way (2 of its statements done)"), "{}", text(&out));
    assert!(text(&out).contains("resolve r2aaaaaaaaaa --abandon"), "{}", text(&out));
    assert!(sql(dir.path(), "SELECT name FROM sqlite_master WHERE name = 't1'").len() == 1, "nothing was downgraded");
    assert!(retort(dir.path(), &["resolve", "r2aaaaaaaaaa", "--abandon"]).status.success());
    let out = retort(dir.path(), &["downgrade", "base"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_upgrade_refuses_to_leave_a_part_way_downgrade() {
    let dir = project();
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    assert!(retort(dir.path(), &["upgrade", "heads"]).status.success());
    sql(dir.path(), "DROP TABLE t2a"); // r2's downgrade then fails at its second statement
    let out = retort(dir.path(), &["downgrade", "r1aaaaaaaaaa"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(1), "a half-downgraded r2 is not 'at heads': {}", text(&out));
    assert!(
        text(&out).contains("downgrade r2aaaaaaaaaa stopped part-way (1 of its statements done)"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("downgrade r2aaaaaaaaaa-1"), "{}", text(&out));
    sql(dir.path(), "CREATE TABLE t2a (id INTEGER)");
    assert!(retort(dir.path(), &["downgrade", "r2aaaaaaaaaa-1"]).status.success(), "finishing it works");
    assert!(retort(dir.path(), &["upgrade", "heads"]).status.success());
}

#[test]
fn json_reports_the_part_way_state_a_run_left() {
    let dir = project();
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["part_way"][0]["revision"], "r2aaaaaaaaaa", "{doc}");
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["part_way"], serde_json::json!([]), "finished: {doc}");
}

#[test]
fn stamp_clears_the_progress_it_moves_past() {
    for moves in [&["stamp", "base"][..], &["stamp", "--purge", "base"]] {
        let dir = project();
        stop_part_way(dir.path());
        let out = retort(dir.path(), moves);
        assert!(out.status.success(), "{moves:?}: {}", text(&out));
        assert!(
            text(&out).contains("cleared the recorded progress of upgrade r2aaaaaaaaaa"),
            "{moves:?}: {}",
            text(&out)
        );
        let progress = sql(dir.path(), "SELECT name FROM sqlite_master WHERE name LIKE '%progress'");
        assert!(progress.is_empty(), "{moves:?}: the progress table is gone");
    }
}

#[test]
fn version_rows_holding_an_ancestor_are_shown_and_refused() {
    let dir = project();
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    assert!(retort(dir.path(), &["upgrade", "r2aaaaaaaaaa"]).status.success());
    sql(dir.path(), "INSERT INTO alembic_version_default VALUES ('r1aaaaaaaaaa')");
    let out = retort(dir.path(), &["current"]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(shown.contains("r2aaaaaaaaaa"), "{shown}");
    assert!(shown.contains("r1aaaaaaaaaa (bad version row: an ancestor of another row)"), "{shown}");
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(1), "bad data in that database is exit 1: {}", text(&out));
    assert!(text(&out).contains("holds r2aaaaaaaaaa and its ancestor r1aaaaaaaaaa"), "{}", text(&out));
    assert!(text(&out).contains("stamp --purge r2aaaaaaaaaa"), "{}", text(&out));
    assert!(retort(dir.path(), &["stamp", "--purge", "r2aaaaaaaaaa"]).status.success());
    assert!(retort(dir.path(), &["upgrade", "heads"]).status.success());
}

#[test]
fn an_in_flight_statement_the_catalog_cannot_judge_names_resolve() {
    let dir = project();
    stop_part_way(dir.path());
    as_if_killed_in_statement_3(dir.path());
    let current = text(&retort(dir.path(), &["current"]));
    assert!(current.contains("statement 3 was running when a run stopped"), "{current}");
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains("upgrade r2aaaaaaaaaa failed at statement 3 of 3"), "{message}");
    assert!(message.contains("versions/r2aaaaaaaaaa.sql:8"), "{message}");
    assert!(message.contains("resolve r2aaaaaaaaaa --applied"), "{message}");
    assert!(message.contains("resolve r2aaaaaaaaaa --not-applied"), "{message}");
    let out = retort(dir.path(), &["resolve", "r2aaaaaaaaaa", "--not-applied"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("resuming at statement 3 of 3"), "{}", text(&out));
    assert_eq!(sql(dir.path(), "SELECT COUNT(*) FROM needed"), [[Some("1".into())]], "statement 3 ran once");
}

/// The same in-flight statement in a revision marked `Idempotent: true`: the next
/// plain run re-runs it without asking anyone.
#[test]
fn an_in_flight_statement_of_an_idempotent_revision_runs_again() {
    let dir = project();
    let file = dir.path().join("scripts/versions/r2aaaaaaaaaa.sql");
    let text_of = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text_of.replace("-- Transactional: false", "-- Transactional: false\n-- Idempotent: true"))
        .unwrap();
    stop_part_way(dir.path());
    as_if_killed_in_statement_3(dir.path());
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("marked `Idempotent: true`, so it runs again"), "{}", text(&out));
    assert_eq!(sql(dir.path(), "SELECT COUNT(*) FROM needed"), [[Some("1".into())]]);
}

#[test]
fn sigint_stops_a_run_with_130_and_the_next_run_finishes() {
    let dir = project();
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    let slow =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) FROM c;";
    let scripts = dir.path().join("scripts");
    write_revision(
        &scripts,
        "r1aaaaaaaaaa",
        &[],
        "",
        &format!("CREATE TABLE t1 (id INTEGER);\n{slow}"),
        "DROP TABLE t1;",
    );
    let child = spawn_upgrade(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("SIGINT: stopping"), "{}", text(&out));
    assert!(text(&out).contains("default: interrupted before upgrade r2aaaaaaaaaa"), "{}", text(&out));
    assert!(text(&out).contains("1 interrupted"), "the summary says so: {}", text(&out));
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sql(dir.path(), "SELECT version_num FROM alembic_version_default"), [[Some("r3aaaaaaaaaa".into())]]);
}

#[test]
fn an_empty_progress_table_left_by_a_kill_goes_on_the_next_run() {
    let dir = project();
    sql(dir.path(), "CREATE TABLE needed (id INTEGER)");
    assert!(retort(dir.path(), &["upgrade", "heads"]).status.success());
    // As a kill between the last commit and dropping the table leaves it.
    sql(
        dir.path(),
        "CREATE TABLE alembic_version_default_progress (revision VARCHAR(32) NOT NULL PRIMARY KEY, \
         direction VARCHAR(10) NOT NULL, statements_done INTEGER NOT NULL, checksum VARCHAR(16) NOT NULL, \
         running INTEGER NULL, running_checksum VARCHAR(16) NULL)",
    );
    let out = retort(dir.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(sql(dir.path(), "SELECT name FROM sqlite_master WHERE name LIKE '%progress'").is_empty());
}

#[test]
fn a_second_sigint_exits_at_once() {
    let dir = project();
    let slow =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT COUNT(*) FROM c;";
    let scripts = dir.path().join("scripts");
    write_revision(&scripts, "r1aaaaaaaaaa", &[], "", slow, "");
    let child = spawn_upgrade(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    for _ in 0..2 {
        sigint(&child);
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(3), "did not wait for the 30M-row statement");
    assert!(text(&out).contains("second signal: exiting now"), "{}", text(&out));
    assert!(retort(dir.path(), &["current"]).status.success(), "the database is usable after it");
}
