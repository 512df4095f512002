//! `Dockerfile` and `deploy/` as written: the YAML parses (Python's PyYAML), every
//! retort subcommand and flag the manifests use exists in `retort --help`, the
//! Jobs' failure policies, clean-up and security settings are those
//! `deploy/README.md` describes, and the Dockerfile builds with a command CI runs.
//! No container engine runs here, so the image itself is not built.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A YAML file as JSON, Helm's `{{ … }}` placeholders filled in first.
fn yaml(path: &Path) -> Value {
    let script = "import sys, json, re, yaml\n\
                  text = re.sub(r'\\{\\{[^}]*\\}\\}', 'x', open(sys.argv[1]).read())\n\
                  print(json.dumps(yaml.safe_load(text)))";
    let out = Command::new("python3").args(["-c", script]).arg(path).output().expect("python3");
    assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_retort")).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "retort {args:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each flag of `args` (the container's, after the entrypoint) is in the help of
/// the subcommand they start with, and the subcommand exists.
fn assert_known(args: &[String]) {
    let command = &args[0];
    assert!(help(&[]).contains(&format!("  {command} ")), "no subcommand `{command}`");
    let text = help(&[command]);
    for flag in args.iter().filter(|a| a.starts_with('-')) {
        let name = flag.split('=').next().unwrap();
        assert!(
            text.contains(&format!("{name} ")) || text.contains(&format!("{name},")),
            "retort {command} has no {name}"
        );
    }
}

fn containers(job: &Value) -> &Vec<Value> {
    job["spec"]["template"]["spec"]["containers"].as_array().expect("containers")
}

fn exit_codes(job: &Value, action: &str) -> Vec<u64> {
    let rules = job["spec"]["podFailurePolicy"]["rules"].as_array().expect("a podFailurePolicy");
    rules
        .iter()
        .filter(|r| r["action"] == action)
        .flat_map(|r| r["onExitCodes"]["values"].as_array().cloned().unwrap_or_default())
        .map(|v| v.as_u64().unwrap())
        .collect()
}

fn assert_locked_down(job: &Value) {
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["automountServiceAccountToken"], false);
    for c in containers(job) {
        let security = &c["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(c["command"].is_null(), "the image's entrypoint runs retort, no shell");
    }
    assert!(job["spec"]["ttlSecondsAfterFinished"].as_u64().is_some(), "finished Jobs are cleaned up");
    assert_eq!(exit_codes(job, "FailJob"), [2], "bad config fails the Job at once");
}

#[test]
fn the_indexed_job_runs_as_written() {
    let job = yaml(&root().join("deploy/k8s-indexed-job.yaml"));
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert!(job["spec"]["backoffLimitPerIndex"].as_u64().is_some());
    assert_locked_down(&job);
    let mut retried = exit_codes(&job, "Count");
    retried.sort();
    assert_eq!(retried, [1, 3], "a failed target and a held lock are retried");
    let container = &containers(&job)[0];
    let image = container["image"].as_str().unwrap();
    let tag = image.rsplit_once(':').map(|(_, t)| t).expect("a tag");
    assert!(tag != "latest" && !tag.contains('/'), "a pinned tag: {image}");
    let args: Vec<String> = serde_json::from_value(container["args"].clone()).unwrap();
    assert_known(&args);
    let count = args.iter().position(|a| a == "--shard-count").expect("the shard from JOB_COMPLETION_INDEX");
    assert_eq!(args[count + 1], job["spec"]["completions"].as_u64().unwrap().to_string(), "N = completions");
}

#[test]
fn the_helm_hook_runs_before_install_and_upgrade() {
    let job = yaml(&root().join("deploy/helm-hook-job.yaml"));
    assert_eq!(job["metadata"]["annotations"]["helm.sh/hook"], "pre-install,pre-upgrade");
    assert_locked_down(&job);
    let args: Vec<String> = serde_json::from_value(containers(&job)[0]["args"].clone()).unwrap();
    assert_known(&args);
}

#[test]
fn the_dockerfile_builds_with_a_command_ci_runs() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let builds: Vec<&str> = dockerfile.lines().filter_map(|l| l.strip_prefix("RUN ")).collect();
    assert!(!builds.is_empty());
    for command in builds {
        assert!(ci.lines().any(|l| l.trim() == command), "CI does not run `{command}`");
    }
    let last_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(last_stage.contains("USER 65532:65532"), "the runtime image runs as non-root");
    assert!(last_stage.contains("ENTRYPOINT [\"/usr/local/bin/retort\"]"));
    assert!(dockerfile.contains("--locked"), "from the lock file");
}
