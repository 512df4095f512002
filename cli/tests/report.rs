//! `--report FILE.json` and `--report FILE.html` after a run of 1,000 SQLite
//! tenants with two failing ones and a stopped rollout; the page opened in a
//! real headless Chromium: it renders, its script runs, the console stays
//! clean, and it shows the failed targets first.

use std::path::Path;
use std::process::{Command, Output};

use retort_tests::servers::write_revision;
use serde_json::Value;

fn retort(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retort")).args(args).current_dir(dir).output().expect("run retort")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Debian's `chromium`, or another Chromium on the PATH.
fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("a Chromium for the report test (.ci/run installs Debian's chromium)")
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, stderr).
fn headless(page: &Path, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn project(tenants: usize, failing: &[usize]) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let s = work.path().join("scripts");
    write_revision(&s, "p1aaaaaaaaaa", &[], "", "CREATE TABLE accounts (id INTEGER);", "DROP TABLE accounts;");
    write_revision(&s, "p2aaaaaaaaaa", &["p1aaaaaaaaaa"], "", "CREATE INDEX ix ON accounts (id);", "DROP INDEX ix;");
    let names: Vec<String> = (0..tenants).map(|i| format!("t{i:04}")).collect();
    std::fs::write(work.path().join("tenants.txt"), names.join("\n")).unwrap();
    std::fs::create_dir(work.path().join("db")).unwrap();
    for &i in failing {
        let out = Command::new("sqlite3")
            .arg(work.path().join(format!("db/t{i:04}.db")))
            .arg("CREATE TABLE accounts (id INTEGER);")
            .output()
            .expect("sqlite3");
        assert!(out.status.success());
    }
    let config = "[fleets.tenants]\nurl_template = \"sqlite://db/{name}.db\"\nscript_location = \"scripts\"\nnames_file = \"tenants.txt\"\n";
    std::fs::write(work.path().join("retort.toml"), config).unwrap();
    work
}

#[test]
fn a_thousand_target_report_renders_in_chromium_with_the_failures_first() {
    let work = project(1000, &[417, 800]);
    let dir = work.path();
    let out = retort(
        dir,
        &[
            "upgrade",
            "heads",
            "--waves",
            "1,10%,100%",
            "--max-failures",
            "1",
            "--report",
            "r.html",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Which of t0801-t0807 had started when t0800 failed depends on timing; the rest are grouped.
    let shown = text(&out);
    assert!(shown.contains(" … tenants:t0999: not started: 2 targets failed, more than --max-failures 1"), "{shown}");

    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["summary"]["failed"], 2);
    let skipped = doc["summary"]["skipped"].as_u64().unwrap();
    assert!((190..=199).contains(&skipped), "{skipped} skipped");
    assert_eq!(doc["targets"].as_array().unwrap().len(), 1000);

    let page = dir.join("r.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="), "self-contained");
    let (dom, console) = headless(&page, &["--dump-dom"]);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran to its end");
    let console_lines: Vec<&str> =
        console.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console_lines.is_empty(), "console messages: {console_lines:?}");
    let failed = &dom[dom.find("id=\"failed\"").expect("a failed section")..dom.find("id=\"skipped\"").unwrap()];
    for name in ["tenants:t0417", "tenants:t0800"] {
        assert!(failed.contains(name), "{name} in the failed section");
    }
    assert!(failed.contains("table accounts already exists"), "with its message");
    let timeline = &dom[dom.find("id=\"timeline\"").unwrap()..];
    assert_eq!(timeline.matches("class=\"row\"").count(), 1000, "every target on the timeline");
    assert!(timeline.find("tenants:t0417").unwrap() < timeline.find("tenants:t0000").unwrap(), "failures first");

    let shot = dir.join("r.png");
    headless(&page, &["--hide-scrollbars", "--window-size=1280,1600", &format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.len() > 20_000 && png.starts_with(b"\x89PNG"), "a real picture, {} bytes", png.len());

    // A report no run writes, or a file kind there is none of, is refused before anything runs.
    for (args, says) in [
        (vec!["status", "--report", "s.html"], "only runs write reports"),
        (vec!["upgrade", "--dry-run", "--report", "s.json"], "only runs write reports"),
        (vec!["upgrade", "--report", "s.txt"], "name a .json or an .html file"),
    ] {
        let out = retort(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}
