//! Scripts and CI without a config file: `retort --url URL --script-location DIR`
//! and the same from `RETORT_URL`/`RETORT_SCRIPT_LOCATION`, on the real
//! PostgreSQL; and the shard taken from a Kubernetes Indexed Job's
//! `JOB_COMPLETION_INDEX` or from `RETORT_SHARD`.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retort"));
    command.args(args).current_dir(dir).env_remove("RETORT_URL").env_remove("JOB_COMPLETION_INDEX");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run retort")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_and_a_folder_are_enough() {
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let s = work.path().join("migrations");
    write_revision(&s, "s1aaaaaaaaaa", &[], "", "CREATE TABLE t (id INTEGER);", "DROP TABLE t;");
    write_revision(&s, "s2aaaaaaaaaa", &["s1aaaaaaaaaa"], "", "ALTER TABLE t ADD COLUMN v TEXT;", "SELECT 1;");
    let dir = work.path();
    assert!(!dir.join("retort.toml").exists());

    let out = retort(dir, &["upgrade", "s1aaaaaaaaaa", "--url", &db.url, "--script-location", "migrations"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let env = [("RETORT_URL", db.url.as_str()), ("RETORT_SCRIPT_LOCATION", "migrations")];
    let out = retort(dir, &["upgrade", "--format", "json"], &env);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["target"], "default");
    assert_eq!(doc["targets"][0]["after"], serde_json::json!(["s2aaaaaaaaaa"]));
    let mut conn = db.connect().await;
    let rows = conn.query("SELECT version_num FROM alembic_version_default").await.unwrap();
    assert_eq!(rows, vec![vec![Some("s2aaaaaaaaaa".to_string())]]);
    conn.close().await.unwrap();

    // Alembic's table name, given on the command line.
    let args = [
        "stamp",
        "s1aaaaaaaaaa",
        "--url",
        &db.url,
        "--script-location",
        "migrations",
        "--version-table",
        "alembic_version",
    ];
    assert!(retort(dir, &args, &[]).status.success());
    let out = retort(dir, &["current", "--version-table", "alembic_version"], &env);
    assert!(text(&out).contains("s1aaaaaaaaaa"), "{}", text(&out));

    for (args, says) in [
        (vec!["status", "--url", &db.url], "--url needs --script-location DIR"),
        (vec!["status", "--script-location", "migrations"], "--script-location goes with --url"),
        (vec!["status", "--url", "postgress://x/y", "--script-location", "migrations"], "postgress"),
    ] {
        let out = retort(dir, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    db.drop_database().await;
}

#[test]
fn the_shard_comes_from_the_indexed_job_or_the_environment() {
    let work = tempfile::tempdir().unwrap();
    write_revision(&work.path().join("m"), "k1aaaaaaaaaa", &[], "", "CREATE TABLE t (id INTEGER);", "DROP TABLE t;");
    let names: Vec<String> = (0..40).map(|i| format!("\"t{i}\"")).collect();
    let config = format!(
        "[fleets.lite]\nscript_location = \"m\"\nurl_template = \"sqlite://t_{{name}}.db\"\nnames = [{}]\n",
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    let selected = |args: &[&str], env: &[(&str, &str)]| -> Vec<String> {
        let out = retort(work.path(), &[&["upgrade", "--dry-run", "--format", "json"], args].concat(), env);
        assert!(out.status.success(), "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["targets"].as_array().unwrap().iter().map(|t| t["target"].as_str().unwrap().to_string()).collect()
    };
    let mut covered = Vec::new();
    for index in 0..4 {
        let i = index.to_string();
        let by_job = selected(&["--shard-count", "4"], &[("JOB_COMPLETION_INDEX", &i)]);
        assert_eq!(
            by_job,
            selected(&["--shard", &format!("{}/4", index + 1)], &[]),
            "index {index} is shard {}",
            index + 1
        );
        assert_eq!(by_job, selected(&[], &[("RETORT_SHARD", &format!("{}/4", index + 1))]));
        covered.extend(by_job);
    }
    covered.sort();
    assert_eq!(covered.len(), 40, "the four pods cover every tenant once");
    covered.dedup();
    assert_eq!(covered.len(), 40);
    for (args, env, says) in [
        (vec!["status", "--shard-count", "4"], vec![], "JOB_COMPLETION_INDEX, which is not set"),
        (vec!["status", "--shard-count", "4"], vec![("JOB_COMPLETION_INDEX", "4")], "not a shard index below"),
        (vec!["status", "--shard-count", "4", "--shard", "1/4"], vec![], "cannot be used with"),
    ] {
        let out = retort(work.path(), &args, &env);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}
