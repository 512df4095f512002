//! The C header and the Rust definitions describe the same ABI: a C program
//! built with the system compiler against `include/retort_plugin.h` prints every
//! constant, struct size and field offset, and each must equal the Rust one.

use std::mem::{offset_of, size_of};
use std::process::Command;

use retort_plugin_abi::*;

/// (C expression, Rust value) for every fact of the ABI.
fn facts() -> Vec<(&'static str, u64)> {
    macro_rules! field {
        ($c:literal, $ty:ty, $field:ident) => {
            (concat!("offsetof(", $c, ", ", stringify!($field), ")"), offset_of!($ty, $field) as u64)
        };
    }
    vec![
        ("RETORT_ABI_MAJOR", u64::from(ABI_MAJOR)),
        ("RETORT_ABI_MINOR", u64::from(ABI_MINOR)),
        ("RETORT_OK", RETORT_OK as u64),
        ("RETORT_ERROR", RETORT_ERROR as u64),
        ("RETORT_LOCK_TIMEOUT", RETORT_LOCK_TIMEOUT as u64),
        ("RETORT_LOCK_NOT_AVAILABLE", RETORT_LOCK_NOT_AVAILABLE as u64),
        ("RETORT_TRANSACTIONAL_DDL", u64::from(RETORT_TRANSACTIONAL_DDL)),
        ("RETORT_SCHEMAS", u64::from(RETORT_SCHEMAS)),
        ("RETORT_LEXER_STANDARD", u64::from(RETORT_LEXER_STANDARD)),
        ("RETORT_LEXER_MYSQL", u64::from(RETORT_LEXER_MYSQL)),
        ("RETORT_LEXER_SQLITE", u64::from(RETORT_LEXER_SQLITE)),
        ("RETORT_LEXER_SQLSERVER", u64::from(RETORT_LEXER_SQLSERVER)),
        ("RETORT_OBJECT_TABLE", u64::from(RETORT_OBJECT_TABLE)),
        ("RETORT_OBJECT_VIEW", u64::from(RETORT_OBJECT_VIEW)),
        ("RETORT_OBJECT_INDEX", u64::from(RETORT_OBJECT_INDEX)),
        ("RETORT_OBJECT_SEQUENCE", u64::from(RETORT_OBJECT_SEQUENCE)),
        ("RETORT_OBJECT_TYPE", u64::from(RETORT_OBJECT_TYPE)),
        ("RETORT_OBJECT_FUNCTION", u64::from(RETORT_OBJECT_FUNCTION)),
        ("RETORT_OBJECT_PROCEDURE", u64::from(RETORT_OBJECT_PROCEDURE)),
        ("RETORT_OBJECT_TRIGGER", u64::from(RETORT_OBJECT_TRIGGER)),
        ("RETORT_OBJECT_COLUMN", u64::from(RETORT_OBJECT_COLUMN)),
        ("RETORT_OBJECT_CONSTRAINT", u64::from(RETORT_OBJECT_CONSTRAINT)),
        ("RETORT_OBJECT_SCHEMA", u64::from(RETORT_OBJECT_SCHEMA)),
        ("RETORT_OBJECT_DATABASE", u64::from(RETORT_OBJECT_DATABASE)),
        ("RETORT_ABSENT", RETORT_ABSENT as u64),
        ("RETORT_PRESENT", RETORT_PRESENT as u64),
        ("RETORT_INVALID", RETORT_INVALID as u64),
        ("RETORT_UNKNOWN", RETORT_UNKNOWN as u64),
        ("RETORT_QUOTED_SCHEMA", u64::from(RETORT_QUOTED_SCHEMA)),
        ("RETORT_QUOTED_NAME", u64::from(RETORT_QUOTED_NAME)),
        ("sizeof(retort_name)", size_of::<RetortName>() as u64),
        field!("retort_name", RetortName, schema),
        field!("retort_name", RetortName, name),
        field!("retort_name", RetortName, quoted),
        ("sizeof(retort_object)", size_of::<RetortObject>() as u64),
        field!("retort_object", RetortObject, size),
        field!("retort_object", RetortObject, kind),
        field!("retort_object", RetortObject, name),
        field!("retort_object", RetortObject, table),
        ("sizeof(retort_error)", size_of::<RetortError>() as u64),
        field!("retort_error", RetortError, message),
        field!("retort_error", RetortError, code),
        ("sizeof(retort_settings)", size_of::<RetortSettings>() as u64),
        field!("retort_settings", RetortSettings, size),
        field!("retort_settings", RetortSettings, writes),
        field!("retort_settings", RetortSettings, base_dir),
        field!("retort_settings", RetortSettings, application_name),
        field!("retort_settings", RetortSettings, statement_timeout_ms),
        field!("retort_settings", RetortSettings, lock_timeout_ms),
        field!("retort_settings", RetortSettings, schema),
        ("sizeof(retort_rows)", size_of::<RetortRows>() as u64),
        field!("retort_rows", RetortRows, rows),
        field!("retort_rows", RetortRows, columns),
        field!("retort_rows", RetortRows, cells),
        ("sizeof(retort_plugin)", size_of::<RetortPlugin>() as u64),
        field!("retort_plugin", RetortPlugin, size),
        field!("retort_plugin", RetortPlugin, abi_major),
        field!("retort_plugin", RetortPlugin, abi_minor),
        field!("retort_plugin", RetortPlugin, name),
        field!("retort_plugin", RetortPlugin, version),
        field!("retort_plugin", RetortPlugin, schemes),
        field!("retort_plugin", RetortPlugin, flags),
        field!("retort_plugin", RetortPlugin, lexer),
        field!("retort_plugin", RetortPlugin, quote),
        field!("retort_plugin", RetortPlugin, create_version_table),
        field!("retort_plugin", RetortPlugin, create_progress_table),
        field!("retort_plugin", RetortPlugin, open),
        field!("retort_plugin", RetortPlugin, close),
        field!("retort_plugin", RetortPlugin, execute),
        field!("retort_plugin", RetortPlugin, query),
        field!("retort_plugin", RetortPlugin, free_rows),
        field!("retort_plugin", RetortPlugin, table_exists),
        field!("retort_plugin", RetortPlugin, free_string),
        field!("retort_plugin", RetortPlugin, begin),
        field!("retort_plugin", RetortPlugin, commit),
        field!("retort_plugin", RetortPlugin, rollback),
        field!("retort_plugin", RetortPlugin, lock),
        field!("retort_plugin", RetortPlugin, unlock),
        field!("retort_plugin", RetortPlugin, shares_transaction),
        field!("retort_plugin", RetortPlugin, cancel),
        field!("retort_plugin", RetortPlugin, presence),
        field!("retort_plugin", RetortPlugin, create_audit_table),
    ]
}

#[test]
fn the_c_header_and_the_rust_definitions_agree() {
    let facts = facts();
    let prints: String =
        facts.iter().map(|(c, _)| format!("    printf(\"%llu\\n\", (unsigned long long)({c}));\n")).collect();
    let program = format!(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"retort_plugin.h\"\nint main(void) {{\n{prints}    return 0;\n}}\n"
    );
    let dir = std::env::temp_dir().join(format!("retort-abi-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("facts.c"), program).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I", include, "facts.c", "-o", "facts"])
        .current_dir(&dir)
        .output()
        .expect("the system C compiler runs");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let out = Command::new(dir.join("facts")).output().unwrap();
    let printed: Vec<u64> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.parse().unwrap()).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(printed.len(), facts.len());
    for ((c, rust), c_value) in facts.iter().zip(printed) {
        assert_eq!(c_value, *rust, "{c}: the header says {c_value}, the Rust definitions {rust}");
    }
    assert_eq!(MIN_TABLE_SIZE, offset_of!(RetortPlugin, free_string) + size_of::<usize>());
}
