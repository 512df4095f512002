//! The statement reader's cases, by dialect.

use super::*;

/// `R`, `U`, or the changes: `+Kind name [on table]`, `-...`, `~Kind from > to [on table]`.
fn show(effect: &Effect) -> String {
    let name = |n: &Name| {
        let part = |i: &Ident| if i.quoted { format!("\"{}\"", i.text) } else { i.text.clone() };
        n.schema.iter().chain([&n.name]).map(part).collect::<Vec<_>>().join(".")
    };
    let on = |o: &Object| o.table.as_ref().map(|t| format!(" on {}", name(t))).unwrap_or_default();
    let change = |c: &Change| match c {
        Change::Creates(o) => format!("+{:?} {}{}", o.kind, name(&o.name), on(o)),
        Change::Drops(o) => format!("-{:?} {}{}", o.kind, name(&o.name), on(o)),
        Change::Renames { from, to } => {
            assert_eq!((from.kind, &from.table), (to.kind, &to.table));
            format!("~{:?} {} > {}{}", from.kind, name(&from.name), name(&to.name), on(from))
        }
    };
    match effect {
        Effect::Repeatable => "R".into(),
        Effect::Unknown => "U".into(),
        Effect::Changes(changes) => changes.iter().map(change).collect::<Vec<_>>().join("; "),
    }
}

