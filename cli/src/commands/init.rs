//! `retort init`: a runnable project on the embedded SQLite default.
//!
//! `default` has a labelled branch (`billing`) that merges back; `analytics` has
//! its own straight history and its own version table.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::args::{Global, InitArgs};
use crate::output::Exit;

const CONFIG: &str = r#"# retort configuration. Env overrides nest with __: RETORT_DATABASES__DEFAULT__URL=...
jobs = 8
lock_timeout = "10s"

[databases.default]
url = "sqlite://default.db"
script_location = "migrations/default"

[databases.analytics]
url = "sqlite://analytics.db"
script_location = "migrations/analytics"
"#;

/// (path under the project, revision id, revises, extra header lines, message, up, down)
type Example = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

const EXAMPLES: &[Example] = &[
    (
        "migrations/default/versions/3f1a9c2b7d10_create_accounts.sql",
        "3f1a9c2b7d10",
        "",
        "",
        "create accounts",
        "CREATE TABLE accounts (\n    id INTEGER PRIMARY KEY,\n    email TEXT NOT NULL UNIQUE,\n    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);",
        "DROP TABLE accounts;",
    ),
    (
        "migrations/default/versions/8b4e2d6f1a37_add_invoices.sql",
        "8b4e2d6f1a37",
        "3f1a9c2b7d10",
        "-- Branch Labels: billing\n",
        "add invoices",
        "CREATE TABLE invoices (\n    id INTEGER PRIMARY KEY,\n    account_id INTEGER NOT NULL REFERENCES accounts (id),\n    amount_cents INTEGER NOT NULL\n);",
        "DROP TABLE invoices;",
    ),
    (
        "migrations/default/versions/2c6a8e0b4d17_index_invoices_by_account.sql",
        "2c6a8e0b4d17",
        "8b4e2d6f1a37",
        "",
        "index invoices by account",
        "CREATE INDEX ix_invoices_account ON invoices (account_id);",
        "DROP INDEX ix_invoices_account;",
    ),
    (
        "migrations/default/versions/c5d7e9f1a2b4_add_sessions.sql",
        "c5d7e9f1a2b4",
        "3f1a9c2b7d10",
        "-- Branch Labels: sessions\n",
        "add sessions",
        "CREATE TABLE sessions (\n    token TEXT PRIMARY KEY,\n    account_id INTEGER NOT NULL REFERENCES accounts (id)\n);",
        "DROP TABLE sessions;",
    ),
    (
        "migrations/default/versions/9d2e4f6a8b0c_merge_billing_and_sessions.sql",
        "9d2e4f6a8b0c",
        "2c6a8e0b4d17, c5d7e9f1a2b4",
        "",
        "merge billing and sessions",
        "",
        "",
    ),
    (
        "migrations/analytics/versions/5a7c9e1b3d2f_create_events.sql",
        "5a7c9e1b3d2f",
        "",
        "",
        "create events",
        "CREATE TABLE events (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    at TEXT NOT NULL\n);",
        "DROP TABLE events;",
    ),
    (
        "migrations/analytics/versions/7e9a1c3b5d4f_index_events_by_name.sql",
        "7e9a1c3b5d4f",
        "5a7c9e1b3d2f",
        "",
        "index events by name",
        "CREATE INDEX ix_events_name ON events (name);",
        "DROP INDEX ix_events_name;",
    ),
];

/// Writes `retort.toml` and the example histories into `args.directory`.
pub fn exec(_global: &Global, args: &InitArgs) -> Result<Exit> {
    let root = &args.directory;
    let config = root.join("retort.toml");
    if config.exists() {
        bail!("{} already exists; not overwriting it", config.display());
    }
    write(&config, CONFIG)?;
    for (path, id, revises, extra, message, up, down) in EXAMPLES {
        let text = format!(
            "-- {message}\n--\n-- Revision ID: {id}\n-- Revises: {revises}\n{extra}-- Create Date: 2026-11-25 17:02:11\n\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"
        );
        write(&root.join(path), &text)?;
    }
    outln!("Created {} with databases `default` and `analytics` (SQLite).", config.display());
    outln!("Next: retort -c {} upgrade heads", config.display());
    Ok(Exit::Ok)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
