//! PostgreSQL-only behaviour on the real server: `CREATE INDEX CONCURRENTLY` under
//! concurrent writes, a waiting runner that must not deadlock an index build, the
//! repair of an INVALID index left by a failed build, DDL lock-timeout retries,
//! and a version table in a tenant schema.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use retort_engine::driver::{ConnectOptions, Connection, VersionTable};
use retort_engine::executor::{self, Action, Report, RunError, RunOptions, RunPolicy};
use retort_history::graph::Graph;
use retort_history::script;
use retort_tests::servers::{Kind, TestDb, write_revision};

async fn fresh() -> TestDb {
    TestDb::create(Kind::Postgres).await.expect("PostgreSQL is configured")
}

fn table() -> VersionTable {
    VersionTable::for_target("default")
}

async fn upgrade(conn: &mut dyn Connection, db: &TestDb, table: &VersionTable, options: &RunOptions) -> Report {
    let graph = Graph::new(script::load(&db.scripts()).unwrap()).unwrap();
    executor::run(conn, db.driver.dialect(), &graph, table, &Action::Upgrade("heads".into()), options).await
}

async fn one(conn: &mut dyn Connection, sql: &str) -> Option<String> {
    conn.query(sql).await.unwrap().into_iter().next().and_then(|r| r.into_iter().next().flatten())
}

async fn seed_big_table(db: &TestDb, rows: u32) {
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE big (id bigserial PRIMARY KEY, v integer NOT NULL)").await.unwrap();
    conn.execute(&format!("INSERT INTO big (v) SELECT g % 1000 FROM generate_series(1, {rows}) g")).await.unwrap();
    conn.close().await.unwrap();
}

