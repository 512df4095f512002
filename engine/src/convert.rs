//! Turning an Alembic `.py` history into retort `.sql` revisions, from the SQL
//! that Alembic itself renders offline (`alembic upgrade heads --sql` and
//! `alembic downgrade heads:base --sql`).
//!
//! Alembic introduces each revision's SQL with `-- Running upgrade A -> B` (or
//! `-- Running downgrade B -> A`); between those lines stand the revision's
//! statements, Alembic's transaction statements and its version-table bookkeeping.
//! [`offline_bodies`] keeps the statements only. The graph facts (ids, parents,
//! labels, `depends_on`, message, date) come from retort's own reading of the
//! files; a revision whose file uses `autocommit_block()` becomes
//! `Transactional: false`. Running Alembic is the caller's job.

use std::collections::HashMap;

use crate::split::{self, Flavor};
use retort_history::plan::Direction;
use retort_history::revision::{Body, Revision};
use retort_history::script::sql;

/// Each revision's statements in one direction, by revision id, from Alembic's
/// offline output.
pub fn offline_bodies(output: &str, direction: Direction, flavor: Flavor) -> Result<HashMap<String, String>, String> {
    let marker = match direction {
        Direction::Up => "-- Running upgrade ",
        Direction::Down => "-- Running downgrade ",
    };
    let mut sections = output.split(marker);
    let preamble = sections.next().unwrap_or_default();
    let version_table = version_table_of(preamble, flavor);
    let mut bodies = HashMap::new();
    for section in sections {
        let (label, body) = section.split_once('\n').unwrap_or((section, ""));
        let (from, to) =
            label.split_once(" -> ").ok_or_else(|| format!("unexpected Alembic line `{marker}{label}`"))?;
        let revision = match direction {
            Direction::Up => to,
            Direction::Down => from,
        };
        let kept: Vec<String> = split::split(body, flavor)
            .into_iter()
            .map(|s| s.sql)
            .filter(|s| !is_bookkeeping(s, &version_table))
            .collect();
        let text = kept.iter().map(|s| format!("{};", s.trim_end_matches(';'))).collect::<Vec<_>>().join("\n\n");
        bodies.insert(revision.trim().to_string(), text);
    }
    Ok(bodies)
}

/// The version table Alembic's output creates before the first revision
/// (`alembic_version` unless `env.py` names another).
fn version_table_of(preamble: &str, flavor: Flavor) -> String {
    split::split(preamble, flavor)
        .iter()
        .find_map(|s| {
            let words: Vec<&str> = s.sql.split_whitespace().take(3).collect();
            match words.as_slice() {
                [create, table, name]
                    if create.eq_ignore_ascii_case("CREATE") && table.eq_ignore_ascii_case("TABLE") =>
                {
                    Some(name.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']').to_string())
                }
                _ => None,
            }
        })
        .unwrap_or_else(|| "alembic_version".to_string())
}

/// Alembic's own statements: transaction control and version-table changes.
fn is_bookkeeping(statement: &str, version_table: &str) -> bool {
    let words: Vec<String> = statement.split_whitespace().take(3).map(|w| w.to_ascii_uppercase()).collect();
    let first = words.first().map(String::as_str).unwrap_or_default();
    if matches!(first, "BEGIN" | "COMMIT" | "START" | "GO") {
        return true;
    }
    let table = version_table.to_ascii_uppercase();
    let names = |i: usize| {
        words.get(i).is_some_and(|w| w.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']') == table)
    };
    match first {
        "INSERT" | "DELETE" => names(2),
        "UPDATE" => names(1),
        "CREATE" | "DROP" => words.get(1).is_some_and(|w| w == "TABLE") && names(2),
        _ => false,
    }
}

/// The `.sql` file for a converted revision; `source` is its `.py` text.
pub fn converted_file(revision: &Revision, source: &str, up: &str, down: &str) -> String {
    let transactional = !source.contains("autocommit_block(");
    let as_sql = Revision {
        transactional,
        allow: Vec::new(),
        idempotent: false,
        body: Body::Sql { up: up.into(), down: down.into(), up_line: 0, down_line: 0 },
        ..revision.clone()
    };
    sql::render(&as_sql, up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from Alembic 1.20.1 (`alembic upgrade heads --sql`, PostgreSQL).
    const UP: &str = "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n-- Running upgrade  -> a1\n\nCREATE TABLE t (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);\n\nINSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING alembic_version.version_num;\n\n-- Running upgrade a1 -> b1\n\nCOMMIT;\n\nCREATE INDEX CONCURRENTLY ix_t_a ON t (a);\n\nBEGIN;\n\nINSERT INTO alembic_version (version_num) VALUES ('b1') RETURNING alembic_version.version_num;\n\n-- Running upgrade b1, c1 -> m1\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'b1';\n\nUPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'c1';\n\nCOMMIT;\n";

    #[test]
    fn keeps_each_revisions_statements_only() {
        let bodies = offline_bodies(UP, Direction::Up, Flavor::Postgres).unwrap();
        assert_eq!(bodies["a1"], "CREATE TABLE t (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);");
        assert_eq!(bodies["b1"], "CREATE INDEX CONCURRENTLY ix_t_a ON t (a);");
        assert_eq!(bodies["m1"], "");
        let down = "BEGIN;\n\n-- Running downgrade b1 -> a1\n\nCOMMIT;\n\nDROP INDEX CONCURRENTLY ix_t_a;\n\nBEGIN;\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'b1';\n\n-- Running downgrade a1 -> \n\nDROP TABLE t;\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';\n\nDROP TABLE alembic_version;\n\nCOMMIT;\n";
        let bodies = offline_bodies(down, Direction::Down, Flavor::Postgres).unwrap();
        assert_eq!(bodies["b1"], "DROP INDEX CONCURRENTLY ix_t_a;");
        assert_eq!(bodies["a1"], "DROP TABLE t;");
    }

    #[test]
    fn autocommit_blocks_make_non_transactional_files() {
        let rev = retort_history::testing::revs(&["b1:a1 @feat"]).remove(0);
        let text = converted_file(
            &rev,
            "with op.get_context().autocommit_block():\n",
            "CREATE INDEX CONCURRENTLY ix ON t (a);",
            "",
        );
        assert!(text.contains("-- Revises: a1\n-- Branch Labels: feat\n-- Transactional: false\n"), "{text}");
        let parsed = sql::parse(std::path::Path::new("b1.sql"), &text).unwrap();
        assert!(!parsed.transactional);
    }
}
