//! Logs on stderr at the most verbose level, against the real PostgreSQL and
//! MariaDB with passwords in the URL's user info and in its query string: the
//! events are there (retort's and the drivers'), stdout is still one JSON
//! document, and no password appears anywhere, not even when the login fails.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};

const SECRET: &str = "l0g-s3cret-pw";

fn retort(dir: &Path, args: &[&str], log: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(args)
        .env("RETORT_LOG", log)
        .current_dir(dir)
        .output()
        .expect("run retort")
}

async fn mariadb_user() {
    let db = TestDb::create(Kind::Mariadb).await.expect("MariaDB");
    let mut conn = db.connect().await;
    for host in ["%", "localhost", "127.0.0.1"] {
        conn.execute(&format!("CREATE USER IF NOT EXISTS 'retort_log'@'{host}' IDENTIFIED BY '{SECRET}'"))
            .await
            .unwrap();
        conn.execute(&format!("GRANT ALL PRIVILEGES ON *.* TO 'retort_log'@'{host}'")).await.unwrap();
    }
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_hold_no_password() {
    mariadb_user().await;
    let pg = TestDb::create(Kind::Postgres).await.unwrap();
    let pg2 = TestDb::create(Kind::Postgres).await.unwrap();
    let my = TestDb::create(Kind::Mariadb).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let s = work.path().join("scripts");
    write_revision(&s, "l1aaaaaaaaaa", &[], "", "CREATE TABLE t (id INTEGER);", "DROP TABLE t;");
    let (pg_name, pg2_name, my_name) = (pg.database_name(), pg2.database_name(), my.database_name());
    let config = format!(
        "[databases.pg_userinfo]\nurl = \"postgres://postgres:{SECRET}@127.0.0.1:5432/{pg_name}\"\nscript_location = \"scripts\"\n\n\
         [databases.pg_query]\nurl = \"postgres://postgres@127.0.0.1:5432/{pg2_name}?password={SECRET}&sslmode=disable\"\nscript_location = \"scripts\"\n\n\
         [databases.my_userinfo]\nurl = \"mysql://retort_log:{SECRET}@127.0.0.1:3306/{my_name}\"\nscript_location = \"scripts\"\n\n\
         [databases.my_query]\nurl = \"mysql://retort_log@127.0.0.1:3306/{my_name}?password={SECRET}\"\nscript_location = \"scripts\"\n\n\
         [databases.my_wrong]\nurl = \"mysql://retort_log:{SECRET}-wrong@127.0.0.1:3306/{my_name}\"\nscript_location = \"scripts\"\n"
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    for format in ["text", "json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_retort"))
            .args(["upgrade", "heads", "--format", "json", "--log-format", format, "--log", "trace"])
            .current_dir(work.path())
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "a password leaked:\n{stderr}\n{stdout}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is still the document");
        // my_wrong cannot log in; mysql_async refuses `?password=` (the message masks it).
        let failed: Vec<&str> = doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "failed")
            .map(|t| t["target"].as_str().unwrap())
            .collect();
        assert_eq!(failed, ["my_query", "my_wrong"], "{doc}");
        // The first run applies; the second finds nothing to do.
        let applied = if format == "text" { "step applied" } else { "run lock taken" };
        assert!(stderr.contains("connecting") && stderr.contains(applied), "retort's events: {stderr}");
        if format == "json" {
            for line in stderr.lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            }
        }
    }
    // RETORT_LOG=trace names every crate, the drivers' statement events too.
    let out = retort(work.path(), &["downgrade", "base", "-d", "pg_*,my_userinfo"], "trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("sqlx::query") && stderr.contains("DROP TABLE t"), "driver statements at trace");
    assert!(!stderr.contains(SECRET), "a password leaked:\n{stderr}");
    // The default: warnings only, so a clean run writes nothing to stderr.
    let out = retort(work.path(), &["upgrade", "heads", "-d", "pg_userinfo", "--format", "json"], "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "quiet by default");
    for db in [pg, pg2, my] {
        db.drop_database().await;
    }
}
