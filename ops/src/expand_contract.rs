//! `retort revision --rename-column TABLE.OLD:NEW`: a column rename as the three
//! phases that keep a live application working while it rolls out
//! (`docs/expand-contract.md`):
//!
//! - **expand** (branch `expand`): adds the new column and triggers that keep both
//!   columns equal whichever one a writer uses (PostgreSQL: a PL/pgSQL function
//!   and a `BEFORE INSERT OR UPDATE` trigger; MySQL/MariaDB: `BEFORE INSERT` and
//!   `BEFORE UPDATE` triggers);
//! - **backfill** (after expand, non-transactional, `Idempotent: true`): copies
//!   the old column into the new one in batches, each committed, so that a killed
//!   run resumes where it stopped;
//! - **contract** (branch `contract`, depending on the backfill): drops the
//!   triggers and the old column.
//!
//! `retort upgrade expand@head` before the rollout, `retort upgrade contract@head`
//! after it. Each phase's downgrade gives back the state before it.

use retort_config::Database;
use retort_engine::driver::quote_literal;
use retort_engine::split::Flavor;
use retort_history::author::{self, NewRevision};
use retort_history::graph::Graph;
use retort_history::revision::Revision;
use retort_history::script::{self, sql};

use crate::authoring::Written;
use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

/// What to rename, and how the phases are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    /// `table` or `schema.table`, as SQL writes it.
    pub table: String,
    pub old: String,
    pub new: String,
    /// The column's type; read from the selected database when not given.
    pub column_type: Option<String>,
    /// Rows per committed batch of the backfill.
    pub batch_size: u32,
}

impl Rename {
    /// Reads `TABLE.OLD:NEW` (`SCHEMA.TABLE.OLD:NEW`). Names are unquoted SQL
    /// identifiers (letters, digits and `_`, not starting with a digit), folded as
    /// the database folds them; quoted names are not supported.
    pub fn parse(spec: &str, column_type: Option<String>, batch_size: u32) -> Result<Rename> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "--rename-column {spec}: {why}; expected TABLE.OLD:NEW with unquoted names (letters, digits, _)"
            ))
        };
        let (column, new) = spec.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let (table, old) = column.rsplit_once('.').ok_or_else(|| bad("no `.` between table and column"))?;
        let ident = |w: &str| {
            w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let parts = table.split('.').count();
        if !(ident(old) && ident(new) && table.split('.').all(ident)) || parts > 2 {
            return Err(bad("not a name"));
        }
        if old.eq_ignore_ascii_case(new) {
            return Err(bad("the old and the new name are the same column"));
        }
        if batch_size == 0 {
            return Err(Error::Usage("--batch-size must be at least 1".into()));
        }
        Ok(Rename { table: table.into(), old: old.into(), new: new.into(), column_type, batch_size })
    }

    /// The name of the sync function and triggers: `retort_sync_<table>_<old>_<new>`,
    /// cut to 48 characters with a hash of the whole when longer (suffixes such as
    /// `_backfill` must stay within PostgreSQL's 63 and MySQL's 64).
    fn sync_name(&self) -> String {
        let table = self.table.rsplit('.').next().unwrap_or_default();
        let name = format!("retort_sync_{table}_{}_{}", self.old, self.new);
        if name.len() <= 48 {
            return name;
        }
        let hash = retort_engine::driver::fnv1a(name.bytes()) as u32;
        format!("{}_{hash:08x}", &name[..39])
    }

    /// `name` in the table's schema, for MySQL's triggers and procedures.
    fn in_schema(&self, name: &str) -> String {
        match self.table.rsplit_once('.') {
            Some((schema, _)) => format!("{schema}.{name}"),
            None => name.to_string(),
        }
    }
}

/// The phases written, in order, and what the user must do by hand.
#[derive(Debug, Clone)]
pub struct Renamed {
    pub written: Vec<Written>,
    /// E.g. indexes on the old column, which the phases do not copy.
    pub notes: Vec<String>,
}

