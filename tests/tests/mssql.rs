//! What only SQL Server does, against a real server: a statement longer than
//! tiberius' old 30 s cut, `SET` options and a transaction spanning `GO` batches,
//! `SET NOCOUNT ON` in a revision and in the server's `user options`, `XACT_ABORT` ending a batch at its first error,
//! a deadlock victim's revision retried, a non-transactional revision resumed per
//! `GO` batch.
//! Ignored unless asked for: `RETORT_TEST_MSSQL_URL` and `--run-ignored` (README).
//! Written against T-SQL's documented behaviour; no SQL Server runs where this
//! project's CI does, so these have not run there.

use std::time::Duration;

use retort_engine::driver::{Connection, VersionTable};
use retort_engine::executor::{self, Action, Report, RunOptions, RunPolicy};
use retort_history::graph::Graph;
use retort_history::script;
use retort_tests::servers::{Kind, TestDb, write_revision};

/// Each body on a fresh SQL Server database.
macro_rules! on_sql_server {
    ($($name:ident),* $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs a SQL Server: set RETORT_TEST_MSSQL_URL and pass --run-ignored"]
        async fn $name() { retort_tests::on_fresh_database(Kind::Mssql, bodies::$name).await })*
    };
}

on_sql_server!(
    a_statement_longer_than_30_seconds_completes,
    set_options_last_across_go_batches,
    a_transaction_may_span_go_batches,
    nocount_in_a_revision_leaves_version_rows_counted,
    nocount_in_the_servers_user_options_leaves_version_rows_counted,
    xact_abort_ends_a_batch_at_its_first_error,
    a_deadlock_victim_is_retried,
    a_non_transactional_revision_resumes_per_batch,
);

async fn apply(conn: &mut dyn Connection, db: &TestDb) -> Report {
    apply_with(conn, db, RunPolicy { lock_timeout: Duration::from_secs(5), ..RunPolicy::default() }).await
}

async fn apply_with(conn: &mut dyn Connection, db: &TestDb, policy: RunPolicy) -> Report {
    let graph = Graph::new(script::load(&db.scripts()).expect("load")).expect("graph");
    let options = RunOptions { policy, retry_backoff: Duration::from_millis(200), ..RunOptions::default() };
    let action = Action::Upgrade("heads".into());
    executor::run(conn, db.driver.dialect(), &graph, &VersionTable::for_target("default"), &action, &options).await
}

async fn scalar(conn: &mut dyn Connection, sql: &str) -> Option<String> {
    conn.query(sql).await.expect(sql).into_iter().next().and_then(|r| r.into_iter().next().flatten())
}

mod bodies {
    use super::*;

    pub async fn a_statement_longer_than_30_seconds_completes(db: TestDb) -> TestDb {
        write_revision(&db.scripts(), "ms0000000001", &[], "", "WAITFOR DELAY '00:00:35'", "SELECT 1");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        conn.close().await.unwrap();
        db
    }

    pub async fn set_options_last_across_go_batches(db: TestDb) -> TestDb {
        let body = "CREATE TABLE t_id (id int IDENTITY PRIMARY KEY, v int)\nGO\nSET IDENTITY_INSERT t_id ON\nGO\n\
                    INSERT INTO t_id (id, v) VALUES (42, 1)\nGO\nSET IDENTITY_INSERT t_id OFF";
        write_revision(&db.scripts(), "ms0000000001", &[], "", body, "DROP TABLE t_id");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(scalar(conn.as_mut(), "SELECT id FROM t_id").await.as_deref(), Some("42"));
        conn.close().await.unwrap();
        db
    }

    pub async fn a_transaction_may_span_go_batches(db: TestDb) -> TestDb {
        let body = "BEGIN TRANSACTION\nGO\nCREATE TABLE t_span (id int)\nGO\nCOMMIT";
        write_revision(&db.scripts(), "ms0000000001", &[], "-- Transactional: false", body, "DROP TABLE t_span");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(scalar(conn.as_mut(), "SELECT OBJECT_ID('t_span') IS NOT NULL").await.as_deref(), Some("1"));
        conn.close().await.unwrap();
        db
    }

