//! Reads `.sql` revision files: an Alembic-style header in SQL comments, then
//! `-- migrate:up` and `-- migrate:down` sections.
//!
//! The reader is forgiving about what editors do to files (a BOM, CRLF line ends,
//! leading blank lines, any case in field names) and strict about what changes
//! meaning: an unknown field after the first known one, a missing `Revision ID`,
//! or a missing `-- migrate:up` marker is an error naming the file and line.

use std::path::Path;

use crate::error::ScriptError;
use crate::revision::{Body, Revision};

/// Parses the text of one `.sql` revision file.
pub fn parse(path: &Path, text: &str) -> Result<Revision, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Bodies keep their line ends exactly (a CRLF inside a string literal is data);
    // the header and the markers are read without the `\r`.
    let raw: Vec<&str> = text.split_inclusive('\n').map(|l| l.strip_suffix('\n').unwrap_or(l)).collect();
    let lines: Vec<&str> = raw.iter().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let fail = |line: usize, message: String| ScriptError::Malformed { path: path.to_path_buf(), line, message };

    let mut header = Header::default();
    let mut index = 0;
    while index < lines.len() && lines[index].trim().is_empty() {
        index += 1;
    }
    // The header runs to the `-- migrate:up` marker or the first SQL line. After a
    // blank line only known fields count (other comments there are just comments), so
    // a blank line never makes a field vanish silently.
    let mut after_blank = false;
    while index < lines.len() {
        if lines[index].trim().is_empty() {
            after_blank = true;
            index += 1;
            continue;
        }
        let Some(comment) = comment_text(lines[index]) else { break };
        if section_marker(lines[index]).is_some() {
            break;
        }
        let known = field(comment).is_some_and(|(name, _)| is_field(&name));
        if !after_blank || known {
            header.take(comment).map_err(|message| fail(index + 1, message))?;
        }
        index += 1;
    }
    let id = header.id.clone().ok_or_else(|| fail(1, "no `-- Revision ID:` line in the header".into()))?;

    let [(up, up_line), (down, down_line)] =
        sections(&lines[index..], &raw[index..]).map_err(|(offset, message)| fail(index + offset + 1, message))?;
    Ok(Revision {
        id,
        down_revisions: header.revises,
        branch_labels: header.branch_labels,
        depends_on: header.depends_on,
        message: header.message.join("\n").trim().to_string(),
        create_date: header.create_date,
        transactional: header.transactional,
        allow: header.allow,
        idempotent: header.idempotent,
        path: path.to_path_buf(),
        body: Body::Sql { up, down, up_line: index + up_line, down_line: index + down_line },
    })
}

struct Header {
    message: Vec<String>,
    id: Option<String>,
    revises: Vec<String>,
    branch_labels: Vec<String>,
    depends_on: Vec<String>,
    create_date: Option<String>,
    transactional: bool,
    allow: Vec<String>,
    idempotent: bool,
    seen_field: bool,
    /// Fields given so far: each may be given once.
    given: Vec<String>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            message: Vec::new(),
            id: None,
            revises: Vec::new(),
            branch_labels: Vec::new(),
            depends_on: Vec::new(),
            create_date: None,
            transactional: true,
            allow: Vec::new(),
            idempotent: false,
            seen_field: false,
            given: Vec::new(),
        }
    }
}

impl Header {
    /// Takes one comment line of the header (without its `--`).
    fn take(&mut self, comment: &str) -> Result<(), String> {
        match field(comment) {
            Some((name, value)) if self.seen_field || is_field(&name) => self.set(&name, value),
            _ if !self.seen_field => {
                self.message.push(comment.to_string());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.seen_field = true;
        if self.given.iter().any(|g| g == name) {
            return Err(format!("the header gives `{}:` twice", display_name(name)));
        }
        self.given.push(name.to_string());
        match name {
            "revision id" => self.id = Some(single(value, "Revision ID")?),
            "revises" => self.revises = distinct(value, "Revises")?,
            "branch labels" => self.branch_labels = distinct(value, "Branch Labels")?,
            "depends on" => self.depends_on = distinct(value, "Depends On")?,
            "create date" => self.create_date = Some(value.to_string()),
            "transactional" => self.transactional = boolean(value)?,
            "allow" => self.allow = distinct(value, "Allow")?,
            "idempotent" => self.idempotent = boolean(value)?,
            other => return Err(format!("unknown header field `{other}`")),
        }
        Ok(())
    }
}

/// Whether `name` (lower case) is a header field; other `Word: text` lines before
/// the first field belong to the message.
fn is_field(name: &str) -> bool {
    matches!(
        name,
        "revision id"
            | "revises"
            | "branch labels"
            | "depends on"
            | "create date"
            | "transactional"
            | "allow"
            | "idempotent"
    )
}

/// The text of a `--` comment line, without the dashes and one leading space.
fn comment_text(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("--")?;
    Some(rest.strip_prefix(' ').unwrap_or(rest).trim_end())
}

/// `Name: value` with a lower-cased name of words, or `None` for plain text.
fn field(comment: &str) -> Option<(String, &str)> {
    let (name, value) = comment.split_once(':')?;
    let name = name.trim();
    let words_only = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_');
    words_only.then(|| (name.to_ascii_lowercase().replace('_', " "), value.trim()))
}

fn single(value: &str, field: &str) -> Result<String, String> {
    match list(value).as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("`{field}:` is empty")),
        _ => Err(format!("`{field}:` holds more than one value: {value}")),
    }
}

