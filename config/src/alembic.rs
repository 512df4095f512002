//! Alembic's own configuration as retort's: an `alembic.ini` or a `pyproject.toml`
//! with `[tool.alembic]` given to `-c` stands in for `retort.toml`.
//!
//! Each ini section with a `script_location` becomes a database: `[alembic]` is
//! `default`, any other section (Alembic's `--name` environments) keeps its name.
//! Read: `script_location` (`%(here)s` is the file's folder), `version_locations`
//! (split by `path_separator`, Alembic's default being spaces and commas),
//! `sqlalchemy.url` (SQLAlchemy URL forms mapped onto retort's drivers). The version
//! table is `alembic_version`, as Alembic's. The result is a `retort.toml` text, so
//! that `RETORT_*` variables layer over it exactly as over a real one.

use std::path::Path;

/// The `retort.toml` equivalent of an `alembic.ini`.
pub fn ini_to_toml(path: &Path, text: &str) -> Result<String, String> {
    let here = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let mut toml = String::new();
    for section in sections(text) {
        let get = |key: &str| section.get(key).map(|v| interpolate(v, &here, &section));
        let Some(script_location) = get("script_location") else { continue };
        let name = if section.name == "alembic" { "default".to_string() } else { section.name.clone() };
        toml.push_str(&format!("[databases.{}]\n", quote(&name)));
        if script_location.contains(':') && !Path::new(&script_location).exists() {
            return Err(format!(
                "[{}] script_location `{script_location}` is a package resource; give a folder",
                section.name
            ));
        }
        toml.push_str(&format!("script_location = {}\n", quote(&script_location)));
        if let Some(locations) = get("version_locations") {
            let separator = get("path_separator");
            let list: Vec<String> = split_locations(&locations, separator.as_deref()).map(|l| quote(&l)).collect();
            toml.push_str(&format!("version_locations = [{}]\n", list.join(", ")));
        }
        // `alembic init` leaves `driver://user:pass@localhost/dbname`: no database yet.
        // Graph commands and `convert` need none; run commands then say so.
        let url = get("sqlalchemy.url").filter(|u| !u.is_empty() && !u.starts_with("driver://"));
        let url =
            url.map(|u| retort_url(&u)).transpose().map_err(|e| format!("[{}] sqlalchemy.url: {e}", section.name))?;
        toml.push_str(&format!("url = {}\n", quote(&url.unwrap_or_default())));
        let recursive = get("recursive_version_locations").is_some_and(|v| is_true(&v));
        toml.push_str(&format!("recursive_version_locations = {recursive}\n"));
        toml.push_str("version_table = \"alembic_version\"\n");
    }
    if toml.is_empty() {
        return Err("no section with a `script_location` (Alembic's [alembic] section)".into());
    }
    Ok(toml)
}

/// The history settings of one section of an `alembic.ini` (`alembic` when `None`):
/// its `script_location` and `version_locations`, as absolute or config-relative
/// paths, for a `retort.toml` entry with `alembic_ini = "..."`.
pub fn ini_history(path: &Path, section: Option<&str>) -> Result<(String, Option<Vec<String>>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let here = absolute.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let wanted = section.unwrap_or("alembic");
    let found = sections(&text).into_iter().find(|s| s.name == wanted);
    let section = found.ok_or_else(|| format!("{} has no [{wanted}] section", path.display()))?;
    let get = |key: &str| section.get(key).map(|v| interpolate(v, &here, &section));
    let script_location = get("script_location").ok_or_else(|| format!("[{wanted}] has no script_location"))?;
    let locations =
        get("version_locations").map(|l| split_locations(&l, get("path_separator").as_deref()).collect::<Vec<_>>());
    // A relative script_location is relative to the ini's folder.
    let script_location = Path::new(&here).join(script_location).display().to_string();
    let locations = locations.map(|list| list.iter().map(|l| Path::new(&here).join(l).display().to_string()).collect());
    Ok((script_location, locations))
}

/// The `retort.toml` equivalent of `pyproject.toml`'s `[tool.alembic]`.
pub fn pyproject_to_toml(path: &Path, tool: &PyProjectAlembic) -> Result<String, String> {
    let here = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let fill = |v: &str| v.replace("%(here)s", &here);
    let script_location = tool.script_location.as_deref().ok_or("[tool.alembic] has no `script_location`")?;
    let mut toml = format!("[databases.default]\nscript_location = {}\n", quote(&fill(script_location)));
    if let Some(locations) = &tool.version_locations {
        let list: Vec<String> = locations.iter().map(|l| quote(&fill(l))).collect();
        toml.push_str(&format!("version_locations = [{}]\n", list.join(", ")));
    }
    let recursive = tool.recursive_version_locations.unwrap_or(false);
    toml.push_str(&format!("recursive_version_locations = {recursive}\nversion_table = \"alembic_version\"\n"));
    Ok(toml)
}

/// The keys of `[tool.alembic]` retort reads (the URL stays in `alembic.ini` or
/// `RETORT_DATABASES__DEFAULT__URL`, as with Alembic).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PyProjectAlembic {
    script_location: Option<String>,
    version_locations: Option<Vec<String>>,
    recursive_version_locations: Option<bool>,
}