/// Writes the three phases into the selected history.
pub async fn rename_column(workspace: &Workspace, rename: &Rename) -> Result<Renamed> {
    let db = workspace.single()?;
    let graph = workspace.graph(&db)?;
    let fleet = workspace.config.fleets.iter().find(|f| f.name == db.name);
    let driver = workspace.history_driver(&db)?;
    let flavor = driver.dialect().flavor();
    if !matches!(flavor, Flavor::Postgres | Flavor::MySql) {
        return Err(Error::Usage(format!(
            "{}: --rename-column writes PostgreSQL or MySQL/MariaDB triggers; this target is {}",
            label(&db),
            driver.name()
        )));
    }
    let (column, indexes) = match (&rename.column_type, fleet) {
        (Some(given), _) => (Column { sql_type: given.clone(), not_null: false, default: None }, Vec::new()),
        (None, Some(_)) => {
            return Err(Error::Usage(format!(
                "{}: a fleet's column type cannot be read; give --column-type",
                label(&db)
            )));
        }
        (None, None) => read_column(workspace, &db, flavor, rename).await?,
    };
    let phases = phases(&graph, &db, rename)?;
    let mut sql = PhaseSql::new(flavor, rename, &column);
    let mut notes = Vec::new();
    if !indexes.is_empty() {
        let note = format!(
            "indexes on {}.{} are not copied ({}): create the same on {} in a revision of its own between the \
             backfill and contract (CREATE INDEX CONCURRENTLY on PostgreSQL)",
            rename.table,
            rename.old,
            indexes.join(", "),
            rename.new
        );
        sql.expand_up = format!("-- Note: {note}.\n{}", sql.expand_up);
        notes.push(note);
    }
    if flavor == Flavor::MySql && column.not_null {
        notes.push(format!("the default of {}.{}, if any, is not copied to {}", rename.table, rename.old, rename.new));
    }
    let bodies = [
        (&sql.expand_up, &sql.expand_down),
        (&sql.backfill_up, &sql.backfill_down),
        (&sql.contract_up, &sql.contract_down),
    ];
    let mut written = Vec::new();
    for (rev, (up, down)) in phases.iter().zip(bodies) {
        std::fs::write(&rev.path, sql::render(rev, up, down))
            .map_err(|cause| Error::Write { path: rev.path.display().to_string(), cause })?;
        written.push(Written { revision: rev.id.clone(), path: rev.path.clone() });
    }
    Ok(Renamed { written, notes })
}

/// The three revisions' headers: expand on `expand@head` (or the head, starting
/// the `expand` branch), the backfill after it, contract on `contract@head` (or
/// where expand attached, starting the `contract` branch) depending on the
/// backfill.
fn phases(graph: &Graph, db: &Database, rename: &Rename) -> Result<[Revision; 3]> {
    let what = format!("{}.{} to {}", rename.table, rename.old, rename.new);
    let dir = db.history.version_locations[0].clone();
    let new_branch = |branch: &str| graph.label_owner(branch).is_none();
    let attach = |branch: &str| if new_branch(branch) { "head".to_string() } else { format!("{branch}@head") };
    let request = |branch: &str, message: String| NewRevision {
        message,
        heads: vec![attach(branch)],
        branch_labels: if new_branch(branch) { vec![branch.to_string()] } else { vec![] },
        transactional: true,
        ..Default::default()
    };
    let phase = |branch: &str, message: String| {
        author::new_revision(graph, &request(branch, message), &dir).map_err(Error::author(label(db)))
    };
    let expand = phase("expand", format!("expand: rename {what}"))?;
    let mut contract = phase("contract", format!("contract: rename {what}"))?;
    let backfill_id = author::random_id();
    let message = format!("backfill: rename {what}");
    let backfill = Revision {
        path: dir.join(script::file_name(&backfill_id, &message)),
        id: backfill_id,
        down_revisions: vec![expand.id.clone()],
        branch_labels: vec![],
        message,
        transactional: false,
        idempotent: true,
        ..expand.clone()
    };
    contract.depends_on = vec![backfill.id.clone()];
    // What contract does on purpose: drop the old column, make the new one as strict.
    contract.allow = ["drop-column", "set-not-null", "alter-without-algorithm"].map(String::from).to_vec();
    let mut all = graph.revisions().to_vec();
    all.extend([expand.clone(), backfill.clone(), contract.clone()]);
    Graph::new(all).map_err(|cause| Error::Graph { context: label(db), cause })?;
    Ok([expand, backfill, contract])
}

