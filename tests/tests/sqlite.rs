//! The executor and the SQLite driver on real database files: random histories
//! applied and reverted for real, transactions that really wrap a revision and
//! its version row, non-transactional revisions, and version-row races.

use std::path::Path;

use proptest::prelude::*;
use retort_engine::driver::{ConnectOptions, Connection, Driver, VersionTable};
use retort_engine::executor::{self, Action, Report, RunError, RunOptions};
use retort_history::graph::Graph;
use retort_history::script;
use retort_sqlite::SqliteDriver;

fn write_sql(dir: &Path, file: &str, id: &str, parents: &[String], extra: &str, up: &str, down: &str) {
    let path = dir.join("versions").join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = format!(
        "-- {id}\n-- Revision ID: {id}\n-- Revises: {}\n{extra}\n-- migrate:up\n{up}\n-- migrate:down\n{down}\n",
        parents.join(", ")
    );
    std::fs::write(path, text).unwrap();
}

async fn connect(dir: &Path) -> Box<dyn Connection> {
    let options = ConnectOptions {
        url: "sqlite://test.db".into(),
        base_dir: dir.to_path_buf(),
        application_name: "test".into(),
        writes: true,
        ..Default::default()
    };
    SqliteDriver.connect(&options).await.expect("connect")
}

async fn run(conn: &mut dyn Connection, graph: &Graph, action: Action) -> Report {
    let table = VersionTable::for_target("default");
    executor::run(conn, SqliteDriver.dialect(), graph, &table, &action, &RunOptions::default()).await
}

/// Rows of a text query, read through a second connection to the same file.
async fn rows(dir: &Path, sql: &str) -> Vec<String> {
    use sqlx::{Connection as _, Row};
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
    let found = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut conn).await.expect("query");
    found.iter().map(|r| r.try_get::<String, _>(0).expect("text")).collect()
}

