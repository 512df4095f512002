//! `retort check` through the binary: every rule on a history written to break
//! it, in the dialect of its target (PostgreSQL, MariaDB, SQLite), silenced per
//! revision by its `Allow:` header, with file, line, rule and fix in text and JSON;
//! shared version tables refused; and nothing connected (the servers' URLs point nowhere).

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};
use serde_json::Value;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// (rule, file name, line) of each finding.
fn found(doc: &Value) -> Vec<(String, String, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (f["rule"].as_str().unwrap().to_string(), file, f["line"].as_u64().unwrap())
        })
        .collect()
}

fn finding(rule: &str, file: &str, line: u64) -> (String, String, u64) {
    (rule.to_string(), file.to_string(), line)
}

/// Nothing listens on port 1: a command that tried to connect would fail.
const NOWHERE_PG: &str = "postgres://app@127.0.0.1:1/app";
const NOWHERE_MARIADB: &str = "mysql://app@127.0.0.1:1/app";

fn config(dir: &Path, databases: &[(&str, &str, &str)]) {
    let mut text = String::new();
    for (name, url, scripts) in databases {
        text.push_str(&format!("[databases.{name}]\nurl = \"{url}\"\nscript_location = \"{scripts}\"\n\n"));
    }
    std::fs::write(dir.join("retort.toml"), text).unwrap();
}

#[test]
fn the_init_scaffold_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    assert!(retort(dir.path(), &["init"]).status.success());
    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 errors, 0 warnings\n");
}

/// Revision files as `write_revision` lays them out: the header is line 4, the
/// upgrade starts on line 6.
#[test]
fn every_postgres_rule_names_file_line_rule_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("pg");
    write_revision(&s, "r1", &[], "", "CREATE TABLE t (a int);\nCREATE INDEX ix_t ON t (a);", "DROP TABLE t;");
    write_revision(
        &s,
        "r2",
        &["r1"],
        "-- Branch Labels: feature",
        "SELECT 1;\nCREATE INDEX CONCURRENTLY ix_a ON t (a);",
        "DROP INDEX ix_a;",
    );
    write_revision(&s, "r3", &["r1"], "", "ALTER TABLE t DROP COLUMN a;", "");
    write_revision(
        &s,
        "r4",
        &["r2"],
        "-- Allow: rename-column",
        "ALTER TABLE t RENAME COLUMN a TO b;\nCREATE INDEX ix_b ON t (b);\nALTER TABLE t ALTER COLUMN b SET NOT NULL;\n\
         ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid();",
        "SELECT 1;",
    );
    config(dir.path(), &[("main", NOWHERE_PG, "pg")]);

    let out = retort(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "errors fail the check");
    let doc = json(&out);
    assert_eq!(
        (doc["ok"].as_bool(), doc["errors"].as_u64(), doc["warnings"].as_u64()),
        (Some(false), Some(2), Some(6))
    );
    let mut expected = vec![
        finding("needs-autocommit", "r2.sql", 7),
        finding("drop-column", "r3.sql", 6),
        finding("unlabelled-branch", "r3.sql", 1),
        finding("no-downgrade", "r3.sql", 8),
        finding("unmerged-heads", "r3.sql", 1),
        finding("index-not-concurrent", "r4.sql", 7),
        finding("set-not-null", "r4.sql", 8),
        finding("volatile-default", "r4.sql", 9),
    ];
    let mut got = found(&doc);
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "{doc:#}");
    let unmerged = doc["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "unmerged-heads").unwrap();
    assert_eq!(unmerged["severity"], "error");
    assert!(
        unmerged["message"].as_str().unwrap().contains("r3, r4")
            || unmerged["message"].as_str().unwrap().contains("r4, r3")
    );
    assert!(unmerged["fix"].as_str().unwrap().starts_with("merge them: retort merge"), "{unmerged}");

    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pg/versions/r2.sql:7: error[needs-autocommit]: `CREATE INDEX CONCURRENTLY ix_a ON t (a)` cannot run inside a transaction"),
        "{text}"
    );
    assert!(text.contains("  fix: add `-- Transactional: false` to its header"), "{text}");
    assert!(text.ends_with("2 errors, 6 warnings\n"), "{text}");
}

