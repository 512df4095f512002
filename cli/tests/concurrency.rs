//! Several `retort` processes on one database at once, on every real engine: the
//! run lock makes each revision apply exactly once. Plus what an unreachable
//! server looks like (one line naming the target, password masked).

use std::process::{Command, Stdio};

use retort_tests::servers::{Kind, TestDb, write_revision};

const REVISIONS: usize = 12;

fn write_history(db: &TestDb) {
    let scripts = db.scripts();
    let ids: Vec<String> = (0..REVISIONS).map(|i| format!("r{i:02}aaaaaaaa")).collect();
    for (i, id) in ids.iter().enumerate() {
        let parents: Vec<&str> = if i == 0 { vec![] } else { vec![ids[i - 1].as_str()] };
        let create = if i == 0 { "CREATE TABLE applied (rev VARCHAR(40));\n" } else { "" };
        let up = format!("{create}INSERT INTO applied (rev) VALUES ('{id}');");
        write_revision(&scripts, id, &parents, "", &up, &format!("DELETE FROM applied WHERE rev = '{id}';"));
    }
    let config = format!(
        "lock_timeout = \"60s\"\n[databases.shared]\nurl = \"{}\"\nscript_location = \"{}\"\n",
        db.url,
        scripts.display()
    );
    std::fs::write(db.dir.path().join("retort.toml"), config).unwrap();
}

async fn four_runners_apply_each_revision_once(kind: Kind) {
    let db = TestDb::create(kind).await.expect("configured");
    write_history(&db);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_retort"))
                .args(["upgrade", "heads", "--format", "json"])
                .current_dir(db.dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn retort")
        })
        .collect();
    let mut applied_by_runners = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(out.status.success(), "{kind:?}: {doc}");
        applied_by_runners += doc["targets"][0]["steps"].as_array().unwrap().len();
    }
    assert_eq!(applied_by_runners, REVISIONS, "{kind:?}: the runners together applied each revision once");
    let mut conn = db.connect().await;
    let rows = conn.query("SELECT rev, COUNT(*) FROM applied GROUP BY rev").await.unwrap();
    assert_eq!(rows.len(), REVISIONS, "{kind:?}");
    assert!(rows.iter().all(|r| r[1].as_deref() == Some("1")), "{kind:?}: {rows:?}");
    conn.close().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_runners_on_sqlite() {
    four_runners_apply_each_revision_once(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_runners_on_postgres() {
    four_runners_apply_each_revision_once(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_runners_on_mariadb() {
    four_runners_apply_each_revision_once(Kind::Mariadb).await;
}

#[test]
fn unreachable_servers_are_one_line_naming_the_target_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    write_revision(&dir.path().join("s"), "aaaa00000001", &[], "", "SELECT 1;", "");
    let config = "[databases.pg]\nurl = \"postgres://app:hunter2secret@127.0.0.1:1/nope\"\nscript_location = \"s\"\n\
                  [databases.my]\nurl = \"mysql://app:hunter2secret@127.0.0.1:1/nope\"\nscript_location = \"s\"\n\
                  [databases.ms]\nurl = \"mssql://sa:hunter2secret@127.0.0.1:1/nope\"\nscript_location = \"s\"\n";
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_retort")).args(["upgrade", "heads"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("hunter2secret"), "{all}");
    for target in ["pg", "my", "ms"] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{target}: FAILED: cannot connect")))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(!line.is_empty());
    }
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
}

/// A runner that cannot get the lock in time exits 3, naming the target and, on
/// PostgreSQL, the session holding the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_not_acquired_in_time_exits_3_naming_the_holder() {
    let db = TestDb::create(Kind::Postgres).await.expect("configured");
    write_history(&db);
    let config = std::fs::read_to_string(db.dir.path().join("retort.toml")).unwrap().replace("60s", "1s");
    std::fs::write(db.dir.path().join("retort.toml"), config).unwrap();
    let mut holder = db.connect().await;
    let table = retort_engine::driver::VersionTable::for_target("shared");
    holder.lock(&table, std::time::Duration::from_secs(5)).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(["upgrade", "heads"])
        .current_dir(db.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.starts_with("shared: FAILED: another runner holds the migration lock"), "{stderr}");
    assert!(stderr.contains("pid ") && stderr.contains("retort-tests"), "{stderr}");
    holder.unlock(&table).await.unwrap();
    holder.close().await.unwrap();
    db.drop_database().await;
}
