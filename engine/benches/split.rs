//! Splitter throughput: time per megabyte must stay flat from 10 KB to 10 MB for
//! every input shape (a quadratic scan shows as throughput falling with size).
//!
//! Shapes: a statement holding one long run of blanks, one long string literal,
//! one long block comment, and many short statements; each split in every dialect.
//!
//! Run: `cargo bench -p retort-engine --bench split` (about two minutes). Criterion
//! prints each case's throughput; `bench/split.sh` runs it and prints MB/s per
//! shape and size side by side.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use retort_engine::split::{Flavor, split};

/// Input sizes in bytes.
const SIZES: [usize; 4] = [10_000, 100_000, 1_000_000, 10_000_000];

/// One input of about `size` bytes of the given shape.
fn input(shape: &str, size: usize) -> String {
    match shape {
        "blanks" => format!("SELECT{}1;\n", " \t".repeat(size / 2)),
        "string" => format!("INSERT INTO t VALUES ('{}');\n", "ab;c ".repeat(size / 5)),
        "comment" => format!("/* {} */ SELECT 1;\n", "x; -- ".repeat(size / 6)),
        _ => "INSERT INTO t VALUES (1, 'a');\n".repeat(size / 31),
    }
}

fn bench_split(c: &mut Criterion) {
    for shape in ["blanks", "string", "comment", "statements"] {
        let mut group = c.benchmark_group(format!("split/{shape}"));
        group.sample_size(10);
        for size in SIZES {
            let sql = input(shape, size);
            group.throughput(Throughput::Bytes(sql.len() as u64));
            for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::SqlServer, Flavor::Sqlite] {
                let id = BenchmarkId::new(format!("{flavor:?}"), size);
                group.bench_with_input(id, &sql, |b, sql| b.iter(|| split(sql, flavor)));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench_split);
criterion_main!(benches);
