//! `ship agent` spoken to directly, as a broken or hostile peer would: garbage and cut-off
//! streams end the session with an error, and nothing is unpacked or switched.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::harness::Project;

fn agent(p: &Project) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("ship"))
        .args(["agent", "--path"])
        .arg(p.target("t"))
        .env("HOME", &p.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Take the target's lock through the agent; returns the agent's answer.
fn lock(stdin: &mut std::process::ChildStdin, out: &mut BufReader<std::process::ChildStdout>) -> String {
    let request = serde_json::json!({"call": {"request": {"op": "lock", "holder": {
        "user": "t", "host": "h", "pid": 1, "command": "test", "since": "now"}}}});
    writeln!(stdin, "{request}").unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

fn hello(child: &mut std::process::Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let greeting: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(greeting["hello"]["protocol"], 1, "{line}");
    out
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
    assert!(stderr.contains("not a message of protocol 1"), "{stderr}");
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
    writeln!(stdin, "{}", serde_json::json!({"artifact": {"sha256": sha, "size": 100000}})).unwrap();
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
    writeln!(stdin, "{}", serde_json::json!({"artifact": {"sha256": "cd".repeat(32), "size": 10}})).unwrap();
    stdin.write_all(b"0123456789").unwrap();
    stdin.flush().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("arrived corrupt"), "{line}");
    // The session goes on: the stream stayed in step.
    writeln!(stdin, "{}", serde_json::json!({"call": {"request": {"op": "state"}}})).unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
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
