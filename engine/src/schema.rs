//! Schema snapshots: what a database's catalog holds (tables, columns with their
//! types, defaults and nullability, indexes, constraints, triggers, views; on
//! PostgreSQL also enum types and functions), as sorted lines of text, so that
//! two states compare with `==` and differ line by line. `retort test` compares
//! them between the orders a merge's branches can run in, and around each
//! revision's downgrade. Column order is left out: branches adding columns in
//! another order give the same schema.

use crate::driver::{Connection, DriverError};
use crate::split::Flavor;

/// `(object, line)` queries per dialect; the object (a table, or a type or
/// function name) decides whether the line is one of retort's own tables.
fn queries(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Postgres => &[
            "SELECT table_name::text, 'column ' || table_name || '.' || column_name || ' ' || data_type \
             || coalesce('(' || character_maximum_length || ')', '') \
             || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || column_default, '') \
             FROM information_schema.columns WHERE table_schema = current_schema()",
            "SELECT tablename::text, 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()",
            "SELECT conrelid::regclass::text, 'constraint ' || conrelid::regclass::text || '.' || conname || ' ' \
             || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace AND conrelid <> 0",
            "SELECT event_object_table::text, 'trigger ' || event_object_table || '.' || trigger_name || ' ' \
             || action_timing || ' ' || event_manipulation || ' ' || action_statement \
             FROM information_schema.triggers WHERE trigger_schema = current_schema()",
            "SELECT table_name::text, 'view ' || table_name || ' ' || view_definition \
             FROM information_schema.views WHERE table_schema = current_schema()",
            "SELECT t.typname::text, 'enum ' || t.typname || ' (' || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) \
             || ')' FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
             WHERE t.typnamespace = current_schema()::regnamespace GROUP BY t.typname",
            "SELECT p.proname::text, 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p \
             WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind IN ('f', 'p')",
        ],
        Flavor::MySql => &[
            "SELECT TABLE_NAME, CONCAT('column ', TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE, \
             IF(IS_NULLABLE = 'NO', ' NOT NULL', ''), IFNULL(CONCAT(' DEFAULT ', COLUMN_DEFAULT), ''), \
             IF(EXTRA <> '', CONCAT(' ', EXTRA), '')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
            "SELECT TABLE_NAME, CONCAT('index ', TABLE_NAME, '.', INDEX_NAME, IF(NON_UNIQUE = 0, ' UNIQUE', ''), ' (', \
             GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX), ')') FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE",
            "SELECT TABLE_NAME, CONCAT('constraint ', TABLE_NAME, '.', CONSTRAINT_NAME, ' ', CONSTRAINT_TYPE) \
             FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE()",
            "SELECT EVENT_OBJECT_TABLE, CONCAT('trigger ', EVENT_OBJECT_TABLE, '.', TRIGGER_NAME, ' ', ACTION_TIMING, ' ', \
             EVENT_MANIPULATION, ' ', ACTION_STATEMENT) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
            "SELECT TABLE_NAME, CONCAT('view ', TABLE_NAME, ' ', VIEW_DEFINITION) FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA = DATABASE()",
        ],
        Flavor::Sqlite => &[
            "SELECT m.name, 'column ' || m.name || '.' || p.name || ' ' || p.type \
             || CASE WHEN p.\"notnull\" THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || p.dflt_value, '') \
             || CASE WHEN p.pk THEN ' PRIMARY KEY' ELSE '' END \
             FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            "SELECT m.name, 'foreign key ' || m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || '.' \
             || coalesce(f.\"to\", '') FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            "SELECT tbl_name, type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master \
             WHERE type IN ('index', 'trigger', 'view') AND name NOT LIKE 'sqlite_%'",
        ],
        Flavor::SqlServer => &[],
    }
}

/// Whether this dialect has snapshots (not SQL Server yet).
pub fn supported(flavor: Flavor) -> bool {
    !queries(flavor).is_empty()
}

/// The schema the session sees, as sorted lines, leaving out the objects of
/// `own_tables` (the version, progress and audit tables).
pub async fn snapshot(
    conn: &mut dyn Connection,
    flavor: Flavor,
    own_tables: &[String],
) -> Result<Vec<String>, DriverError> {
    let mut lines = Vec::new();
    for sql in queries(flavor) {
        for row in conn.query(sql).await? {
            let mut cells = row.into_iter();
            let object = cells.next().flatten().unwrap_or_default();
            let object = object.rsplit('.').next().unwrap_or_default().trim_matches('"').to_string();
            if own_tables.iter().any(|t| t.eq_ignore_ascii_case(&object)) {
                continue;
            }
            if let Some(line) = cells.next().flatten() {
                lines.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    lines.sort();
    Ok(lines)
}

/// The lines only in `a`, and those only in `b`.
pub fn difference(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
    let only = |x: &[String], y: &[String]| x.iter().filter(|l| !y.contains(l)).cloned().collect();
    (only(a, b), only(b, a))
}