/// Random histories: (parents by index, file order).
fn history() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<usize>)> {
    (2usize..24).prop_flat_map(|n| {
        let parents = (0..n)
            .map(|i| {
                if i == 0 {
                    Just(vec![]).boxed()
                } else {
                    prop_oneof![4 => (0..i).prop_map(|p| vec![p]), 1 => proptest::collection::vec(0..i, 2..=3), 1 => Just(vec![])].boxed()
                }
            })
            .collect::<Vec<_>>();
        (parents, Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// `upgrade heads` runs every revision once, parents first; `downgrade base`
    /// reverts every one once and empties the version table.
    #[test]
    fn random_histories_apply_and_revert_for_real((parents, order) in history()) {
        let dir = tempfile::tempdir().unwrap();
        let id = |i: usize| format!("r{i:03}aaaaaaaa");
        for (position, &i) in order.iter().enumerate() {
            let mut ps: Vec<String> = parents[i].iter().map(|&p| id(p)).collect();
            ps.dedup();
            let ps: Vec<String> = ps.into_iter().fold(vec![], |mut acc, p| { if !acc.contains(&p) { acc.push(p) } acc });
            let up = format!("CREATE TABLE t_{0} (x INTEGER);\nINSERT INTO ran (rev, dir) VALUES ('{0}', 'up');", id(i));
            let down = format!("DROP TABLE t_{0};\nINSERT INTO ran (rev, dir) VALUES ('{0}', 'down');", id(i));
            write_sql(dir.path(), &format!("{position:03}_{}.sql", id(i)), &id(i), &ps, "", &up, &down);
        }
        let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut conn = connect(dir.path()).await;
            conn.execute("CREATE TABLE ran (seq INTEGER PRIMARY KEY AUTOINCREMENT, rev TEXT, dir TEXT)").await.unwrap();
            let up = run(conn.as_mut(), &graph, Action::Upgrade("heads".into())).await;
            prop_assert!(up.error.is_none(), "{:?}", up.error);
            let ran = rows(dir.path(), "SELECT rev FROM ran WHERE dir = 'up' ORDER BY seq").await;
            prop_assert_eq!(ran.len(), graph.len());
            for (i, rev) in ran.iter().enumerate() {
                let index = graph.index_of(rev).unwrap();
                for &p in graph.parents(index) {
                    prop_assert!(ran[..i].contains(&graph.revision(p).id), "{} ran before its parent", rev);
                }
            }
            let mut after = up.after.clone();
            after.sort();
            let mut heads = graph.ids(graph.heads());
            heads.sort();
            prop_assert_eq!(after, heads);
            let down = run(conn.as_mut(), &graph, Action::Downgrade("base".into())).await;
            prop_assert!(down.error.is_none(), "{:?}", down.error);
            prop_assert!(down.after.is_empty());
            let reverted = rows(dir.path(), "SELECT rev FROM ran WHERE dir = 'down' ORDER BY seq").await;
            prop_assert_eq!(reverted.len(), graph.len());
            let left = rows(dir.path(), "SELECT name FROM sqlite_master WHERE name LIKE 't\\_%' ESCAPE '\\'").await;
            prop_assert!(left.is_empty(), "tables left: {:?}", left);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn transactions_wrap_a_revision_and_its_version_row() {
    let dir = tempfile::tempdir().unwrap();
    write_sql(dir.path(), "a.sql", "aaaa00000001", &[], "", "CREATE TABLE a (x INTEGER);", "DROP TABLE a;");
    let b = "CREATE TABLE b (x INTEGER);\nINSERT INTO b VALUES (1);\nVACUUM;";
    write_sql(dir.path(), "b.sql", "bbbb00000001", &["aaaa00000001".into()], "", b, "DROP TABLE b;");
    let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
    let mut conn = connect(dir.path()).await;
    let report = run(conn.as_mut(), &graph, Action::Upgrade("heads".into())).await;
    assert!(
        matches!(report.error, Some(RunError::Step { ref at, .. }) if at.revision == "bbbb00000001"),
        "{:?}",
        report.error
    );
    assert_eq!(report.after, ["aaaa00000001"]);
    assert_eq!(report.steps.len(), 1);
    let tables = rows(dir.path(), "SELECT name FROM sqlite_master WHERE name IN ('a', 'b')").await;
    assert_eq!(tables, ["a"], "the failed revision's CREATE TABLE was rolled back");
}

#[tokio::test]
async fn non_transactional_revisions_run_in_autocommit() {
    let dir = tempfile::tempdir().unwrap();
    write_sql(
        dir.path(),
        "a.sql",
        "aaaa00000001",
        &[],
        "-- Transactional: false",
        "CREATE TABLE a (x INTEGER);\nVACUUM;",
        "DROP TABLE a;",
    );
    let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
    let mut conn = connect(dir.path()).await;
    let report = run(conn.as_mut(), &graph, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.after, ["aaaa00000001"]);
}

#[tokio::test]
async fn unknown_version_rows_stop_the_run_before_anything_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    write_sql(dir.path(), "a.sql", "aaaa00000001", &[], "", "", "");
    write_sql(dir.path(), "b.sql", "bbbb00000001", &["aaaa00000001".into()], "", "CREATE TABLE b (x INTEGER);", "");
    let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
    let mut conn = connect(dir.path()).await;
    run(conn.as_mut(), &graph, Action::Upgrade("aaaa00000001".into())).await;
    conn.execute("UPDATE alembic_version_default SET version_num = 'elsewhere'").await.unwrap();
    let report = run(conn.as_mut(), &graph, Action::Upgrade("heads".into())).await;
    let error = report.error.expect("an error").to_string();
    assert!(error.contains("'elsewhere', which is not a revision"), "{error}");
    assert!(rows(dir.path(), "SELECT name FROM sqlite_master WHERE name = 'b'").await.is_empty());
}

/// A CRLF file keeps a CRLF inside a string literal: the data is what was written.
#[tokio::test]
async fn crlf_inside_a_literal_reaches_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let text = "-- Revision ID: a1\r\n-- migrate:up\r\nCREATE TABLE t (v TEXT);\r\nINSERT INTO t VALUES ('line1\r\nline2');\r\n-- migrate:down\r\nDROP TABLE t;\r\n";
    std::fs::create_dir_all(dir.path().join("versions")).unwrap();
    std::fs::write(dir.path().join("versions/a1.sql"), text).unwrap();
    let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
    let mut conn = connect(dir.path()).await;
    let report = run(conn.as_mut(), &graph, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(rows(dir.path(), "SELECT v FROM t").await, ["line1\r\nline2"]);
    conn.close().await.unwrap();
}
