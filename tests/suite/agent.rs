//! `ship agent` spoken to directly, as a broken or hostile peer would: garbage and cut-off
//! streams end the session with an error, and nothing is unpacked or switched.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::harness::Project;

pub(super) fn agent(p: &Project) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ship"));
    cmd.args(["agent", "--path"]).arg(p.target("t")).env("HOME", &p.home);
    super::limits::default_signals(&mut cmd);
    let child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    p.watch(&child);
    child
}

/// Take the target's lock through the agent; returns the agent's answer.
pub(super) fn lock(stdin: &mut std::process::ChildStdin, out: &mut BufReader<std::process::ChildStdout>) -> String {
    let request = serde_json::json!({"call": {"request": {"op": "lock", "holder": {
        "user": "t", "host": "h", "pid": 1, "command": "test", "since": "now"}}}});
    writeln!(stdin, "{request}").unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

pub(super) fn hello(child: &mut std::process::Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let greeting: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(greeting["hello"]["protocol"], 5, "{line}");
    out
}

/// A `stage` request whose artifact's `size` bytes follow its line.
pub(super) fn upload(sha256: &str, size: u64) -> serde_json::Value {
    serde_json::json!({"call": {"request": {
        "op": "stage", "sha256": sha256, "shared": [], "source": {"from": "upload", "size": size}}}})
}

/// Send one request and return the agent's answer line.
pub(super) fn call(
    stdin: &mut std::process::ChildStdin,
    out: &mut BufReader<std::process::ChildStdout>,
    request: serde_json::Value,
) -> String {
    writeln!(stdin, "{}", serde_json::json!({"call": {"request": request}})).unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

#[test]
fn garbage_ends_the_session_with_an_error() {
    let p = Project::empty();
    let mut child = agent(&p);
    let _out = hello(&mut child);
    child.stdin.as_mut().unwrap().write_all(b"GET / HTTP/1.1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a message of protocol 5"), "{stderr}");
}

#[test]
fn a_truncated_artifact_is_not_kept_and_nothing_is_unpacked() {
    let p = Project::empty();
    let mut child = agent(&p);
    let mut out = hello(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let line = lock(&mut stdin, &mut out);
    assert!(line.contains("\"done\""), "{line}");
    let sha = "ab".repeat(32);
    writeln!(stdin, "{}", upload(&sha, 100000)).unwrap();
    stdin.write_all(&[7u8; 1000]).unwrap();
    drop(stdin); // the stream is cut short
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let artifacts = std::fs::read_dir(p.target("t").join(".ship/artifacts")).unwrap().count();
    assert_eq!(artifacts, 0, "a cut-off artifact was kept");
    assert!(!p.target("t").join("current").exists());
    // The lock went with the agent.
    let file = std::fs::OpenOptions::new().write(true).open(p.target("t").join(".ship/lock")).unwrap();
    assert!(file.try_lock().is_ok(), "the agent's lock outlived it");
}

#[test]
fn a_corrupt_artifact_is_refused_by_its_sha256() {
    let p = Project::empty();
    let mut child = agent(&p);
    let mut out = hello(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let mut line = lock(&mut stdin, &mut out);
    writeln!(stdin, "{}", upload(&"cd".repeat(32), 10)).unwrap();
    stdin.write_all(b"0123456789").unwrap();
    stdin.flush().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("arrived corrupt"), "{line}");
    // The session goes on: the stream stayed in step.
    let line = call(&mut stdin, &mut out, serde_json::json!({"op": "state"}));
    assert!(line.contains("\"state\""), "{line}");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_step_that_leaves_a_daemon_behind_does_not_keep_the_lock() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"daemon\"\nrun = \"nohup sleep 20 >/dev/null 2>&1 &\"\n");
    p.expect(&["deploy", "staging"], 0);
    // The daemon lives on, but the lock went with ship: the next deploy is not exit 3.
    p.expect(&["deploy", "staging", "--force"], 0);
    let file = std::fs::OpenOptions::new().write(true).open(p.target("a").join(".ship/lock")).unwrap();
    assert!(file.try_lock().is_ok());
}

/// Every field a peer sends is checked before anything acts on it: malformed or forged
/// values get a protocol error and end the session, never a panic, and nothing happens.
#[test]
fn forged_fields_get_a_protocol_error_never_a_panic() {
    let p = Project::empty();
    let marker = p.base.join("ran");
    let step = |release: &str| {
        serde_json::json!({"call": {"request": {"op": "run_step", "step": {
            "name": "x", "run": format!("touch {}", marker.display()), "unless": null,
            "release": release, "env": [], "timeout_ms": null}}}})
    };
    // A sha256 whose 12th byte falls inside a character: slicing it once panicked.
    let split_char = format!("0123456789a\u{e9}{}", "0".repeat(51));
    let cases = [
        (serde_json::json!({"call": {"request": {"op": "stage", "sha256": split_char, "shared": []}}}), "not a sha256"),
        (
            serde_json::json!({"call": {"request": {"op": "stage", "sha256": "AB".repeat(32), "shared": []}}}),
            "not a sha256",
        ),
        (serde_json::json!({"call": {"request": {"op": "switch", "release": "../../../../"}}}), "not a release id"),
        (
            serde_json::json!({"call": {"request": {"op": "switch", "release": "a-b", "before": [{
                "at": "now", "run": "r", "kind": "deploy", "event": "begin", "release": "../../x"}]}}}),
            "not a release id",
        ),
        (
            serde_json::json!({"call": {"request": {"op": "stage", "sha256": "ab".repeat(32), "shared": [],
                "source": {"from": "fetch", "url": "file:///etc/passwd"}}}}),
            "http:// or https://",
        ),
        (step("../../../../tmp"), "not a release id"),
        (
            serde_json::json!({"call": {"request": {"op": "stage", "sha256": "ab".repeat(32), "shared": ["../../x"]}}}),
            "not a relative path",
        ),
        (
            serde_json::json!({"call": {"request": {"op": "stage", "sha256": "ab".repeat(32), "shared": ["a", "a/b"]}}}),
            "overlap",
        ),
        (upload(&"ab".repeat(32), u64::MAX), "larger than"),
        (upload("../x", 1), "not a sha256"),
    ];
    for (message, why) in cases {
        let mut child = agent(&p);
        let mut out = hello(&mut child);
        let mut stdin = child.stdin.take().unwrap();
        assert!(lock(&mut stdin, &mut out).contains("\"done\""));
        writeln!(stdin, "{message}").unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("\"error\"") && line.contains("protocol error") && line.contains(why), "{why}: {line}");
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{why}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!marker.exists(), "{why}: the step ran");
        assert!(!p.target("t").join("current").exists());
    }
}