/// `flavor | statement [|| statement ...] | effect as shown`; `\n` stands for a newline.
const EFFECTS: &str = r#"
pg | CREATE TABLE IF NOT EXISTS t (a int) || CREATE SCHEMA IF NOT EXISTS app || DROP TABLE IF EXISTS a, b CASCADE | R
pg | CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON t (a) || DROP INDEX CONCURRENTLY IF EXISTS ix | R
pg | CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql || CREATE OR REPLACE VIEW v AS SELECT | R
pg | CREATE GLOBAL TEMPORARY TABLE scratch (a int) || CREATE TEMP TABLE scratch AS SELECT 1 | R
pg | VACUUM (VERBOSE) t || ANALYZE t || REINDEX TABLE CONCURRENTLY t || CLUSTER t USING ix || CHECKPOINT | R
pg | REFRESH MATERIALIZED VIEW CONCURRENTLY mv || ALTER SYSTEM SET work_mem = '64MB' || DISCARD ALL | R
pg | SET search_path = app || RESET ALL || COMMENT ON TABLE t IS 'x' | R
pg | GRANT SELECT ON t TO app || REVOKE ALL ON t FROM app | R
pg | SELECT count(*) FROM t WHERE a IN (SELECT 1) || ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' | R
pg | ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN IF EXISTS b, DROP CONSTRAINT IF EXISTS c | R
my | OPTIMIZE TABLE t || ANALYZE TABLE t || ALTER TABLE t ADD INDEX IF NOT EXISTS ix (a), ALGORITHM=INPLACE | R
sqlite | PRAGMA foreign_keys = ON || CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END | R
ms | CREATE OR ALTER PROCEDURE p AS BEGIN UPDATE t SET a = 1 END || GRANT SELECT, INSERT ON t TO app | R
pg | SELECT * INTO t2 FROM t || ALTER TYPE mood ADD VALUE 'meh' || PRAGMA x || OPTIMIZE TABLE t | U
ms | SELECT * INTO t2 FROM t | U
pg | CREATE INDEX CONCURRENTLY "Ix" ON public.t (a) | +Index "Ix" on public.t
pg | CREATE UNIQUE INDEX ix ON ONLY app.t USING btree (a) | +Index ix on app.t
sqlite | CREATE INDEX main.ix ON t (a) | +Index main.ix on t
my | CREATE UNIQUE INDEX ix ON t (a) | +Index ix on t
pg | CREATE UNLOGGED TABLE t (a numeric(10, 2)) | +Table t
pg | CREATE TABLE app.t2 AS SELECT * FROM t | +Table app.t2
pg | CREATE MATERIALIZED VIEW mv AS SELECT 1 || CREATE VIEW mv AS SELECT 1 | +View mv
pg | CREATE SEQUENCE s START 1 | +Sequence s
pg | CREATE TYPE mood AS ENUM ('a', 'b') || CREATE DOMAIN mood AS int CHECK (VALUE > 0) | +Type mood
pg | CREATE FUNCTION f() RETURNS int AS $b$ SELECT 1; $b$ LANGUAGE sql | +Function f
pg | CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$ | +Procedure p
ms | CREATE PROC dbo.p AS SELECT 1; SELECT 2 | +Procedure dbo.p
pg | CREATE TRIGGER tr BEFORE INSERT OR UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION f() | +Trigger tr on app.t
my | CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 | +Trigger tr on t
sqlite | CREATE TRIGGER tr AFTER UPDATE OF a, b ON t BEGIN UPDATE u SET x = 1; END | +Trigger tr on t
ms | CREATE TRIGGER dbo.tr ON dbo.t AFTER INSERT AS INSERT INTO log VALUES (1) | +Trigger dbo.tr on dbo.t
pg | CREATE SCHEMA app | +Schema app
pg | CREATE DATABASE shop | +Database shop
my | CREATE TABLE `Order` (`id` int) ENGINE=InnoDB | +Table "Order"
pg | CREATE TABLE "we""ird" (a int) | +Table "we"ird"
pg | CREATE TABLE tête (a int) | +Table tête
pg | CREATE INDEX ON t (a) || CREATE SCHEMA AUTHORIZATION joe || CREATE TABLE a.b.c (x int) || CREATE TABLE | U
pg | DROP TABLE a, app.b CASCADE | -Table a; -Table app.b
pg | DROP MATERIALIZED VIEW mv | -View mv
pg | DROP INDEX CONCURRENTLY app.ix | -Index app.ix
my | DROP INDEX ix ON t | -Index ix on t
pg | DROP SEQUENCE s RESTRICT | -Sequence s
pg | DROP TYPE mood, pos | -Type mood; -Type pos
pg | DROP DOMAIN pos | -Type pos
pg | DROP FUNCTION f(int, text), g | -Function f; -Function g
ms | DROP PROCEDURE dbo.p | -Procedure dbo.p
pg | DROP TRIGGER tr ON t | -Trigger tr on t
my | DROP TRIGGER tr | -Trigger tr
pg | DROP SCHEMA app CASCADE | -Schema app
my | DROP DATABASE shop | -Database shop
pg | DROP TABLE a b || DROP TRIGGER tr || DROP INDEX ix ON t ON u | U
my | DROP INDEX ix | U
pg | ALTER TABLE ONLY app.t ADD COLUMN a int NOT NULL DEFAULT 0, DROP b CASCADE | +Column a on app.t; -Column b on app.t
pg | ALTER TABLE t ADD a text DEFAULT 'x, y', ADD COLUMN b numeric(10, 2) | +Column a on t; +Column b on t
pg | ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN b | -Column b on t
pg | ALTER TABLE IF EXISTS t RENAME COLUMN a TO b | ~Column a > b on t
pg | ALTER TABLE t RENAME a TO "B" | ~Column a > "B" on t
pg | ALTER TABLE app.t RENAME TO u | ~Table app.t > app.u
my | ALTER TABLE shop.t RENAME TO u | ~Table shop.t > u
pg | ALTER TABLE t RENAME CONSTRAINT a TO b | ~Constraint a > b on t
pg | ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) ON DELETE CASCADE | +Constraint fk on t
pg | ALTER TABLE t DROP CONSTRAINT IF EXISTS ck, DROP CONSTRAINT ck2 | -Constraint ck2 on t
pg | ALTER TABLE t ALTER COLUMN a SET NOT NULL || ALTER TABLE t ADD COLUMN b int, ALTER COLUMN a DROP DEFAULT | U
pg | ALTER TABLE t ADD PRIMARY KEY (a) || ALTER TABLE t ADD CHECK (a > 0) | U
pg | ALTER TABLE t ADD COLUMN a int, RENAME TO u | U
my | ALTER TABLE t ADD c INT, ADD INDEX i (c), LOCK=NONE | +Column c on t; +Index i on t
my | ALTER TABLE t ADD UNIQUE KEY k (c), ALGORITHM=COPY | +Index k on t
my | ALTER TABLE t ADD FULLTEXT f (d), ADD SPATIAL INDEX s (g) | +Index f on t; +Index s on t
my | ALTER TABLE t ADD UNIQUE u (c) | +Index u on t
my | ALTER TABLE t DROP INDEX ix, DROP KEY k | -Index ix on t; -Index k on t
my | ALTER TABLE t DROP FOREIGN KEY fk, DROP CHECK ck | -Constraint fk on t; -Constraint ck on t
my | ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) | +Constraint fk on t
my | ALTER TABLE `t` CHANGE COLUMN `a` `b` INT NOT NULL | ~Column "a" > "b" on "t"
my | ALTER TABLE t RENAME INDEX a TO b | ~Index a > b on t
my | ALTER TABLE t CHANGE a A BIGINT || ALTER TABLE t MODIFY a BIGINT || ALTER TABLE t ADD INDEX (a) | U
my | ALTER TABLE t ADD FOREIGN KEY fk (a) REFERENCES p (id) || ALTER TABLE t DROP PRIMARY KEY | U
my | RENAME TABLE a TO b, shop.c TO shop.d | ~Table a > b; ~Table shop.c > shop.d
pg | ALTER INDEX app.a RENAME TO b | ~Index app.a > app.b
pg | ALTER SEQUENCE IF EXISTS s RENAME TO s2 | ~Sequence s > s2
pg | ALTER MATERIALIZED VIEW v RENAME TO w | ~View v > w
pg | ALTER INDEX ix SET TABLESPACE fast || ALTER VIEW v RENAME COLUMN a TO b | U
ms | CREATE TABLE [dbo].[Order] ([id] int NOT NULL) ON [PRIMARY] | +Table "dbo"."Order"
ms | CREATE TABLE t (a int); | +Table t
ms | ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p ON DELETE SET NULL | +Constraint f on t
ms | ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p ON UPDATE CASCADE | +Constraint f on t
ms | CREATE INDEX ix ON dbo.t (a) INCLUDE (b) WHERE b IS NOT NULL WITH (ONLINE = ON) | +Index ix on dbo.t
ms | DROP INDEX ix ON dbo.t | -Index ix on dbo.t
ms | CREATE TABLE t (a int)\nINSERT INTO t VALUES (1) || CREATE TABLE t (a int); SELECT 1 | U
ms | SET NOCOUNT ON DELETE FROM t | U
ms | DROP TABLE IF EXISTS t\nCREATE TABLE t (a int) || ALTER TABLE t DROP COLUMN c\nEXEC sp_refreshview 'v' | U
ms | ALTER TABLE t ADD c int, d int || IF OBJECT_ID('t') IS NULL CREATE TABLE t (a int) | U
ms | CREATE SCHEMA app CREATE TABLE t (a int) || CREATE TRIGGER tr ON DATABASE FOR CREATE_TABLE AS PRINT 'x' | U
pg | -- add it\n/* outer /* nested */ still */ CREATE TABLE t (a int) | +Table t
my | # note\n/* c */ CREATE TABLE t (a int) | +Table t
pg | /* unterminated CREATE TABLE t (a int) || CREATE || INSERT INTO t VALUES (1) || UPDATE t SET a = 1 | U
pg | DELETE FROM t | U
pg | MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE || COPY t FROM STDIN || CALL p() || FROBNICATE t | U
pg | DO $$ BEGIN CREATE TABLE t (); END $$ | U
ms | EXEC sp_rename 't.a', 'b', 'COLUMN' | U
pg |  | U
"#;

/// `who | statement [|| statement ...] | yes or no`: `pg` at 16.0, `pg11` at 11, `lite` for SQLite.
const AUTOCOMMIT: &str = r#"
pg | CREATE INDEX CONCURRENTLY ix ON t (a) || create unique index concurrently ix on t (a) | yes
pg | DROP INDEX CONCURRENTLY ix | yes
pg | REINDEX TABLE CONCURRENTLY t || REINDEX (CONCURRENTLY) INDEX i || REINDEX (VERBOSE) DATABASE d | yes
pg | REINDEX SYSTEM d | yes
pg | ALTER TABLE p DETACH PARTITION c CONCURRENTLY || VACUUM || -- c\n/* d */ vacuum t || ALTER SYSTEM SET x = 1 | yes
pg | CREATE DATABASE d || DROP DATABASE d || ALTER DATABASE d SET TABLESPACE fast | yes
pg | CREATE TABLESPACE fast LOCATION '/x' || DROP TABLESPACE fast | yes
pg | CREATE SUBSCRIPTION s CONNECTION '' PUBLICATION p || DROP SUBSCRIPTION s | yes
pg | ALTER SUBSCRIPTION s REFRESH PUBLICATION || ALTER SUBSCRIPTION s SET PUBLICATION p | yes
pg | CLUSTER || CLUSTER VERBOSE || DISCARD ALL || CALL p() || DO $$ BEGIN UPDATE t SET a = 1; commit; END $$ | yes
pg | BEGIN || START TRANSACTION || COMMIT || END || ROLLBACK || ABORT || SAVEPOINT a || RELEASE a | yes
pg | PREPARE TRANSACTION 'x' || COMMIT PREPARED 'x' || ROLLBACK PREPARED 'x' | yes
pg11 | ALTER TYPE m ADD VALUE 'x' | yes
pg | ALTER TYPE m ADD VALUE 'x' || CREATE TABLE concurrently_log (a int) || SELECT 'VACUUM' || -- VACUUM\nSELECT 1 | no
pg | CREATE INDEX ix ON t (a) || REINDEX TABLE t || CLUSTER t || DISCARD PLANS || PREPARE q AS SELECT 1 | no
pg | ALTER DATABASE d SET work_mem = '1MB' || ALTER TABLE p DETACH PARTITION c | no
pg | DO $$ BEGIN PERFORM committed(); END $$ || ALTER TABLE t ADD COLUMN "concurrently" int | no
lite | VACUUM || PRAGMA journal_mode = WAL || ATTACH 'f.db' AS f || DETACH f || -- c\npragma x | yes
lite | BEGIN || COMMIT || END || ROLLBACK || SAVEPOINT s || RELEASE s | yes
lite | CREATE TABLE vacuum_log (a) || SELECT 1 | no
"#;

