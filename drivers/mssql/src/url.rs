//! SQL Server URLs and ADO.NET connection strings, read strictly into the
//! settings tiberius takes (see the crate's documentation for the forms).

use std::collections::HashMap;

use retort_engine::driver::{ConnectOptions, DriverError, percent_decode};
use tiberius::{AuthMethod, Config, EncryptionLevel};

/// A parsed `mssql://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MssqlUrl {
    pub host: String,
    /// A named instance (`host\instance`, `%5C` in a URL), found through the
    /// SQL Browser when no port is given.
    pub instance: Option<String>,
    /// `None`: 1433, or the instance's port.
    pub port: Option<u16>,
    /// From the path, or `?database=` (the form go-mssqldb and dbmate use).
    pub database: Option<String>,
    pub user: String,
    pub password: String,
    pub trust_server_certificate: bool,
    pub encryption: EncryptionLevel,
}

/// The query keys a SQL Server URL may carry.
const URL_KEYS: [&str; 4] = ["database", "encrypt", "trust_server_certificate", "trustservercertificate"];

/// Parses `mssql://user:password@host[\instance][:port]/database?options`.
///
/// `encrypt`: `true`/`yes`/`mandatory`/`required` (the default) encrypt the whole
/// session; `strict` is TDS 8 strict encryption; `false`/`no`/`optional` encrypt
/// the login only (as ADO.NET and go-mssqldb do); `disable` turns TLS off
/// entirely, the password included. Any other value, and any unknown key, is an
/// error: a typo must never send a password in clear.
pub fn parse_url(url: &str) -> Result<MssqlUrl, String> {
    if let Some(ado) =
        ["mssql:", "sqlserver:"].iter().find_map(|s| url.strip_prefix(s)).filter(|r| !r.starts_with("//"))
    {
        return parse_ado(ado);
    }
    let rest = url
        .strip_prefix("mssql://")
        .or_else(|| url.strip_prefix("sqlserver://"))
        .ok_or("a SQL Server URL starts with mssql:// or sqlserver://")?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, after) = main.rsplit_once('@').ok_or("the URL needs user:password@host")?;
    let (hostport, path) = after.split_once('/').unwrap_or((after, ""));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (user, password) = (percent_decode(user), percent_decode(password));
    if user.contains('\\') {
        return Err(format!(
            "`{user}` is a Windows login; retort connects with SQL Server logins only (no integrated authentication)"
        ));
    }
    let (host, port) = split_host_port(hostport)?;
    let host = percent_decode(host);
    let (host, instance) = match host.split_once('\\') {
        Some((host, instance)) => (host.to_string(), Some(instance.to_string())),
        None => (host, None),
    };
    let mut options = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase();
        if !URL_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown URL option `{key}` (known: {})", URL_KEYS.join(", ")));
        }
        options.insert(key, percent_decode(value));
    }
    // With `?database=` the path names the instance, as go-mssqldb writes it;
    // without, the path is the database.
    let path = Some(percent_decode(path)).filter(|p| !p.is_empty());
    let (instance, database) = match (options.get("database").filter(|d| !d.is_empty()).cloned(), path) {
        (Some(_), Some(_)) if instance.is_some() => {
            return Err("the URL names an instance twice: after the host and in its path".into());
        }
        (Some(db), path) => (instance.or(path), Some(db)),
        (None, path) => (instance, path),
    };
    finish(host, instance, port, database, user, password, &options)
}

fn finish(
    host: String,
    instance: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: String,
    password: String,
    options: &HashMap<String, String>,
) -> Result<MssqlUrl, String> {
    let flag = |key: &str| options.get(key).map(|v| v.to_ascii_lowercase());
    let trust = match flag("trust_server_certificate").or_else(|| flag("trustservercertificate")).as_deref() {
        None | Some("false" | "no" | "0") => false,
        Some("true" | "yes" | "1") => true,
        Some(other) => return Err(format!("trust_server_certificate must be true or false, not `{other}`")),
    };
    let encryption = match flag("encrypt").as_deref() {
        None | Some("true" | "yes" | "1" | "mandatory" | "required") => EncryptionLevel::Required,
        Some("strict") => EncryptionLevel::Strict,
        Some("false" | "no" | "0" | "optional") => EncryptionLevel::Off,
        Some("disable") => EncryptionLevel::NotSupported,
        Some(other) => {
            return Err(format!(
                "encrypt must be true, strict, false (the login only) or disable (nothing), not `{other}`"
            ));
        }
    };
    Ok(MssqlUrl { host, instance, port, database, user, password, trust_server_certificate: trust, encryption })
}

/// The keys of an ADO.NET connection string retort reads (any case; spaces as written).
const ADO_KEYS: [&str; 14] = [
    "server",
    "data source",
    "address",
    "addr",
    "database",
    "initial catalog",
    "user id",
    "uid",
    "user",
    "password",
    "pwd",
    "encrypt",
    "trustservercertificate",
    "trust server certificate",
];

