//! The login is encrypted for every `encrypt` value that promises it, against a
//! real TDS listener: the read-only emulator `pysqlbridge` (PyPI), behind a TCP
//! relay that records what the client sends. For every value that promises
//! encryption (the login-only `false` included) a TLS handshake carries the login
//! and the password's LOGIN7 form (UTF-16, nibbles swapped, XOR 0xA5) never crosses
//! in clear. `encrypt=disable` asks for none, which a server requiring TLS (this
//! bridge) overrides.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use retort_engine::driver::{ConnectOptions, TlsRoots};
use retort_mssql::{config, parse_url};
use tiberius::Client;
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncWriteCompatExt;

const PASSWORD: &str = "Secr3t-Passw0rd";

/// A free local port.
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `pysqlbridge` serving one table, admitting `retort` with [`PASSWORD`].
struct Bridge {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Bridge {
    fn start() -> Bridge {
        Bridge::launch(None)
    }

    /// A bridge whose self-signed certificate (for localhost and 127.0.0.1) is
    /// written to `cert` first, so that a test can vouch for it.
    fn start_with_certificate(cert: &std::path::Path) -> Bridge {
        Bridge::launch(Some(cert))
    }

    fn launch(cert: Option<&std::path::Path>) -> Bridge {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.json"), r#"[{"id": 1}]"#).unwrap();
        let config = format!(
            r#"{{"logins": [{{"user": "retort", "password": "${{env:BRIDGE_PW}}"}}], "tables": [{{"name": "t", "json": "{}"}}]}}"#,
            dir.path().join("t.json").display()
        );
        std::fs::write(dir.path().join("bridge.json"), config).unwrap();
        let port = free_port();
        // The bridge makes its certificate at start; this launcher makes it first,
        // saves its public half, and hands it over.
        let launcher = "import sys, pysqlbridge.server as s, pysqlbridge.certificate as c\n\
                        cert = c.self_signed('localhost')\n\
                        open(sys.argv[1], 'wb').write(cert.cert_pem) if sys.argv[1] else None\n\
                        s.self_signed = lambda *a, **k: cert\n\
                        sys.argv = ['pysqlbridge'] + sys.argv[2:]\n\
                        s.main()";
        let cert = cert.map(|c| c.display().to_string()).unwrap_or_default();
        let mut child = Command::new("python3")
            .args(["-c", launcher, &cert, "--config"])
            .arg(dir.path().join("bridge.json"))
            .args(["--port", &port.to_string()])
            .env("BRIDGE_PW", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m pysqlbridge starts (pip install pysqlbridge)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Bridge { child, port, _dir: dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("pysqlbridge did not listen on {port}");
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Relays one connection to `target` on threads, recording what the client sent.
fn relay(target: u16) -> (u16, Arc<Mutex<Vec<u8>>>) {
    use std::io::{Read, Write};
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = std::net::TcpStream::connect(("127.0.0.1", target)).unwrap();
        let (mut client_back, mut server_back) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut server_back, &mut client_back);
        });
        let mut buf = [0u8; 8192];
        while let Ok(n) = client.read(&mut buf) {
            if n == 0 || server.write_all(&buf[..n]).is_err() {
                break;
            }
            record.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (port, seen)
}

/// The password as LOGIN7 carries it.
fn obfuscated(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_le_bytes).map(|b| b.rotate_left(4) ^ 0xA5).collect()
}

/// Logs in through the relay with `encrypt`; whether the login succeeded, and
/// what the client sent.
async fn login(bridge: &Bridge, encrypt: &str) -> (bool, Vec<u8>) {
    let (port, seen) = relay(bridge.port);
    let url =
        format!("mssql://retort:{PASSWORD}@127.0.0.1:{port}/master?encrypt={encrypt}&trust_server_certificate=true");
    let url = parse_url(&url).unwrap();
    let options = ConnectOptions { application_name: "retort-test".into(), ..Default::default() };
    let config = config(&url, &options).unwrap();
    let tcp = TcpStream::connect(config.get_addr()).await.unwrap();
    let logged_in = tokio::time::timeout(Duration::from_secs(10), Client::connect(config, tcp.compat_write()))
        .await
        .is_ok_and(|client| client.is_ok());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = seen.lock().unwrap().clone();
    (logged_in, sent)
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_crosses_in_clear_unless_encryption_is_disabled() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bridge = Bridge::start();
    let secret = obfuscated(PASSWORD);
    for encrypt in ["true", "required", "false", "optional"] {
        let (logged_in, sent) = login(&bridge, encrypt).await;
        assert!(logged_in, "encrypt={encrypt}: the login succeeds");
        assert_eq!(sent.first(), Some(&0x12), "encrypt={encrypt}: the relay saw the client's PRELOGIN");
        assert!(holds(&sent, &[0x16, 0x03]), "encrypt={encrypt}: a TLS handshake carries the login");
        assert!(!holds(&sent, &secret), "encrypt={encrypt}: the password crossed in clear");
    }
    // `disable` asks for no encryption at all; a server that requires it (this
    // bridge does) still gets a TLS handshake first, and no password in clear.
    let (_, sent) = login(&bridge, "disable").await;
    assert!(!holds(&sent, &secret), "encrypt=disable against a server requiring TLS");
}

/// `encrypt=true` without `trust_server_certificate`: the server's certificate
/// is checked. Nobody vouches for the bridge's self-signed one under the bundled
/// roots, so the login fails; with `tls_roots = "system"` and the system bundle
/// (`SSL_CERT_FILE`) holding it, the same login succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_are_checked_against_the_configured_roots() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("bridge.pem");
    let bridge = Bridge::start_with_certificate(&cert);
    // SAFETY: nextest runs each test in a process of its own; nothing else reads
    // the environment while this one sets it.
    unsafe { std::env::set_var("SSL_CERT_FILE", &cert) };
    let url = parse_url(&format!("mssql://retort:{PASSWORD}@127.0.0.1:{}/master?encrypt=true", bridge.port)).unwrap();
    let log_in = |tls_roots| {
        let url = &url;
        async move {
            let options = ConnectOptions { tls_roots, ..Default::default() };
            let config = config(url, &options).unwrap();
            let tcp = TcpStream::connect(config.get_addr()).await.unwrap();
            let client =
                tokio::time::timeout(Duration::from_secs(10), Client::connect(config, tcp.compat_write())).await;
            client.expect("the bridge answered").map(drop).map_err(|e| e.to_string())
        }
    };
    let refused = log_in(TlsRoots::Bundled).await.expect_err("an unknown issuer is refused");
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    log_in(TlsRoots::System).await.expect("the system bundle vouches for it");
}