    pub async fn nocount_in_a_revision_leaves_version_rows_counted(db: TestDb) -> TestDb {
        let s = db.scripts();
        write_revision(
            &s,
            "ms0000000001",
            &[],
            "",
            "SET NOCOUNT ON\nGO\nCREATE TABLE t_nc (id int)",
            "DROP TABLE t_nc",
        );
        write_revision(&s, "ms0000000002", &["ms0000000001"], "", "CREATE TABLE t_nc2 (id int)", "DROP TABLE t_nc2");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "the version UPDATE still counts one row: {:?}", report.error);
        assert_eq!(report.after, ["ms0000000002"]);
        conn.close().await.unwrap();
        db
    }

    /// `user options` 512 turns `NOCOUNT` on for every new session on the server;
    /// the driver's session setup turns it off again. Restored before asserting.
    pub async fn nocount_in_the_servers_user_options_leaves_version_rows_counted(db: TestDb) -> TestDb {
        let s = db.scripts();
        write_revision(&s, "ms0000000001", &[], "", "CREATE TABLE t_uo (id int)", "DROP TABLE t_uo");
        write_revision(&s, "ms0000000002", &["ms0000000001"], "", "CREATE TABLE t_uo2 (id int)", "DROP TABLE t_uo2");
        let mut admin = db.connect().await;
        let read = "SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = 'user options'";
        let before = scalar(admin.as_mut(), read).await.unwrap_or_else(|| "0".into());
        let set = |value: &str| format!("EXEC sp_configure 'user options', {value}; RECONFIGURE");
        admin.execute(&set("512")).await.expect("sp_configure needs sysadmin");
        let mut conn = db.connect().await;
        let nocount = scalar(conn.as_mut(), "SELECT @@OPTIONS & 512").await;
        let report = apply(conn.as_mut(), &db).await;
        admin.execute(&set(&before)).await.unwrap();
        assert_eq!(nocount.as_deref(), Some("0"), "the session setup turned NOCOUNT off");
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(report.after, ["ms0000000002"]);
        conn.close().await.unwrap();
        admin.close().await.unwrap();
        db
    }

    pub async fn xact_abort_ends_a_batch_at_its_first_error(db: TestDb) -> TestDb {
        let body =
            "CREATE TABLE t_xa (id int)\nGO\nINSERT INTO t_xa VALUES (1); SELECT 1/0; INSERT INTO t_xa VALUES (2)";
        write_revision(&db.scripts(), "ms0000000001", &[], "-- Transactional: false", body, "DROP TABLE t_xa");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_some(), "the division by zero fails the revision");
        assert_eq!(scalar(conn.as_mut(), "SELECT COUNT(*) FROM t_xa WHERE id = 2").await.as_deref(), Some("0"));
        conn.close().await.unwrap();
        db
    }

    /// The run updates `t_b` then waits on `t_a`, which a second session holds
    /// and then asks for `t_b`: a deadlock. The second session's `HIGH` priority
    /// makes the run the victim; the server rolls its transaction back (1205),
    /// and the run retries the revision once the other session has committed.
    pub async fn a_deadlock_victim_is_retried(db: TestDb) -> TestDb {
        let mut holder = db.connect().await;
        for sql in [
            "CREATE TABLE t_a (v int)",
            "CREATE TABLE t_b (v int)",
            "INSERT INTO t_a VALUES (0)",
            "INSERT INTO t_b VALUES (0)",
        ] {
            holder.execute(sql).await.expect(sql);
        }
        let body = "UPDATE t_b SET v = 2\nGO\nUPDATE t_a SET v = 2";
        write_revision(&db.scripts(), "ms0000000001", &[], "", body, "SELECT 1");
        holder.execute("SET DEADLOCK_PRIORITY HIGH").await.unwrap();
        holder.begin().await.unwrap();
        holder.execute("UPDATE t_a SET v = 1").await.unwrap();
        let mut conn = db.connect().await;
        let policy = RunPolicy { lock_timeout: Duration::from_secs(5), ddl_retries: 3, ..RunPolicy::default() };
        let other_side = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            holder.execute("UPDATE t_b SET v = 1").await.expect("the holder wins the deadlock");
            holder.commit().await.unwrap();
        };
        let (report, ()) = tokio::join!(apply_with(conn.as_mut(), &db, policy), other_side);
        assert!(report.error.is_none(), "{:?}", report.error);
        assert!(report.notes.iter().any(|n| n.contains("retry 1 of 3")), "{:?}", report.notes);
        assert_eq!(scalar(conn.as_mut(), "SELECT v FROM t_a").await.as_deref(), Some("2"), "the retry ran");
        holder.close().await.unwrap();
        conn.close().await.unwrap();
        db
    }

    /// SQL Server splits only on `GO`: the first batch's two statements run,
    /// commit and are recorded together, the failed second batch is where the
    /// re-run resumes, and every message counts batches.
    pub async fn a_non_transactional_revision_resumes_per_batch(db: TestDb) -> TestDb {
        let body = "CREATE TABLE t_b1 (id int); CREATE TABLE t_b2 (id int)\nGO\n\
                    INSERT INTO t_dep VALUES (1)\nGO\nCREATE TABLE t_b3 (id int)";
        let down = "DROP TABLE t_b3\nGO\nDROP TABLE t_b2; DROP TABLE t_b1";
        write_revision(&db.scripts(), "ms0000000001", &[], "-- Transactional: false", body, down);
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        let error = report.error.map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("failed at batch 2 of 3") && error.contains("batch 1 ran and stay applied"), "{error}");
        assert_eq!(scalar(conn.as_mut(), "SELECT OBJECT_ID('t_b2') IS NOT NULL").await.as_deref(), Some("1"));
        conn.execute("CREATE TABLE t_dep (id int)").await.unwrap();
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        assert!(report.notes.iter().any(|n| n.contains("resuming at batch 2 of 3")), "{:?}", report.notes);
        assert_eq!(scalar(conn.as_mut(), "SELECT OBJECT_ID('t_b3') IS NOT NULL").await.as_deref(), Some("1"));
        conn.close().await.unwrap();
        db
    }
}
