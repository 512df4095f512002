//! Fault injection against the real PostgreSQL and MariaDB: `retort upgrade heads`
//! killed with SIGKILL at spread-out points of a history that mixes transactional
//! revisions, `CREATE INDEX CONCURRENTLY`, `CREATE TABLE`, `ADD COLUMN`, `CREATE
//! INDEX` and data changes inside non-transactional revisions; SIGTERM during a
//! fleet run; a runner killed inside a long statement while it holds the lock.
//! The PostgreSQL kills are repeated through the C plugin (`plugins/examples/libpq`),
//! whose `presence` entry settles a statement that was in flight.
//! After each fault the next plain `retort upgrade heads` must finish the job, with
//! every data change applied exactly once and nothing left behind.
//!
//! Each run prints what the re-runs found (`--nocapture` shows it); the counts are
//! bounded so that the whole binary stays well under five minutes.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use retort_tests::servers::{Kind, TestDb, write_revision};

const PG_KILLS: usize = 30;
const MARIADB_KILLS: usize = 20;
const C_PLUGIN_KILLS: usize = 12;

/// The database a fault run uses, and the driver that reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    BuiltIn(Kind),
    /// PostgreSQL through the C plugin.
    CPlugin,
}

impl Via {
    async fn create(self) -> TestDb {
        match self {
            Via::BuiltIn(kind) => TestDb::create(kind).await.expect("server configured"),
            Via::CPlugin => TestDb::create_on_c_plugin().await,
        }
    }

    /// The config lines that load the plugin, if one is used.
    fn plugins(self) -> String {
        match self {
            Via::BuiltIn(_) => String::new(),
            Via::CPlugin => {
                format!("plugins = [\"{}\"]\n", retort_tests::plugins::c_plugin_library().display())
            }
        }
    }
}

/// (id, transactional, up) of each revision; `data_log` tags mark data changes.
type History = &'static [(&'static str, bool, &'static str)];

const PG_HISTORY: History = &[
    (
        "r01aaaaaaaaa",
        true,
        "CREATE TABLE items (id integer PRIMARY KEY, a integer, b integer);
INSERT INTO items SELECT g, g % 1000, g % 7 FROM generate_series(1, 200000) g;
CREATE TABLE data_log (tag varchar(20));",
    ),
    (
        "r02aaaaaaaaa",
        false,
        "CREATE INDEX CONCURRENTLY ix_items_a ON items (a);
INSERT INTO data_log VALUES ('r02');
CREATE TABLE t_r02 (id integer);
ALTER TABLE items ADD COLUMN c integer;
CREATE INDEX ix_items_b ON items (b);",
    ),
    (
        "r03aaaaaaaaa",
        true,
        "ALTER TABLE t_r02 ADD COLUMN note text;
INSERT INTO data_log VALUES ('r03');
UPDATE items SET c = 1 WHERE id <= 50000;",
    ),
    (
        "r04aaaaaaaaa",
        false,
        "CREATE UNIQUE INDEX CONCURRENTLY ux_items_id_a ON items (id, a);
UPDATE items SET c = 2 WHERE id > 150000;
INSERT INTO data_log VALUES ('r04');
DROP INDEX CONCURRENTLY ix_items_b;
CREATE INDEX CONCURRENTLY ix_items_c ON items (c);",
    ),
    (
        "r05aaaaaaaaa",
        false,
        "ALTER TABLE t_r02 ADD CONSTRAINT t_r02_pk PRIMARY KEY (id);
CREATE VIEW v_items AS SELECT id, a FROM items;
INSERT INTO data_log VALUES ('r05');",
    ),
];

const MARIADB_HISTORY: History = &[
    (
        "r01aaaaaaaaa",
        true,
        "CREATE TABLE items (id INT PRIMARY KEY, a INT, b INT);
INSERT INTO items SELECT seq, seq % 1000, seq % 7 FROM seq_1_to_200000;
CREATE TABLE data_log (tag VARCHAR(20));",
    ),
    (
        "r02aaaaaaaaa",
        false,
        "CREATE INDEX ix_items_a ON items (a);
INSERT INTO data_log VALUES ('r02');
CREATE TABLE t_r02 (id INT);
ALTER TABLE items ADD COLUMN c INT, ALGORITHM=COPY;",
    ),
    (
        "r03aaaaaaaaa",
        true,
        "CREATE INDEX ix_items_b ON items (b);
UPDATE items SET c = 1 WHERE id <= 50000;
INSERT INTO data_log VALUES ('r03');
ALTER TABLE t_r02 ADD COLUMN note TEXT;",
    ),
    (
        "r04aaaaaaaaa",
        true,
        "ALTER TABLE items DROP INDEX ix_items_b;
ALTER TABLE items ADD COLUMN d INT NOT NULL DEFAULT 0, ALGORITHM=COPY;
INSERT INTO data_log VALUES ('r04');
CREATE TABLE t_r04 (id INT PRIMARY KEY);",
    ),
];