/// The same kinds of statements mean different things per dialect.
#[test]
fn the_targets_dialect_decides() {
    let dir = tempfile::tempdir().unwrap();
    let lite = dir.path().join("lite");
    write_revision(&lite, "l1", &[], "", "CREATE TABLE t (a int);\nVACUUM;", "DROP TABLE t;");
    write_revision(&lite, "l2", &["l1"], "-- Transactional: false", "VACUUM;\nCREATE INDEX ix ON t (a);", "SELECT 1;");
    let my = dir.path().join("my");
    write_revision(&my, "m1", &[], "", "CREATE TABLE t (a int);", "DROP TABLE t;");
    write_revision(&my, "m2", &["m1"], "", "ALTER TABLE t CHANGE a b int;\nCREATE INDEX ix ON t (b);", "SELECT 1;");
    let fresh = "CREATE TABLE n (a int, b int);\nALTER TABLE n DROP COLUMN a;\nALTER TABLE n RENAME COLUMN b TO c;";
    write_revision(&my, "m3", &["m2"], "", fresh, "DROP TABLE n;");
    config(dir.path(), &[("lite", "sqlite://app.db", "lite"), ("my", NOWHERE_MARIADB, "my")]);
    let out = retort(dir.path(), &["check", "--format", "json"]);
    let doc = json(&out);
    let mut got = found(&doc);
    got.sort();
    assert_eq!(got, [finding("needs-autocommit", "l1.sql", 7), finding("rename-column", "m2.sql", 6)], "{doc:#}");
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("app.db").exists(), "check creates nothing");
}

/// Several bases, each with its own head, are separate trees: no merge is due;
/// nor for a head that another revision depends on.
#[test]
fn separate_trees_need_no_merge() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    write_revision(&s, "a1", &[], "-- Branch Labels: alpha", "CREATE TABLE a (id int);", "DROP TABLE a;");
    write_revision(&s, "b1", &[], "-- Branch Labels: beta", "CREATE TABLE b (id int);", "DROP TABLE b;");
    write_revision(&s, "b2", &["b1"], "-- Branch Labels: feature", "CREATE TABLE b2 (id int);", "DROP TABLE b2;");
    let depends = "-- Branch Labels: later\n-- Depends On: b2";
    write_revision(&s, "b3", &["b1"], depends, "CREATE TABLE b3 (id int);", "DROP TABLE b3;");
    config(dir.path(), &[("main", "sqlite://app.db", "s")]);
    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Two URLs that differ only in user and options reach one database: writing one
/// version table there is refused when the config loads, for `check` as for
/// every command, naming both targets and no password.
#[test]
fn targets_sharing_a_version_table_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_revision(&dir.path().join("s"), "a1", &[], "", "CREATE TABLE a (id int);", "DROP TABLE a;");
    let text = "[databases.one]\nurl = \"postgres://app@db.example:5432/shop\"\nscript_location = \"s\"\n\
                version_table = \"alembic_version\"\n\n\
                [databases.two]\nurl = \"postgresql://admin:secret@db.example:5432/shop?sslmode=require\"\n\
                script_location = \"s\"\nversion_table = \"alembic_version\"\n";
    std::fs::write(dir.path().join("retort.toml"), text).unwrap();
    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retort.toml: `one` and `two` share the version table `alembic_version`"), "{stderr}");
    assert!(!stderr.contains("secret"), "no password in the output");
}

