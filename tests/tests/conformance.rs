//! Replays the Alembic fixtures of `tests/conformance/fixtures`: every history is
//! written as Alembic `.py` files, read by retort's static reader, and every
//! recorded check (heads, bases, history, spec resolution, upgrade, downgrade,
//! stamp, current) must land on what Alembic did.
//!
//! Deliberate differences (DESIGN.md): a duplicate revision id is an error; a
//! relative step (`-1`) from several current heads is refused. Checks where
//! Alembic itself crashed (`AssertionError`, `KeyError`) are not compared.

use std::path::{Path, PathBuf};

use retort_history::graph::Graph;
use retort_history::plan::{self, Plan};
use retort_history::script;
use retort_history::spec::relative;
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => vec![],
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(String::from)).collect(),
        other => panic!("unexpected value {other}"),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn load(case: &Value, dir: &Path) -> Result<Graph, String> {
    for (style, rev) in case["revisions"].as_array().expect("revisions").iter().enumerate() {
        let path = dir.join("versions").join(rev["file"].as_str().expect("file"));
        retort_tests::write_py_revision(
            &path,
            style,
            rev["revision"].as_str().expect("revision"),
            &strings(&rev["down_revision"]),
            &strings(&rev["branch_labels"]),
            &strings(&rev["depends_on"]),
        );
    }
    let revisions = script::load(dir).map_err(|e| e.to_string())?;
    Graph::new(revisions).map_err(|e| e.to_string())
}

/// Whether Alembic crashed rather than answered: nothing to compare.
fn alembic_crashed(check: &Value) -> bool {
    check["error"].as_str().is_some_and(|e| e.starts_with("AssertionError") || e.starts_with("KeyError"))
}

fn ran(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| format!("{} {}", if s.direction == plan::Direction::Up { "up" } else { "down" }, s.revision))
        .collect()
}

/// Specs Alembic accepts and retort refuses on purpose, so that a typo in a deploy
/// script fails instead of running something: digits other than ASCII (`-١`, which
/// Python's `int` reads), `_` in step counts (`-1_0`), blanks around a spec (` -1`,
/// which Alembic reads in some commands), text after a step count (`+1x`, which
/// Alembic runs as `+1`), an empty branch (`@head`, an
/// unset `$LABEL@head`), a walk below base (`base-1`, which Alembic upgrades to head),
/// and `head@base`, which Alembic stamps as nothing.
fn stricter_on_purpose(op: &str, check: &Value) -> bool {
    let spec = check.get("target").or(check.get("spec")).and_then(Value::as_str);
    let specs: Vec<&str> = match spec {
        Some(spec) => vec![spec],
        None => check["targets"].as_array().into_iter().flatten().filter_map(Value::as_str).collect(),
    };
    specs.iter().any(|spec| {
        let steps = spec.rsplit(['+', '-']).next().unwrap_or_default();
        let odd_digits = steps.chars().any(|c| c.is_numeric() && !c.is_ascii_digit()) || steps.contains('_');
        let steps_then_more = spec.as_bytes().windows(2).any(|w| b"+-".contains(&w[0]) && w[1].is_ascii_digit())
            && relative(spec).is_none();
        odd_digits
            || steps_then_more
            || spec.trim() != *spec
            || spec.starts_with('@')
            || (op == "upgrade" && *spec == "base-1")
            || (op == "stamp" && *spec == "head@base")
    })
}

