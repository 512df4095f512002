//! Shared helpers of retort's integration tests.
//!
//! Test binaries, one per topic:
//! - `conformance`: replays fixtures recorded by running the real Alembic
//!   (`tests/conformance/generate.py`) against retort's graph, specs and planner.
//! - `sqlite`: the executor and SQLite driver end to end on real database files.
//! - `alembic_interop`: Alembic and retort taking turns on one SQLite database.
//! - `drivers`: one body per behaviour on every engine ([`every_driver!`]).
//! - `catalog`: each driver's catalog checks, cancellers and transaction rules.
//! - `postgres`: PostgreSQL-only behaviour (index builds, locks, schemas).

use std::path::Path;

/// Writes an Alembic `.py` revision file, in one of several real-world styles
/// (`style` picks one), so fixtures also exercise the static reader.
pub fn write_py_revision(
    path: &Path,
    style: usize,
    revision: &str,
    down: &[String],
    labels: &[String],
    depends: &[String],
) {
    let value = |items: &[String], single_as_str: bool| -> String {
        match items {
            [] => "None".to_string(),
            [one] if single_as_str => format!("'{one}'"),
            many if style.is_multiple_of(2) => {
                format!("({},)", many.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", "))
            }
            many => format!("[{}]", many.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ")),
        }
    };
    let text = match style % 3 {
        0 => format!(
            "revision = '{revision}'\ndown_revision = {}\nbranch_labels = {}\ndepends_on = {}\n",
            value(down, true),
            value(labels, false),
            value(depends, true)
        ),
        1 => format!(
            "\"\"\"message\n\nRevision ID: {revision}\n\"\"\"\nfrom typing import Sequence, Union\n\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision: str = \"{revision}\"  # id\ndown_revision: Union[str, Sequence[str], None] = {}\nbranch_labels: Union[str, Sequence[str], None] = {}\ndepends_on: Union[str, Sequence[str], None] = {}\n\n\ndef upgrade() -> None:\n    revision = 'not-this'\n    op.execute(\"\"\"\nSELECT 1\n\"\"\")\n\n\ndef downgrade() -> None:\n    pass\n",
            value(down, false),
            value(labels, true),
            value(depends, false)
        ),
        _ => format!(
            "import sqlalchemy as sa\nrevision = 'placeholder'\ndown_revision = (\n    {}\n)\nbranch_labels = {}\ndepends_on = {}\nrevision = '{revision}'\n",
            if down.is_empty() {
                "None".to_string()
            } else {
                down.iter().map(|d| format!("'{d}',")).collect::<Vec<_>>().join("\n    ")
            },
            value(labels, false),
            value(depends, false)
        ),
    };
    std::fs::create_dir_all(path.parent().expect("file in a folder")).expect("create folder");
    std::fs::write(path, text).expect("write revision");
}

/// Runs `body` on a fresh database of `kind` and drops the database after it.
/// The SQL Server tests are ignored unless asked for (`--run-ignored`); asked for
/// without `RETORT_TEST_MSSQL_URL`, they fail rather than pass untested.
pub async fn on_fresh_database<F, Fut>(kind: servers::Kind, body: F)
where
    F: FnOnce(servers::TestDb) -> Fut,
    Fut: std::future::Future<Output = servers::TestDb>,
{
    let db = servers::TestDb::create(kind)
        .await
        .unwrap_or_else(|| panic!("RETORT_TEST_MSSQL_URL is not set: no SQL Server to test against"));
    body(db).await.drop_database().await;
}

/// Runs `body` on a fresh PostgreSQL database reached through the C plugin
/// (`plugins/examples/libpq`), loaded at run time.
pub async fn on_fresh_plugin_database<F, Fut>(body: F)
where
    F: FnOnce(servers::TestDb) -> Fut,
    Fut: std::future::Future<Output = servers::TestDb>,
{
    let db = servers::TestDb::create_on_c_plugin().await;
    body(db).await.drop_database().await;
}

