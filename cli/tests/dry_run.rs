//! `--dry-run` on the real PostgreSQL and MariaDB: what each target would run
//! (in order, non-transactional ones and lock hazards marked), read without the
//! run lock and creating nothing; and `status --exit-code` as a CI gate.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

/// A slow first revision (it holds the run lock for 4 s), a non-transactional
/// index build, and a plain `CREATE INDEX` on an existing table.
fn project(db: &TestDb, concurrently: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let s = work.path().join("scripts");
    let sleep = if db.kind == Kind::Postgres { "SELECT pg_sleep(4);" } else { "SELECT SLEEP(4);" };
    write_revision(&s, "d0aaaaaaaaaa", &[], "", sleep, "SELECT 1;");
    write_revision(
        &s,
        "d1aaaaaaaaaa",
        &["d0aaaaaaaaaa"],
        "",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, c INTEGER);",
        "DROP TABLE accounts;",
    );
    write_revision(
        &s,
        "d2aaaaaaaaaa",
        &["d1aaaaaaaaaa"],
        "-- Transactional: false",
        &format!("CREATE INDEX {concurrently} ix_c ON accounts (c);"),
        "DROP INDEX ix_c;",
    );
    write_revision(
        &s,
        "d3aaaaaaaaaa",
        &["d2aaaaaaaaaa"],
        "",
        "ALTER TABLE accounts ADD COLUMN d INTEGER;\nCREATE INDEX ix_d ON accounts (d);",
        "DROP INDEX ix_d;",
    );
    let config =
        format!("[databases.main]\nurl = \"{}\"\nscript_location = \"scripts\"\nlock_timeout = \"1s\"\n", db.url);
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    work
}

async fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.kind {
        Kind::Postgres => "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1".to_string(),
        _ => format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' ORDER BY 1",
            db.database_name()
        ),
    };
    let mut conn = db.connect().await;
    let rows = conn.query(&sql).await.unwrap();
    conn.close().await.unwrap();
    rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_on_postgres_says_what_would_run_and_creates_nothing() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let work = project(&db, "CONCURRENTLY");
    let out = retort(work.path(), &["upgrade", "heads", "--dry-run", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json(&out);
    let target = &doc["targets"][0];
    let revisions: Vec<&str> =
        target["would_run"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(revisions, ["d0aaaaaaaaaa", "d1aaaaaaaaaa", "d2aaaaaaaaaa", "d3aaaaaaaaaa"]);
    assert_eq!(target["would_run"][2]["transactional"], false);
    let hazards = &target["would_run"][3]["hazards"];
    assert_eq!(hazards.as_array().unwrap().len(), 1, "{hazards}");
    assert_eq!(hazards[0]["rule"], "index-not-concurrent");
    assert_eq!(hazards[0]["line"], 7, "the CREATE INDEX line of the file");
    assert!(target["would_run"][2]["hazards"].as_array().unwrap().is_empty(), "CONCURRENTLY is fine");
    assert_eq!(tables(&db).await, Vec::<String>::new(), "not even the version table");

    let out = retort(work.path(), &["upgrade", "heads", "--dry-run"]);
    let shown = text(&out);
    assert!(shown.contains("main: at base; would run 4:"), "{shown}");
    assert!(shown.contains("upgrade d2aaaaaaaaaa") && shown.contains("[no transaction]"), "{shown}");
    assert!(shown.contains("blocks writes to accounts while the index builds [index-not-concurrent]"), "{shown}");

    // A runner holds the lock for 4 s: a real upgrade times out (exit 3), the dry run does not wait.
    let mut runner = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(["upgrade", "d0aaaaaaaaaa"])
        .current_dir(work.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let out = retort(work.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(3), "the lock is held: {}", text(&out));
    let started = Instant::now();
    let out = retort(work.path(), &["upgrade", "heads", "--dry-run", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(2), "the dry run took no lock: {:?}", started.elapsed());
    assert!(runner.wait().unwrap().success());

    // status --exit-code: 1 while revisions are pending, 0 at heads.
    let out = retort(work.path(), &["status", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("1 of 1 target(s) have revisions to apply"));
    assert!(retort(work.path(), &["upgrade", "heads"]).status.success());
    assert_eq!(retort(work.path(), &["status", "--check"]).status.code(), Some(0));
    let out = retort(work.path(), &["downgrade", "d1aaaaaaaaaa", "--dry-run", "--format", "json"]);
    let doc = json(&out);
    let down: Vec<&str> =
        doc["targets"][0]["would_run"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(down, ["d3aaaaaaaaaa", "d2aaaaaaaaaa"]);
    assert_eq!(doc["targets"][0]["would_run"][0]["direction"], "down");
    let out = retort(work.path(), &["downgrade", "nosuch", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "a bad spec is bad input: {}", text(&out));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_on_mariadb_creates_nothing() {
    let db = TestDb::create(Kind::Mariadb).await.unwrap();
    let work = project(&db, "");
    let out = retort(work.path(), &["upgrade", "--dry-run", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["targets"][0]["would_run"].as_array().unwrap().len(), 4);
    assert_eq!(tables(&db).await, Vec::<String>::new());
    db.drop_database().await;
}
