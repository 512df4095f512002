//! Alembic's argument habits: every subcommand run with each of its flags placed
//! before and after its positional arguments (and global flags before and after the
//! subcommand), as argparse allows. Both spellings must do the same thing; a flag
//! must never be read as a revision.

use std::path::Path;
use std::process::{Command, Output};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

/// A fresh project from `retort init`, upgraded to heads when `upgraded`.
fn project(upgraded: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(run_in(dir.path(), &["init", "."]).status.success());
    // A second head in `analytics`, for `merge`.
    let branch = "-- side\n-- Revision ID: eeee00000001\n-- Revises: 5a7c9e1b3d2f\n\n-- migrate:up\nSELECT 1;\n";
    std::fs::write(dir.path().join("migrations/analytics/versions/eeee00000001_side.sql"), branch).unwrap();
    if upgraded {
        assert!(run_in(dir.path(), &["upgrade", "heads"]).status.success());
    }
    dir
}

/// What a run shows, with numbers (timings) and scratch paths taken out.
fn seen(out: &Output, dir: &Path) -> (Option<i32>, String) {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let text = text.replace(&dir.display().to_string(), "<dir>");
    // Timing, not spelling, decides the slowest targets and the order of lines.
    let text = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut doc) => {
            if let Some(summary) = doc.get_mut("summary").and_then(|s| s.as_object_mut()) {
                summary.remove("slowest");
            }
            doc.to_string()
        }
        Err(_) => {
            // Targets run concurrently: their lines may interleave in any order.
            let mut lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("slowest:")).collect();
            lines.sort();
            lines.join("\n")
        }
    };
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        match (c.is_ascii_digit(), clean.ends_with('#')) {
            (true, true) => {}
            (true, false) => clean.push('#'),
            (false, _) => clean.push(c),
        }
    }
    (out.status.code(), clean)
}

/// Runs `sub positional flag` and `sub flag positional`, each on its own fresh
/// project, and asserts they behave the same.
fn both_ways(sub: &str, positional: &[&str], flag: &[&str], upgraded: bool) {
    let after: Vec<&str> = [&[sub][..], positional, flag].concat();
    let before: Vec<&str> = [&[sub][..], flag, positional].concat();
    let (a, b) = (project(upgraded), project(upgraded));
    let (seen_after, seen_before) =
        (seen(&run_in(a.path(), &after), a.path()), seen(&run_in(b.path(), &before), b.path()));
    assert!(
        !seen_after.1.contains("no such revision or branch '-"),
        "{after:?} read a flag as a revision: {}",
        seen_after.1
    );
    assert!(seen_after.0 != Some(2) || positional.is_empty(), "{after:?} was refused: {}", seen_after.1);
    assert_eq!(seen_after, seen_before, "{after:?} and {before:?} differ");
}

#[test]
fn graph_commands_take_flags_on_either_side() {
    for flag in [&["--verbose"][..], &["--format", "json"], &["-d", "default"]] {
        both_ways("show", &["head", "-d", "default"], flag, false);
    }
    for flag in [&["--verbose"][..], &["-i"], &["-r", "base:heads"], &["--format", "json"]] {
        both_ways("history", &["-d", "default"], flag, true);
    }
    for flag in [&["--verbose"][..], &["--resolve-dependencies"], &["--format", "json"]] {
        both_ways("heads", &["-d", "default"], flag, false);
    }
    both_ways("branches", &["-d", "default"], &["--verbose"], false);
    // A fixed id, so that both spellings write the same file.
    let merges: [&[&str]; 3] = [
        &["-m", "joined", "--rev-id", "abcd00000009"],
        &["--branch-label", "joined", "--rev-id", "abcd00000009"],
        &["--rev-id", "abcd00000009"],
    ];
    for flag in merges {
        both_ways("merge", &["-d", "analytics", "7e9a1c3b5d4f", "eeee00000001"], flag, false);
    }
}

#[test]
fn run_commands_take_flags_on_either_side() {
    for flag in [&["--sql"][..], &["--format", "json"], &["-d", "default"], &["--jobs", "1"]] {
        both_ways("upgrade", &["heads"], flag, false);
    }
    for flag in [&["--format", "json"][..], &["-d", "analytics"]] {
        both_ways("downgrade", &["base"], flag, true);
    }
    both_ways("downgrade", &["heads:base"], &["--sql"], false);
    for flag in [&["--purge"][..], &["--sql"], &["--format", "json"], &["-d", "default"]] {
        both_ways("stamp", &["heads"], flag, false);
    }
    for flag in [&["--verbose"][..], &["--check-heads"], &["--format", "json"], &["-d", "default"]] {
        both_ways("current", &[], flag, true);
    }
    for flag in [&["--abandon"][..], &["--applied"]] {
        both_ways("resolve", &["-d", "default", "9d2e4f6a8b0c"], flag, true);
    }
}

#[test]
fn global_flags_stand_before_or_after_the_subcommand() {
    for (global, sub) in [(&["-d", "default"][..], &["stamp", "head"][..]), (&["--format", "json"], &["show", "base"])]
    {
        let (a, b) = (project(false), project(false));
        let first: Vec<&str> = [global, sub].concat();
        let last: Vec<&str> = [sub, global].concat();
        assert_eq!(seen(&run_in(a.path(), &first), a.path()), seen(&run_in(b.path(), &last), b.path()), "{first:?}");
    }
}
