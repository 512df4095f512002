//! Graph benchmarks on generated histories of 1,000 and 10,000 revisions with
//! branches, merges, labels and `depends_on`, stored as `.sql` and as Alembic
//! `.py` files: load from disk + heads, `current` (Alembic's applied heads), and
//! planning `upgrade heads` from an empty database.
//!
//! Run: `cargo bench -p retort-history --bench graph`. The Alembic side of the
//! comparison is `bench/graph.sh`.

use std::fmt::Write as _;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use retort_history::graph::Graph;
use retort_history::{plan, script};

/// One generated revision: id, parents, label, dependency.
struct Gen {
    id: String,
    parents: Vec<String>,
    label: Option<String>,
    depends: Option<String>,
}

/// A main line; every 50 revisions a 2–6 revision side branch forks and merges
/// back; a label every 500; a `depends_on` across branches every 250.
fn history(n: usize) -> Vec<Gen> {
    let id = |i: usize| format!("{:012x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16);
    let mut revs: Vec<Gen> = Vec::with_capacity(n);
    let mut main_tip: Option<String> = None;
    let mut i = 0;
    while revs.len() < n {
        let this = id(i);
        i += 1;
        let parents = main_tip.iter().cloned().collect();
        revs.push(Gen { id: this.clone(), parents, label: None, depends: None });
        main_tip = Some(this.clone());
        if revs.len().is_multiple_of(50) && revs.len() + 8 < n {
            let fork = this;
            let mut side_tip = fork.clone();
            for k in 0..(2 + revs.len() / 50 % 5) {
                let side = id(i);
                i += 1;
                let label = (k == 0 && revs.len().is_multiple_of(500)).then(|| format!("branch{}", revs.len()));
                let depends = (k == 1 && revs.len().is_multiple_of(250)).then(|| revs[revs.len() / 2].id.clone());
                revs.push(Gen { id: side.clone(), parents: vec![side_tip.clone()], label, depends });
                side_tip = side;
            }
            let main = id(i);
            i += 1;
            revs.push(Gen { id: main.clone(), parents: vec![fork], label: None, depends: None });
            let merge = id(i);
            i += 1;
            revs.push(Gen { id: merge.clone(), parents: vec![main, side_tip], label: None, depends: None });
            main_tip = Some(merge);
        }
    }
    revs
}

fn write(dir: &Path, revs: &[Gen], python: bool) {
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    for r in revs {
        let mut text = String::new();
        if python {
            let down = match r.parents.as_slice() {
                [] => "None".to_string(),
                [one] => format!("'{one}'"),
                many => format!("({})", many.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")),
            };
            let _ = write!(
                text,
                "\"\"\"revision {0}\n\nRevision ID: {0}\nRevises: {1}\n\"\"\"\nfrom typing import Sequence, Union\n\nfrom alembic import op\n\nrevision: str = '{0}'\ndown_revision: Union[str, Sequence[str], None] = {down}\nbranch_labels = {2}\ndepends_on = {3}\n\n\ndef upgrade() -> None:\n    op.execute('CREATE TABLE t_{0} (id INTEGER PRIMARY KEY)')\n\n\ndef downgrade() -> None:\n    op.execute('DROP TABLE t_{0}')\n",
                r.id,
                r.parents.join(", "),
                r.label.as_ref().map_or("None".into(), |l| format!("('{l}',)")),
                r.depends.as_ref().map_or("None".into(), |d| format!("'{d}'")),
            );
        } else {
            let _ =
                write!(text, "-- revision {0}\n--\n-- Revision ID: {0}\n-- Revises: {1}\n", r.id, r.parents.join(", "));
            if let Some(l) = &r.label {
                let _ = writeln!(text, "-- Branch Labels: {l}");
            }
            if let Some(d) = &r.depends {
                let _ = writeln!(text, "-- Depends On: {d}");
            }
            let _ = write!(
                text,
                "\n-- migrate:up\nCREATE TABLE t_{0} (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE t_{0};\n",
                r.id
            );
        }
        let ext = if python { "py" } else { "sql" };
        std::fs::write(versions.join(format!("{}_revision.{ext}", r.id)), text).expect("write");
    }
}

fn load(dir: &Path) -> Graph {
    Graph::new(script::load(dir).expect("load")).expect("valid")
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph");
    group.sample_size(20);
    for n in [1_000, 10_000] {
        let revs = history(n);
        for python in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            write(dir.path(), &revs, python);
            let format = if python { "py" } else { "sql" };
            group.bench_with_input(BenchmarkId::new(format!("load_heads_{format}"), n), &n, |b, _| {
                b.iter(|| load(dir.path()).heads().len())
            });
            if python {
                continue;
            }
            let graph = load(dir.path());
            let heads: Vec<usize> = graph.heads().to_vec();
            group.bench_with_input(BenchmarkId::new("current", n), &n, |b, _| {
                b.iter(|| graph.applied_heads(&heads).len())
            });
            group.bench_with_input(BenchmarkId::new("plan_upgrade_heads", n), &n, |b, _| {
                b.iter(|| plan::upgrade(&graph, &[], "heads").expect("plan").steps.len())
            });
        }
    }
    group.finish();
}

criterion_group!(graph, benches);
criterion_main!(graph);
