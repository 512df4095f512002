//! Staged rollouts on a real PostgreSQL fleet: waves where the second holds a
//! failing tenant, a canary named in the config, a failure threshold; and
//! cross-database dependencies in both directions (a downgrade reverts the
//! dependent database first; a target whose dependency failed is skipped).

use std::path::Path;
use std::process::{Command, Output};

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

/// `(tenant, status)` of each target, in the document's order.
fn statuses(doc: &Value) -> Vec<(String, String)> {
    let targets = doc["targets"].as_array().expect("targets");
    targets
        .iter()
        .map(|t| (t["target"].as_str().unwrap().to_string(), t["status"].as_str().unwrap().to_string()))
        .collect()
}

/// A fleet of `n` PostgreSQL databases in config order `t00`, `t01`, ...; the
/// tenants at `failing` already hold the table the first revision creates.
struct Fleet {
    dbs: Vec<TestDb>,
    work: tempfile::TempDir,
}

impl Fleet {
    async fn new(n: usize, failing: &[usize]) -> Fleet {
        let mut dbs = Vec::new();
        for i in 0..n {
            let db = TestDb::create(Kind::Postgres).await.expect("PostgreSQL");
            if failing.contains(&i) {
                let mut conn = db.connect().await;
                conn.execute("CREATE TABLE accounts (id INTEGER)").await.unwrap();
                conn.close().await.unwrap();
            }
            dbs.push(db);
        }
        let work = tempfile::tempdir().unwrap();
        let s = work.path().join("tenant");
        write_revision(
            &s,
            "r1aaaaaaaaaa",
            &[],
            "",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY);",
            "DROP TABLE accounts;",
        );
        write_revision(
            &s,
            "r2aaaaaaaaaa",
            &["r1aaaaaaaaaa"],
            "",
            "CREATE INDEX ix_a ON accounts (id);",
            "DROP INDEX ix_a;",
        );
        // A names file keeps its order; tenant names map to the databases.
        let names: Vec<String> = dbs.iter().map(|d| d.database_name().to_string()).collect();
        std::fs::write(work.path().join("tenants.txt"), names.join("\n")).unwrap();
        let config = "jobs = 2\n[fleets.pg]\nscript_location = \"tenant\"\n\
                      url_template = \"postgres://postgres@127.0.0.1:5432/{name}\"\nnames_file = \"tenants.txt\"\n";
        std::fs::write(work.path().join("retort.toml"), config).unwrap();
        Fleet { dbs, work }
    }

    fn name(&self, i: usize) -> String {
        format!("pg:{}", self.dbs[i].database_name())
    }

    fn run(&self, args: &[&str]) -> Output {
        retort(self.work.path(), args)
    }

    async fn version_table_exists(&self, i: usize) -> bool {
        let mut conn = self.dbs[i].connect().await;
        let rows = conn.query("SELECT to_regclass('alembic_version_pg') IS NOT NULL").await.unwrap();
        conn.close().await.unwrap();
        rows[0][0].as_deref() == Some("t")
    }

    async fn drop(self) {
        for db in self.dbs {
            db.drop_database().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_wave_holds_a_failing_tenant_and_the_third_never_starts() {
    let fleet = Fleet::new(12, &[4]).await;
    let out = fleet.run(&["upgrade", "heads", "--waves", "2,50%,100%", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc = json(&out);
    let expected: Vec<(String, String)> = (0..12)
        .map(|i| {
            let status = match i {
                4 => "failed",
                0..6 => "ok",
                _ => "skipped",
            };
            (fleet.name(i), status.to_string())
        })
        .collect();
    assert_eq!(statuses(&doc), expected, "waves: 1-2, 3-6, 7-12; the names file's order");
    let why = "wave 2 of 3 ended with 1 failed target(s)";
    assert_eq!(doc["summary"]["stopped"], why);
    assert_eq!(doc["summary"]["waves"], 3);
    for t in &doc["targets"].as_array().unwrap()[6..] {
        assert_eq!(t["error"], format!("not started: {why}"), "{t}");
    }
    assert!(!fleet.version_table_exists(6).await, "a skipped tenant was never touched");

    let out = fleet.run(&["upgrade", "heads", "--waves", "2,50%,100%"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains(&format!("stopped: {why}; the targets not started are skipped")), "{}", text(&out));

    // With one failure allowed, every wave runs and only the bad tenant fails.
    let out = fleet.run(&["upgrade", "heads", "--waves", "2,50%,100%", "--max-failures", "1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let failed: Vec<String> = statuses(&doc).into_iter().filter(|(_, s)| s != "ok").map(|(t, _)| t).collect();
    assert_eq!(failed, [fleet.name(4)]);
    assert_eq!(doc["summary"]["stopped"], Value::Null);
    fleet.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_named_in_the_config_stops_the_run_before_anyone_else() {
    // The canary is the 6th tenant of the names file: it runs first.
    let fleet = Fleet::new(8, &[5]).await;
    let canary = fleet.name(5);
    let config = std::fs::read_to_string(fleet.work.path().join("retort.toml")).unwrap();
    let config =
        config.replace("jobs = 2\n", &format!("jobs = 2\n\n[rollout]\ncanary = [\"{canary}\"]\nwaves = \"50%\"\n"));
    std::fs::write(fleet.work.path().join("retort.toml"), config).unwrap();
    let out = fleet.run(&["upgrade", "heads", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc = json(&out);
    let got = statuses(&doc);
    assert_eq!(got[0], (canary.clone(), "failed".to_string()), "the canary runs first: {got:?}");
    assert!(got[1..].iter().all(|(_, s)| s == "skipped"), "{got:?}");
    assert_eq!(doc["summary"]["stopped"], "the canary wave had 1 failed target(s)");
    for i in [0, 7] {
        assert!(!fleet.version_table_exists(i).await, "tenant {i} untouched");
    }

    // Fixed, the canary passes and the waves run everyone.
    let mut conn = fleet.dbs[5].connect().await;
    conn.execute("DROP TABLE accounts").await.unwrap();
    conn.close().await.unwrap();
    let out = fleet.run(&["upgrade", "heads", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["summary"]["waves"], 3, "canary, up to 50%, the rest");

    // A canary pattern that names none of the run's targets is an error, not an unguarded run.
    let config = std::fs::read_to_string(fleet.work.path().join("retort.toml")).unwrap();
    std::fs::write(fleet.work.path().join("retort.toml"), config.replace(&canary, "pg:no_such_tenant")).unwrap();
    let out = fleet.run(&["downgrade", "base"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("[rollout] canary (pg:no_such_tenant) selects none of this run's 8 target(s)"));
    let out = fleet.run(&["downgrade", "base", "--canary", "0", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    fleet.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_failures_than_the_threshold_start_no_more_targets() {
    let fleet = Fleet::new(8, &[1, 3]).await;
    let out = fleet.run(&["--jobs", "1", "upgrade", "heads", "--max-failures", "1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc = json(&out);
    let got: Vec<String> = statuses(&doc).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, ["ok", "failed", "ok", "failed", "skipped", "skipped", "skipped", "skipped"]);
    assert_eq!(doc["summary"]["stopped"], "2 targets failed, more than --max-failures 1 allows");

    let out = fleet.run(&["upgrade", "heads", "--jobs", "1", "--fail-fast", "--format", "json"]);
    let doc = json(&out);
    let got: Vec<String> = statuses(&doc).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got[..2], ["ok", "failed"], "{got:?}");
    assert!(got[2..].iter().all(|s| s == "skipped"), "{got:?}");

    for bad in [["--waves", "10%,5%"], ["--waves", "0"], ["--max-failures", "x"], ["--max-failures", "101%"]] {
        let out = fleet.run(&["upgrade", "heads", bad[0], bad[1]]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
    }
    let out = fleet.run(&["upgrade", "heads", "--fail-fast", "--max-failures", "2"]);
    assert_eq!(out.status.code(), Some(2), "the two thresholds conflict");
    let staged_elsewhere: [&[&str]; 3] = [
        &["status", "--canary", "1"],
        &["upgrade", "--dry-run", "--waves", "50%"],
        &["stamp", "heads", "--waves", "1"],
    ];
    for args in staged_elsewhere {
        let out = fleet.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?} runs no waves: {}", text(&out));
        assert!(text(&out).contains("only upgrade and downgrade run in waves"), "{}", text(&out));
    }
    fleet.drop().await;
}

/// `analytics` depends on `default:aaaa00000002` (its view reads `users.email`).
/// A downgrade reverts analytics first (else dropping the column fails); an
/// upgrade whose `default` fails skips analytics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_database_dependencies_in_both_directions() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("default");
    write_revision(&d, "aaaa00000001", &[], "", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE users;");
    write_revision(
        &d,
        "aaaa00000002",
        &["aaaa00000001"],
        "",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "SELECT pg_sleep(0.3);\nALTER TABLE users DROP COLUMN email;",
    );
    let a = work.path().join("analytics");
    write_revision(
        &a,
        "bbbb00000001",
        &[],
        "-- Depends On: default:aaaa00000002",
        "CREATE VIEW user_emails AS SELECT email FROM users;",
        "SELECT pg_sleep(0.5);\nDROP VIEW user_emails;",
    );
    let config = format!(
        "[databases.default]\nurl = \"{0}\"\nscript_location = \"default\"\n\n[databases.analytics]\nurl = \"{0}\"\nscript_location = \"analytics\"\n",
        db.url
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let out = retort(work.path(), &["upgrade", "heads"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = retort(work.path(), &["downgrade", "base", "--format", "ndjson"]);
    assert!(out.status.success(), "the view went before the column: {}", text(&out));
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let position =
        |event: &str, target: &str| events.iter().position(|e| e["event"] == event && e["target"] == target).unwrap();
    assert!(position("target_finished", "analytics") < position("step_started", "default"), "analytics first");

    // default's first revision now fails: analytics is skipped, not failed.
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE users (id INTEGER)").await.unwrap();
    conn.close().await.unwrap();
    let out = retort(work.path(), &["upgrade", "heads", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(statuses(&doc), [("analytics".into(), "skipped".into()), ("default".into(), "failed".into())]);
    assert_eq!(
        doc["targets"][0]["error"],
        "not started: the upgrade of default, which this database depends on, did not succeed"
    );
    db.drop_database().await;
}
