//! Fleets on the real servers: 100 PostgreSQL and 20 MariaDB databases created by
//! the test, with one unreachable tenant and one failing revision; `default` and
//! `analytics` with separate histories and a cross-database dependency; a
//! schema-per-tenant fleet; shards; two runners on one fleet; and no password in
//! any output.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

const SECRET: &str = "s3cret-fleet";
const REVISIONS: [&str; 4] = ["f0aaaaaaaaaa", "f1aaaaaaaaaa", "f2aaaaaaaaaa", "f3aaaaaaaaaa"];

/// A tenant history: a table, an index, a backfill, a view.
fn write_tenant_history(scripts: &Path) {
    let ups = [
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);",
        "CREATE INDEX ix_accounts_email ON accounts (email);",
        "INSERT INTO accounts (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');",
        "CREATE VIEW account_emails AS SELECT email FROM accounts;",
    ];
    let downs = [
        "DROP TABLE accounts;",
        "DROP INDEX ix_accounts_email ON accounts;",
        "DELETE FROM accounts;",
        "DROP VIEW account_emails;",
    ];
    for (i, id) in REVISIONS.iter().enumerate() {
        let parents: Vec<&str> = if i == 0 { vec![] } else { vec![REVISIONS[i - 1]] };
        write_revision(scripts, id, &parents, "", ups[i], downs[i]);
    }
}

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn statuses(doc: &Value) -> Vec<(String, String)> {
    doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap().to_string(), t["status"].as_str().unwrap().to_string()))
        .collect()
}

