//! Alembic and retort take turns on one SQLite database: the same history as
//! Alembic `.py` files (for Alembic) and `.sql` files (for retort), one shared
//! `alembic_version` table. Each side must pick up exactly where the other left
//! off. Needs the real Alembic on `python3` (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

use retort_engine::driver::{ConnectOptions, Driver, VersionTable};
use retort_engine::executor::{self, Action, RunOptions};
use retort_history::graph::Graph;
use retort_history::script;
use retort_sqlite::SqliteDriver;
use sqlx::{Connection as _, Row};

/// (id, parents, branch label)
const HISTORY: &[(&str, &[&str], Option<&str>)] = &[
    ("aaaa00000001", &[], None),
    ("bbbb00000001", &["aaaa00000001"], Some("feat")),
    ("cccc00000001", &["aaaa00000001"], None),
    ("dddd00000001", &["bbbb00000001", "cccc00000001"], None),
    ("eeee00000001", &["dddd00000001"], None),
];

const ENV_PY: &str = r#"from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
connectable = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"#;

fn table(id: &str) -> String {
    format!("t_{id}")
}

fn write_histories(dir: &Path, db: &Path) {
    let alembic = dir.join("alembic");
    std::fs::create_dir_all(alembic.join("versions")).unwrap();
    std::fs::create_dir_all(dir.join("retort/versions")).unwrap();
    let ini =
        format!("[alembic]\nscript_location = {}\nsqlalchemy.url = sqlite:///{}\n", alembic.display(), db.display());
    std::fs::write(dir.join("alembic.ini"), ini).unwrap();
    std::fs::write(alembic.join("env.py"), ENV_PY).unwrap();
    for (id, parents, label) in HISTORY {
        let (up, down) = (format!("CREATE TABLE {} (x INTEGER)", table(id)), format!("DROP TABLE {}", table(id)));
        let down_revision = match parents {
            [] => "None".to_string(),
            [one] => format!("'{one}'"),
            many => format!("({})", many.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")),
        };
        let labels = label.map_or("None".to_string(), |l| format!("('{l}',)"));
        let py = format!(
            "from alembic import op\nrevision = '{id}'\ndown_revision = {down_revision}\nbranch_labels = {labels}\ndepends_on = None\n\ndef upgrade():\n    op.execute('{up}')\n\ndef downgrade():\n    op.execute('{down}')\n"
        );
        std::fs::write(alembic.join(format!("versions/{id}.py")), py).unwrap();
        let label_line = label.map_or(String::new(), |l| format!("-- Branch Labels: {l}\n"));
        let sql = format!(
            "-- {id}\n-- Revision ID: {id}\n-- Revises: {}\n{label_line}\n-- migrate:up\n{up};\n\n-- migrate:down\n{down};\n",
            parents.join(", ")
        );
        std::fs::write(dir.join(format!("retort/versions/{id}.sql")), sql).unwrap();
    }
}

fn alembic(dir: &Path, args: &[&str]) {
    let out = Command::new("python3")
        .args(["-m", "alembic", "-c"])
        .arg(dir.join("alembic.ini"))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "alembic {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

async fn retort(dir: &Path, graph: &Graph, action: Action) {
    let options = ConnectOptions {
        url: "sqlite://shared.db".into(),
        base_dir: dir.to_path_buf(),
        application_name: "t".into(),
        writes: true,
        ..Default::default()
    };
    let mut conn = SqliteDriver.connect(&options).await.unwrap();
    let table = VersionTable { name: "alembic_version".into(), schema: None };
    let report =
        executor::run(conn.as_mut(), SqliteDriver.dialect(), graph, &table, &action, &RunOptions::default()).await;
    assert!(report.error.is_none(), "retort {action:?}: {:?}", report.error);
    conn.close().await.unwrap();
}

/// (sorted version rows, sorted revision tables present)
async fn state(db: &Path) -> (Vec<String>, Vec<String>) {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let text =
        |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> { rows.iter().map(|r| r.get::<String, _>(0)).collect() };
    let versions =
        sqlx::query("SELECT version_num FROM alembic_version ORDER BY version_num").fetch_all(&mut conn).await.unwrap();
    let tables = sqlx::query("SELECT substr(name, 3) FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' ESCAPE '\\' ORDER BY name")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    (text(versions), text(tables))
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn alembic_and_retort_take_turns_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    write_histories(dir.path(), &db);
    let graph = Graph::new(script::load(&dir.path().join("retort")).unwrap()).unwrap();
    let py_graph = Graph::new(script::load(&dir.path().join("alembic")).unwrap()).unwrap();
    assert_eq!(graph.ids(graph.heads()), py_graph.ids(py_graph.heads()));

    alembic(dir.path(), &["upgrade", "bbbb00000001"]);
    assert_eq!(state(&db).await, (ids(&["bbbb00000001"]), ids(&["aaaa00000001", "bbbb00000001"])));

    retort(dir.path(), &graph, Action::Upgrade("heads".into())).await;
    let all = ids(&["aaaa00000001", "bbbb00000001", "cccc00000001", "dddd00000001", "eeee00000001"]);
    assert_eq!(state(&db).await, (ids(&["eeee00000001"]), all.clone()));

    alembic(dir.path(), &["downgrade", "cccc00000001"]);
    assert_eq!(
        state(&db).await,
        (ids(&["bbbb00000001", "cccc00000001"]), ids(&["aaaa00000001", "bbbb00000001", "cccc00000001"]))
    );

    retort(dir.path(), &graph, Action::Downgrade("feat@base".into())).await;
    assert_eq!(state(&db).await, (vec![], vec![]));

    retort(dir.path(), &graph, Action::Upgrade("cccc00000001".into())).await;
    alembic(dir.path(), &["upgrade", "heads"]);
    assert_eq!(state(&db).await, (ids(&["eeee00000001"]), all.clone()));

    // Revert d and e out of band, then tell both tools with a stamp from the merge
    // back to both of its parents (Alembic's own stamp crashes on this one).
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::raw_sql("DROP TABLE t_eeee00000001; DROP TABLE t_dddd00000001").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    retort(
        dir.path(),
        &py_graph,
        Action::Stamp { targets: vec!["bbbb00000001".into(), "cccc00000001".into()], purge: false },
    )
    .await;
    alembic(dir.path(), &["upgrade", "heads"]);
    assert_eq!(state(&db).await.0, ids(&["eeee00000001"]), "Alembic continued from retort's stamp");

    alembic(dir.path(), &["downgrade", "base"]);
    assert_eq!(state(&db).await, (vec![], vec![]));
}
