//! `retort convert` on a 32-revision Alembic history (create_table, add_column,
//! alter_column, CREATE INDEX CONCURRENTLY in an autocommit block, op.execute,
//! constraints, a view, a labelled branch and a merge): the converted `.sql`
//! history applied by retort gives the same schema as the real Alembic applying the
//! `.py` history, on PostgreSQL and on MariaDB, and `downgrade base` leaves nothing.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use retort_tests::servers::{Kind, TestDb};

/// (id, parents, labels, upgrade body, downgrade body) of every revision.
fn history() -> Vec<(String, Vec<String>, &'static str, String, String)> {
    let mut revs = Vec::new();
    let id = |i: usize| format!("r{i:02}aaaaaaaaa");
    let mut push = |i: usize, parents: Vec<String>, label: &'static str, up: String, down: String| {
        revs.push((id(i), parents, label, up, down));
    };
    push(
        1,
        vec![],
        "",
        "op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50), nullable=False), sa.Column('qty', sa.Integer, server_default='0'))".into(),
        "op.drop_table('items')".into(),
    );
    for i in 2..=10 {
        let (up, down) = match i % 3 {
            0 => (
                format!(
                    "op.add_column('items', sa.Column('c{i}', sa.String(20), nullable=True))\n    op.alter_column('items', 'c{i}', existing_type=sa.String(20), type_=sa.String(40))"
                ),
                format!("op.drop_column('items', 'c{i}')"),
            ),
            1 => (
                format!("op.add_column('items', sa.Column('c{i}', sa.Integer, server_default='{i}'))"),
                format!("op.drop_column('items', 'c{i}')"),
            ),
            _ => (
                format!(
                    "op.add_column('items', sa.Column('c{i}', sa.Integer))\n    op.create_index('ix_items_c{i}', 'items', ['c{i}'])"
                ),
                format!("op.drop_index('ix_items_c{i}', table_name='items')\n    op.drop_column('items', 'c{i}')"),
            ),
        };
        push(i, vec![id(i - 1)], "", up, down);
    }
    push(
        11,
        vec![id(10)],
        "feat",
        "op.create_table('feat', sa.Column('id', sa.Integer, primary_key=True), sa.Column('item_id', sa.Integer))"
            .into(),
        "op.drop_table('feat')".into(),
    );
    push(
        12,
        vec![id(11)],
        "",
        "op.execute(\"INSERT INTO feat (id, item_id) VALUES (1, NULL)\")".into(),
        "op.execute(\"DELETE FROM feat WHERE id = 1\")".into(),
    );
    push(
        13,
        vec![id(12)],
        "",
        "with op.get_context().autocommit_block():\n        op.create_index('ix_feat_item', 'feat', ['item_id'], postgresql_concurrently=True)".into(),
        "with op.get_context().autocommit_block():\n        op.drop_index('ix_feat_item', table_name='feat', postgresql_concurrently=True)".into(),
    );
    for i in 14..=20 {
        let parent = if i == 14 { id(10) } else { id(i - 1) };
        let (up, down) = match i % 2 {
            0 => (
                format!("op.add_column('items', sa.Column('m{i}', sa.Boolean, nullable=True))"),
                format!("op.drop_column('items', 'm{i}')"),
            ),
            _ => (
                format!("op.alter_column('items', 'qty', existing_type=sa.Integer, server_default='{i}')"),
                format!(
                    "op.alter_column('items', 'qty', existing_type=sa.Integer, server_default='{}')",
                    if i == 15 { 0 } else { i - 2 }
                ),
            ),
        };
        push(i, vec![parent], "", up, down);
    }
    push(21, vec![id(13), id(20)], "", "pass".into(), "pass".into());
    push(
        22,
        vec![id(21)],
        "",
        "op.create_unique_constraint('uq_items_name', 'items', ['name'])".into(),
        "op.drop_constraint('uq_items_name', 'items', type_='unique')".into(),
    );
    push(
        23,
        vec![id(22)],
        "",
        "op.create_foreign_key('fk_feat_item', 'feat', 'items', ['item_id'], ['id'])".into(),
        "op.drop_constraint('fk_feat_item', 'feat', type_='foreignkey')".into(),
    );
    push(
        24,
        vec![id(23)],
        "",
        "op.execute(\"CREATE VIEW v_items AS SELECT id, name FROM items\")".into(),
        "op.execute(\"DROP VIEW v_items\")".into(),
    );
    for i in 25..=32 {
        push(
            i,
            vec![id(i - 1)],
            "",
            format!(
                "op.add_column('feat', sa.Column('f{i}', sa.String(10), server_default='v{i}'))\n    op.execute(\"UPDATE feat SET f{i} = 'x{i}'\")"
            ),
            format!("op.drop_column('feat', 'f{i}')"),
        );
    }
    revs
}