/// Runs `body` on a fresh GlueSQL file through the Rust plugin
/// (`plugins/examples/gluesql`), built once per test process.
pub async fn on_fresh_rust_plugin_database<F, Fut>(body: F)
where
    F: FnOnce(servers::TestDb) -> Fut,
    Fut: std::future::Future<Output = servers::TestDb>,
{
    static LIBRARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let library = LIBRARY.get_or_init(|| plugins::build_rust_plugin("retort-gluesql"));
    let db = servers::TestDb::on_plugin(library, "gluesql://{dir}/test.redb");
    body(db).await.drop_database().await;
}

/// Runs `body` on the plugin `RETORT_TEST_PLUGIN` names (a shared library), at
/// the URL `RETORT_TEST_PLUGIN_URL` gives, where `{dir}` is a fresh folder and
/// `{name}` a fresh name (the tests are ignored unless asked for).
pub async fn on_fresh_vendor_plugin_database<F, Fut>(body: F)
where
    F: FnOnce(servers::TestDb) -> Fut,
    Fut: std::future::Future<Output = servers::TestDb>,
{
    let library = std::env::var("RETORT_TEST_PLUGIN").expect("RETORT_TEST_PLUGIN names the plugin to test");
    let url = std::env::var("RETORT_TEST_PLUGIN_URL").expect("RETORT_TEST_PLUGIN_URL goes with RETORT_TEST_PLUGIN");
    let db = servers::TestDb::on_plugin(std::path::Path::new(&library), &url);
    body(db).await.drop_database().await;
}

/// Runs each named async test body (`async fn name(db: TestDb) -> TestDb`) against
/// SQLite, PostgreSQL, MariaDB, (when configured) SQL Server, and PostgreSQL
/// through the C plugin loaded at run time: the driver conformance suite.
#[macro_export]
macro_rules! every_driver {
    ($($name:ident),* $(,)?) => {
        $crate::every_built_in_driver!($($name),*);
        /// The same bodies through the C plugin (`plugins/examples/libpq`).
        mod through_c_plugin {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $crate::on_fresh_plugin_database(super::$name).await })*
        }
        /// The same bodies through the Rust plugin (`plugins/examples/gluesql`).
        mod through_rust_plugin {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $crate::on_fresh_rust_plugin_database(super::$name).await })*
        }
        /// The same bodies through the plugin `RETORT_TEST_PLUGIN` names, when it
        /// is set: a vendor's own plugin (`docs/plugins.md`).
        mod through_your_plugin {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs a vendor plugin: set RETORT_TEST_PLUGIN and RETORT_TEST_PLUGIN_URL and pass --run-ignored"]
            async fn $name() { $crate::on_fresh_vendor_plugin_database(super::$name).await })*
        }
    };
}