/// A rule name in `Allow:` that is no rule, or an error's, is an error; names
/// match in any case.
#[test]
fn an_allow_header_naming_no_rule_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    write_revision(&s, "a1", &[], "-- Allow: drop-colum", "CREATE TABLE a (id int);", "DROP TABLE a;");
    config(dir.path(), &[("main", NOWHERE_PG, "s")]);
    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = "a1.sql:4: error[unknown-rule]: `Allow:` names `drop-colum`, which is no rule of retort check";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("drop-column"), "the fix lists the rules: {text}");

    // Errors break deploys: naming one is an error, and it stays reported.
    let up = "CREATE TABLE b (id int);\nVACUUM;\nALTER TABLE a DROP COLUMN x;";
    write_revision(&s, "a2", &["a1"], "-- Allow: Needs-Autocommit, Drop-Column", up, "SELECT 1;");
    std::fs::write(
        s.join("versions/a1.sql"),
        std::fs::read_to_string(s.join("versions/a1.sql")).unwrap().replace("-- Allow: drop-colum\n", "\n"),
    )
    .unwrap();
    config(dir.path(), &[("main", "sqlite://app.db", "s")]);
    let doc = json(&retort(dir.path(), &["check", "--format", "json"]));
    let mut got = found(&doc);
    got.sort();
    assert_eq!(got, [finding("needs-autocommit", "a2.sql", 7), finding("unknown-rule", "a2.sql", 4)], "{doc:#}");
}

