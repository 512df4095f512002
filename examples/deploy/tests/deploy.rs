//! The example deploy program, built by Cargo and run against the real
//! PostgreSQL: a database-per-tenant fleet of three where one tenant's first
//! revision fails. The program upgrades the others, holds that one back with
//! where it was left, and exits 1; once the tenant is fixed, the next deploy
//! finishes it and exits 0. A typo in the selection touches nothing.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::{Kind, TestDb, write_revision};

const REVISIONS: [&str; 2] = ["d0aaaaaaaaaa", "d1aaaaaaaaaa"];

fn deploy(dir: &Path, selection: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploy"));
    command.arg(dir.join("retort.toml")).args(selection);
    command.output().expect("run the deploy example")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn version(db: &TestDb) -> Option<String> {
    let mut conn = db.connect().await;
    let rows = conn.query("SELECT version_num FROM alembic_version_shop").await.ok();
    conn.close().await.unwrap();
    rows.and_then(|r| r.into_iter().next()).and_then(|r| r.into_iter().next().flatten())
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_a_fleet_and_holds_back_the_failing_tenant() {
    let mut tenants = Vec::new();
    for _ in 0..3 {
        tenants.push(TestDb::create(Kind::Postgres).await.expect("PostgreSQL is running"));
    }
    let mut broken = tenants[1].connect().await;
    broken.execute("CREATE TABLE orders (legacy INTEGER)").await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let scripts = work.path().join("shop");
    write_revision(
        &scripts,
        REVISIONS[0],
        &[],
        "",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY);",
        "DROP TABLE orders;",
    );
    write_revision(&scripts, REVISIONS[1], &[REVISIONS[0]], "", "ALTER TABLE orders ADD COLUMN total INTEGER;", "");
    let template = tenants[0].url.replace(tenants[0].database_name(), "{name}");
    let names: Vec<String> = tenants.iter().map(|t| format!("\"{}\"", t.database_name())).collect();
    let config = format!(
        "[fleets.shop]\nscript_location = \"shop\"\nurl_template = \"{template}\"\nnames = [{}]\n",
        names.join(", ")
    );
    std::fs::write(work.path().join("retort.toml"), config).unwrap();

    let typo = deploy(work.path(), &["shop:nosuch"]);
    assert_eq!(typo.status.code(), Some(2), "{}", text(&typo));
    assert!(text(&typo).contains("`-d shop:nosuch` selects no target"), "{}", text(&typo));
    assert_eq!(version(&tenants[0]).await, None, "a bad selection touches nothing");

    let first = deploy(work.path(), &[]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let out = text(&first);
    let failing = format!("shop:{}", tenants[1].database_name());
    assert!(out.contains(&format!("{failing}: FAILED (left at base)")), "{out}");
    assert!(out.contains(&format!("held back: {failing}")), "{out}");
    for healthy in [&tenants[0], &tenants[2]] {
        assert!(out.contains(&format!("shop:{}: at {}", healthy.database_name(), REVISIONS[1])), "{out}");
        assert_eq!(version(healthy).await.as_deref(), Some(REVISIONS[1]));
    }
    assert_eq!(version(&tenants[1]).await, None);

    broken.execute("DROP TABLE orders").await.unwrap();
    broken.close().await.unwrap();
    let second = deploy(work.path(), &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains(&format!("{failing}: upgrade {}", REVISIONS[0])), "{}", text(&second));
    for tenant in &tenants {
        assert_eq!(version(tenant).await.as_deref(), Some(REVISIONS[1]));
    }
    for tenant in tenants {
        tenant.drop_database().await;
    }
}