/// Runs each named async test body against the built-in drivers only.
#[macro_export]
macro_rules! every_built_in_driver {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            use $crate::servers::Kind;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { $crate::on_fresh_database(Kind::Sqlite, super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { $crate::on_fresh_database(Kind::Postgres, super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() { $crate::on_fresh_database(Kind::Mariadb, super::$name).await }
            /// Needs a SQL Server: `RETORT_TEST_MSSQL_URL`, and `--run-ignored` (README).
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs a SQL Server: set RETORT_TEST_MSSQL_URL and pass --run-ignored"]
            async fn mssql() { $crate::on_fresh_database(Kind::Mssql, super::$name).await }
        })*
    };
}

/// Databases the driver suites run against, each test on a database of its own.
pub mod servers {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    use retort_engine::driver::{ConnectOptions, Connection, Driver};

    /// A database engine under test.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Sqlite,
        Postgres,
        Mariadb,
        Mssql,
        /// A vendor's plugin (`RETORT_TEST_PLUGIN`).
        Plugin,
    }

    /// A fresh, empty database of one kind.
    pub struct TestDb {
        pub kind: Kind,
        pub url: String,
        pub driver: &'static dyn Driver,
        /// The built-in driver that creates and drops the database.
        admin_driver: &'static dyn Driver,
        admin_url: String,
        name: String,
        /// Holds the SQLite file (and revision folders) alive.
        pub dir: tempfile::TempDir,
    }

    static SQLITE: retort_sqlite::SqliteDriver = retort_sqlite::SqliteDriver;
    static POSTGRES: retort_postgres::PostgresDriver = retort_postgres::PostgresDriver;
    static MYSQL: retort_mysql::MysqlDriver = retort_mysql::MysqlDriver;
    static MSSQL: retort_mssql::MssqlDriver = retort_mssql::MssqlDriver;

    /// The server URL used to create test databases.
    pub fn admin_url(kind: Kind) -> Option<String> {
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        match kind {
            Kind::Sqlite => Some(String::new()),
            Kind::Postgres => Some(env("RETORT_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")),
            Kind::Mariadb => Some(env("RETORT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")),
            Kind::Mssql => std::env::var("RETORT_TEST_MSSQL_URL").ok(),
            Kind::Plugin => None,
        }
    }

    fn driver(kind: Kind) -> &'static dyn Driver {
        match kind {
            Kind::Sqlite => &SQLITE,
            Kind::Postgres => &POSTGRES,
            Kind::Mariadb => &MYSQL,
            Kind::Mssql => &MSSQL,
            Kind::Plugin => panic!("a plugin's driver is loaded, not built in"),
        }
    }

    /// `url` with its database (path) replaced by `database`.
    fn with_database(url: &str, database: &str) -> String {
        let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
        let mut out = format!("{}/{database}", &base[..path_start]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    /// A database name no other test process uses: process ids are reused, and a
    /// failed test leaves its database behind, so the clock is part of the name.
    fn unique_name() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        format!("retort_t_{}_{nanos:09}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
    }

    impl TestDb {
        /// Creates a fresh database; `None` only for SQL Server without `RETORT_TEST_MSSQL_URL`.
        pub async fn create(kind: Kind) -> Option<TestDb> {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let admin_url = admin_url(kind)?;
            let dir = tempfile::tempdir().expect("tempdir");
            let name = unique_name();
            let url = match kind {
                Kind::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
                _ => with_database(&admin_url, &name),
            };
            let db = TestDb { kind, url, driver: driver(kind), admin_driver: driver(kind), admin_url, name, dir };
            if kind != Kind::Sqlite {
                let mut admin = db.admin().await;
                let quoted = db.driver.dialect().quote_ident(&db.name);
                admin.execute(&format!("CREATE DATABASE {quoted}")).await.expect("create test database");
                admin.close().await.expect("close");
            }
            Some(db)
        }

        /// A fresh PostgreSQL database whose `driver` is the C plugin
        /// (`plugins/examples/libpq`), built with the system compiler and loaded
        /// at run time; its URL has the plugin's `pq://` scheme.
        pub async fn create_on_c_plugin() -> TestDb {
            let mut db = TestDb::create(Kind::Postgres).await.expect("PostgreSQL is configured");
            db.url = db.url.replacen("postgres://", "pq://", 1);
            db.driver = crate::plugins::c_plugin_driver();
            db
        }

        /// A database of the plugin at `library`, at `url` with `{dir}` a fresh
        /// folder and `{name}` a fresh name. Nothing creates or drops it but the
        /// plugin itself.
        pub fn on_plugin(library: &Path, url: &str) -> TestDb {
            let driver = retort_plugin_host::load(library).unwrap_or_else(|e| panic!("{e}"));
            let driver: &'static retort_plugin_host::PluginDriver = Box::leak(Box::new(driver));
            let dir = tempfile::tempdir().expect("tempdir");
            let name = unique_name();
            let url = url.replace("{dir}", &dir.path().display().to_string()).replace("{name}", &name);
            TestDb { kind: Kind::Plugin, url, driver, admin_driver: driver, admin_url: String::new(), name, dir }
        }

        async fn admin(&self) -> Box<dyn Connection> {
            let options = ConnectOptions { url: self.admin_url.as_str().into(), writes: true, ..Default::default() };
            retort_engine::session::open(self.admin_driver, &options)
                .await
                .unwrap_or_else(|e| panic!("{:?} server not reachable: {e}", self.kind))
        }

        /// The database's name on its server.
        pub fn database_name(&self) -> &str {
            &self.name
        }

        /// Options for connecting to this database.
        pub fn options(&self) -> ConnectOptions {
            ConnectOptions {
                url: self.url.as_str().into(),
                base_dir: self.dir.path().to_path_buf(),
                application_name: "retort-tests".into(),
                writes: true,
                ..Default::default()
            }
        }

        /// A new connection to this database.
        pub async fn connect(&self) -> Box<dyn Connection> {
            retort_engine::session::open(self.driver, &self.options()).await.expect("connect to test database")
        }

        /// A folder for revision files (`<dir>/scripts/versions`).
        pub fn scripts(&self) -> PathBuf {
            self.dir.path().join("scripts")
        }

        /// Drops the database.
        pub async fn drop_database(self) {
            if matches!(self.kind, Kind::Sqlite | Kind::Plugin) {
                return;
            }
            let mut admin = self.admin().await;
            let quoted = self.admin_driver.dialect().quote_ident(&self.name);
            if self.kind == Kind::Postgres {
                let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")).await;
            } else {
                let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {quoted}")).await;
            }
            let _ = admin.close().await;
        }
    }

    /// Writes a `.sql` revision into `<scripts>/versions/<file>`.
    pub fn write_revision(scripts: &Path, id: &str, parents: &[&str], header: &str, up: &str, down: &str) {
        let versions = scripts.join("versions");
        std::fs::create_dir_all(&versions).expect("mkdir");
        let text = format!(
            "-- {id}\n-- Revision ID: {id}\n-- Revises: {}\n{header}\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n",
            parents.join(", ")
        );
        std::fs::write(versions.join(format!("{id}.sql")), text).expect("write revision");
    }
}

/// The example plugins, built for the tests.
pub mod plugins {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    use retort_engine::driver::Driver;

    /// The repository's root.
    pub fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Builds the C plugin with the system compiler into `dir`, with extra `cc`
    /// flags (`-DRETORT_LIBPQ_OLD_TABLE`, ...); returns the library's path.
    pub fn build_c_plugin(dir: &Path, flags: &[&str]) -> PathBuf {
        let out = dir.join("libretort_libpq.so");
        let pg_include = Command::new("pg_config").arg("--includedir").output().expect("pg_config runs");
        let pg_include = String::from_utf8_lossy(&pg_include.stdout).trim().to_string();
        let source = root().join("plugins/examples/libpq/retort_libpq.c");
        let built = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror"])
            .args(flags)
            .arg("-I")
            .arg(root().join("plugins/abi/include"))
            .arg("-I")
            .arg(pg_include)
            .arg(&source)
            .args(["-lpq", "-o"])
            .arg(&out)
            .output()
            .expect("the system C compiler runs");
        assert!(built.status.success(), "building the C plugin: {}", String::from_utf8_lossy(&built.stderr));
        out
    }

    /// Builds the Rust plugin crate `package` (a `cdylib` of this workspace) with
    /// the cargo running the tests; returns the library's path.
    pub fn build_rust_plugin(package: &str) -> PathBuf {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(cargo)
            .args(["build", "--quiet", "--message-format=json", "-p", package])
            .current_dir(root())
            .output()
            .expect("cargo runs");
        assert!(built.status.success(), "building {package}: {}", String::from_utf8_lossy(&built.stderr));
        let messages = String::from_utf8_lossy(&built.stdout);
        let library = messages
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == package.replace('-', "_"))
            .filter(|m| m["target"]["kind"][0] == "cdylib")
            .find_map(|m| m["filenames"].as_array()?.iter().find_map(|f| f.as_str().map(PathBuf::from)));
        library.unwrap_or_else(|| panic!("cargo built no library for {package}"))
    }

    /// The C plugin's library, built once per test process.
    pub fn c_plugin_library() -> &'static Path {
        static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
            build_c_plugin(dir.path(), &[])
        })
    }

    /// The C plugin, built once per test process and loaded.
    pub fn c_plugin_driver() -> &'static dyn Driver {
        static DRIVER: OnceLock<&'static dyn Driver> = OnceLock::new();
        *DRIVER.get_or_init(|| {
            let driver = retort_plugin_host::load(c_plugin_library()).unwrap_or_else(|e| panic!("{e}"));
            let driver: &'static retort_plugin_host::PluginDriver = Box::leak(Box::new(driver));
            driver
        })
    }
}