/// The old column as the new one must end up, and the contract's downgrade
/// must bring it back.
struct Column {
    sql_type: String,
    not_null: bool,
    /// Its default expression (PostgreSQL).
    default: Option<String>,
}

/// What the selected database says of the old column, read without creating
/// anything: its type, `NOT NULL` and default, and the indexes on it (which the
/// phases do not copy; the caller says so). Refuses a new name already in use.
async fn read_column(
    workspace: &Workspace,
    db: &Database,
    flavor: Flavor,
    rename: &Rename,
) -> Result<(Column, Vec<String>)> {
    let unreadable = |why: String| {
        Error::Unreachable(format!(
            "{}: cannot read {}.{} ({why}); give its type with --column-type",
            label(db),
            rename.table,
            rename.old
        ))
    };
    let (schema, table) = match rename.table.rsplit_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, rename.table.as_str()),
    };
    // Names are unquoted identifiers: PostgreSQL folds them to lower case.
    let fold = |name: &str| if flavor == Flavor::Postgres { name.to_ascii_lowercase() } else { name.to_string() };
    let (t, old, new) =
        (quote_literal(&fold(table)), quote_literal(&fold(&rename.old)), quote_literal(&fold(&rename.new)));
    let (columns, indexes) = match flavor {
        Flavor::Postgres => {
            let reg = quote_literal(&fold(&rename.table));
            (
                format!(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull::text, \
                     pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a \
                     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                     WHERE a.attrelid = to_regclass({reg}) AND a.attname IN ({old}, {new}) AND NOT a.attisdropped"
                ),
                format!(
                    "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a \
                     ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = to_regclass({reg}) AND a.attname = {old}"
                ),
            )
        }
        _ => {
            let schema = schema.map_or("DATABASE()".to_string(), quote_literal);
            (
                format!(
                    "SELECT COLUMN_NAME, COLUMN_TYPE, IF(IS_NULLABLE = 'NO', 'true', 'false'), NULL \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {t} \
                     AND COLUMN_NAME IN ({old}, {new})"
                ),
                format!(
                    "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {schema} \
                     AND TABLE_NAME = {t} AND COLUMN_NAME = {old}"
                ),
            )
        }
    };
    let (mut conn, _) = workspace.open_read_only(db).await.map_err(|e| unreadable(e.to_string()))?;
    let read = async {
        Ok::<_, retort_engine::driver::DriverError>((conn.query(&columns).await?, conn.query(&indexes).await?))
    };
    let read = read.await;
    let _ = conn.close().await;
    let (columns, indexes) = read.map_err(|e| unreadable(e.to_string()))?;
    let named = |name: &str| columns.iter().find(|r| r[0].as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    if named(&rename.new).is_some() {
        return Err(Error::Usage(format!("{}: {} already has a column {}", label(db), rename.table, rename.new)));
    }
    let row = named(&rename.old)
        .ok_or_else(|| unreadable(format!("the database `{}` has no such column; upgrade it first", db.name)))?;
    let cell = |i: usize| row.get(i).cloned().flatten();
    let column = Column {
        sql_type: cell(1).unwrap_or_default(),
        not_null: cell(2).is_some_and(|n| n == "true"),
        default: cell(3),
    };
    Ok((column, indexes.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()))
}