/// Each statement of a table, with its row's first and last cell.
fn rows(table: &'static str) -> Vec<(&'static str, String, &'static str)> {
    let mut rows = Vec::new();
    for cells in table.lines().filter(|line| !line.is_empty()).map(|line| line.split(" | ").collect::<Vec<_>>()) {
        for sql in cells[1].split(" || ") {
            rows.push((cells[0], sql.replace("\\n", "\n"), cells[2]));
        }
    }
    rows
}

#[test]
fn sql_server_statements_that_refuse_a_transaction() {
    for refused in [
        "ALTER DATABASE app SET RECOVERY SIMPLE",
        "create fulltext catalog c",
        "BACKUP DATABASE app TO DISK = 'x'",
        "DROP FULLTEXT INDEX ON t",
    ] {
        assert!(sqlserver_needs_autocommit(refused), "{refused}");
    }
    for fine in ["CREATE TABLE t (id int)", "ALTER TABLE t ADD c int", "DROP INDEX ix ON t"] {
        assert!(!sqlserver_needs_autocommit(fine), "{fine}");
    }
}

#[test]
fn effects() {
    for (flavor, sql, expected) in rows(EFFECTS) {
        let flavor = match flavor {
            "pg" => Flavor::Postgres,
            "my" => Flavor::MySql,
            "ms" => Flavor::SqlServer,
            _ => Flavor::Sqlite,
        };
        assert_eq!(show(&effect(&sql, flavor)), expected, "{flavor:?}: {sql}");
    }
}

