//! T-SQL facts a session acts on: which server errors are worth a retry or a
//! hint, what `sp_getapplock` answered, which batches must stand alone, and
//! `LIKE` escaping.

use retort_engine::driver::DriverError;

/// Maps a server error: 1222 (lock request time out) and 1205 (chosen as a
/// deadlock victim: the server has rolled the transaction back) are worth a retry.
pub(crate) fn sql_error(e: tiberius::error::Error) -> DriverError {
    match &e {
        tiberius::error::Error::Server(token) => error_for(token.code(), token.to_string()),
        _ => DriverError::Sql(e.to_string()),
    }
}

/// The engine's error for a server error `code`. A statement refused inside a
/// transaction (226 `ALTER DATABASE`, 574 full-text and others, 3021 `BACKUP`)
/// says how to run it.
pub(crate) fn error_for(code: u32, message: String) -> DriverError {
    match code {
        1222 | 1205 => DriverError::LockNotAvailable(message),
        226 | 574 | 3021 => DriverError::Sql(format!(
            "{message}; it cannot run inside a transaction: mark its revision `-- Transactional: false`"
        )),
        _ => DriverError::Sql(message),
    }
}

/// `text` as a literal part of a T-SQL `LIKE` pattern.
pub(crate) fn like_escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' | '%' | '_' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

/// What an `sp_getapplock` status means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applock {
    Granted,
    TimedOut,
    /// Chosen as a deadlock victim: ask again.
    Retry,
    Failed(String),
}

pub(crate) fn applock_outcome(status: Option<i32>) -> Applock {
    match status {
        Some(0 | 1) => Applock::Granted,
        Some(-1) => Applock::TimedOut,
        Some(-3) => Applock::Retry,
        Some(-2) => Applock::Failed("sp_getapplock: the lock request was cancelled".into()),
        other => Applock::Failed(format!("sp_getapplock failed with status {other:?}")),
    }
}

/// Whether a batch must be the only one of its kind: `CREATE`/`ALTER` of a
/// procedure, function, trigger or view, `CREATE SCHEMA`, `CREATE DEFAULT`/`RULE`
/// take the whole batch, so nothing may be appended to it.
pub(crate) fn must_stand_alone(sql: &str) -> bool {
    let words: Vec<String> = code_words(sql).take(4).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or_default();
    let object = |word: &str| matches!(word, "PROCEDURE" | "PROC" | "FUNCTION" | "TRIGGER" | "VIEW");
    match (w(0), w(1), w(2)) {
        ("CREATE", "OR", "ALTER") => object(w(3)),
        ("CREATE", kind, _) => object(kind) || matches!(kind, "SCHEMA" | "DEFAULT" | "RULE"),
        ("ALTER", kind, _) => object(kind),
        _ => false,
    }
}

/// The upper-cased words of `sql`, comments skipped.
fn code_words(sql: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = sql;
    let mut code = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if code.len() > 200 {
            break;
        }
    }
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_that_must_stand_alone_are_known() {
        for alone in [
            "CREATE PROCEDURE p AS SELECT 1",
            "-- note\ncreate or alter view v as select 1",
            "/* x */ CREATE TRIGGER t ON a AFTER INSERT AS SELECT 1",
            "ALTER FUNCTION f() RETURNS int AS BEGIN RETURN 1 END",
            "CREATE SCHEMA app",
        ] {
            assert!(must_stand_alone(alone), "{alone}");
        }
        for counted in
            ["UPDATE t SET a = 1", "CREATE TABLE p (id int)", "SET IDENTITY_INSERT t ON", "EXEC sp_rename 'a', 'b'"]
        {
            assert!(!must_stand_alone(counted), "{counted}");
        }
    }

    #[test]
    fn deadlocks_and_lock_time_outs_are_retried() {
        assert!(matches!(error_for(1205, "victim".into()), DriverError::LockNotAvailable(_)));
        assert!(matches!(error_for(1222, "lock".into()), DriverError::LockNotAvailable(_)));
        assert!(matches!(error_for(102, "syntax".into()), DriverError::Sql(_)));
        let hint = error_for(226, "ALTER DATABASE statement not allowed".into()).to_string();
        assert!(hint.contains("-- Transactional: false"), "{hint}");
        assert_eq!(applock_outcome(Some(0)), Applock::Granted);
        assert_eq!(applock_outcome(Some(1)), Applock::Granted);
        assert_eq!(applock_outcome(Some(-1)), Applock::TimedOut);
        assert_eq!(applock_outcome(Some(-3)), Applock::Retry);
        assert!(matches!(applock_outcome(Some(-999)), Applock::Failed(_)));
    }

    #[test]
    fn lock_names_match_literally_in_like_patterns() {
        assert_eq!(like_escaped("[dbo].[alembic_version]"), "[[]dbo].[[]alembic[_]version]");
        assert_eq!(like_escaped("a%b_c"), "a[%]b[_]c");
    }
}