/// A field's name as the header format writes it.
fn display_name(name: &str) -> &str {
    match name {
        "revision id" => "Revision ID",
        "revises" => "Revises",
        "branch labels" => "Branch Labels",
        "depends on" => "Depends On",
        "create date" => "Create Date",
        "transactional" => "Transactional",
        other => other,
    }
}

/// A list in which no value is given twice.
fn distinct(value: &str, field: &str) -> Result<Vec<String>, String> {
    let values = list(value);
    match values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)) {
        Some((_, twice)) => Err(format!("`{field}:` lists `{twice}` twice")),
        None => Ok(values),
    }
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        other => Err(format!("`Transactional:` must be true or false, not `{other}`")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Up,
    Down,
}

/// `-- migrate:up` / `-- migrate:down`, any case and spacing.
fn section_marker(line: &str) -> Option<Section> {
    let text = comment_text(line)?.trim().to_ascii_lowercase().replace(' ', "");
    match text.as_str() {
        "migrate:up" => Some(Section::Up),
        "migrate:down" => Some(Section::Down),
        _ => None,
    }
}

/// Splits the lines after the header into the up and down bodies, each with the
/// 1-based line (counted from the first line given) that its text starts on.
fn sections<'a>(lines: &[&'a str], raw: &[&'a str]) -> Result<[(String, usize); 2], (usize, String)> {
    let mut up: Option<(usize, Vec<&str>)> = None;
    let mut down: Option<(usize, Vec<&str>)> = None;
    let mut current: Option<Section> = None;
    for (offset, line) in lines.iter().enumerate() {
        if let Some(section) = section_marker(line) {
            let slot = if section == Section::Up { &mut up } else { &mut down };
            if slot.is_some() {
                return Err((offset, format!("second `{}` marker", line.trim())));
            }
            *slot = Some((offset + 1, Vec::new()));
            current = Some(section);
            continue;
        }
        match current {
            Some(Section::Up) => up.as_mut().expect("up section open").1.push(raw[offset]),
            Some(Section::Down) => down.as_mut().expect("down section open").1.push(raw[offset]),
            None if line.trim().is_empty() || comment_text(line).is_some() => {}
            None => return Err((offset, "SQL before the `-- migrate:up` marker".into())),
        }
    }
    let up = up.ok_or((0, "no `-- migrate:up` marker".to_string()))?;
    Ok([join_body(up), join_body(down.unwrap_or_default())])
}

/// A section's text, trimmed, and the line its first non-blank line is on.
fn join_body((after_marker, lines): (usize, Vec<&str>)) -> (String, usize) {
    let blank = lines.iter().take_while(|l| l.trim().is_empty()).count();
    (lines.join("\n").trim().to_string(), after_marker + blank + 1)
}

