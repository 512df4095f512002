//! `retort revision --rename-column` on the real PostgreSQL and MariaDB: while
//! expand is live and the backfill runs, concurrent writers insert and update
//! through the old and the new name, and every row reads back the same from
//! both columns; after contract the old column is gone and no row lost its
//! value; after a second rename on top, `retort test` takes every phase up, down
//! and up and `retort check` passes.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap()
}

fn ok(out: &Output) -> Value {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

async fn scalar(db: &TestDb, sql: &str) -> String {
    let mut conn = db.connect().await;
    let rows = conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.unwrap();
    rows[0][0].clone().unwrap_or_default()
}

/// `count` statements from `make(i)` on a connection of their own.
fn writer(db: &TestDb, count: usize, make: impl Fn(usize) -> String + Send + 'static) -> tokio::task::JoinHandle<()> {
    let options = db.options();
    let driver = db.driver;
    tokio::spawn(async move {
        let mut conn = retort_engine::session::open(driver, &options).await.expect("connect");
        for i in 0..count {
            let sql = make(i);
            conn.execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        conn.close().await.unwrap();
    })
}

async fn rename_under_concurrent_writers(kind: Kind) {
    let db = TestDb::create(kind).await.expect("server configured");
    let (table, rows) = match kind {
        Kind::Postgres => (
            "CREATE TABLE people (id serial PRIMARY KEY, name varchar(100) NOT NULL)",
            "INSERT INTO people (name) SELECT 'p' || g FROM generate_series(1, 3000) g",
        ),
        _ => (
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NULL)",
            "INSERT INTO people (name) SELECT CONCAT('p', seq) FROM seq_1_to_3000",
        ),
    };
    write_revision(&db.scripts(), "people000001", &[], "", &format!("{table};\n{rows};"), "DROP TABLE people;");
    let config = format!("[databases.main]\nurl = \"{}\"\nscript_location = \"scripts\"\n", db.url);
    std::fs::write(db.dir.path().join("retort.toml"), config).unwrap();
    let dir = db.dir.path();
    ok(&retort(dir, &["upgrade", "heads"]));
    let doc = ok(&retort(
        dir,
        &["revision", "--rename-column", "people.name:full_name", "--batch-size", "400", "--format", "json"],
    ));
    let ids: Vec<String> =
        doc["revisions"].as_array().unwrap().iter().map(|r| r["revision"].as_str().unwrap().into()).collect();
    let [expand, backfill, contract] = ids.as_slice() else { panic!("three phases: {doc}") };

    // Expand alone, then writers through both names while the backfill runs.
    ok(&retort(dir, &["upgrade", expand]));
    let writers = [
        writer(&db, 150, |i| format!("INSERT INTO people (name) VALUES ('old{i}')")),
        writer(&db, 150, |i| format!("INSERT INTO people (full_name) VALUES ('new{i}')")),
        writer(&db, 150, |i| format!("UPDATE people SET name = 'upd-old{i}' WHERE id = {}", 2 * i + 2)),
        writer(&db, 150, |i| format!("UPDATE people SET full_name = 'upd-new{i}' WHERE id = {}", 2 * i + 1)),
    ];
    let report = ok(&retort(dir, &["upgrade", "expand@head", "--format", "json"]));
    assert_eq!(report["targets"][0]["after"], serde_json::json!([backfill]), "{report}");
    for w in writers {
        w.await.expect("writer");
    }
    let differ = match kind {
        Kind::Postgres => "SELECT COUNT(*) FROM people WHERE name IS DISTINCT FROM full_name",
        _ => "SELECT COUNT(*) FROM people WHERE NOT (name <=> full_name)",
    };
    assert_eq!(scalar(&db, differ).await, "0", "{kind:?}: both columns read the same while expand is live");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM people WHERE full_name IS NULL").await, "0");

    ok(&retort(dir, &["upgrade", "contract@head"]));
    let columns = match kind {
        Kind::Postgres => {
            "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'people' AND table_schema = current_schema()"
        }
        _ => {
            "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY COLUMN_NAME) FROM information_schema.COLUMNS WHERE TABLE_NAME = 'people' AND TABLE_SCHEMA = DATABASE()"
        }
    };
    assert_eq!(scalar(&db, columns).await, "full_name,id", "{kind:?}: the old column is gone");
    let nullable = match kind {
        Kind::Postgres => {
            "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'full_name'"
        }
        _ => {
            "SELECT IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_NAME = 'people' AND COLUMN_NAME = 'full_name' AND TABLE_SCHEMA = DATABASE()"
        }
    };
    let strict = if kind == Kind::Postgres { "NO" } else { "YES" };
    assert_eq!(scalar(&db, nullable).await, strict, "{kind:?}: the new column is as strict as the old one was");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM people").await, "3300");
    let kept = [
        ("SELECT COUNT(*) FROM people WHERE full_name LIKE 'old%'", "150"),
        ("SELECT COUNT(*) FROM people WHERE full_name LIKE 'new%'", "150"),
        ("SELECT COUNT(*) FROM people WHERE full_name LIKE 'upd-old%' AND MOD(id, 2) = 0", "150"),
        ("SELECT COUNT(*) FROM people WHERE full_name LIKE 'upd-new%' AND MOD(id, 2) = 1", "150"),
        ("SELECT full_name FROM people WHERE id = 2999", "p2999"),
    ];
    for (sql, expected) in kept {
        assert_eq!(scalar(&db, sql).await, expected, "{kind:?}: {sql}");
    }
    let current = ok(&retort(dir, &["current", "--format", "json"]));
    // The backfill stays a version row: contract depends on it but does not descend from it.
    let mut at: Vec<&str> =
        current["targets"][0]["current"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    at.sort();
    let mut expected = [backfill.as_str(), contract.as_str()];
    expected.sort();
    assert_eq!(at, expected);
    // A second rename builds on both branches; every phase still rehearses cleanly.
    ok(&retort(dir, &["revision", "--rename-column", "people.full_name:display_name"]));
    let rehearsed = retort(dir, &["test"]);
    assert!(rehearsed.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&rehearsed.stdout));
    let checked = retort(dir, &["check"]);
    assert!(checked.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&checked.stdout));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rename_keeps_both_names_equal_under_concurrent_writers() {
    rename_under_concurrent_writers(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_rename_keeps_both_names_equal_under_concurrent_writers() {
    rename_under_concurrent_writers(Kind::Mariadb).await;
}