/// The upgrade and downgrade bodies of the three phases in one dialect.
struct PhaseSql {
    expand_up: String,
    expand_down: String,
    backfill_up: String,
    backfill_down: String,
    contract_up: String,
    contract_down: String,
}

impl PhaseSql {
    fn new(flavor: Flavor, r: &Rename, column: &Column) -> PhaseSql {
        match flavor {
            Flavor::Postgres => PhaseSql::postgres(r, column),
            _ => PhaseSql::mysql(r, column),
        }
    }

    fn postgres(r: &Rename, column: &Column) -> PhaseSql {
        let (t, old, new, f, batch) = (&r.table, &r.old, &r.new, r.sync_name(), r.batch_size);
        let column_type = &column.sql_type;
        let sync = format!(
            "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    \
             IF TG_OP = 'INSERT' THEN\n        IF NEW.{new} IS NULL THEN\n            NEW.{new} := NEW.{old};\n        \
             ELSIF NEW.{old} IS NULL THEN\n            NEW.{old} := NEW.{new};\n        END IF;\n    \
             ELSIF NEW.{new} IS DISTINCT FROM OLD.{new} THEN\n        NEW.{old} := NEW.{new};\n    \
             ELSIF NEW.{old} IS DISTINCT FROM OLD.{old} THEN\n        NEW.{new} := NEW.{old};\n    END IF;\n    \
             RETURN NEW;\nEND\n$$;\n\n\
             CREATE TRIGGER {f} BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {f}();"
        );
        let unsync = format!("DROP TRIGGER {f} ON {t};\nDROP FUNCTION {f}();");
        // The new column ends as strict as the old one was, and goes back on downgrade.
        let (mut strict, mut lax) = (String::new(), String::new());
        let mut default = String::new();
        if let Some(d) = &column.default {
            strict.push_str(&format!("ALTER TABLE {t} ALTER COLUMN {new} SET DEFAULT {d};\n"));
            lax.push_str(&format!("ALTER TABLE {t} ALTER COLUMN {new} DROP DEFAULT;\n"));
            default = format!(" DEFAULT {d}");
        }
        if column.not_null {
            strict.push_str(&format!("ALTER TABLE {t} ALTER COLUMN {new} SET NOT NULL;\n"));
            lax.push_str(&format!("ALTER TABLE {t} ALTER COLUMN {old} SET NOT NULL;\n"));
            lax.push_str(&format!("ALTER TABLE {t} ALTER COLUMN {new} DROP NOT NULL;\n"));
        }
        PhaseSql {
            expand_up: format!("ALTER TABLE {t} ADD COLUMN {new} {column_type};\n\n{sync}"),
            expand_down: format!("{unsync}\nALTER TABLE {t} DROP COLUMN {new};"),
            backfill_up: format!(
                "-- Batches of {batch} rows, each committed: a killed run resumes with the rows still to copy.\n\
                 DO $$\nDECLARE\n    done bigint;\nBEGIN\n    LOOP\n        UPDATE {t} SET {new} = {old}\n        \
                 WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {new} IS DISTINCT FROM {old} LIMIT {batch}));\n        \
                 GET DIAGNOSTICS done = ROW_COUNT;\n        EXIT WHEN done = 0;\n        COMMIT;\n    END LOOP;\nEND\n$$;"
            ),
            backfill_down: KEEP_COPY.into(),
            contract_up: format!("{unsync}\n{strict}ALTER TABLE {t} DROP COLUMN {old};"),
            contract_down: format!(
                "ALTER TABLE {t} ADD COLUMN {old} {column_type}{default};\nUPDATE {t} SET {old} = {new};\n{lax}\n{sync}"
            ),
        }
    }