/// Reads an ADO.NET connection string, as .NET teams have them:
/// `Server=tcp:host\instance,port;Database=app;User Id=sa;Password=…;Encrypt=true`
/// (written in retort.toml as `mssql:Server=…`). `Encrypt` takes the values the
/// URL's `encrypt` does; an unknown key is an error.
pub fn parse_ado(ado: &str) -> Result<MssqlUrl, String> {
    let mut values = HashMap::new();
    for (key, value) in ado_pairs(ado)? {
        let key = key.trim().to_ascii_lowercase();
        if !ADO_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown connection-string key `{key}` (known: {})", ADO_KEYS.join(", ")));
        }
        let name = match key.as_str() {
            "data source" | "address" | "addr" => "server",
            "initial catalog" => "database",
            "uid" | "user" => "user id",
            "pwd" => "password",
            "trust server certificate" => "trustservercertificate",
            other => other,
        };
        values.insert(name.to_string(), value);
    }
    let server = values.get("server").ok_or("the connection string names no Server")?;
    let server = server.strip_prefix("tcp:").unwrap_or(server);
    let (host, port) = match server.rsplit_once(',') {
        Some((host, port)) => (host, Some(port.trim().parse::<u16>().map_err(|_| format!("bad port `{port}`"))?)),
        None => (server, None),
    };
    let (host, instance) = match host.split_once('\\') {
        Some((host, instance)) => (host.to_string(), Some(instance.to_string())),
        None => (host.to_string(), None),
    };
    let user = values.get("user id").cloned().unwrap_or_default();
    if user.contains('\\') {
        return Err(format!("`{user}` is a Windows login; retort connects with SQL Server logins only"));
    }
    let mut options = HashMap::new();
    if let Some(encrypt) = values.get("encrypt") {
        options.insert("encrypt".to_string(), encrypt.clone());
    }
    if let Some(trust) = values.get("trustservercertificate") {
        options.insert("trust_server_certificate".to_string(), trust.clone());
    }
    let password = values.get("password").cloned().unwrap_or_default();
    finish(host, instance, port, values.get("database").cloned(), user, password, &options)
}

/// The `key=value` pairs of a connection string: `;` separates them, and a value
/// in `'…'` or `"…"` may hold `;` (a doubled quote stands for one).
fn ado_pairs(ado: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = ado.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.trim().is_empty() {
            if chars.peek().is_none() {
                return Ok(pairs);
            }
            return Err("an empty key in the connection string".into());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        match chars.peek().copied() {
            Some(quote @ ('\'' | '"')) => {
                chars.next();
                loop {
                    match chars.next() {
                        Some(c) if c == quote && chars.peek() == Some(&quote) => {
                            chars.next();
                            value.push(quote);
                        }
                        Some(c) if c == quote => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("the value of `{}` has no closing quote", key.trim())),
                    }
                }
                let rest: String = chars.by_ref().take_while(|c| *c != ';').collect();
                if !rest.trim().is_empty() {
                    return Err(format!("`{}` after the quoted value of `{}`", rest.trim(), key.trim()));
                }
            }
            _ => value = chars.by_ref().take_while(|c| *c != ';').collect::<String>().trim().to_string(),
        }
        if key.contains(';') {
            return Err(format!("`{}` is not key=value", key.trim()));
        }
        pairs.push((key, value));
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ';') {
            chars.next();
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port `{p}`"));
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("an IPv6 host needs its closing `]`")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(port(p)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected `{after}` after the host")),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, p)) => Ok((host, Some(port(p)?))),
        None => Ok((hostport, None)),
    }
}

