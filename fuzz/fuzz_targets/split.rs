//! The splitter, every dialect. Properties:
//! - every statement is a piece of the input, byte for byte, in input order (the
//!   copies `GO n` makes of a SQL Server batch stand at one place);
//! - splitting the statements again, each rendered as the `--sql` output renders it,
//!   gives back the same statements, up to a trailing `;` (unless a statement swallows what follows it:
//!   an unclosed comment, quote or trigger body, which is sent as is).
#![no_main]

use libfuzzer_sys::fuzz_target;
use retort_engine::executor::render_statement;
use retort_engine::split::{Flavor, split};

const FLAVORS: [Flavor; 4] = [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(sql) = std::str::from_utf8(rest) else { return };
    let flavor = FLAVORS[usize::from(selector) % FLAVORS.len()];
    let statements = split(sql, flavor);

    let mut from = 0;
    for (i, statement) in statements.iter().enumerate() {
        // `GO n` (SQL Server) sends one batch n times: its copies stand at one place.
        if i > 0 && statements[i - 1] == *statement {
            continue;
        }
        let found = sql[from..].find(&statement.sql);
        let at =
            found.unwrap_or_else(|| panic!("{flavor:?}: {:?} is not in the input after byte {from}", statement.sql));
        from += at + statement.sql.len();
    }

    let end = if flavor == Flavor::SqlServer { ";\nGO" } else { ";" };
    let swallows = |sql: &str| split(&format!("{}SELECT 1", render_statement(sql, flavor, end)), flavor).len() != 2;
    if statements.iter().any(|s| swallows(&s.sql)) {
        return;
    }
    let script: String = statements.iter().map(|s| render_statement(&s.sql, flavor, end)).collect();
    // Compared up to a trailing `;`: the script ends each statement with one, and a
    // SQL Server batch or a MySQL statement under another `DELIMITER` keeps it.
    let bare = |sql: String| sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_string();
    let again: Vec<String> = split(&script, flavor).into_iter().map(|s| bare(s.sql)).collect();
    let first: Vec<String> = statements.into_iter().map(|s| bare(s.sql)).collect();
    assert_eq!(again, first, "{flavor:?}: re-splitting the rendered script changed it:\n{script}");
});
