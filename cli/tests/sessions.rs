//! Schema-per-tenant fleets on the real PostgreSQL and MariaDB share sessions:
//! at most one per job slot, whatever the number of tenants; and nothing a
//! revision does to its session (search_path or USE, SET, a temporary table)
//! reaches the next tenant on that session. Each tenant's revision records the
//! session it ran on and what that session looked like.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `(session id, schema, statement timeout, leftover temp tables)` per tenant.
type Seen = Vec<(String, String, String, String)>;

async fn seen(db: &TestDb, sql: &str) -> Seen {
    let mut conn = db.connect().await;
    let rows = conn.query(sql).await.unwrap();
    conn.close().await.unwrap();
    rows.into_iter()
        .map(|r| {
            let v: Vec<String> = r.into_iter().map(Option::unwrap_or_default).collect();
            (v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone())
        })
        .collect()
}

fn project(config: &str, up: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    write_revision(&work.path().join("tenant"), "w1aaaaaaaaaa", &[], "", up, "SELECT 1;");
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    work
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tenants_share_sessions_and_nothing_leaks_between_them() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let tenants: Vec<String> = (0..30).map(|i| format!("s{i:02}")).collect();
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE public.seen (pid TEXT, schema TEXT, timeout TEXT, temps TEXT)").await.unwrap();
    for t in &tenants {
        conn.execute(&format!("CREATE SCHEMA tenant_{t}")).await.unwrap();
    }
    conn.close().await.unwrap();
    // What the session looks like, then everything a revision could leave behind.
    let up = "INSERT INTO public.seen SELECT pg_backend_pid()::text, current_schema(), \
              current_setting('statement_timeout') || '/' || \
              coalesce(nullif(current_setting('retort_test.leaked', true), ''), 'none'), \
              (SELECT count(*)::text FROM pg_class WHERE relname = 'leak' AND relnamespace = pg_my_temp_schema());\n\
              CREATE TABLE here (id INTEGER);\nCREATE TEMP TABLE leak (x INTEGER);\n\
              SET search_path TO public;\nSET statement_timeout = '77s';\nSET retort_test.leaked = 'yes';";
    let names: Vec<String> = tenants.iter().map(|t| format!("\"{t}\"")).collect();
    let config = format!(
        "[fleets.schemas]\nscript_location = \"tenant\"\nurl_template = \"{}\"\nschema_template = \"tenant_{{name}}\"\n\
         statement_timeout = \"5min\"\nnames = [{}]\n",
        db.url,
        names.join(", ")
    );
    let work = project(&config, up);
    let out = retort(work.path(), &["upgrade", "heads", "--jobs", "4"]);
    assert!(out.status.success(), "{}", text(&out));

    let rows = seen(&db, "SELECT pid, schema, timeout, temps FROM public.seen").await;
    assert_eq!(rows.len(), 30);
    let mut pids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    pids.sort();
    pids.dedup();
    assert!(pids.len() <= 4, "30 tenants on at most 4 sessions (jobs 4), not {}", pids.len());
    assert!(pids.len() < 30, "sessions were shared");
    let mut schemas: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    schemas.sort();
    let expected: Vec<String> = tenants.iter().map(|t| format!("tenant_{t}")).collect();
    assert_eq!(schemas, expected, "each tenant ran in its own schema, whatever the one before set");
    assert!(
        rows.iter().all(|r| r.2 == "5min/none"),
        "the target's statement_timeout, no variable set before: {rows:?}"
    );
    assert!(rows.iter().all(|r| r.3 == "0"), "no temporary table of an earlier tenant: {rows:?}");
    let mut conn = db.connect().await;
    for t in &tenants {
        let at = conn.query(&format!("SELECT version_num FROM tenant_{t}.alembic_version_schemas")).await.unwrap();
        assert_eq!(at, vec![vec![Some("w1aaaaaaaaaa".to_string())]], "{t}");
        assert!(conn.query(&format!("SELECT 1 FROM tenant_{t}.here")).await.is_ok(), "{t}'s table");
    }
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_tenants_share_sessions_and_nothing_leaks_between_them() {
    let db = TestDb::create(Kind::Mariadb).await.unwrap();
    let tenants: Vec<String> = (0..12).map(|i| format!("{}_m{i:02}", db.database_name())).collect();
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE seen (pid TEXT, db TEXT, v TEXT, temps TEXT)").await.unwrap();
    for t in &tenants {
        conn.execute(&format!("CREATE DATABASE {t}")).await.unwrap();
    }
    conn.close().await.unwrap();
    let home = db.database_name();
    let up = format!(
        // CREATE TEMPORARY TABLE itself fails if an earlier tenant's `leak` survived.
        "INSERT INTO {home}.seen SELECT CONNECTION_ID(), DATABASE(), COALESCE(@leaked, 'none'), '0';\n\
         CREATE TABLE here (id INTEGER);\nCREATE TEMPORARY TABLE leak (x INTEGER);\n\
         SET @leaked = 'yes';\nUSE {home};"
    );
    let names: Vec<String> = tenants.iter().map(|t| format!("\"{t}\"")).collect();
    let url = db.url.rsplit_once('/').unwrap().0;
    let config = format!(
        "[fleets.dbs]\nscript_location = \"tenant\"\nurl_template = \"{url}/{home}\"\nschema_template = \"{{name}}\"\nnames = [{}]\n",
        names.join(", ")
    );
    let work = project(&config, &up);
    let out = retort(work.path(), &["upgrade", "heads", "--jobs", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows = seen(&db, &format!("SELECT pid, db, v, temps FROM {home}.seen")).await;
    assert_eq!(rows.len(), 12);
    let mut ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert!(ids.len() <= 3, "12 tenants on at most 3 sessions, not {}", ids.len());
    let mut dbs: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    dbs.sort();
    assert_eq!(dbs, tenants.iter().map(String::as_str).collect::<Vec<_>>(), "each in its own database");
    assert!(rows.iter().all(|r| r.2 == "none" && r.3 == "0"), "no variable or temporary table leaked: {rows:?}");
    let mut conn = db.connect().await;
    for t in &tenants {
        conn.execute(&format!("DROP DATABASE {t}")).await.unwrap();
    }
    conn.close().await.unwrap();
    db.drop_database().await;
}
