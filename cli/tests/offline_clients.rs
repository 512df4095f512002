//! `--sql` scripts run unchanged in each dialect's own client: the output of
//! `retort upgrade heads --sql` is fed to `sqlite3`, `psql` and `mysql` on this
//! machine, and the database they leave holds every table, routine, string byte
//! and version row the revisions meant. The revisions hold what broke scripts
//! before: a statement whose `;` follows a `--` comment on the next line, CRLF in
//! a string literal, a non-transactional revision, and each dialect's bodies with
//! semicolons inside (`$$` functions, `DELIMITER` procedures, trigger bodies).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use retort_tests::servers::write_revision;

/// The string values the first revision inserts, as the client must store them.
const VALUES: [&str; 3] = ["a;b", "line1\r\nline2", "it's -- here"];

/// Writes three revisions for a dialect and a config naming `url`.
fn project(url: &str, routine: &str, drop_routine: &str, index: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    let up = "CREATE TABLE lit (id INTEGER, v VARCHAR(200));\n\
              INSERT INTO lit (id, v) VALUES (0, 'a;b') -- a note after the statement\n;\n\
              INSERT INTO lit (id, v) VALUES (1, 'line1\r\nline2');\n\
              INSERT INTO lit (id, v) VALUES (2, 'it''s -- here'); -- and a comment;";
    write_revision(&scripts, "r1aaaaaaaaaa", &[], "", up, "DROP TABLE lit;");
    write_revision(&scripts, "r2aaaaaaaaaa", &["r1aaaaaaaaaa"], "-- Transactional: false", index, "DROP INDEX ix_lit;");
    write_revision(&scripts, "r3aaaaaaaaaa", &["r2aaaaaaaaaa"], "", routine, drop_routine);
    let config = format!(
        "[databases.default]\nurl = \"{url}\"\nscript_location = \"scripts\"\nversion_table = \"alembic_version\"\n"
    );
    std::fs::write(dir.path().join("retort.toml"), config).unwrap();
    dir
}

fn offline_script(dir: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_retort")).args(["upgrade", "heads", "--sql"]).current_dir(dir).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("'line1\r\nline2'"), "the script keeps the CR");
    out.stdout
}

/// Runs `program args…` with `input` on stdin; fails the test on a non-zero exit.
fn client(program: &str, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out: Output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{stdout}\n--- input ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(input)
    );
    stdout
}

/// The uppercase hex of each value, as the clients print `hex(v)`. The `sqlite3`
/// and `mysql` shells drop the CR of every CRLF line ending they read, inside
/// literals too (`printf "SELECT hex('a\r\nb');" | sqlite3` prints 610A62): the
/// script holds the CR, those shells lose it, `psql` keeps it. A real
/// `retort upgrade` keeps it everywhere (tests/tests/drivers.rs).
fn expected_hex(client_keeps_cr: bool) -> String {
    let value = |v: &str| if client_keeps_cr { v.to_string() } else { v.replace("\r\n", "\n") };
    VALUES.iter().map(|v| hex(value(v).as_bytes()) + "\n").collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

#[test]
fn sqlite3_runs_the_sql_script_unchanged() {
    let routine =
        "CREATE TRIGGER tr AFTER INSERT ON lit BEGIN\n  UPDATE lit SET v = v WHERE id = NEW.id;\n  SELECT 1;\nEND;";
    let dir = project("sqlite://app.db", routine, "DROP TRIGGER tr;", "CREATE INDEX ix_lit ON lit (id);");
    let script = offline_script(dir.path());
    let db = dir.path().join("client.db");
    let db = db.to_str().unwrap();
    client("sqlite3", &["-bail", db], &script);
    let check = "SELECT hex(v) FROM lit ORDER BY id;\nSELECT version_num FROM alembic_version;\n\
                 SELECT name FROM sqlite_master WHERE name IN ('tr', 'ix_lit') ORDER BY name;";
    let out = client("sqlite3", &[db], check.as_bytes());
    assert_eq!(out, format!("{}r3aaaaaaaaaa\nix_lit\ntr\n", expected_hex(false)));
}

#[test]
fn psql_runs_the_sql_script_unchanged() {
    let name = unique("retort_offline");
    let admin = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"];
    client("psql", &admin, format!("CREATE DATABASE {name};").as_bytes());
    let routine =
        "CREATE FUNCTION f() RETURNS integer AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;";
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let index = "CREATE INDEX CONCURRENTLY ix_lit ON lit (id);";
    let dir = project(&url, routine, "DROP FUNCTION f();", index);
    let script = offline_script(dir.path());
    let args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", &name];
    let ran = std::panic::catch_unwind(|| {
        client("psql", &args, &script);
        let check = "SELECT upper(encode(convert_to(v, 'UTF8'), 'hex')) FROM lit ORDER BY id;\n\
                     SELECT version_num FROM alembic_version;\nSELECT f();\n\
                     SELECT indexname FROM pg_indexes WHERE indexname = 'ix_lit';";
        client("psql", &args, check.as_bytes())
    });
    client("psql", &admin, format!("DROP DATABASE {name};").as_bytes());
    assert_eq!(ran.unwrap(), format!("{}r3aaaaaaaaaa\n1\nix_lit\n", expected_hex(true)));
}

#[test]
fn mysql_runs_the_sql_script_unchanged() {
    let name = unique("retort_offline");
    let admin = ["--protocol=tcp", "-h", "127.0.0.1", "-u", "root"];
    client("mysql", &admin, format!("CREATE DATABASE {name};").as_bytes());
    let routine = "DELIMITER //\nCREATE PROCEDURE p() BEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\nDELIMITER ;";
    let url = format!("mysql://root@127.0.0.1:3306/{name}");
    let dir = project(&url, routine, "DROP PROCEDURE p;", "CREATE INDEX ix_lit ON lit (id);");
    let script = offline_script(dir.path());
    let mut args = admin.to_vec();
    args.extend(["-N", "-B", &name]);
    let ran = std::panic::catch_unwind(|| {
        client("mysql", &args, &script);
        let check = "SELECT HEX(v) FROM lit ORDER BY id;\nSELECT version_num FROM alembic_version;\n\
                     SELECT routine_name FROM information_schema.routines WHERE routine_schema = DATABASE();\n\
                     SELECT DISTINCT index_name FROM information_schema.statistics WHERE index_name = 'ix_lit';";
        client("mysql", &args, check.as_bytes())
    });
    client("mysql", &admin, format!("DROP DATABASE {name};").as_bytes());
    assert_eq!(ran.unwrap(), format!("{}r3aaaaaaaaaa\np\nix_lit\n", expected_hex(false)));
}