fn write_history(db: &TestDb, via: Via, history: History) {
    let mut parent: Option<&str> = None;
    for (id, transactional, up) in history {
        let header = if *transactional { "" } else { "-- Transactional: false" };
        write_revision(&db.scripts(), id, parent.as_slice(), header, up, "");
        parent = Some(id);
    }
    let config = config(&[("default", &db.url)], &db.scripts());
    std::fs::write(db.dir.path().join("retort.toml"), via.plugins() + &config).unwrap();
}

fn write_config(dir: &Path, databases: &[(&str, &str)], scripts: &Path) {
    std::fs::write(dir.join("retort.toml"), config(databases, scripts)).unwrap();
}

fn config(databases: &[(&str, &str)], scripts: &Path) -> String {
    let mut config = String::from("lock_timeout = \"10s\"\n");
    for (name, url) in databases {
        config.push_str(&format!("[databases.{name}]\nurl = \"{url}\"\nscript_location = \"{}\"\n", scripts.display()));
    }
    config
}

fn retort(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retort"));
    command.args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn spawn_upgrade(dir: &Path) -> Child {
    retort(dir, &["upgrade", "heads", "--format", "json"]).spawn().expect("spawn retort")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

async fn one(db: &TestDb, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut conn = db.connect().await;
    let rows = conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.unwrap();
    rows
}

/// What a re-run after a kill had to do.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    /// Re-runs that resumed a part-way revision.
    resumed: usize,
    /// Re-runs that found a statement in flight and settled it through the catalog.
    catalog_checks: usize,
    /// Re-runs that dropped an INVALID index.
    invalid_dropped: usize,
}

/// Kills a run `at` after its start, re-runs, checks the result; returns whether
/// the kill landed inside the run.
async fn kill_and_rerun(via: Via, history: History, at: Duration, tally: &mut Tally) -> bool {
    let db = via.create().await;
    let kind = db.kind;
    write_history(&db, via, history);
    let mut child = spawn_upgrade(db.dir.path());
    tokio::time::sleep(at).await;
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    tally.kills += usize::from(killed);
    check_consistent(&db, history).await;
    let out = retort(db.dir.path(), &["upgrade", "heads", "--format", "json"]).output().unwrap();
    let doc = json(&out);
    assert!(out.status.success(), "{via:?}: re-run after a kill at {at:?} failed: {doc}");
    let notes: Vec<String> =
        doc["targets"][0]["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
    tally.resumed += usize::from(notes.iter().any(|n| n.contains("resuming at statement")));
    tally.catalog_checks += usize::from(notes.iter().any(|n| n.contains("was running when an earlier run stopped")));
    tally.invalid_dropped += usize::from(notes.iter().any(|n| n.contains("dropped INVALID index")));
    check_finished(&db, kind, history).await;
    db.drop_database().await;
    killed
}

/// Whatever the kill left: each data change at most once, and once where its
/// revision is recorded as applied.
async fn check_consistent(db: &TestDb, history: History) {
    let mut conn = db.connect().await;
    let applied = retort_engine::driver::read_versions(
        conn.as_mut(),
        db.driver.dialect(),
        &retort_engine::driver::VersionTable::for_target("default"),
    )
    .await
    .unwrap()
    .unwrap_or_default();
    let at = applied.first().and_then(|row| history.iter().position(|(id, ..)| id == row));
    let logged = if conn.table_exists(&table("data_log")).await.unwrap() {
        conn.query("SELECT tag, COUNT(*) FROM data_log GROUP BY tag").await.unwrap()
    } else {
        vec![]
    };
    conn.close().await.unwrap();
    for row in &logged {
        assert_eq!(row[1].as_deref(), Some("1"), "a data change applied twice: {logged:?}");
    }
    for (i, (id, ..)) in history.iter().enumerate().skip(1) {
        if at.is_some_and(|at| i <= at) {
            let tag = &id[..3];
            assert!(logged.iter().any(|r| r[0].as_deref() == Some(tag)), "{id} is recorded but its data is missing");
        }
    }
}

fn table(name: &str) -> retort_engine::driver::VersionTable {
    retort_engine::driver::VersionTable { name: name.into(), schema: None }
}

/// At heads, every data change exactly once, no INVALID index, no progress table.
async fn check_finished(db: &TestDb, kind: Kind, history: History) {
    let head = history.last().unwrap().0;
    let rows = one(db, "SELECT version_num FROM alembic_version_default").await;
    assert_eq!(rows, [[Some(head.to_string())]], "{kind:?}: at heads");
    let logged = one(db, "SELECT tag, COUNT(*) FROM data_log GROUP BY tag ORDER BY tag").await;
    let expected: Vec<Vec<Option<String>>> =
        history.iter().skip(1).map(|(id, ..)| vec![Some(id[..3].to_string()), Some("1".into())]).collect();
    assert_eq!(logged, expected, "{kind:?}: every data change exactly once");
    let mut conn = db.connect().await;
    assert!(!conn.table_exists(&table("alembic_version_default_progress")).await.unwrap(), "no progress left");
    conn.close().await.unwrap();
    let c_counts = one(db, "SELECT COUNT(*) FROM items WHERE c = 1").await;
    assert_eq!(c_counts, [[Some("50000".to_string())]], "{kind:?}: r03's update applied once");
    if kind == Kind::Postgres {
        assert_eq!(one(db, "SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid").await, [[Some("0".into())]]);
        let indexes = one(db, "SELECT indexname FROM pg_indexes WHERE tablename = 'items' ORDER BY 1").await;
        let names: Vec<&str> = indexes.iter().filter_map(|r| r[0].as_deref()).collect();
        assert_eq!(names, ["items_pkey", "ix_items_a", "ix_items_c", "ux_items_id_a"]);
    } else {
        let indexes = one(
            db,
            "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'items' ORDER BY 1",
        )
        .await;
        let names: Vec<&str> = indexes.iter().filter_map(|r| r[0].as_deref()).collect();
        assert_eq!(names, ["ix_items_a", "PRIMARY"]);
    }
}

/// How long a whole run of `history` takes here, to spread the kill points over.
async fn full_run_time(via: Via, history: History) -> Duration {
    let db = via.create().await;
    let kind = db.kind;
    write_history(&db, via, history);
    let started = Instant::now();
    let out = spawn_upgrade(db.dir.path()).wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", json(&out));
    check_finished(&db, kind, history).await;
    db.drop_database().await;
    elapsed
}

async fn kill_at_spread_points(via: Via, history: History, kills: usize) -> Tally {
    // The faster of two runs, so that a slow first run (cold caches, a busy
    // machine) does not push the later points past the end of the real run.
    let full = full_run_time(via, history).await.min(full_run_time(via, history).await);
    let mut tally = Tally::default();
    for k in 0..kills {
        let mut at = full.mul_f64(0.95 * (k as f64 + 0.5) / kills as f64);
        // Warm runs are faster than the measured ones: a point past the end of a
        // run is tried again earlier, so that every point lands inside a run.
        for _ in 0..3 {
            if kill_and_rerun(via, history, at, &mut tally).await {
                break;
            }
            at = at.mul_f64(0.7);
        }
    }
    eprintln!("{via:?}: full run {full:?}; {tally:?}; re-runs that needed a human: 0");
    assert!(tally.kills >= kills * 9 / 10, "{via:?}: the kill points landed inside the run: {tally:?}");
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_at_30_points_then_plain_rerun_finishes() {
    kill_at_spread_points(Via::BuiltIn(Kind::Postgres), PG_HISTORY, PG_KILLS).await;
}

/// The plugin's `presence` settles the statements a kill left in flight, as the
/// built-in driver's does: some re-runs must have asked it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_plugin_kill_9_at_12_points_then_plain_rerun_finishes() {
    let tally = kill_at_spread_points(Via::CPlugin, PG_HISTORY, C_PLUGIN_KILLS).await;
    assert!(tally.catalog_checks + tally.invalid_dropped > 0, "no re-run settled a statement in flight: {tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_kill_9_at_20_points_then_plain_rerun_finishes() {
    kill_at_spread_points(Via::BuiltIn(Kind::Mariadb), MARIADB_HISTORY, MARIADB_KILLS).await;
}

/// The killed runner's 30 s statement keeps running on the server; with
/// `client_connection_check_interval` the server cancels it and frees the lock,
/// so the next runner (default 10 s lock timeout) finishes without any option.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runner_killed_in_a_long_statement_frees_its_lock() {
    let db = TestDb::create(Kind::Postgres).await.expect("server configured");
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE sleep_for (s float)").await.unwrap();
    conn.execute("INSERT INTO sleep_for VALUES (30)").await.unwrap();
    let body = "CREATE TABLE done_marker (id integer);\nSELECT pg_sleep(s) FROM sleep_for;";
    write_revision(&db.scripts(), "aaaa00000001", &[], "", body, "DROP TABLE done_marker;");
    write_config(db.dir.path(), &[("default", &db.url)], &db.scripts());
    let mut first = spawn_upgrade(db.dir.path());
    let sleeping = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(s)%' AND state = 'active'";
    let deadline = Instant::now() + Duration::from_secs(20);
    while conn.query(sleeping).await.unwrap()[0][0].as_deref() != Some("1") {
        assert!(Instant::now() < deadline, "the first runner never reached its long statement");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    conn.execute("UPDATE sleep_for SET s = 0").await.unwrap();
    conn.close().await.unwrap();
    let started = Instant::now();
    let out = retort(db.dir.path(), &["upgrade", "heads", "--format", "json"]).output().unwrap();
    let doc = json(&out);
    assert!(out.status.success(), "{doc}");
    assert!(started.elapsed() < Duration::from_secs(8), "waited {:?} for a dead runner's lock", started.elapsed());
    assert_eq!(doc["targets"][0]["after"], serde_json::json!(["aaaa00000001"]));
    db.drop_database().await;
}

/// SIGTERM in the middle of an 8-database fleet: exit 143, the JSON document says
/// which targets were interrupted or not started, no lock stays held, and the
/// next plain run completes every database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_fleet_run_stops_cleanly_and_the_rerun_completes() {
    let mut dbs = Vec::new();
    for _ in 0..8 {
        dbs.push(TestDb::create(Kind::Postgres).await.expect("server configured"));
    }
    let scripts = dbs[0].scripts();
    let revisions = [
        ("s01aaaaaaaaa", "", "CREATE TABLE t1 (id integer);\nSELECT pg_sleep(0.4);"),
        (
            "s02aaaaaaaaa",
            "-- Transactional: false",
            "CREATE TABLE t2 (id integer);\nSELECT pg_sleep(0.4);\nCREATE INDEX CONCURRENTLY ix_t2 ON t2 (id);",
        ),
        ("s03aaaaaaaaa", "", "INSERT INTO t1 VALUES (1);\nSELECT pg_sleep(0.4);"),
    ];
    let mut parent: Option<&str> = None;
    for (id, header, up) in revisions {
        write_revision(&scripts, id, parent.as_slice(), header, up, "");
        parent = Some(id);
    }
    let names: Vec<String> = (0..8).map(|i| format!("db{i}")).collect();
    let databases: Vec<(&str, &str)> =
        names.iter().map(String::as_str).zip(dbs.iter().map(|d| d.url.as_str())).collect();
    let dir = dbs[0].dir.path();
    write_config(dir, &databases, &scripts);
    let child = retort(dir, &["upgrade", "heads", "--format", "json", "--jobs", "4"]).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    let statuses: Vec<&str> =
        doc["targets"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"interrupted"), "{statuses:?}");
    assert!(statuses.contains(&"skipped"), "targets not started are skipped: {statuses:?}");
    let ours: Vec<String> = dbs.iter().map(|d| format!("'{}'", d.database_name())).collect();
    let locks = format!(
        "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND d.datname IN ({})",
        ours.join(", ")
    );
    let held = one(&dbs[0], &locks).await;
    assert_eq!(held, [[Some("0".to_string())]], "no advisory lock stays held");
    let out = retort(dir, &["upgrade", "heads", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", json(&out));
    for (i, db) in dbs.iter().enumerate() {
        let rows = one(db, &format!("SELECT version_num FROM alembic_version_db{i}")).await;
        assert_eq!(rows, [[Some("s03aaaaaaaaa".to_string())]], "db{i}");
    }
    for db in dbs {
        db.drop_database().await;
    }
}
