//! Shared helpers of retort's integration tests.
//!
//! Test binaries, one per topic:
//! - `conformance`: replays fixtures recorded by running the real Alembic
//!   (`tests/conformance/generate.py`) against retort's graph, specs and planner.
//! - `sqlite`: the executor and SQLite driver end to end on real database files.
//! - `alembic_interop`: Alembic and retort taking turns on one SQLite database.

use std::path::Path;

/// Writes an Alembic `.py` revision file, in one of several real-world styles
/// (`style` picks one), so fixtures also exercise the static reader.
pub fn write_py_revision(
    path: &Path,
    style: usize,
    revision: &str,
    down: &[String],
    labels: &[String],
    depends: &[String],
) {
    let value = |items: &[String], single_as_str: bool| -> String {
        match items {
            [] => "None".to_string(),
            [one] if single_as_str => format!("'{one}'"),
            many if style % 2 == 0 => {
                format!("({},)", many.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", "))
            }
            many => format!("[{}]", many.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ")),
        }
    };
    let text = match style % 3 {
        0 => format!(
            "revision = '{revision}'\ndown_revision = {}\nbranch_labels = {}\ndepends_on = {}\n",
            value(down, true),
            value(labels, false),
            value(depends, true)
        ),
        1 => format!(
            "\"\"\"message\n\nRevision ID: {revision}\n\"\"\"\nfrom typing import Sequence, Union\n\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision: str = \"{revision}\"  # id\ndown_revision: Union[str, Sequence[str], None] = {}\nbranch_labels: Union[str, Sequence[str], None] = {}\ndepends_on: Union[str, Sequence[str], None] = {}\n\n\ndef upgrade() -> None:\n    revision = 'not-this'\n    op.execute(\"\"\"\nSELECT 1\n\"\"\")\n\n\ndef downgrade() -> None:\n    pass\n",
            value(down, false),
            value(labels, true),
            value(depends, false)
        ),
        _ => format!(
            "import sqlalchemy as sa\nrevision = 'placeholder'\ndown_revision = (\n    {}\n)\nbranch_labels = {}\ndepends_on = {}\nrevision = '{revision}'\n",
            if down.is_empty() {
                "None".to_string()
            } else {
                down.iter().map(|d| format!("'{d}',")).collect::<Vec<_>>().join("\n    ")
            },
            value(labels, false),
            value(depends, false)
        ),
    };
    std::fs::create_dir_all(path.parent().expect("file in a folder")).expect("create folder");
    std::fs::write(path, text).expect("write revision");
}
