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
    assert_eq!(greeting["hello"]["protocol"], 6, "{line}");
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
    assert!(stderr.contains("not a message of protocol 6"), "{stderr}");
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

/// A zstd tar of `files` (path, content), optionally led by a manifest that lists
/// `listed` (path, content): the shapes of an offer (a manifest alone) and of a delta (files
/// alone).
fn zstd_tar(manifest_of: Option<&[(&str, &str)]>, files: &[(&str, &str)]) -> (Vec<u8>, String) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut manifest_sha = String::new();
    let add = |tar: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(bytes.len() as u64);
        tar.append_data(&mut h, path, bytes).unwrap();
    };
    if let Some(listed) = manifest_of {
        let entries: Vec<serde_json::Value> = listed
            .iter()
            .map(|(path, content)| {
                serde_json::json!({"path": path, "mode": 0o644, "size": content.len(),
                                   "sha256": super::harness::sha256_hex(content.as_bytes())})
            })
            .collect();
        let manifest = serde_json::json!({"format": 1, "commit": "f".repeat(40), "files": entries}).to_string();
        manifest_sha = super::harness::sha256_hex(manifest.as_bytes());
        add(&mut tar, ".ship-manifest.json", manifest.as_bytes());
    }
    for (path, content) in files {
        add(&mut tar, path, content.as_bytes());
    }
    (zstd::encode_all(&tar.into_inner().unwrap()[..], 3).unwrap(), manifest_sha)
}

/// A delta is held to the manifest offered before it: without one, or with a file that is
/// not what the manifest says, nothing is unpacked; the session goes on, and a sound delta
/// then makes the release from its files and the contents the target has.
#[test]
fn a_delta_is_held_to_the_manifest_offered_before_it() {
    let p = Project::empty();
    let mut child = agent(&p);
    let mut out = hello(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    lock(&mut stdin, &mut out);
    let mut send = |request: serde_json::Value, bytes: &[u8]| {
        writeln!(stdin, "{}", serde_json::json!({"call": {"request": request}})).unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line
    };
    let stage = |size: usize, manifest: &str| {
        serde_json::json!({"op": "stage", "sha256": "ab".repeat(32), "shared": [],
                           "source": {"from": "delta", "size": size, "manifest": manifest}})
    };
    let (delta, _) = zstd_tar(None, &[("a.txt", "hello\n")]);
    let line = send(stage(delta.len(), &"cd".repeat(32)), &delta);
    assert!(line.contains("without its manifest offered first"), "{line}");

    let listed = [("a.txt", "hello\n"), ("b.txt", "world\n")];
    let (offer, manifest) = zstd_tar(Some(&listed), &[]);
    let line = send(serde_json::json!({"op": "lacks", "size": offer.len()}), &offer);
    assert!(line.contains("\"missing\":[0,1]"), "a target with nothing lacks everything: {line}");
    let (forged, _) = zstd_tar(None, &[("a.txt", "HELLO\n"), ("b.txt", "world\n")]);
    let line = send(stage(forged.len(), &manifest), &forged);
    assert!(line.contains("does not match its sha256"), "{line}");
    let (short, _) = zstd_tar(None, &[("a.txt", "hello\n")]);
    let line = send(stage(short.len(), &manifest), &short);
    assert!(line.contains("lacks the content of b.txt"), "{line}");
    assert_eq!(std::fs::read_dir(p.target("t").join("releases")).unwrap().count(), 0, "nothing was unpacked");

    // a.txt's content came with the refused delta and was kept (its sha256 is its name):
    // now the target lacks b.txt only, and a delta of it alone is enough.
    let line = send(serde_json::json!({"op": "lacks", "size": offer.len()}), &offer);
    assert!(line.contains("\"missing\":[1]"), "{line}");
    let (rest, _) = zstd_tar(None, &[("b.txt", "world\n")]);
    let line = send(stage(rest.len(), &manifest), &rest);
    assert!(line.contains("\"staged\""), "{line}");
    let release = p.target("t").join("releases").join("ab".repeat(6));
    assert_eq!(std::fs::read_to_string(release.join("b.txt")).unwrap(), "world\n");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