/// Keeps inserting into `big` from its own connection until told to stop.
fn spawn_writer(db: &TestDb, stop: Arc<AtomicBool>, written: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    let options = db.options();
    let driver = db.driver;
    tokio::spawn(async move {
        let mut conn = retort_engine::session::open(driver, &options).await.unwrap();
        while !stop.load(Ordering::Relaxed) {
            conn.execute("INSERT INTO big (v) VALUES (7)").await.unwrap();
            written.fetch_add(1, Ordering::Relaxed);
        }
        conn.close().await.unwrap();
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_index_concurrently_while_another_connection_writes() {
    let db = fresh().await;
    seed_big_table(&db, 200_000).await;
    write_revision(
        &db.scripts(),
        "aaaa00000001",
        &[],
        "-- Transactional: false",
        "CREATE INDEX CONCURRENTLY ix_big_v ON big (v);",
        "DROP INDEX CONCURRENTLY ix_big_v;",
    );
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = spawn_writer(&db, stop.clone(), written.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = written.load(Ordering::Relaxed);
    let mut conn = db.connect().await;
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    let during = written.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(during > 0, "the writer kept writing during the build");
    let valid =
        one(conn.as_mut(), "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_big_v'::regclass").await;
    assert_eq!(valid.as_deref(), Some("true"));
    conn.close().await.unwrap();
    db.drop_database().await;
}

/// Runner B starts while runner A builds an index concurrently. B must wait on
/// the run lock without holding a snapshot that the build would wait for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_runner_does_not_deadlock_a_concurrent_index_build() {
    let db = Arc::new(fresh().await);
    seed_big_table(&db, 100_000).await;
    let body = "SELECT pg_sleep(1);\nCREATE INDEX CONCURRENTLY ix_wait ON big (v);";
    write_revision(&db.scripts(), "aaaa00000001", &[], "-- Transactional: false", body, "DROP INDEX ix_wait;");
    let options = RunOptions {
        policy: RunPolicy { lock_timeout: Duration::from_secs(60), ..RunPolicy::default() },
        ..RunOptions::default()
    };
    let runner = |delay: u64| {
        let (db, options) = (db.clone(), options.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let mut conn = db.connect().await;
            let started = Instant::now();
            let report = upgrade(conn.as_mut(), &db, &table(), &options).await;
            conn.close().await.unwrap();
            (report, started.elapsed())
        })
    };
    let (a, b) = (runner(0), runner(300));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a.0.error.is_none(), "builder: {:?}", a.0.error);
    assert!(b.0.error.is_none(), "waiter: {:?}", b.0.error);
    assert_eq!(a.0.steps.len() + b.0.steps.len(), 1, "the revision ran exactly once");
    assert!(a.1 < Duration::from_secs(30), "the build finished while the other runner waited ({:?})", a.1);
    Arc::try_unwrap(db).ok().expect("sole owner").drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_index_from_a_failed_build_is_dropped_before_the_retry() {
    let db = fresh().await;
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE dup (v integer)").await.unwrap();
    conn.execute("INSERT INTO dup VALUES (1), (1), (2)").await.unwrap();
    write_revision(
        &db.scripts(),
        "aaaa00000001",
        &[],
        "-- Transactional: false",
        "CREATE UNIQUE INDEX CONCURRENTLY ux_dup ON dup (v);",
        "DROP INDEX ux_dup;",
    );
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    assert!(
        matches!(report.error, Some(RunError::StepPartial { at: executor::FailedAt { statement: 1, .. }, .. })),
        "{:?}",
        report.error
    );
    let valid =
        one(conn.as_mut(), "SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('ux_dup')").await;
    assert_eq!(valid.as_deref(), Some("false"), "the failed build left an INVALID index");
    conn.execute("DELETE FROM dup WHERE ctid = (SELECT min(ctid) FROM dup WHERE v = 1)").await.unwrap();
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.notes.iter().any(|n| n.contains("dropped INVALID index ux_dup")), "{:?}", report.notes);
    let valid =
        one(conn.as_mut(), "SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('ux_dup')").await;
    assert_eq!(valid.as_deref(), Some("true"));
    conn.close().await.unwrap();
    db.drop_database().await;
}

/// The index lives in its table's schema: an unqualified index name on a
/// schema-qualified table is found there, and its INVALID leftover dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_index_in_the_tables_schema_is_dropped_before_the_retry() {
    let db = fresh().await;
    let mut conn = db.connect().await;
    conn.execute("CREATE SCHEMA s1").await.unwrap();
    conn.execute("CREATE TABLE s1.dup (v integer)").await.unwrap();
    conn.execute("INSERT INTO s1.dup VALUES (1), (1), (2)").await.unwrap();
    let body = "CREATE UNIQUE INDEX CONCURRENTLY ux_s1 ON s1.dup(v);";
    write_revision(&db.scripts(), "aaaa00000001", &[], "-- Transactional: false", body, "DROP INDEX s1.ux_s1;");
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    assert!(report.error.is_some(), "duplicates make the build fail");
    let valid = "SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('s1.ux_s1')";
    assert_eq!(one(conn.as_mut(), valid).await.as_deref(), Some("false"));
    conn.execute("DELETE FROM s1.dup WHERE ctid = (SELECT min(ctid) FROM s1.dup WHERE v = 1)").await.unwrap();
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.notes.iter().any(|n| n.contains("dropped INVALID index s1.ux_s1")), "{:?}", report.notes);
    assert_eq!(one(conn.as_mut(), valid).await.as_deref(), Some("true"));
    conn.close().await.unwrap();
    db.drop_database().await;
}

/// An interrupted `REINDEX CONCURRENTLY` leaves an INVALID `<index>_ccnew` copy;
/// it is dropped before the statement runs again, so none is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_reindex_copies_are_dropped_before_the_retry() {
    let db = fresh().await;
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE r (v integer)").await.unwrap();
    conn.execute("INSERT INTO r VALUES (1), (1), (2)").await.unwrap();
    conn.execute("CREATE INDEX ix_r ON r (v)").await.unwrap();
    // What an interrupted REINDEX leaves: an INVALID copy named <index>_ccnew.
    assert!(conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_r_ccnew ON r (v)").await.is_err());
    let body = "REINDEX INDEX CONCURRENTLY ix_r;";
    write_revision(&db.scripts(), "aaaa00000001", &[], "-- Transactional: false", body, "");
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.notes.iter().any(|n| n.contains("dropped INVALID index public.ix_r_ccnew")), "{:?}", report.notes);
    let invalid = one(conn.as_mut(), "SELECT COUNT(*)::text FROM pg_index WHERE NOT indisvalid").await;
    assert_eq!(invalid.as_deref(), Some("0"));
    conn.close().await.unwrap();
    db.drop_database().await;
}

