//! `--sql` output for every dialect, without connecting: Alembic's
//! `-- Running upgrade A -> B` lines, each dialect's quoting, transactions and
//! batch separators, and the version-table statements.

use retort_engine::driver::{Dialect, VersionTable};
use retort_engine::executor::render_offline;
use retort_history::graph::Graph;
use retort_history::{plan, script};
use retort_tests::servers::write_revision;

fn offline(dialect: &dyn Dialect) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "aaaa00000001",
        &[],
        "",
        "CREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);",
        "DROP TABLE t;",
    );
    write_revision(
        dir.path(),
        "bbbb00000001",
        &["aaaa00000001"],
        "-- Transactional: false",
        "CREATE INDEX ix ON t (id);",
        "DROP INDEX ix;",
    );
    let graph = Graph::new(script::load(dir.path()).unwrap()).unwrap();
    let table = VersionTable { name: "alembic_version".into(), schema: Some("app".into()) };
    render_offline(&plan::upgrade(&graph, &[], "heads").unwrap(), dialect, &table, &[])
}

#[test]
fn postgres() {
    let sql = offline(&retort_postgres::PostgresDialect);
    assert!(
        sql.starts_with("CREATE TABLE \"app\".\"alembic_version\" (\n    version_num VARCHAR(32) NOT NULL,"),
        "{sql}"
    );
    assert!(sql.contains("-- Running upgrade  -> aaaa00000001\n\nBEGIN;\nCREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);\nINSERT INTO \"app\".\"alembic_version\" (version_num) VALUES ('aaaa00000001');\nCOMMIT;"), "{sql}");
    assert!(
        sql.contains("-- Running upgrade aaaa00000001 -> bbbb00000001\n\nCREATE INDEX ix ON t (id);\nBEGIN;\nUPDATE"),
        "{sql}"
    );
}

#[test]
fn mysql() {
    let sql = offline(&retort_mysql::MysqlDialect);
    assert!(sql.starts_with("CREATE TABLE `app`.`alembic_version`"), "{sql}");
    // No transactional DDL: the body runs before the version row's transaction.
    assert!(
        sql.contains("INSERT INTO t VALUES (1);\nSTART TRANSACTION;\nINSERT INTO `app`.`alembic_version`"),
        "{sql}"
    );
}

#[test]
fn sql_server() {
    let sql = offline(&retort_mssql::MssqlDialect);
    assert!(sql.starts_with("CREATE TABLE [app].[alembic_version]"), "{sql}");
    assert!(
        sql.contains("BEGIN TRANSACTION;\nGO\nCREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);\nGO\n"),
        "{sql}"
    );
    assert!(
        sql.contains(
            "UPDATE [app].[alembic_version] SET version_num = 'bbbb00000001' WHERE version_num = 'aaaa00000001';\nGO"
        ),
        "{sql}"
    );
}

#[test]
fn sqlite() {
    let sql = offline(&retort_sqlite::SqliteDialect);
    assert!(sql.contains("INSERT INTO \"app\".\"alembic_version\" (version_num) VALUES ('aaaa00000001');"), "{sql}");
}