/// A SQLAlchemy URL as a retort URL: the dialect picks the driver, the DBAPI part
/// (`+psycopg2`) is dropped; SQLite's `sqlite:///rel.db` / `sqlite:////abs.db`
/// become `sqlite://rel.db` / `sqlite:///abs.db`.
pub fn retort_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL (dialect+driver://...)")?;
    let dialect = scheme.split('+').next().unwrap_or_default().to_ascii_lowercase();
    let mapped = match dialect.as_str() {
        "postgresql" | "postgres" => "postgres",
        "mysql" => "mysql",
        "mariadb" => "mariadb",
        "mssql" => "mssql",
        "sqlite" => return Ok(format!("sqlite://{}", rest.strip_prefix('/').unwrap_or(rest))),
        other => return Err(format!("the SQLAlchemy dialect `{other}` has no retort driver")),
    };
    // Query options are SQLAlchemy's or its DBAPI's (`?driver=ODBC+Driver+18`):
    // only those retort's drivers also read are kept.
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or_default().to_ascii_lowercase();
            matches!(
                key.as_str(),
                "sslmode" | "sslrootcert" | "application_name" | "encrypt" | "trust_server_certificate"
            )
        })
        .collect();
    let query = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    Ok(format!("{mapped}://{base}{query}"))
}

/// One `[section]` of an ini file.
struct Section {
    name: String,
    entries: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// ConfigParser's format: `[section]`, `key = value` or `key: value`, `#`/`;`
/// comment lines, indented continuation lines.
fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            out.push(Section { name: name.trim().to_string(), entries: vec![] });
            continue;
        }
        let Some(section) = out.last_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = section.entries.last_mut() {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(['=', ':']) {
            section.entries.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// `%(here)s` and `%(key)s` from the same section; `%%` is a percent sign.
fn interpolate(value: &str, here: &str, section: &Section) -> String {
    let mut out = value.replace("%%", "\u{0}").replace("%(here)s", here);
    for (key, other) in &section.entries {
        out = out.replace(&format!("%({key})s"), other);
    }
    out.replace('\u{0}', "%")
}

/// Alembic's `version_locations` split: by `path_separator` (`os` is `:` here,
/// `space`, `newline`, `;`, `:`), else by spaces and commas (its legacy default).
fn split_locations<'a>(value: &'a str, separator: Option<&str>) -> impl Iterator<Item = String> + 'a {
    let separator = separator.map(str::to_ascii_lowercase);
    let pieces: Vec<String> = match separator.as_deref() {
        Some("os" | ":") => value.split(':').map(String::from).collect(),
        Some(";") => value.split(';').map(String::from).collect(),
        Some("newline") => value.lines().map(String::from).collect(),
        _ => value.split(|c: char| c.is_whitespace() || c == ',').map(String::from).collect(),
    };
    pieces.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty())
}

/// ConfigParser's booleans.
fn is_true(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_map_onto_retort_drivers() {
        for (from, to) in [
            ("postgresql+psycopg2://u:p@h:5432/db", "postgres://u:p@h:5432/db"),
            ("postgresql+asyncpg://u@h/db?sslmode=require", "postgres://u@h/db?sslmode=require"),
            ("postgresql://u@h/db", "postgres://u@h/db"),
            ("mysql+pymysql://root@h:3306/db?charset=utf8mb4", "mysql://root@h:3306/db"),
            ("mariadb+mariadbconnector://root@h/db", "mariadb://root@h/db"),
            ("sqlite:///app.db", "sqlite://app.db"),
            ("sqlite:////abs/app.db", "sqlite:///abs/app.db"),
            ("mssql+pyodbc://sa:x@h:1433/db?driver=ODBC+Driver+18+for+SQL+Server", "mssql://sa:x@h:1433/db"),
        ] {
            assert_eq!(retort_url(from).as_deref(), Ok(to), "{from}");
        }
        assert!(retort_url("oracle+cx_oracle://u@h/db").unwrap_err().contains("`oracle` has no retort driver"));
        assert!(retort_url("driver://user:pass@localhost/dbname").is_err(), "Alembic's template placeholder");
        let toml = ini_to_toml(
            Path::new("a.ini"),
            "[alembic]\nscript_location = m\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
        );
        assert!(toml.unwrap().contains("url = \"\"\n"), "the placeholder means no URL yet");
    }

    #[test]
    fn ini_sections_become_databases() {
        let ini = "[alembic]\nscript_location = %(here)s/migrations\nversion_locations = %(here)s/a %(here)s/b\nsqlalchemy.url = postgresql+psycopg2://app@db/main\n\n[analytics]\nscript_location = analytics\nsqlalchemy.url = sqlite:///a.db\n\n[loggers]\nkeys = root\n";
        let toml = ini_to_toml(Path::new("/p/alembic.ini"), ini).unwrap();
        assert_eq!(
            toml,
            "[databases.\"default\"]\nscript_location = \"/p/migrations\"\nversion_locations = [\"/p/a\", \"/p/b\"]\nurl = \"postgres://app@db/main\"\nrecursive_version_locations = false\nversion_table = \"alembic_version\"\n[databases.\"analytics\"]\nscript_location = \"analytics\"\nurl = \"sqlite://a.db\"\nrecursive_version_locations = false\nversion_table = \"alembic_version\"\n"
        );
        assert!(ini_to_toml(Path::new("a.ini"), "[loggers]\nkeys = root\n").is_err());
        let err = ini_to_toml(Path::new("a.ini"), "[alembic]\nscript_location = x\nsqlalchemy.url = db2://h/x\n");
        assert!(err.unwrap_err().starts_with("[alembic] sqlalchemy.url: "));
    }

    #[test]
    fn path_separators() {
        let split = |v: &str, s: Option<&str>| split_locations(v, s).collect::<Vec<_>>();
        assert_eq!(split("a b,c", None), ["a", "b", "c"]);
        assert_eq!(split("a b:c d", Some("os")), ["a b", "c d"]);
        assert_eq!(split("a b\nc", Some("newline")), ["a b", "c"]);
    }
}