async fn mariadb_user_with_password() {
    let db = TestDb::create(Kind::Mariadb).await.expect("MariaDB");
    let mut conn = db.connect().await;
    for host in ["%", "localhost", "127.0.0.1"] {
        conn.execute(&format!("CREATE USER IF NOT EXISTS 'retort_fleet'@'{host}' IDENTIFIED BY '{SECRET}'"))
            .await
            .unwrap();
        conn.execute(&format!("GRANT ALL PRIVILEGES ON *.* TO 'retort_fleet'@'{host}'")).await.unwrap();
    }
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_postgres_and_twenty_mariadb_tenants_with_two_failures() {
    mariadb_user_with_password().await;
    let mut pg = Vec::new();
    for _ in 0..100 {
        pg.push(TestDb::create(Kind::Postgres).await.unwrap());
    }
    let mut my = Vec::new();
    for _ in 0..20 {
        my.push(TestDb::create(Kind::Mariadb).await.unwrap());
    }
    // The failing tenant already has a table the first revision creates.
    let mut conn = pg[7].connect().await;
    conn.execute("CREATE TABLE accounts (id INTEGER)").await.unwrap();
    conn.close().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let quoted = |dbs: &[TestDb], extra: &str| {
        let mut names: Vec<String> = dbs.iter().map(|d| format!("\"{}\"", d.database_name())).collect();
        if !extra.is_empty() {
            names.push(format!("\"{extra}\""));
        }
        names.join(", ")
    };
    let config = format!(
        "jobs = 8\n\n[fleets.pg]\nscript_location = \"tenant\"\nurl_template = \"postgres://postgres:{SECRET}@127.0.0.1:5432/{{name}}\"\nnames = [{}]\n\n\
         [fleets.my]\nscript_location = \"tenant\"\nurl_template = \"mysql://retort_fleet:{SECRET}@127.0.0.1:3306/{{name}}\"\nnames = [{}]\n",
        quoted(&pg, "retort_no_such_tenant"),
        quoted(&my, "")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();

    let out = retort(work.path(), &["upgrade", "heads", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains(SECRET), "the password leaked: {}", text(&out));
    let doc = json(&out);
    let failed: Vec<String> = statuses(&doc).into_iter().filter(|(_, s)| s != "ok").map(|(t, _)| t).collect();
    assert_eq!(failed, [format!("pg:{}", pg[7].database_name()), "pg:retort_no_such_tenant".to_string()]);
    assert_eq!(doc["summary"]["ok"], 119);
    for t in doc["targets"].as_array().unwrap().iter().filter(|t| t["status"] == "ok") {
        assert_eq!(t["after"], serde_json::json!([REVISIONS[3]]), "{t}");
    }
    for format in ["text", "ndjson"] {
        let out = retort(work.path(), &["upgrade", "heads", "--format", format]);
        assert_eq!(out.status.code(), Some(1));
        assert!(!text(&out).contains(SECRET), "the password leaked in {format}: {}", text(&out));
    }
    let out = retort(work.path(), &["status", "--format", "json"]);
    assert!(!text(&out).contains(SECRET));
    let doc = json(&out);
    let pending: Vec<u64> = doc["targets"].as_array().unwrap().iter().filter_map(|t| t["pending"].as_u64()).collect();
    assert_eq!(pending.iter().filter(|&&p| p == 0).count(), 119, "{doc}");
    for db in pg.into_iter().chain(my) {
        db.drop_database().await;
    }
}

/// `default` and `analytics` in one PostgreSQL database: separate histories,
/// separate version tables, and `analytics` waits for `default:aaaa00000002`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_and_analytics_with_a_cross_database_dependency() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("default");
    write_revision(
        &d,
        "aaaa00000001",
        &[],
        "",
        "SELECT pg_sleep(0.5);\nCREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    write_revision(
        &d,
        "aaaa00000002",
        &["aaaa00000001"],
        "",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
    );
    let a = work.path().join("analytics");
    write_revision(
        &a,
        "bbbb00000001",
        &[],
        "-- Depends On: default:aaaa00000002",
        "CREATE VIEW user_emails AS SELECT email FROM users;",
        "DROP VIEW user_emails;",
    );
    let config = format!(
        "[databases.default]\nurl = \"{0}\"\nscript_location = \"default\"\n\n[databases.analytics]\nurl = \"{0}\"\nscript_location = \"analytics\"\n",
        db.url
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();

    let out = retort(work.path(), &["upgrade", "heads", "-d", "analytics"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("waits for default:aaaa00000002, which default has not applied"), "{}", text(&out));

    let out = retort(work.path(), &["upgrade", "heads", "--format", "ndjson"]);
    assert!(out.status.success(), "{}", text(&out));
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let position =
        |event: &str, target: &str| events.iter().position(|e| e["event"] == event && e["target"] == target).unwrap();
    assert!(
        position("target_finished", "default") < position("step_started", "analytics"),
        "analytics ran after default"
    );
    let mut conn = db.connect().await;
    for table in ["alembic_version_default", "alembic_version_analytics"] {
        let rows = conn.query(&format!("SELECT version_num FROM {table}")).await.unwrap();
        assert_eq!(rows.len(), 1, "{table}");
    }
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_per_tenant_fleet() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let tenants: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let mut conn = db.connect().await;
    for t in &tenants {
        conn.execute(&format!("CREATE SCHEMA tenant_{t}")).await.unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let names: Vec<String> = tenants.iter().map(|t| format!("\"{t}\"")).collect();
    let config = format!(
        "[fleets.schemas]\nscript_location = \"tenant\"\nurl_template = \"{}\"\nschema_template = \"tenant_{{name}}\"\nversion_table = \"alembic_version\"\nnames = [{}]\n",
        db.url,
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let out = retort(work.path(), &["upgrade", "heads", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    for t in &tenants {
        let rows = conn.query(&format!("SELECT version_num FROM tenant_{t}.alembic_version")).await.unwrap();
        assert_eq!(rows, vec![vec![Some(REVISIONS[3].to_string())]], "{t}");
        let count = conn.query(&format!("SELECT COUNT(*) FROM tenant_{t}.accounts")).await.unwrap();
        assert_eq!(count[0][0].as_deref(), Some("2"), "{t}");
    }
    assert!(conn.query("SELECT 1 FROM public.accounts").await.is_err(), "nothing landed in public");
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[test]
fn shards_cover_every_target_exactly_once() {
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let names: Vec<String> = (0..30).map(|i| format!("\"t{i}\"")).collect();
    let config = format!(
        "[fleets.lite]\nscript_location = \"tenant\"\nurl_template = \"sqlite://t_{{name}}.db\"\nnames = [{}]\n[databases.main]\nurl = \"sqlite://main.db\"\nscript_location = \"tenant\"\n",
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let mut seen: Vec<String> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = retort(work.path(), &["upgrade", "heads", "--shard", shard, "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out));
        let doc = json(&out);
        let targets: Vec<String> = statuses(&doc).into_iter().map(|(t, _)| t).collect();
        assert!(!targets.is_empty() && targets.len() < 31, "shard {shard}: {targets:?}");
        seen.extend(targets);
    }
    seen.sort();
    let mut all: Vec<String> = (0..30).map(|i| format!("lite:t{i}")).collect();
    all.push("main".into());
    all.sort();
    assert_eq!(seen, all, "every target exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_fleet_apply_each_revision_once() {
    let mut dbs = Vec::new();
    for _ in 0..20 {
        dbs.push(TestDb::create(Kind::Postgres).await.unwrap());
    }
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let names: Vec<String> = dbs.iter().map(|d| format!("\"{}\"", d.database_name())).collect();
    let config = format!(
        "jobs = 4\nlock_timeout = \"60s\"\n[fleets.pg]\nscript_location = \"tenant\"\nurl_template = \"postgres://postgres@127.0.0.1:5432/{{name}}\"\nnames = [{}]\n",
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_retort"))
            .args(["upgrade", "heads", "--format", "json"])
            .current_dir(work.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{}\n{}", text(&a), text(&b));
    let applied = |doc: &Value| -> usize { doc["summary"]["revisions_applied"].as_u64().unwrap() as usize };
    assert_eq!(applied(&json(&a)) + applied(&json(&b)), dbs.len() * REVISIONS.len());
    for db in dbs {
        db.drop_database().await;
    }
}

/// Tenant names from a query on a control database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_query_on_a_control_database() {
    let control = TestDb::create(Kind::Postgres).await.unwrap();
    let tenants = [TestDb::create(Kind::Postgres).await.unwrap(), TestDb::create(Kind::Postgres).await.unwrap()];
    let mut conn = control.connect().await;
    conn.execute("CREATE TABLE tenants (db TEXT, active BOOLEAN)").await.unwrap();
    for t in &tenants {
        conn.execute(&format!("INSERT INTO tenants VALUES ('{}', true)", t.database_name())).await.unwrap();
    }
    conn.execute("INSERT INTO tenants VALUES ('retired_tenant', false)").await.unwrap();
    conn.close().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let config = format!(
        "[fleets.q]\nscript_location = \"tenant\"\nurl_template = \"postgres://postgres@127.0.0.1:5432/{{name}}\"\n\
         names_query = \"SELECT db FROM tenants WHERE active ORDER BY db\"\ncontrol_url = \"{}\"\n",
        control.url
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let out = retort(work.path(), &["upgrade", "heads", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let mut expected: Vec<(String, String)> =
        tenants.iter().map(|t| (format!("q:{}", t.database_name()), "ok".to_string())).collect();
    expected.sort();
    assert_eq!(statuses(&json(&out)), expected);
    for db in tenants.into_iter().chain([control]) {
        db.drop_database().await;
    }
}

/// `--fail-fast` stops starting new targets after a failure; the rest are skipped.
#[test]
fn fail_fast_skips_the_targets_not_yet_started() {
    let work = tempfile::tempdir().unwrap();
    write_tenant_history(&work.path().join("tenant"));
    let names: Vec<String> = (0..6).map(|i| format!("\"t{i}\"")).collect();
    let config = format!(
        "jobs = 1\n[fleets.lite]\nscript_location = \"tenant\"\nurl_template = \"sqlite://t_{{name}}.db\"\nnames = [{}]\n",
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    std::fs::write(work.path().join("t_t0.db"), "this is not a database").unwrap();
    let out = retort(work.path(), &["upgrade", "heads", "--fail-fast", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let by_status = |s: &str| statuses(&doc).iter().filter(|(_, st)| st == s).count();
    assert_eq!((by_status("failed"), by_status("ok"), by_status("skipped")), (1, 0, 5), "{doc}");
    let out = retort(work.path(), &["upgrade", "heads", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(statuses(&doc).iter().filter(|(_, s)| s == "ok").count(), 5, "without --fail-fast the others run");
}

/// Two databases whose revisions wait for each other fail at once, naming the cycle,
/// instead of waiting forever.
#[test]
fn cross_database_dependency_cycles_fail_instead_of_hanging() {
    let work = tempfile::tempdir().unwrap();
    write_revision(
        &work.path().join("a"),
        "aaaa00000001",
        &[],
        "-- Depends On: b:bbbb00000001",
        "CREATE TABLE a (x INTEGER);",
        "",
    );
    write_revision(
        &work.path().join("b"),
        "bbbb00000001",
        &[],
        "-- Depends On: a:aaaa00000001",
        "CREATE TABLE b (x INTEGER);",
        "",
    );
    let config = "[databases.a]\nurl = \"sqlite://a.db\"\nscript_location = \"a\"\n[databases.b]\nurl = \"sqlite://b.db\"\nscript_location = \"b\"\n";
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let out = retort(work.path(), &["upgrade", "heads"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("cross-database dependency cycle: a -> b -> a"), "{}", text(&out));
    let out = retort(work.path(), &["current"]);
    assert!(out.status.success(), "read-only commands do not wait: {}", text(&out));
}
