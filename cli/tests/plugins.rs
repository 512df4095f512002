//! Drivers loaded at run time, through the binary: the C plugin
//! (`plugins/examples/libpq`, built here with the system compiler) found through
//! `plugins = [...]`, `plugin_dir` and `RETORT_PLUGIN_PATH`, serving a fleet of 20
//! PostgreSQL databases at once; and every way a plugin file is refused with one
//! line naming it: another ABI major, no entry symbol, not a library, writable by
//! other users. An older, smaller table still loads, its missing entries absent.
//! A plugin's error message and code reach the user in text and JSON; a panic
//! inside a Rust plugin fails its target only, with the panic's message. SIGTERM
//! cancels a statement running inside a plugin (C and Rust) at once.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use retort_tests::plugins::{build_c_plugin, build_rust_plugin};
use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retort"));
    command.args(args).current_dir(dir).env_remove("RETORT_PLUGIN_PATH");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A project whose one history creates a table and an index.
fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    write_revision(
        &scripts,
        "p1aaaaaaaaaa",
        &[],
        "",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);",
        "DROP TABLE items;",
    );
    let index = "CREATE INDEX CONCURRENTLY ix_items ON items (id);";
    write_revision(
        &scripts,
        "p2aaaaaaaaaa",
        &["p1aaaaaaaaaa"],
        "-- Transactional: false",
        index,
        "DROP INDEX ix_items;",
    );
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    dir
}

fn pq_url(db: &TestDb) -> String {
    db.url.replacen("postgres://", "pq://", 1)
}