#[test]
fn names_keep_quotes_and_schemas() {
    let ident = |text: &str, quoted| Ident { text: text.into(), quoted };
    let table = Some(Name { schema: Some(ident("public", false)), name: ident("t", false) });
    let index = Object { kind: ObjectKind::Index, name: Name { schema: None, name: ident("Ix", true) }, table };
    let sql = r#"CREATE INDEX CONCURRENTLY "Ix" ON public.t (a)"#;
    assert_eq!(effect(sql, Flavor::Postgres), Effect::Changes(vec![Change::Creates(index)]));
}

#[test]
fn autocommit_classes() {
    for (who, sql, expected) in rows(AUTOCOMMIT) {
        let needs = match who {
            "pg" => postgres_needs_autocommit(&sql, 160000),
            "pg11" => postgres_needs_autocommit(&sql, 110000),
            _ => sqlite_needs_autocommit(&sql),
        };
        assert_eq!(needs, expected == "yes", "{who}: {sql}");
    }
}

#[test]
fn mysql_shares_data_changes_and_selects() {
    // The cases the MySQL driver's own keyword reader was tested with.
    assert!(mysql_shares_transaction("  /* a */ -- b\n# c\nselect 1"));
    assert!(mysql_shares_transaction("INSERT INTO t VALUES (1)"));
    assert!(!mysql_shares_transaction("CREATE TABLE t (id int)"));
    assert!(!mysql_shares_transaction("/* unterminated"));
}

#[test]
fn data_changes_are_recognised() {
    assert!(is_data_change("UPDATE t SET x = 1"));
    assert!(is_data_change("  /* hint */ insert into t values (1)"));
    assert!(is_data_change("-- note\n# more\nINSERT INTO t VALUES (1)"));
    assert!(is_data_change("WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved"));
    assert!(!is_data_change("CREATE INDEX CONCURRENTLY ix ON t (x)"));
    assert!(!is_data_change("ALTER TABLE t ADD COLUMN y int"));
    assert!(!is_data_change("/* unterminated"));
    assert!(!is_data_change("-- INSERT"));
}

#[test]
fn never_panics_on_prefixes() {
    let odd = "'\n\"\n`\n[\n$\n$$\n$a$ x\n$1\nE'\\\n/* /*\n--\n#\n(((\n)))\né(ü'x\n\u{a0}é";
    let statements = rows(EFFECTS).into_iter().chain(rows(AUTOCOMMIT)).map(|(_, sql, _)| sql);
    for sql in statements.chain(odd.lines().map(String::from)) {
        for prefix in (0..=sql.len()).filter_map(|end| sql.get(..end)) {
            for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite] {
                effect(prefix, flavor);
            }
            let _ =
                (postgres_needs_autocommit(prefix, 110000), sqlite_needs_autocommit(prefix), is_data_change(prefix));
        }
    }
}