async fn locked_table_scenario(db: &TestDb, hold_for: Duration, retries: u32) -> Report {
    let mut holder = db.connect().await;
    holder.execute("CREATE TABLE IF NOT EXISTS busy (id integer)").await.unwrap();
    holder.begin().await.unwrap();
    holder.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(hold_for).await;
        holder.commit().await.unwrap();
        holder.close().await.unwrap();
    });
    let connect = ConnectOptions { ddl_lock_timeout: Some(Duration::from_millis(200)), ..db.options() };
    let mut conn = retort_engine::session::open(db.driver, &connect).await.unwrap();
    let options = RunOptions {
        policy: RunPolicy { ddl_retries: retries, ..RunPolicy::default() },
        retry_backoff: Duration::from_millis(100),
        ..RunOptions::default()
    };
    let report = upgrade(conn.as_mut(), db, &table(), &options).await;
    release.await.unwrap();
    conn.close().await.unwrap();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_waiting_on_a_table_lock_is_retried_with_backoff() {
    let db = fresh().await;
    write_revision(
        &db.scripts(),
        "aaaa00000001",
        &[],
        "",
        "ALTER TABLE busy ADD COLUMN c integer;",
        "ALTER TABLE busy DROP COLUMN c;",
    );
    let report = locked_table_scenario(&db, Duration::from_millis(700), 6).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.notes.iter().any(|n| n.contains("timed out waiting for a table lock")), "{:?}", report.notes);
    assert_eq!(report.after, ["aaaa00000001"]);
    db.drop_database().await;

    let db = fresh().await;
    write_revision(
        &db.scripts(),
        "aaaa00000001",
        &[],
        "",
        "ALTER TABLE busy ADD COLUMN c integer;",
        "ALTER TABLE busy DROP COLUMN c;",
    );
    let report = locked_table_scenario(&db, Duration::from_secs(3), 1).await;
    assert!(
        matches!(
            report.error,
            Some(RunError::Step { source: retort_engine::driver::DriverError::LockNotAvailable(_), .. })
        ),
        "retries exhausted: {:?}",
        report.error
    );
    assert!(report.after.is_empty());
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_table_in_a_tenant_schema() {
    let db = fresh().await;
    write_revision(
        &db.scripts(),
        "aaaa00000001",
        &[],
        "",
        "CREATE TABLE tenant_a.things (id integer);",
        "DROP TABLE tenant_a.things;",
    );
    let mut conn = db.connect().await;
    conn.execute("CREATE SCHEMA tenant_a").await.unwrap();
    let table = VersionTable { name: "alembic_version".into(), schema: Some("tenant_a".into()) };
    let report = upgrade(conn.as_mut(), &db, &table, &RunOptions::default()).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let rows = one(conn.as_mut(), "SELECT version_num FROM tenant_a.alembic_version").await;
    assert_eq!(rows.as_deref(), Some("aaaa00000001"));
    assert_eq!(one(conn.as_mut(), "SELECT to_regclass('public.alembic_version')::text").await, None);
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_applies_to_revisions() {
    let db = fresh().await;
    write_revision(&db.scripts(), "aaaa00000001", &[], "", "SELECT pg_sleep(2);", "");
    let connect = ConnectOptions { statement_timeout: Some(Duration::from_millis(200)), ..db.options() };
    let mut conn = retort_engine::session::open(db.driver, &connect).await.unwrap();
    let started = Instant::now();
    let report = upgrade(conn.as_mut(), &db, &table(), &RunOptions::default()).await;
    let error = report.error.expect("timed out").to_string();
    assert!(error.contains("statement timeout"), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1500));
    conn.close().await.unwrap();
    db.drop_database().await;
}