/// Renders a new revision file in the format [`parse`] reads.
pub fn render(revision: &Revision, up: &str, down: &str) -> String {
    let mut out = String::new();
    for line in revision.message.lines() {
        out.push_str(&format!("-- {line}\n").replace("-- \n", "--\n"));
    }
    out.push_str("--\n");
    out.push_str(&format!("-- Revision ID: {}\n", revision.id));
    out.push_str(&format!("-- Revises: {}\n", revision.down_revisions.join(", ")));
    if !revision.branch_labels.is_empty() {
        out.push_str(&format!("-- Branch Labels: {}\n", revision.branch_labels.join(", ")));
    }
    if !revision.depends_on.is_empty() {
        out.push_str(&format!("-- Depends On: {}\n", revision.depends_on.join(", ")));
    }
    if let Some(date) = &revision.create_date {
        out.push_str(&format!("-- Create Date: {date}\n"));
    }
    if !revision.transactional {
        out.push_str("-- Transactional: false\n");
    }
    if revision.idempotent {
        out.push_str("-- Idempotent: true\n");
    }
    if !revision.allow.is_empty() {
        out.push_str(&format!("-- Allow: {}\n", revision.allow.join(", ")));
    }
    out.push_str(&format!("\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Revision, ScriptError> {
        parse(Path::new("v/x.sql"), text)
    }

    const FULL: &str = "-- add payment_methods table\n--\n-- Revision ID: 1975ea83b712\n-- Revises: 27c6a30d7c24, 3e3a10c6f2d1\n-- Branch Labels: payments\n-- Depends On: 55af2cb1c267\n-- Create Date: 2026-11-25 17:02:11\n-- Transactional: false\n\n-- migrate:up\nCREATE INDEX CONCURRENTLY ix ON t (c);\n\n-- migrate:down\nDROP INDEX ix;\n";

    #[test]
    fn reads_every_field() {
        let rev = read(FULL).unwrap();
        assert_eq!(rev.id, "1975ea83b712");
        assert_eq!(rev.down_revisions, ["27c6a30d7c24", "3e3a10c6f2d1"]);
        assert_eq!(rev.branch_labels, ["payments"]);
        assert_eq!(rev.depends_on, ["55af2cb1c267"]);
        assert_eq!(rev.message, "add payment_methods table");
        assert_eq!(rev.create_date.as_deref(), Some("2026-11-25 17:02:11"));
        assert!(!rev.transactional);
        assert_eq!(
            rev.body,
            Body::Sql {
                up: "CREATE INDEX CONCURRENTLY ix ON t (c);".into(),
                down: "DROP INDEX ix;".into(),
                up_line: 11,
                down_line: 14
            }
        );
    }

    #[test]
    fn tolerates_bom_crlf_blank_lines_and_case() {
        let text = format!("\u{feff}\r\n\r\n{}", FULL.replace("Revision ID", "REVISION id").replace('\n', "\r\n"));
        let rev = read(&text).unwrap();
        assert_eq!(rev.id, "1975ea83b712");
        assert_eq!(rev.message, "add payment_methods table");
        assert!(matches!(rev.body, Body::Sql { ref down, .. } if down == "DROP INDEX ix;"));
    }

    #[test]
    fn empty_revises_is_a_base_and_transactional_defaults_true() {
        let rev = read("-- first\n-- Revision ID: a1\n-- Revises:\n-- migrate:up\n").unwrap();
        assert!(rev.down_revisions.is_empty());
        assert!(rev.transactional);
        assert!(matches!(rev.body, Body::Sql { ref up, ref down, .. } if up.is_empty() && down.is_empty()));
    }

    #[test]
    fn crlf_inside_a_string_literal_is_kept() {
        let text = "-- Revision ID: a1\r\n-- migrate:up\r\nINSERT INTO t VALUES ('line1\r\nline2');\r\n-- migrate:down\r\nDELETE FROM t;\r\n";
        let rev = read(text).unwrap();
        let Body::Sql { up, down, .. } = rev.body else { panic!("a .sql body") };
        assert_eq!(up, "INSERT INTO t VALUES ('line1\r\nline2');");
        assert_eq!(down, "DELETE FROM t;");
    }

    #[test]
    fn a_blank_line_in_the_header_drops_no_field() {
        let rev = read("-- m\n-- Revision ID: bbb222\n\n-- Revises: aaa111\n-- Transactional: false\n\n-- TODO: later\n-- migrate:up\nSELECT 1;").unwrap();
        assert_eq!(rev.down_revisions, ["aaa111"]);
        assert!(!rev.transactional);
    }

    #[test]
    fn fields_and_values_given_twice_are_errors_with_line() {
        let err = read("-- Revision ID: b\n-- Revises: a\n-- Revises: c\n-- migrate:up\n").unwrap_err();
        assert_eq!(err.to_string(), "v/x.sql:3: the header gives `Revises:` twice");
        let err = read("-- Revision ID: b\n-- Revises: a, a\n-- migrate:up\n").unwrap_err();
        assert_eq!(err.to_string(), "v/x.sql:2: `Revises:` lists `a` twice");
    }

    #[test]
    fn message_may_contain_colons_before_fields() {
        let rev = read("-- Note: backfill\n-- Revision ID: a1\n-- migrate:up\nSELECT 1;").unwrap();
        assert_eq!(rev.message, "Note: backfill");
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = read("-- msg\n-- Revision ID: a1\n-- Revisse: b\n-- migrate:up\n").unwrap_err();
        assert_eq!(err.to_string(), "v/x.sql:3: unknown header field `revisse`");
        let err = read("-- msg\n-- Revises: b\n\n-- migrate:up\n").unwrap_err();
        assert!(err.to_string().contains("no `-- Revision ID:` line"), "{err}");
        let err = read("-- Revision ID: a\n\nCREATE TABLE t (x int);\n").unwrap_err();
        assert_eq!(err.to_string(), "v/x.sql:3: SQL before the `-- migrate:up` marker");
        let err = read("-- Revision ID: a\n-- Transactional: maybe\n-- migrate:up\n").unwrap_err();
        assert!(err.to_string().starts_with("v/x.sql:2: "), "{err}");
    }

    #[test]
    fn render_round_trips() {
        let rev = read(FULL).unwrap();
        let text = render(&rev, "CREATE INDEX CONCURRENTLY ix ON t (c);", "DROP INDEX ix;");
        assert_eq!(read(&text).unwrap(), rev);
    }
}