/// A project whose database `main` is `db` reached through the plugin `library`.
fn one_database_on(library: &Path, db: &TestDb) -> tempfile::TempDir {
    project(&format!(
        "plugins = [\"{}\"]\n[databases.main]\nurl = \"{}\"\nscript_location = \"scripts\"\n",
        library.display(),
        pq_url(db)
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_of_twenty_runs_on_one_loaded_plugin() {
    let plugins = tempfile::tempdir().unwrap();
    let library = build_c_plugin(plugins.path(), &[]);
    let mut tenants = Vec::new();
    for _ in 0..20 {
        tenants.push(TestDb::create(Kind::Postgres).await.unwrap());
    }
    let template = pq_url(&tenants[0]).replace(tenants[0].database_name(), "{name}");
    let names: Vec<String> = tenants.iter().map(|t| format!("\"{}\"", t.database_name())).collect();
    let config = format!(
        "jobs = 8\nplugins = [\"{}\"]\n\n[fleets.shop]\nscript_location = \"scripts\"\nurl_template = \"{template}\"\nnames = [{}]\n",
        library.display(),
        names.join(", ")
    );
    let dir = project(&config);
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["ok"], 20, "{doc}");
    assert!(doc["targets"].as_array().unwrap().iter().all(|t| t["driver"] == "libpq"), "{doc}");
    for tenant in &tenants {
        let mut conn = tenant.connect().await;
        let valid = conn.query("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_items'::regclass").await;
        assert_eq!(valid.unwrap(), vec![vec![Some("true".to_string())]], "{}", tenant.database_name());
        conn.close().await.unwrap();
    }
    let status = retort(dir.path(), &["status", "--format", "json"], &[]);
    let doc: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(doc["targets"].as_array().unwrap().iter().all(|t| t["pending"] == 0), "{doc}");
    let down = retort(dir.path(), &["downgrade", "base"], &[]);
    assert!(down.status.success(), "{}", text(&down));
    for tenant in tenants {
        tenant.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_are_found_through_plugin_dir_and_the_environment() {
    let plugins = tempfile::tempdir().unwrap();
    build_c_plugin(plugins.path(), &[]);
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let body = format!("[databases.main]\nurl = \"{}\"\nscript_location = \"scripts\"\n", pq_url(&db));
    let in_dir = project(&format!("plugin_dir = \"{}\"\n{body}", plugins.path().display()));
    let out = retort(in_dir.path(), &["upgrade", "p1aaaaaaaaaa"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let from_env = project(&body);
    let out = retort(from_env.path(), &["upgrade", "heads"], &[("RETORT_PLUGIN_PATH", plugins.path())]);
    assert!(out.status.success(), "{}", text(&out));
    let without = retort(from_env.path(), &["current"], &[]);
    assert_eq!(without.status.code(), Some(2));
    assert!(text(&without).contains("unknown URL scheme `pq`"), "{}", text(&without));
    db.drop_database().await;
}

#[test]
fn a_plugin_file_that_cannot_be_trusted_or_used_is_one_line_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let cases = [("major", &["-DRETORT_LIBPQ_ABI_MAJOR=2"][..])];
    for (name, flags) in cases {
        let dir = work.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        let library = build_c_plugin(&dir, flags);
        let project = project(&format!("plugins = [\"{}\"]\n", library.display()));
        let out = retort(project.path(), &["heads"], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let minor = retort_plugin_abi::ABI_MINOR;
        let expected = format!(
            "error: plugin {}: built for plugin ABI 2.{minor}, this retort speaks 1.{minor}; rebuild it against this retort's retort_plugin.h\n",
            library.display()
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected);
    }

    let no_symbol = work.path().join("libnothing.so");
    std::fs::write(work.path().join("nothing.c"), "int retort_something_else = 1;\n").unwrap();
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&no_symbol)
        .arg(work.path().join("nothing.c"))
        .output()
        .unwrap();
    assert!(built.status.success());
    let not_a_library = work.path().join("notes.so");
    std::fs::write(&not_a_library, "just some text\n").unwrap();
    let open = build_c_plugin(&work.path().join("major"), &[]);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = [
        (&no_symbol, "not a retort plugin (no `retort_plugin_entry` symbol)".to_string()),
        (&not_a_library, "not a retort plugin (".to_string()),
        (&open, "writable by other users (mode 666); refusing to load it: chmod go-w it".to_string()),
    ];
    for (file, why) in refused {
        let project = project(&format!("plugins = [\"{}\"]\n", file.display()));
        let out = retort(project.path(), &["heads", "--format", "json"], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("plugin {}: {why}", file.display())), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_smaller_table_loads_with_its_missing_entries_absent() {
    let plugins = tempfile::tempdir().unwrap();
    let library = build_c_plugin(plugins.path(), &["-DRETORT_LIBPQ_OLD_TABLE"]);
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let dir = one_database_on(&library, &db);
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let notes = serde_json::from_slice::<Value>(&out.stdout).unwrap()["targets"][0]["notes"].to_string();
    assert!(notes.contains("no run lock"), "a plugin without lock entries runs without the lock, and says so: {notes}");
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plugins_error_message_and_code_reach_the_user() {
    let plugins = tempfile::tempdir().unwrap();
    let library = build_c_plugin(plugins.path(), &[]);
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let dir = one_database_on(&library, &db);
    write_revision(
        &dir.path().join("scripts"),
        "p3aaaaaaaaaa",
        &["p2aaaaaaaaaa"],
        "",
        "CREATE TABLEX broken (id int);",
        "",
    );
    let out = retort(dir.path(), &["upgrade", "heads"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("syntax error at or near \"TABLEX\" (code 42601)"), "{}", text(&out));
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"], &[]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = doc["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("syntax error at or near \"TABLEX\" (code 42601)"), "{error}");
    db.drop_database().await;
}

#[test]
fn a_panic_inside_a_plugin_fails_that_target_only() {
    let library = build_rust_plugin("retort-sdk-fixture");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_revision(&good, "g1aaaaaaaaaa", &[], "", "CREATE TABLE t (id INTEGER);", "DROP TABLE t;");
    let bad = dir.path().join("bad");
    write_revision(&bad, "b1aaaaaaaaaa", &[], "", "SELECT 'panic now';", "");
    let refuser = dir.path().join("refuser");
    write_revision(&refuser, "f1aaaaaaaaaa", &[], "", "SELECT 'fail now';", "");
    let config = format!(
        "plugins = [\"{}\"]\n\n[databases.good]\nurl = \"sqlite://good.db\"\nscript_location = \"good\"\n\n\
         [databases.bad]\nurl = \"misbehaving://x\"\nscript_location = \"bad\"\n\n\
         [databases.refuser]\nurl = \"misbehaving://y\"\nscript_location = \"refuser\"\n",
        library.display()
    );
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    let out = retort(dir.path(), &["upgrade", "heads", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = |name: &str| doc["targets"].as_array().unwrap().iter().find(|t| t["target"] == name).unwrap().clone();
    assert_eq!(target("good")["status"], "ok", "{doc}");
    assert_eq!(target("good")["after"][0], "g1aaaaaaaaaa");
    let panicked = target("bad")["error"].as_str().unwrap().to_string();
    assert!(panicked.contains("the plugin panicked: boom in `SELECT 'panic now'`"), "{panicked}");
    let refused = target("refuser")["error"].as_str().unwrap().to_string();
    assert!(refused.contains("refused `SELECT 'fail now'` (code X0001)"), "{refused}");
    let again = retort(dir.path(), &["current", "-d", "good"], &[]);
    assert!(again.status.success(), "the process survived and the next run works: {}", text(&again));
}

/// A 30-second statement in each plugin (`pg_sleep` through libpq, a sleeping
/// statement of the SDK fixture), SIGTERM after one second: both are cancelled
/// through the plugins' `cancel` entries, the run exits 143 within seconds and
/// reports both targets interrupted.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cancels_statements_running_inside_plugins() {
    let plugins = tempfile::tempdir().unwrap();
    let c_library = build_c_plugin(plugins.path(), &[]);
    let rust_library = build_rust_plugin("retort-sdk-fixture");
    let db = TestDb::create(Kind::Postgres).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_revision(&dir.path().join("pg"), "s1aaaaaaaaaa", &[], "", "SELECT pg_sleep(30);", "");
    write_revision(&dir.path().join("sdk"), "s2aaaaaaaaaa", &[], "", "SELECT 'sleep';", "");
    let config = format!(
        "plugins = [\"{}\", \"{}\"]\njobs = 2\n\n[databases.pg]\nurl = \"{}\"\nscript_location = \"pg\"\n\n\
         [databases.sdk]\nurl = \"misbehaving://x\"\nscript_location = \"sdk\"\n",
        c_library.display(),
        rust_library.display(),
        pq_url(&db)
    );
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_retort"))
        .args(["upgrade", "heads", "--format", "json"])
        .current_dir(dir.path())
        .env_remove("RETORT_PLUGIN_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let signalled = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let waited = signalled.elapsed();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    assert!(waited < Duration::from_secs(8), "the run took {waited:?} to stop");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for target in doc["targets"].as_array().unwrap() {
        assert_eq!(target["status"], "interrupted", "{doc}");
    }
    db.drop_database().await;
}