/// With `-d` the check reads the selected databases (creating nothing): an
/// applied revision edited since is a `drift` error; without `-d` it reads files
/// only. `history --applied` lists the audit trail the check compares with.
#[test]
fn a_selected_database_is_checked_for_drift() {
    let dir = tempfile::tempdir().unwrap();
    assert!(retort(dir.path(), &["init"]).status.success());
    assert!(retort(dir.path(), &["upgrade", "heads"]).status.success());
    let out = retort(dir.path(), &["history", "--applied", "-d", "default"]);
    let trail = String::from_utf8_lossy(&out.stdout);
    assert_eq!(trail.lines().count(), 5, "{trail}");
    assert!(trail.lines().all(|l| l.contains("  up    ") && l.contains("  ok  ")), "{trail}");

    let file = dir.path().join("migrations/default/versions/c5d7e9f1a2b4_add_sessions.sql");
    let text =
        std::fs::read_to_string(&file).unwrap().replace("token TEXT PRIMARY KEY", "token TEXT PRIMARY KEY, x INT");
    std::fs::write(&file, text).unwrap();
    let out = retort(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "without -d no database is read");
    let out = retort(dir.path(), &["check", "-d", "default", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(found(&doc), [finding("drift", "c5d7e9f1a2b4_add_sessions.sql", 1)], "{doc:#}");
    assert!(doc["findings"][0]["fix"].as_str().unwrap().contains("on_drift"));
    let out = retort(dir.path(), &["upgrade", "heads", "-d", "default"]);
    assert_eq!(out.status.code(), Some(0), "nothing to run: nothing more is read");
    let scripts = dir.path().join("migrations/default");
    write_revision(&scripts, "f1aaaaaaaaaa", &["9d2e4f6a8b0c"], "", "CREATE TABLE f (id INTEGER);", "DROP TABLE f;");
    let out = retort(dir.path(), &["upgrade", "heads", "-d", "default"]);
    assert_eq!(out.status.code(), Some(1), "an upgrade that runs something stops on drift");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("changed since it was applied"), "{said}");

    // The target accepts the edit: the finding is a warning, the upgrade runs.
    let config = std::fs::read_to_string(dir.path().join("retort.toml")).unwrap();
    let config = config.replacen("[databases.default]\n", "[databases.default]\non_drift = \"warn\"\n", 1);
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    let out = retort(dir.path(), &["check", "-d", "default", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(
        (doc["findings"][0]["rule"].as_str(), doc["findings"][0]["severity"].as_str()),
        (Some("drift"), Some("warning"))
    );
    assert!(retort(dir.path(), &["upgrade", "heads", "-d", "default"]).status.success());
}

/// With `-d` on MariaDB, an `ALTER TABLE` without `ALGORITHM=INSTANT/INPLACE` on a
/// table of at least 100,000 rows is a warning; on a small table, or without `-d`,
/// it is not. On PostgreSQL `-d` reads the server's version for the autocommit rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selected_database_tells_which_tables_are_large() {
    let db = TestDb::create(Kind::Mariadb).await.unwrap();
    let s = db.scripts();
    let setup = "CREATE TABLE big (id INT PRIMARY KEY);\nINSERT INTO big SELECT seq FROM seq_1_to_120000;\n\
                 CREATE TABLE small (id INT PRIMARY KEY);\nANALYZE TABLE big;";
    write_revision(&s, "m1", &[], "", setup, "DROP TABLE big;\nDROP TABLE small;");
    let dir = db.dir.path();
    config(dir, &[("main", &db.url, "scripts")]);
    assert!(retort(dir, &["upgrade", "heads"]).status.success());
    let alters = "ALTER TABLE big ADD COLUMN a INT;\nALTER TABLE small ADD COLUMN a INT;\n\
                  ALTER TABLE big ADD COLUMN b INT, ALGORITHM=INSTANT;";
    write_revision(
        &s,
        "m2",
        &["m1"],
        "",
        alters,
        "ALTER TABLE big DROP COLUMN a, DROP COLUMN b;\nALTER TABLE small DROP COLUMN a;",
    );
    let out = retort(dir, &["check", "--format", "json"]);
    assert_eq!(found(&json(&out)), [], "without -d no table is known to be large");
    let out = retort(dir, &["check", "-d", "main", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "a warning");
    let doc = json(&out);
    assert_eq!(found(&doc), [finding("alter-without-algorithm", "m2.sql", 6)], "{doc:#}");
    db.drop_database().await;

    let pg = TestDb::create(Kind::Postgres).await.unwrap();
    let s = pg.scripts();
    write_revision(
        &s,
        "p1",
        &[],
        "",
        "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'great';",
        "DROP TYPE mood;",
    );
    config(pg.dir.path(), &[("main", &pg.url, "scripts")]);
    let out = retort(pg.dir.path(), &["check", "-d", "main", "--format", "json"]);
    assert_eq!(found(&json(&out)), [], "PostgreSQL 12 or later takes ADD VALUE inside a transaction");
    pg.drop_database().await;
}

/// One database that cannot be reached among good ones: `check -d`, `history
/// --applied` and `test` report it as failed (exit 1) and still do the others.
#[test]
fn one_unreachable_database_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    write_revision(&s, "a1", &[], "", "CREATE TABLE a (id int);", "DROP TABLE a;");
    config(dir.path(), &[("good", "sqlite://app.db", "s"), ("broken", NOWHERE_PG, "s")]);
    assert!(retort(dir.path(), &["upgrade", "heads", "-d", "good"]).status.success());

    let out = retort(dir.path(), &["check", "-d", "good,broken", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(found(&doc), [finding("unreachable", "retort.toml", 5)], "{doc:#}");

    let out = retort(dir.path(), &["history", "--applied", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let targets = doc["targets"].as_array().unwrap();
    let good = targets.iter().find(|t| t["target"] == "good").unwrap();
    assert_eq!(good["applied"].as_array().unwrap().len(), 1, "{doc:#}");
    let broken = targets.iter().find(|t| t["target"] == "broken").unwrap();
    assert!(broken["error"].as_str().unwrap().contains("cannot connect"), "{doc:#}");

    let out = retort(dir.path(), &["test", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let kinds: Vec<(&str, &str)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap(), t["failures"][0]["kind"].as_str().unwrap_or("none")))
        .collect();
    assert_eq!(kinds, [("broken", "unreachable"), ("good", "none")], "{doc:#}");
}
