//! `retort test` through the binary on SQLite, the real PostgreSQL and the real
//! MariaDB: a clean history passes and leaves no scratch database behind; a merge
//! whose two branch orders give different schemas is caught with both orders and
//! the lines that differ; a downgrade that leaves something behind is caught by
//! the stairway. The target database itself is never touched.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str]) -> Output {
    retort_with_pid(dir, args).0
}

/// The run's output and its process id, which names its scratch databases.
fn retort_with_pid(dir: &Path, args: &[&str]) -> (Output, u32) {
    let child = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn config(db: &TestDb) {
    let text = format!("[databases.main]\nurl = \"{}\"\nscript_location = \"scripts\"\n", db.url);
    std::fs::write(db.dir.path().join("retort.toml"), text).unwrap();
}

/// A base, two branches that each create a table if it does not exist yet (with
/// different columns), and their merge: which branch runs first decides the table.
fn order_dependent_history(scripts: &Path) {
    write_revision(scripts, "base00000001", &[], "", "CREATE TABLE items (id INTEGER)", "DROP TABLE items");
    write_revision(
        scripts,
        "left00000001",
        &["base00000001"],
        "-- Branch Labels: left",
        "CREATE TABLE IF NOT EXISTS shared (id INTEGER)",
        "DROP TABLE IF EXISTS shared",
    );
    write_revision(
        scripts,
        "right0000001",
        &["base00000001"],
        "-- Branch Labels: right",
        "CREATE TABLE IF NOT EXISTS shared (id INTEGER, extra INTEGER)",
        "DROP TABLE IF EXISTS shared",
    );
    write_revision(scripts, "merge0000001", &["left00000001", "right0000001"], "", "", "");
}

async fn every_kind(body: impl AsyncFn(TestDb) -> TestDb) {
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::Mariadb] {
        let db = TestDb::create(kind).await.expect("server configured");
        body(db).await.drop_database().await;
    }
}

/// Names of the scratch databases run `pid` left on the server (other tests'
/// runs may have theirs meanwhile).
async fn scratch_left(db: &TestDb, pid: u32) -> Vec<Vec<Option<String>>> {
    let sql = match db.kind {
        Kind::Postgres => format!("SELECT datname FROM pg_database WHERE datname LIKE 'retort\\_test\\_{pid}\\_%'"),
        Kind::Mariadb => format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'retort\\_test\\_{pid}\\_%'"
        ),
        _ => return vec![],
    };
    let mut conn = db.connect().await;
    let rows = conn.query(&sql).await.unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_whose_branch_orders_differ_is_caught() {
    every_kind(async |db| {
        let scripts = db.scripts();
        order_dependent_history(&scripts);
        config(&db);
        let (out, pid) = retort_with_pid(db.dir.path(), &["test", "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{:?}: {}", db.kind, String::from_utf8_lossy(&out.stdout));
        let doc = json(&out);
        let target = &doc["targets"][0];
        assert_eq!((target["revisions"].as_u64(), target["merges"].as_u64()), (Some(4), Some(1)), "{doc:#}");
        let failure = &target["failures"][0];
        assert_eq!((failure["kind"].as_str(), failure["revision"].as_str()), (Some("merge-order"), Some("merge0000001")));
        assert_eq!(failure["orders"], serde_json::json!([["left00000001", "right0000001"], ["right0000001", "left00000001"]]));
        let extra = |side: &str| failure[side].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("shared.extra"));
        assert!(!extra("only_in_first") && extra("only_in_second"), "{:?}: {failure:#}", db.kind);
        assert!(scratch_left(&db, pid).await.is_empty(), "{:?}: scratch databases dropped", db.kind);
        let mut conn = db.connect().await;
        let untouched = !conn.table_exists(&retort_engine::driver::VersionTable::for_target("main")).await.unwrap();
        conn.close().await.unwrap();
        assert!(untouched, "{:?}: the target itself is not touched", db.kind);

        let out = retort(db.dir.path(), &["test"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("main: FAILED: 4 revisions up, down and up; 1 merges in 2 branch orders"), "{text}");
        assert!(text.contains("  merge-order merge0000001: merge merge0000001 gives another schema when its branches run right0000001, left00000001 than when they run left00000001, right0000001"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("    + column ") && l.contains("shared.extra")), "{text}");
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downgrade_that_leaves_something_behind_fails_the_stairway() {
    every_kind(async |db| {
        let scripts = db.scripts();
        write_revision(&scripts, "good00000001", &[], "", "CREATE TABLE a (id INTEGER)", "DROP TABLE a");
        write_revision(
            &scripts,
            "leak00000001",
            &["good00000001"],
            "",
            "CREATE TABLE b (id INTEGER);\nCREATE TABLE c (id INTEGER)",
            "DROP TABLE b",
        );
        config(&db);
        let out = retort(db.dir.path(), &["test", "--format", "json"]);
        assert_eq!(out.status.code(), Some(1));
        let doc = json(&out);
        let failure = &doc["targets"][0]["failures"][0];
        assert_eq!((failure["kind"].as_str(), failure["revision"].as_str()), (Some("stairway"), Some("leak00000001")));
        assert!(failure["message"].as_str().unwrap().contains("does not give back the schema before it"));
        let leaked = failure["only_in_second"].as_array().unwrap();
        assert!(leaked.iter().any(|l| l.as_str().unwrap().contains("c.id")), "{:?}: {failure:#}", db.kind);

        write_revision(&scripts, "leak00000001", &["good00000001"], "", "CREATE TABLE b (id INTEGER)", "DROP TABLE b");
        let out = retort(db.dir.path(), &["test"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
        db
    })
    .await;
}

/// SIGINT during a long statement: the statement is cancelled, the scratch
/// database dropped, exit 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rehearsal_drops_its_scratch_database() {
    let db = TestDb::create(Kind::Postgres).await.expect("server configured");
    write_revision(&db.scripts(), "slow00000001", &[], "", "SELECT pg_sleep(20)", "SELECT 1");
    config(&db);
    let child = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(["test"])
        .current_dir(db.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the sleep was cancelled");
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted: the rehearsal stopped early"));
    assert!(scratch_left(&db, pid).await.is_empty(), "the scratch database is dropped");
    db.drop_database().await;
}