fn write_py_history(versions: &Path) {
    for (id, parents, label, up, down) in history() {
        let down_revision = match parents.as_slice() {
            [] => "None".to_string(),
            [one] => format!("'{one}'"),
            many => format!("({})", many.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")),
        };
        let labels = if label.is_empty() { "None".to_string() } else { format!("('{label}',)") };
        let mut text = String::new();
        writeln!(text, "\"\"\"revision {id}\n\nRevision ID: {id}\nCreate Date: 2026-12-01 10:00:00\n\"\"\"").unwrap();
        writeln!(text, "from alembic import op\nimport sqlalchemy as sa\n").unwrap();
        writeln!(
            text,
            "revision = '{id}'\ndown_revision = {down_revision}\nbranch_labels = {labels}\ndepends_on = None\n"
        )
        .unwrap();
        writeln!(text, "def upgrade():\n    {up}\n\ndef downgrade():\n    {down}").unwrap();
        std::fs::write(versions.join(format!("{id}.py")), text).unwrap();
    }
}

fn alembic(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("python3").args(["-m", "alembic"]).args(args).current_dir(dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "alembic {args:?}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn retort(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "retort {args:?}: {text}");
    text
}

/// The schema as comparable rows: tables, columns, indexes (and validity),
/// constraints and views, without the version tables.
async fn schema(db: &TestDb) -> Vec<Vec<Option<String>>> {
    let queries: &[&str] = match db.kind {
        Kind::Postgres => &[
            "SELECT table_name::text, column_name::text, data_type::text, character_maximum_length::text, is_nullable::text, column_default::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'alembic_version%' AND table_name NOT LIKE 'retort_audit%' ORDER BY 1, 2",
            "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname NOT LIKE 'alembic_version%' AND t.relname NOT LIKE 'retort_audit%' AND t.relnamespace = 'public'::regnamespace ORDER BY 1",
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE 'alembic_version%' ORDER BY 1",
            "SELECT table_name::text, view_definition::text FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1",
        ],
        _ => &[
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'alembic_version%' AND TABLE_NAME NOT LIKE 'retort_audit%' ORDER BY 1, 2",
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'alembic_version%' AND TABLE_NAME NOT LIKE 'retort_audit%' ORDER BY 1, 2, 3",
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'alembic_version%' AND TABLE_NAME NOT LIKE 'retort_audit%' ORDER BY 1, 2",
            "SELECT TABLE_NAME, REPLACE(VIEW_DEFINITION, CONCAT('`', DATABASE(), '`.'), '') FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
        ],
    };
    let mut conn = db.connect().await;
    let mut rows = Vec::new();
    for sql in queries {
        rows.extend(conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")));
        rows.push(vec![Some("--".into())]);
    }
    conn.close().await.unwrap();
    rows
}

async fn converted_history_matches_alembic(kind: Kind, dialect: &str, sqlalchemy_scheme: &str) {
    let (by_alembic, by_retort) = (TestDb::create(kind).await.unwrap(), TestDb::create(kind).await.unwrap());
    let project = by_alembic.dir.path();
    alembic(project, &["init", "mig"]);
    write_py_history(&project.join("mig/versions"));
    let url = by_alembic.url.replacen(by_alembic.url.split("://").next().unwrap(), sqlalchemy_scheme, 1);
    let ini = std::fs::read_to_string(project.join("alembic.ini")).unwrap();
    let ini: Vec<String> = ini
        .lines()
        .map(|l| if l.starts_with("sqlalchemy.url") { format!("sqlalchemy.url = {url}") } else { l.into() })
        .collect();
    std::fs::write(project.join("alembic.ini"), ini.join("\n")).unwrap();
    let before: Vec<(String, Vec<u8>)> = files(&project.join("mig/versions"));

    retort(project, &["-c", "alembic.ini", "convert", "converted", "--dialect", dialect]);
    assert_eq!(files(&project.join("mig/versions")), before, "the source history is untouched");
    let converted =
        std::fs::read_to_string(project.join("converted/versions/r13aaaaaaaaa_revision_r13aaaaaaaaa.sql")).unwrap();
    assert!(converted.contains("-- Transactional: false"), "{converted}");
    assert!(converted.contains("-- Revises: r12aaaaaaaaa"), "{converted}");
    let merge =
        std::fs::read_to_string(project.join("converted/versions/r21aaaaaaaaa_revision_r21aaaaaaaaa.sql")).unwrap();
    assert!(merge.contains("-- Revises: r13aaaaaaaaa, r20aaaaaaaaa"), "{merge}");

    alembic(project, &["upgrade", "heads"]);
    let config = format!("[databases.default]\nurl = \"{}\"\nscript_location = \"converted\"\n", by_retort.url);
    std::fs::write(project.join("retort.toml"), config).unwrap();
    retort(project, &["upgrade", "heads"]);
    let (ours, theirs) = (schema(&by_retort).await, schema(&by_alembic).await);
    assert_eq!(ours, theirs, "{kind:?}: same schema");
    assert!(ours.len() > 40, "{kind:?}: the comparison covers the whole schema: {ours:?}");
    let flat = format!("{ours:?}");
    for part in ["ix_feat_item", "uq_items_name", "fk_feat_item", "v_items", "f32", "c9"] {
        assert!(flat.contains(part), "{kind:?}: {part} in {flat}");
    }

    retort(project, &["downgrade", "base"]);
    let left = schema(&by_retort).await;
    assert!(left.iter().all(|r| r == &vec![Some("--".to_string())]), "{kind:?}: downgrade base left {left:?}");
    by_alembic.drop_database().await;
    by_retort.drop_database().await;
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_history_gives_alembics_schema_on_postgres() {
    converted_history_matches_alembic(Kind::Postgres, "postgresql", "postgresql+psycopg2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_history_gives_alembics_schema_on_mariadb() {
    converted_history_matches_alembic(Kind::Mariadb, "mysql", "mysql+pymysql").await;
}

#[test]
fn what_alembic_cannot_render_offline_is_one_line_naming_the_revision() {
    let dir = tempfile::tempdir().unwrap();
    alembic(dir.path(), &["init", "mig"]);
    // Reading rows back needs a live database: offline mode cannot render it.
    let body = "revision = 'a1'\ndown_revision = None\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.get_bind().execute(sa.text('SELECT 1')).fetchall()\ndef downgrade():\n    pass\n";
    std::fs::write(dir.path().join("mig/versions/a1.py"), body).unwrap();
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir.path()).output().unwrap();
    let out = run(&["-c", "alembic.ini", "convert", "out", "--dialect", "sqlite"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("while `-- Running upgrade  -> a1`"), "{err}");
    let out = run(&["-c", "alembic.ini", "convert", "out2", "--dialect", "sqlite", "--python", "/nonexistent/python"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run /nonexistent/python"));
    let out = run(&["-c", "alembic.ini", "convert", "out", "--dialect", "sqlite"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists and is not empty"), "never writes over a folder");
}