/// Compares one check; returns a description of the mismatch, if any.
fn check(graph: &Graph, check: &Value) -> Result<(), String> {
    let op = check["op"].as_str().expect("op");
    let start = strings(&check["start"]);
    let unstable = strings(&check["unstable_fields"]);
    let expect_error = check.get("error").is_some();
    let outcome: Result<(Vec<String>, Vec<String>), String> = match op {
        "resolve" => {
            let spec = check["spec"].as_str().expect("spec");
            let result = graph.resolve(spec).map(|v| graph.ids(&v)).map_err(|e| e.to_string());
            let expected = check.get("result").map(|r| r.as_array().expect("list").clone());
            if expected.as_ref().is_some_and(|r| r.iter().any(Value::is_null)) {
                return result
                    .err()
                    .map(|_| ())
                    .ok_or_else(|| "Alembic walked off the graph; retort did not fail".into());
            }
            result.map(|r| (r, vec![]))
        }
        "upgrade" | "downgrade" => {
            let target = check["target"].as_str().expect("target");
            let planned = if op == "upgrade" {
                plan::upgrade(graph, &start, target)
            } else {
                plan::downgrade(graph, &start, target)
            };
            if !expect_error
                && !stricter_on_purpose(op, check)
                && let Err(e) = plan::check_spec(graph, target)
            {
                return Err(format!("Alembic ran it; retort's check before connecting refused it: {e}"));
            }
            planned.map(|p| (ran(&p), p.heads_after)).map_err(|e| e.to_string())
        }
        "stamp" => {
            let purge = check["purge"].as_bool().unwrap_or(false);
            plan::stamp(graph, &start, &strings(&check["targets"]), purge)
                .map(|p| (vec![], p.heads_after))
                .map_err(|e| e.to_string())
        }
        "current" => {
            let rows: Option<Vec<usize>> = start.iter().map(|s| graph.index_of(s)).collect();
            rows.map(|rows| (graph.ids(&graph.applied_heads(&rows)), vec![])).ok_or_else(|| "unknown row".to_string())
        }
        other => panic!("unknown op {other}"),
    };
    let refused_relative = op == "downgrade"
        && relative(check["target"].as_str().unwrap_or("")).is_some_and(|r| r.branch.is_none() && r.symbol.is_none())
        && sorted(start.clone()).windows(2).any(|w| w[0] != w[1]);
    match outcome {
        Err(_) if refused_relative && expect_error => Ok(()),
        Err(e) if refused_relative => e.contains("name one of").then_some(()).ok_or(e),
        Err(_) if stricter_on_purpose(op, check) => Ok(()),
        Ok(_) if refused_relative => Err("retort must refuse a relative step from several heads".into()),
        Err(_) if expect_error => Ok(()),
        Ok(got) if expect_error => Err(format!("Alembic failed ({}), retort gave {got:?}", check["error"])),
        Err(e) => Err(format!("retort failed: {e}")),
        Ok((got, after)) => {
            let (want_key, compare_after) = match op {
                "resolve" | "current" => ("result", false),
                "stamp" => ("ran", true),
                _ => ("ran", true),
            };
            let mut want: Vec<String> = strings(&check[want_key]).into_iter().filter(|s| s != "base").collect();
            let mut got = got;
            if unstable.iter().any(|f| f == want_key) || op == "current" {
                want.sort();
                got.sort();
            }
            if op != "stamp" && got != want {
                return Err(format!("{want_key}: Alembic {want:?}, retort {got:?}"));
            }
            if compare_after && sorted(after.clone()) != sorted(strings(&check["after"])) {
                return Err(format!("after: Alembic {:?}, retort {after:?}", sorted(strings(&check["after"]))));
            }
            Ok(())
        }
    }
}

fn run_case(path: &Path) -> Vec<String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let name = case["name"].as_str().unwrap_or("?").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let duplicate = case["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|m| m.as_str().is_some_and(|m| m.contains("more than once"))));
    let graph = match (load(&case, dir.path()), case["load_error"].is_string() || duplicate) {
        (Ok(_), true) => {
            return vec![format!("{name}: Alembic refused to load ({}), retort loaded", case["load_error"])];
        }
        (Err(_), true) => return vec![],
        (Err(e), false) => return vec![format!("{name}: retort failed to load: {e}")],
        (Ok(g), false) => g,
    };
    let mut failures = Vec::new();
    let unstable = strings(&case["unstable_fields"]);
    let mut compare = |what: &str, got: Vec<String>| {
        let mut want = strings(&case[what]);
        let mut got = got;
        if unstable.iter().any(|f| f == what) {
            want.sort();
            got.sort();
        }
        if got != want {
            failures.push(format!("{name}: {what}: Alembic {want:?}, retort {got:?}"));
        }
    };
    compare("heads", graph.ids(graph.heads()));
    compare("bases", graph.ids(graph.bases()));
    let history = plan::history(&graph, &["base".to_string()], "heads").expect("history");
    compare("history", graph.ids(&history));
    let branches: Vec<usize> = history.iter().copied().filter(|&i| graph.is_branch_point(i)).collect();
    compare("branches", graph.ids(&branches));
    for c in case["checks"].as_array().into_iter().flatten() {
        if alembic_crashed(c) {
            continue;
        }
        if let Err(why) = check(&graph, c) {
            failures.push(format!(
                "{name}: {} {}: {why}",
                c["op"],
                c.get("target").or(c.get("spec")).or(c.get("targets")).unwrap_or(&Value::Null)
            ));
        }
    }
    failures
}

#[test]
fn retort_agrees_with_alembic_on_every_fixture() {
    let files = fixtures();
    assert!(files.len() >= 40, "expected at least 40 fixtures, found {}", files.len());
    let failures: Vec<String> = files.iter().flat_map(|f| run_case(f)).collect();
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