    fn mysql(r: &Rename, column: &Column) -> PhaseSql {
        let (t, old, new, batch) = (&r.table, &r.old, &r.new, r.batch_size);
        let f = r.in_schema(&r.sync_name());
        let column_type = &column.sql_type;
        let sync = format!(
            "DELIMITER //\n\
             CREATE TRIGGER {f}_ins BEFORE INSERT ON {t} FOR EACH ROW\nBEGIN\n    \
             IF NEW.{new} IS NULL THEN\n        SET NEW.{new} = NEW.{old};\n    \
             ELSEIF NEW.{old} IS NULL THEN\n        SET NEW.{old} = NEW.{new};\n    END IF;\nEND//\n\
             CREATE TRIGGER {f}_upd BEFORE UPDATE ON {t} FOR EACH ROW\nBEGIN\n    \
             IF NOT (NEW.{new} <=> OLD.{new}) THEN\n        SET NEW.{old} = NEW.{new};\n    \
             ELSEIF NOT (NEW.{old} <=> OLD.{old}) THEN\n        SET NEW.{new} = NEW.{old};\n    END IF;\nEND//\n\
             DELIMITER ;"
        );
        let unsync = format!("DROP TRIGGER {f}_ins;\nDROP TRIGGER {f}_upd;");
        let (strict, lax) = match column.not_null {
            true => (
                format!("ALTER TABLE {t} MODIFY {new} {column_type} NOT NULL;\n"),
                format!(
                    "ALTER TABLE {t} MODIFY {old} {column_type} NOT NULL;\nALTER TABLE {t} MODIFY {new} {column_type} NULL;\n"
                ),
            ),
            false => (String::new(), String::new()),
        };
        PhaseSql {
            expand_up: format!("ALTER TABLE {t} ADD COLUMN {new} {column_type};\n\n{sync}"),
            expand_down: format!("{unsync}\nALTER TABLE {t} DROP COLUMN {new};"),
            backfill_up: format!(
                "-- Batches of {batch} rows, each committed: a killed run resumes with the rows still to copy.\n\
                 DROP PROCEDURE IF EXISTS {f}_backfill;\nDELIMITER //\n\
                 CREATE PROCEDURE IF NOT EXISTS {f}_backfill()\nBEGIN\n    REPEAT\n        \
                 UPDATE {t} SET {new} = {old} WHERE NOT ({new} <=> {old}) LIMIT {batch};\n    \
                 UNTIL ROW_COUNT() = 0 END REPEAT;\nEND//\nDELIMITER ;\n\
                 CALL {f}_backfill();\nDROP PROCEDURE IF EXISTS {f}_backfill;"
            ),
            backfill_down: KEEP_COPY.into(),
            contract_up: format!("{unsync}\n{strict}ALTER TABLE {t} DROP COLUMN {old};"),
            contract_down: format!(
                "ALTER TABLE {t} ADD COLUMN {old} {column_type};\nUPDATE {t} SET {old} = {new};\n{lax}\n{sync}"
            ),
        }
    }
}

/// The backfill's downgrade: the copy goes with the column.
const KEEP_COPY: &str = "-- The copy stays: expand's downgrade drops the column.\nSELECT 1;";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rename_specs() {
        let r = Rename::parse("app.people.name:full_name", None, 10).unwrap();
        assert_eq!((r.table.as_str(), r.old.as_str(), r.new.as_str()), ("app.people", "name", "full_name"));
        for bad in ["t.a", "a:b", "t.a:a", "t.a:A", "t.1a:b", "t.a:b c", "\"T\".a:b", "x.y.z.a:b", ".a:b"] {
            assert!(Rename::parse(bad, None, 10).is_err(), "{bad}");
        }
        assert!(Rename::parse("t.a:b", None, 0).is_err());
        let long = Rename::parse("a_rather_long_table_name.a_long_column:another_long_column", None, 1).unwrap();
        assert!(long.sync_name().len() <= 48, "{}", long.sync_name());
    }
}
