//! `history --graph`: a history with a branch point, labels, a merge, a
//! `depends_on` and a cross-database dependency, drawn as DOT and fed to
//! Graphviz, and as Mermaid rendered by the real Mermaid library (the one
//! GitHub uses) in headless Chromium.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use retort_tests::servers::write_revision;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn project() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("default");
    write_revision(&d, "a0aaaaaaaaaa", &[], "", "SELECT 1;", "SELECT 1;");
    write_revision(&d, "b1aaaaaaaaaa", &["a0aaaaaaaaaa"], "-- Branch Labels: billing", "SELECT 1;", "SELECT 1;");
    write_revision(&d, "c1aaaaaaaaaa", &["a0aaaaaaaaaa"], "-- Branch Labels: sessions", "SELECT 1;", "SELECT 1;");
    write_revision(&d, "d2aaaaaaaaaa", &["b1aaaaaaaaaa", "c1aaaaaaaaaa"], "", "SELECT 1;", "SELECT 1;");
    write_revision(&d, "e3aaaaaaaaaa", &["d2aaaaaaaaaa"], "-- Depends On: c1aaaaaaaaaa", "SELECT 1;", "SELECT 1;");
    let a = work.path().join("analytics");
    write_revision(&a, "f0aaaaaaaaaa", &[], "-- Depends On: default:d2aaaaaaaaaa", "SELECT 1;", "SELECT 1;");
    let config = "[databases.default]\nurl = \"sqlite://d.db\"\nscript_location = \"default\"\n\n\
                  [databases.analytics]\nurl = \"sqlite://a.db\"\nscript_location = \"analytics\"\n";
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    work
}

#[test]
fn dot_output_is_drawn_by_graphviz() {
    let work = project();
    let out = retort(work.path(), &["history", "--graph", "dot"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut dot = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz `dot` (.ci/run installs graphviz)");
    dot.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let drawn = dot.wait_with_output().unwrap();
    assert!(drawn.status.success(), "dot refused it: {}", String::from_utf8_lossy(&drawn.stderr));
    let svg = String::from_utf8_lossy(&drawn.stdout);
    assert_eq!(svg.matches("class=\"node\"").count(), 7, "6 revisions and the default:d2 note");
    assert_eq!(svg.matches("class=\"edge\"").count(), 7, "4 parent arrows, 1 depends_on, 1 cross-database");
    assert_eq!(svg.matches("stroke-dasharray").count(), 2, "2 dashed edges");
    assert_eq!(svg.matches("class=\"cluster\"").count(), 2, "one box per history");
    assert!(svg.contains("(billing)") && svg.contains("default:d2aaaaaaaaaa"), "labels and the note");
}

/// Mermaid's bundle: `RETORT_TEST_MERMAID_JS`, or where `.ci/run` installs it.
fn mermaid_js() -> PathBuf {
    let path = std::env::var_os("RETORT_TEST_MERMAID_JS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME"))
            .join(".cache/retort-npm/node_modules/mermaid/dist/mermaid.min.js")
    });
    assert!(path.is_file(), "no Mermaid at {} (.ci/run installs it with npm)", path.display());
    path
}

#[test]
fn mermaid_output_is_drawn_by_mermaid_in_chromium() {
    let work = project();
    let out = retort(work.path(), &["history", "--graph"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let page = format!(
        "<!DOCTYPE html><html><body><div id=\"out\"></div><script src=\"file://{}\"></script><script>\
         mermaid.initialize({{startOnLoad: false}});\
         mermaid.render('g', {}).then(function (r) {{ document.getElementById('out').innerHTML = r.svg; \
         document.body.dataset.ready = '1'; }}).catch(function (e) {{ document.body.dataset.error = String(e); }});\
         </script></body></html>",
        mermaid_js().display(),
        serde_json::to_string(&text).unwrap()
    );
    let file = work.path().join("graph.html");
    std::fs::write(&file, page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let error = dom.split("data-error=\"").nth(1).map(|e| e.split('"').next().unwrap_or(""));
    assert_eq!(error, None, "Mermaid refused the graph:\n{text}");
    assert!(dom.contains("data-ready=\"1\""), "rendered:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(dom.matches("id=\"flowchart-h").count(), 7, "6 revisions and the note: {text}");
    assert_eq!(dom.matches("class=\"node default head\"").count(), 2, "two heads: e3, f0");
    let paths = dom.split("<path").skip(1).map(|p| p.split('>').next().unwrap_or(""));
    assert_eq!(paths.filter(|p| p.contains("edge-pattern-dotted")).count(), 2, "two dashed arrows");
}