/// The tiberius configuration a URL and a target's settings make. Server
/// certificates are checked against Mozilla's bundled roots, plus the system
/// bundle with `tls_roots = "system"`, like every other driver's.
pub fn config(url: &MssqlUrl, options: &ConnectOptions) -> Result<Config, DriverError> {
    let mut config = Config::new();
    config.host(&url.host);
    if let Some(port) = url.port {
        config.port(port);
    }
    if let Some(instance) = &url.instance {
        config.instance_name(instance);
    }
    if let Some(db) = &url.database {
        config.database(db);
    }
    config.application_name(&options.application_name);
    config.authentication(AuthMethod::sql_server(&url.user, &url.password));
    if url.trust_server_certificate {
        config.trust_cert();
    } else {
        config.trust_webpki_roots();
        if let Some(bundle) = options.tls_roots.system_file()? {
            config.trust_cert_ca(bundle.display());
        }
    }
    config.encryption(url.encryption);
    // tiberius bounds every round trip to 30 s by default: a long CREATE INDEX or a
    // lock wait would end as an I/O error. Only the target's statement_timeout bounds it.
    config.command_timeout(options.statement_timeout);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse_url("mssql://sa:p%40ss@db.local:14330/app?trust_server_certificate=true").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.database.as_deref()), ("db.local", Some(14330), Some("app")));
        assert_eq!((u.user.as_str(), u.password.as_str()), ("sa", "p@ss"));
        assert!(u.trust_server_certificate);
        assert_eq!(u.encryption, EncryptionLevel::Required, "encrypted by default");
        let u = parse_url("sqlserver://sa:x@h").unwrap();
        assert_eq!((u.port, u.database, u.instance), (None, None, None));
        assert!(parse_url("postgres://x@y/z").is_err());
        assert!(parse_url("mssql://sa@h:notaport/db").is_err());
    }

    #[test]
    fn reads_the_database_from_the_path_or_the_query_and_instances_either_way() {
        let u = parse_url("sqlserver://sa:x@db/SQLEXPRESS?database=app").unwrap();
        assert_eq!(
            (u.instance.as_deref(), u.database.as_deref()),
            (Some("SQLEXPRESS"), Some("app")),
            "go-mssqldb's form"
        );
        let u = parse_url("mssql://sa:x@db%5CSQLEXPRESS/my%20db").unwrap();
        assert_eq!(
            (u.host.as_str(), u.instance.as_deref(), u.database.as_deref()),
            ("db", Some("SQLEXPRESS"), Some("my db"))
        );
        let u = parse_url("mssql://sa:x@[::1]:1444/app").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", Some(1444)));
        assert_eq!(parse_url("mssql://sa:x@[::1]/app").unwrap().port, None);
        let u = parse_url("mssql://sa:x@h?DATABASE=app").unwrap();
        assert_eq!(u.database.as_deref(), Some("app"), "keys in any case");
        assert!(parse_url("mssql://sa:x@h%5Ci/inst?database=d").unwrap_err().contains("instance twice"));
        assert!(parse_url("mssql://sa:x@h/app?datbase=x").unwrap_err().contains("unknown URL option `datbase`"));
        assert!(parse_url("mssql://CORP%5Cjane:x@h/app").unwrap_err().contains("Windows login"));
        assert!(parse_url("mssql://sa:x@[::1/app").is_err());
    }

    #[test]
    fn reads_ado_net_connection_strings() {
        let u = parse_url("mssql:Server=tcp:db.local\\SQLEXPRESS,14330;Initial Catalog=app;User ID=sa;Password='p;w''x';Encrypt=strict;TrustServerCertificate=True").unwrap();
        assert_eq!((u.host.as_str(), u.instance.as_deref(), u.port), ("db.local", Some("SQLEXPRESS"), Some(14330)));
        assert_eq!((u.database.as_deref(), u.user.as_str(), u.password.as_str()), (Some("app"), "sa", "p;w'x"));
        assert_eq!(u.encryption, EncryptionLevel::Strict);
        assert!(u.trust_server_certificate);
        let u = parse_url("sqlserver:Data Source=db;Database=app;UID=sa;PWD=x").unwrap();
        assert_eq!((u.port, u.encryption), (None, EncryptionLevel::Required));
        assert!(parse_url("mssql:Server=db;Encrypt=maybe").unwrap_err().contains("encrypt must be"));
        assert!(
            parse_url("mssql:Server=db;Conection Timeout=5").unwrap_err().contains("unknown connection-string key")
        );
        assert!(parse_url("mssql:Database=app").unwrap_err().contains("no Server"));
        assert!(parse_url("mssql:Server=db;User Id=CORP\\jane").unwrap_err().contains("Windows login"));
    }

    #[test]
    fn every_encrypt_value_is_understood_or_refused() {
        let level = |value: &str| parse_url(&format!("mssql://sa:x@h/app?encrypt={value}")).map(|u| u.encryption);
        for on in ["true", "TRUE", "yes", "1", "mandatory", "required"] {
            assert_eq!(level(on), Ok(EncryptionLevel::Required), "{on}");
        }
        assert_eq!(level("strict"), Ok(EncryptionLevel::Strict));
        for login_only in ["false", "no", "0", "optional"] {
            assert_eq!(level(login_only), Ok(EncryptionLevel::Off), "{login_only}: the login stays encrypted");
        }
        assert_eq!(level("disable"), Ok(EncryptionLevel::NotSupported));
        for typo in ["ture", "stict", "off", ""] {
            assert!(level(typo).is_err(), "{typo} must not turn TLS off");
        }
        assert!(parse_url("mssql://sa:x@h/app?trust_server_certificate=maybe").is_err());
    }

    #[test]
    fn the_config_takes_address_instance_and_no_30_second_cut() {
        let url = parse_url("mssql://sa:x@db.local:14330/app").unwrap();
        let options = ConnectOptions { application_name: "retort".into(), ..Default::default() };
        assert_eq!(config(&url, &options).unwrap().get_addr(), "db.local:14330");
        let named = parse_url("mssql://sa:x@db.local%5CSQLEXPRESS/app").unwrap();
        assert!(config(&named, &options).unwrap().get_addr().starts_with("db.local:"));
        assert_eq!(
            config(&url, &options).unwrap().get_command_timeout(),
            None,
            "no cut unless a statement timeout is set"
        );
        let bounded = ConnectOptions { statement_timeout: Some(Duration::from_secs(90)), ..options };
        assert_eq!(config(&url, &bounded).unwrap().get_command_timeout(), Some(Duration::from_secs(90)));
    }
}
