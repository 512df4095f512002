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
use retort_engine::session;
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
    /// Reads `TABLE.OLD:NEW` (`SCHEMA.TABLE.OLD:NEW`).
    pub fn parse(spec: &str, column_type: Option<String>, batch_size: u32) -> Result<Rename> {
        let bad = || Error::Usage(format!("--rename-column {spec}: expected TABLE.OLD:NEW"));
        let (column, new) = spec.split_once(':').ok_or_else(bad)?;
        let (table, old) = column.rsplit_once('.').ok_or_else(bad)?;
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if !(word(table) && word(old) && word(new)) || old.contains('.') || new.contains('.') || old == new {
            return Err(bad());
        }
        if batch_size == 0 {
            return Err(Error::Usage("--batch-size must be at least 1".into()));
        }
        Ok(Rename { table: table.into(), old: old.into(), new: new.into(), column_type, batch_size })
    }

    /// The name of the sync function and triggers: `retort_sync_<table>_<old>_<new>`.
    fn sync_name(&self) -> String {
        let table = self.table.rsplit('.').next().unwrap_or_default();
        format!("retort_sync_{table}_{}_{}", self.old, self.new)
    }
}

/// Writes the three phases into the selected history; returns them in order.
pub async fn rename_column(workspace: &Workspace, rename: &Rename) -> Result<Vec<Written>> {
    let db = workspace.single()?;
    let graph = workspace.graph(&db)?;
    let fleet = workspace.config.fleets.iter().find(|f| f.name == db.name);
    let url = fleet.map_or(&db.connection.url, |f| &f.url_template);
    let driver = workspace.drivers.for_url(&db.name, url)?;
    let flavor = driver.dialect().flavor();
    if !matches!(flavor, Flavor::Postgres | Flavor::MySql) {
        return Err(Error::Usage(format!(
            "{}: --rename-column writes PostgreSQL or MySQL/MariaDB triggers; this target is {}",
            label(&db),
            driver.name()
        )));
    }
    let column = match (&rename.column_type, fleet) {
        (Some(given), _) => Column { sql_type: given.clone(), not_null: false },
        (None, Some(_)) => {
            return Err(Error::Usage(format!(
                "{}: a fleet's column type cannot be read; give --column-type",
                label(&db)
            )));
        }
        (None, None) => read_column_type(workspace, &db, flavor, rename).await?,
    };
    let phases = phases(&graph, &db, rename)?;
    let sql = PhaseSql::new(flavor, rename, &column);
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
    Ok(written)
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
    contract.allow = vec!["drop-column".into()];
    let mut all = graph.revisions().to_vec();
    all.extend([expand.clone(), backfill.clone(), contract.clone()]);
    Graph::new(all).map_err(|cause| Error::Graph { context: label(db), cause })?;
    Ok([expand, backfill, contract])
}

/// The old column as the contract's downgrade must bring it back.
struct Column {
    sql_type: String,
    not_null: bool,
}

/// The type and nullability of `rename.old`, read from the selected database
/// (creating nothing).
async fn read_column_type(workspace: &Workspace, db: &Database, flavor: Flavor, rename: &Rename) -> Result<Column> {
    let (schema, table) = match rename.table.rsplit_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, rename.table.as_str()),
    };
    let (t, c) = (quote_literal(table), quote_literal(&rename.old));
    let sql = match flavor {
        Flavor::Postgres => {
            let reg = quote_literal(&rename.table);
            format!(
                "SELECT format_type(atttypid, atttypmod), attnotnull::text FROM pg_attribute \
                 WHERE attrelid = to_regclass({reg}) AND attname = {c} AND NOT attisdropped"
            )
        }
        _ => {
            let schema = schema.map_or("DATABASE()".to_string(), quote_literal);
            format!(
                "SELECT COLUMN_TYPE, IF(IS_NULLABLE = 'NO', 'true', 'false') FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {t} AND COLUMN_NAME = {c}"
            )
        }
    };
    let driver = workspace.drivers.for_url(&db.name, &db.connection.url)?;
    let unreadable = |why: String| {
        Error::Unreachable(format!(
            "{}: cannot read the type of {}.{} ({why}); give it with --column-type",
            label(db),
            rename.table,
            rename.old
        ))
    };
    let mut conn = session::open(driver.as_ref(), &workspace.connect_options(db, false))
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let rows = conn.query(&sql).await.map_err(|e| unreadable(e.to_string()));
    let _ = conn.close().await;
    let row = rows?
        .into_iter()
        .next()
        .ok_or_else(|| unreadable(format!("the database `{}` has no such column; upgrade it first", db.name)))?;
    let mut cells = row.into_iter().map(Option::unwrap_or_default);
    let sql_type = cells.next().unwrap_or_default();
    Ok(Column { sql_type, not_null: cells.next().is_some_and(|n| n == "true") })
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
        let (t, old, new, f, batch) = (&r.table, &r.old, &r.new, r.sync_name(), r.batch_size);
        let column_type = &column.sql_type;
        let keep = "-- The copy stays: expand's downgrade drops the column.\nSELECT 1;".to_string();
        if flavor == Flavor::Postgres {
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
            PhaseSql {
                expand_up: format!("ALTER TABLE {t} ADD COLUMN {new} {column_type};\n\n{sync}"),
                expand_down: format!("{unsync}\nALTER TABLE {t} DROP COLUMN {new};"),
                backfill_up: format!(
                    "-- Batches of {batch} rows, each committed: a killed run resumes with the rows still to copy.\n\
                     DO $$\nDECLARE\n    done bigint;\nBEGIN\n    LOOP\n        UPDATE {t} SET {new} = {old}\n        \
                     WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {new} IS DISTINCT FROM {old} LIMIT {batch}));\n        \
                     GET DIAGNOSTICS done = ROW_COUNT;\n        EXIT WHEN done = 0;\n        COMMIT;\n    END LOOP;\nEND\n$$;"
                ),
                backfill_down: keep,
                contract_up: format!("{unsync}\nALTER TABLE {t} DROP COLUMN {old};"),
                contract_down: format!(
                    "ALTER TABLE {t} ADD COLUMN {old} {column_type};\nUPDATE {t} SET {old} = {new};\n{}\n{sync}",
                    if column.not_null {
                        format!("ALTER TABLE {t} ALTER COLUMN {old} SET NOT NULL;\n")
                    } else {
                        String::new()
                    }
                ),
            }
        } else {
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
                backfill_down: keep,
                contract_up: format!("{unsync}\nALTER TABLE {t} DROP COLUMN {old};"),
                contract_down: format!(
                    "ALTER TABLE {t} ADD COLUMN {old} {column_type};\nUPDATE {t} SET {old} = {new};\n{}\n{sync}",
                    if column.not_null {
                        format!("ALTER TABLE {t} MODIFY {old} {column_type} NOT NULL;\n")
                    } else {
                        String::new()
                    }
                ),
            }
        }
    }
}
