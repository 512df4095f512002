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
        // Every schema but the system's: revisions may create their own.
        Flavor::Postgres => &[
            "SELECT n.nspname::text, 'schema ' || n.nspname FROM pg_namespace n \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg\\_%'",
            "SELECT c.relname::text, 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' \
             || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
             || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
            "SELECT tablename::text, 'index ' || indexdef FROM pg_indexes \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\\_%'",
            "SELECT c.relname::text, 'constraint ' || n.nspname || '.' || c.relname || '.' || k.conname || ' ' \
             || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
            "SELECT event_object_table::text, 'trigger ' || event_object_schema || '.' || event_object_table || '.' \
             || trigger_name || ' ' || action_timing || ' ' || event_manipulation || ' ' || action_statement \
             FROM information_schema.triggers WHERE trigger_schema NOT IN ('pg_catalog', 'information_schema')",
            "SELECT c.relname::text, 'view ' || n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
            "SELECT t.typname::text, 'enum ' || n.nspname || '.' || t.typname || ' (' \
             || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) || ')' FROM pg_type t \
             JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
             GROUP BY n.nspname, t.typname",
            "SELECT p.proname::text, 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
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
