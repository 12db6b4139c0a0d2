//! Attacks on ship, tried the way an attacker would, with real deploys: links that leave a
//! release, shared paths linked through an artifact's symlink, steps that outlive their
//! agent, secrets printed across lines, the deployer's environment leaking into steps,
//! artifacts that expand beyond their manifest, and target paths that break the bootstrap.
//! Each test fails if the protection it covers is taken away.

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::harness::{Project, sha256_hex, text};
use super::ssh::{fleet_with_env, wait_until};

/// One entry of a forged artifact.
enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
}

/// An artifact as an attacker would make it: a manifest that honestly lists `entries`,
/// then the entries, as tar + zstd. Returns the compressed bytes.
fn forge(entries: &[Entry<'_>]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| match e {
            Entry::File(path, content) => serde_json::json!({
                "path": path, "mode": 0o644, "size": content.len(), "sha256": sha256_hex(content)}),
            Entry::Link(path, target) => serde_json::json!({
                "path": path, "mode": 0o777, "size": 0, "sha256": sha256_hex(target.as_bytes()), "link": target}),
        })
        .collect();
    let manifest = serde_json::json!({"format": 1, "commit": "f".repeat(40), "files": files}).to_string();
    let mut tar = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, size: usize| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Symlink { 0o777 } else { 0o644 });
        h.set_size(size as u64);
        h
    };
    let mut h = header(tar::EntryType::Regular, manifest.len());
    tar.append_data(&mut h, ".ship-manifest.json", manifest.as_bytes()).unwrap();
    for e in entries {
        match e {
            Entry::File(path, content) => {
                let mut h = header(tar::EntryType::Regular, content.len());
                tar.append_data(&mut h, path, *content).unwrap();
            }
            Entry::Link(path, target) => {
                let mut h = header(tar::EntryType::Symlink, 0);
                tar.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    zstd::encode_all(&tar.into_inner().unwrap()[..], 3).unwrap()
}

/// Put `bytes` into the project's local artifact store, as `ship build` would; its sha256.
fn store(p: &Project, bytes: &[u8]) -> String {
    let sha = sha256_hex(bytes);
    let dir = p.base.join("cache/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{sha}.tar.zst")), bytes).unwrap();
    sha
}

/// The chain of the attack review: `up` counts as one level on paper and climbs four;
/// `esc` climbs out of the release through it.
const UP: (&str, &str) = ("a/b/c/d/up", "../../../..");
const ESC: (&str, &str) = ("esc", "a/b/c/d/up/../../../../outside");

/// Where `esc` would lead from a release of target `a` (`<base>/targets/a/releases/<id>`),
/// made a directory so that a write through the link would land there.
fn outside(p: &Project) -> PathBuf {
    let dir = p.base.join("outside");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

const WRITE_THROUGH: &str =
    "[[step]]\nname = \"write\"\nwhen = \"after_switch\"\nrun = \"echo pwned > esc/pwned || true\"\n";

#[test]
fn build_refuses_a_commit_whose_links_lead_out_of_the_release() {
    let p = Project::with_targets(&["a"], WRITE_THROUGH);
    let outside = outside(&p);
    std::fs::create_dir_all(p.root.join("a/b/c/d")).unwrap();
    symlink(UP.1, p.root.join(UP.0)).unwrap();
    symlink(ESC.1, p.root.join(ESC.0)).unwrap();
    p.commit("a link chain");

    let (_, stderr) = p.expect(&["build"], 2);
    assert!(stderr.contains("\"esc\"") && stderr.contains("leads out of the release"), "{stderr}");
    assert!(stderr.contains("hint:") && stderr.contains("exclude"), "says how to fix it:\n{stderr}");
    let (_, stderr) = p.expect(&["deploy", "staging"], 2);
    assert!(stderr.contains("\"esc\""), "{stderr}");
    assert!(p.releases("a").is_empty() && p.live("a").is_none(), "nothing reached the target");
    assert!(empty(&outside));

    // Left out with [build] exclude, the rest of the commit deploys.
    p.add_to_config("[build]\nexclude = [\"esc\"]\n");
    p.commit("leave the link out");
    p.expect(&["deploy", "staging"], 0);
    assert!(std::fs::symlink_metadata(p.target("a").join("current/a/b/c/d/up")).is_ok());
    assert!(!p.target("a").join("current/esc").exists());
    assert!(empty(&outside));
}

#[test]
fn a_crafted_artifact_whose_links_lead_out_is_refused_and_the_live_release_stays() {
    let p = Project::with_targets(&["a"], WRITE_THROUGH);
    let outside = outside(&p);
    p.expect(&["deploy", "staging"], 0);
    let live = p.live("a").unwrap();
    let bytes = forge(&[Entry::File("index.html", b"pwned\n"), Entry::Link(UP.0, UP.1), Entry::Link(ESC.0, ESC.1)]);
    let sha = store(&p, &bytes);
    let out = p.run(&["deploy", "staging", "--artifact", &sha, "--yes"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("\"esc\"") && stderr.contains("leads out of the release"), "{stderr}");
    assert_eq!(p.live("a"), Some(live), "the live release was touched");
    assert_eq!(p.releases("a").len(), 1);
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
    assert!(empty(&outside), "something was written outside the target");
}

#[test]
fn the_agent_refuses_to_unpack_a_crafted_artifact_and_writes_nothing_outside_its_temp_dir() {
    use super::agent::{agent, hello, lock, upload};
    use std::io::BufRead;
    let p = Project::empty();
    let outside = outside(&p);
    let cases: [(&[Entry<'_>], &str); 3] = [
        (&[Entry::File("index.html", b"hi\n"), Entry::Link(UP.0, UP.1), Entry::Link(ESC.0, ESC.1)], "leads out"),
        (&[Entry::Link("etc", "/etc")], "absolute"),
        (&[Entry::Link("sub", "."), Entry::File("sub/x", b"x")], "which is a symlink"),
    ];
    for (entries, why) in cases {
        let mut child = agent(&p);
        let mut out = hello(&mut child);
        let mut stdin = child.stdin.take().unwrap();
        assert!(lock(&mut stdin, &mut out).contains("\"done\""));
        let bytes = forge(entries);
        let sha = sha256_hex(&bytes);
        // The artifact's bytes follow the request to stage it: it arrives whole (its sha256
        // holds), and unpacking refuses it.
        writeln!(stdin, "{}", upload(&sha, bytes.len() as u64)).unwrap();
        stdin.write_all(&bytes).unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        out.read_line(&mut answer).unwrap();
        assert!(answer.contains("\"error\"") && answer.contains(why), "{why}: {answer}");
        drop(stdin);
        assert_eq!(child.wait().unwrap().code(), Some(0));
        let t = p.target("t");
        assert!(p.releases("t").is_empty(), "{why}: a release was made");
        assert!(empty(&t.join(".ship/tmp")), "{why}: the temporary directory was left behind");
        assert!(!t.join("current").exists());
        assert!(empty(&outside), "{why}: something was written outside the target");
    }
}

#[test]
fn shared_paths_are_never_linked_through_an_artifacts_symlink() {
    // `config` is a link to `log`, itself a shared path: linking `config/app.env` by
    // following it would make ship create a link inside <path>/shared/log, outside the release.
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"log\", \"config/app.env\"]\n");
    symlink("log", p.root.join("config")).unwrap();
    p.commit("config is a link");
    let shared = p.target("a").join("shared");
    std::fs::create_dir_all(shared.join("config")).unwrap();
    std::fs::write(shared.join("config/app.env"), "KEY=1\n").unwrap();

    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("config is a symlink in the artifact"), "{stderr}");
    assert!(std::fs::symlink_metadata(shared.join("log/app.env")).is_err(), "ship wrote through the symlink");
    assert!(p.live("a").is_none() && p.releases("a").is_empty());
    assert_eq!(std::fs::read_to_string(shared.join("config/app.env")).unwrap(), "KEY=1\n");
    assert!(!shared.join("log").exists(), "a refused release seeded shared/");
}

#[test]
fn a_shared_path_is_never_seeded_with_links_nor_climbed_out_of() {
    // The attack of the review: a first release seeds shared/log with a link that climbs
    // back to shared/log; a second one climbs from there out of the target. The target
    // refuses both (here as crafted artifacts, which no build has judged), and shared/
    // keeps nothing of them.
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"log\"]\n");
    let shared = p.target("a").join("shared");
    let seeding = forge(&[
        Entry::File("index.html", b"hi\n"),
        Entry::File("log/a/b/c/d/e/app.log", b"seed\n"),
        Entry::Link("log/a/b/c/d/e/up", "../../../../.."),
    ]);
    let (_, stderr) = p.expect(&["deploy", "staging", "--artifact", &store(&p, &seeding), "--yes"], 1);
    assert!(stderr.contains("goes back up") && stderr.contains("\"log\""), "{stderr}");
    assert!(!shared.join("log").exists(), "shared/ was seeded by a refused release");
    let climbing = forge(&[
        Entry::File("index.html", b"hi\n"),
        Entry::Link("esc", "log/a/b/c/d/e/up/../../../../../../etc/passwd"),
    ]);
    let (_, stderr) = p.expect(&["deploy", "staging", "--artifact", &store(&p, &climbing), "--yes"], 1);
    assert!(stderr.contains("\"esc\"") && stderr.contains("goes back up"), "{stderr}");
    assert!(p.releases("a").is_empty());

    // From a commit, `ship build` refuses it first, naming the link.
    symlink("log/a/b/../../../index.html", p.root.join("esc")).unwrap();
    p.commit("climb through the shared path");
    let (_, stderr) = p.expect(&["deploy", "staging"], 2);
    assert!(stderr.contains("\"esc\"") && stderr.contains("goes back up"), "{stderr}");

    // A link that stays below the shared path is fine in a release, but shared/ is seeded
    // with files and directories only: ship asks for the shared copy to be made by hand.
    std::fs::remove_file(p.root.join("esc")).unwrap();
    p.write("log/a/app.log", "seed\n");
    symlink("app.log", p.root.join("log/a/latest.log")).unwrap();
    p.commit("a link inside log");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("seeded with files and directories only"), "{stderr}");
    assert!(!shared.join("log").exists());
    std::fs::create_dir_all(shared.join("log")).unwrap();
    p.expect(&["deploy", "staging"], 0);
    assert!(std::fs::symlink_metadata(p.target("a").join("current/log")).unwrap().file_type().is_symlink());
}

#[test]
fn an_artifact_that_expands_beyond_its_manifest_is_refused_before_it_fills_the_disk() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    // The manifest lists a 5-byte file; the archive holds 2 GiB of zeros under that name,
    // which zstd packs into a few dozen KB.
    let manifest = serde_json::json!({"format": 1, "commit": "f".repeat(40), "files": [
        {"path": "index.html", "mode": 0o644, "size": 5, "sha256": sha256_hex(b"tiny\n")}]})
    .to_string();
    let mut encoder = zstd::Encoder::new(Vec::new(), 1).unwrap();
    {
        let mut tar = tar::Builder::new(&mut encoder);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(manifest.len() as u64);
        tar.append_data(&mut h, ".ship-manifest.json", manifest.as_bytes()).unwrap();
        let size = 2u64 << 30;
        h.set_size(size);
        tar.append_data(&mut h, "index.html", std::io::repeat(0).take(size)).unwrap();
        tar.finish().unwrap();
    }
    let bytes = encoder.finish().unwrap();
    assert!(bytes.len() < 1 << 20, "the bomb is small: {} bytes", bytes.len());
    let sha = store(&p, &bytes);

    let (_, stderr) = p.expect(&["deploy", "staging", "--artifact", &sha, "--yes"], 1);
    assert!(stderr.contains("index.html") && stderr.contains("its manifest says 5"), "{stderr}");
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
    assert_eq!(p.releases("a").len(), 1);
    let used: u64 = walk_size(&p.target("a"));
    assert!(used < 16 << 20, "{used} bytes were written on the target");
}

fn walk_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { walk_size(&entry.path()) } else { meta.len() };
    }
    total
}

/// The pid of the `ship agent` serving `path`, found by its command line.
fn agent_pid(path: &Path) -> Option<i32> {
    let want = path.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc").ok()? {
        let Ok(pid) = entry.ok()?.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.windows(3).any(|w| w[0] == b"agent" && w[1] == b"--path" && w[2] == want) {
            return Some(pid);
        }
    }
    None
}

/// The process group of a live process, and whether it is alive (not a zombie).
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let pgrp = rest.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

fn group_alive(pgrp: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|(state, g)| g == pgrp && state != 'Z'))
        .collect()
}

/// Kill the agent serving `target` with SIGKILL while a step runs: within a second no
/// process of the step remains (not even one that left its process group with `setsid`),
/// and its side effect never happens.
fn kill_the_agent_mid_step(p: &Project, target: &str) {
    let pid_file = p.base.join("step.pid");
    let side = p.base.join("side-effect");
    let path = p.target(target);
    let mut deploy = p.spawn(&["deploy", "staging"]);
    wait_until("the step started", || std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n')));
    let pids: Vec<i32> =
        std::fs::read_to_string(&pid_file).unwrap().split_whitespace().map(|p| p.parse().unwrap()).collect();
    let (step, escaped) = (pids[0], pids[1]);
    let (_, pgrp) = stat(step).expect("the step runs");
    let agent = agent_pid(&path).expect("the agent runs");
    rustix::process::kill_process(rustix::process::Pid::from_raw(agent).unwrap(), rustix::process::Signal::KILL)
        .unwrap();
    let killed = Instant::now();
    loop {
        let mut left = group_alive(pgrp);
        left.extend(stat(escaped).filter(|(state, _)| *state != 'Z').map(|_| escaped));
        if left.is_empty() {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(1), "step processes {left:?} outlived the agent");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = deploy.wait().unwrap();
    assert_ne!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(3500));
    assert!(!side.exists(), "the step's side effect happened after its agent died");
    p.wait_lock_free(target);
}

fn killable_step(p: &Project) -> String {
    format!(
        "[[step]]\nname = \"slow\"\nrun = \"sleep 30 & setsid sleep 30 & echo $$ $! > {pid}.tmp; mv {pid}.tmp {pid}; sleep 3; touch {side}\"\n",
        pid = p.base.join("step.pid").display(),
        side = p.base.join("side-effect").display()
    )
}

#[test]
fn a_step_dies_with_its_local_agent_killed_by_sigkill() {
    let p = Project::with_targets(&["a"], "");
    p.new_version(&killable_step(&p), "two\n");
    kill_the_agent_mid_step(&p, "a");
    assert!(p.live("a").is_none());
}

#[test]
fn a_step_dies_with_its_ssh_agent_killed_by_sigkill() {
    let Some((p, _sshd)) = fleet_with_env(1, "", |_| String::new()) else { return };
    p.new_version(&killable_step(&p), "two\n");
    kill_the_agent_mid_step(&p, "t1");
    assert!(p.live("t1").is_none());
}

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKBwko9Xzp4Ki6x4XQ3ZZkfE9Kh2uF1Xz0Lbq7m\n-----END PRIVATE KEY-----";

/// One local and one SSH target in one environment, with a multi-line secret.
#[test]
fn local_and_ssh_steps_see_the_same_clean_environment_and_no_line_of_a_secret_is_printed() {
    let Some((p, _sshd)) = fleet_with_env(1, "", |_| String::new()) else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let local = format!("\"local:{}\", ", p.target("a").display());
    let config = config.replace("targets = [", &format!("targets = [{local}")).replace(
        "[env.staging]",
        "[[step]]\nname = \"show\"\nrun = \"\"\"\necho \"$PEM\"\necho \"key: $PEM\" >&2\n\
         awk 'BEGIN { for (k in ENVIRON) print k }' | sort > names.txt\n\"\"\"\n\n[env.staging]\n\
         secrets = [\"PEM\"]\nvars = { STAGE = \"1\" }",
    );
    p.write("deploy.toml", &config);
    p.commit("show the environment");

    let out = p.ship().args(["deploy", "staging"]).env("PEM", PEM).env("OTHER_SECRET", "leak-me").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("[redacted]"), "{stderr}");
    for line in PEM.lines() {
        assert!(!stderr.contains(line), "a line of the secret was printed: {line}\n{stderr}");
        for t in ["a", "t1"] {
            let journal = std::fs::read_to_string(p.target(t).join(".ship/journal.jsonl")).unwrap();
            assert!(!journal.contains(line), "the journal of {t} holds the secret");
        }
    }

    let names = |t: &str| -> Vec<String> {
        let text = std::fs::read_to_string(p.target(t).join("current/names.txt")).unwrap();
        text.lines().map(str::to_string).collect()
    };
    let (on_local, on_ssh) = (names("a"), names("t1"));
    assert_eq!(on_local, on_ssh, "a local step and an SSH step see different variables");
    assert!(!on_local.iter().any(|n| n == "OTHER_SECRET"), "a local step saw the deployer's environment");
    for wanted in ["PATH", "HOME", "USER", "LANG", "SHELL", "SHIP_APP", "SHIP_RELEASE_DIR", "STAGE", "PEM"] {
        assert!(on_local.iter().any(|n| n == wanted), "steps lack {wanted}: {on_local:?}");
    }
}

#[test]
fn an_ssh_target_path_with_a_newline_and_a_backslash_bootstraps() {
    // The host user's cache cannot be made (XDG_CACHE_HOME is a file): the agent goes to
    // the target's own .ship/bin, under the odd path.
    let no_cache = |base: &std::path::Path| {
        std::fs::create_dir_all(base).unwrap();
        std::fs::write(base.join("a-file"), "").unwrap();
        format!("XDG_CACHE_HOME={}", base.join("a-file").display())
    };
    let Some((p, _sshd)) = fleet_with_env(1, "", no_cache) else { return };
    let odd = p.base.join("targets").join("we\\ird\nname");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let toml_path = odd.display().to_string().replace('\\', "\\\\").replace('\n', "\\n");
    let config = config.replace(&p.target("t1").display().to_string(), &toml_path);
    p.write("deploy.toml", &config);
    p.commit("an odd path");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(std::fs::read_to_string(odd.join("current/index.html")).unwrap(), "version one\n");
    let bins = std::fs::read_dir(odd.join(".ship/bin"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("ship-"))
        .count();
    assert_eq!(bins, 1, "the agent was uploaded once, verified");
}

/// A server that answers every GET with a 500 whose body holds `body`.
fn failing_health_server(body: String) -> u16 {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 500 Oops\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn a_secret_in_a_health_body_is_redacted_before_the_body_is_cut_and_webhook_tokens_never_print() {
    let secret = "Zq8sK2mLp4Xv9rT1cB7nW3yH6dF0gJ5e";
    // The secret straddles the point where the shown body is cut short.
    let port = failing_health_server(format!("{}postgres://app:{secret}@db\n", "x".repeat(371)));
    let p = Project::with_targets(
        &["a"],
        &format!(
            "[health]\nhttp = \"http://127.0.0.1:{port}/up\"\ntimeout = \"1s\"\ninterval = \"200ms\"\n\n\
             [notify]\nwebhook = \"HTTP://127.0.0.1:1/services/T0/B0/SLACKSECRET\"\n"
        ),
    );
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "secrets = [\"DB_PASS\"]\n";
    p.write("deploy.toml", &config);
    p.commit("health with a secret");
    let out = p.ship().args(["--format", "json", "deploy", "staging"]).env("DB_PASS", secret).output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("answered 500"), "{stderr}");
    let journal = std::fs::read_to_string(p.target("a").join(".ship/journal.jsonl")).unwrap();
    for (what, text) in [("stderr", &stderr), ("JSON", &stdout), ("journal", &journal)] {
        assert!(!text.contains(&secret[..8]), "{what} shows part of the secret:\n{text}");
    }
    assert!(stderr.contains("the webhook was not notified"), "{stderr}");
    assert!(!stderr.contains("SLACKSECRET") && !stderr.contains("/services/"), "{stderr}");
}

#[test]
fn a_shared_path_below_a_file_in_shared_is_refused_before_anything_is_seeded() {
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"log\", \"config/app.env\"]\n");
    let shared = p.target("a").join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("config"), "a file, where a directory should be\n").unwrap();
    p.write("log/readme", "seed\n");
    p.commit("a log directory to seed");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("shared/config is not a directory"), "{stderr}");
    assert!(!shared.join("log").exists(), "a refused release seeded shared/log");
}

#[test]
fn build_refuses_a_link_that_climbs_back_out_of_a_shared_path() {
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"log\"]\n");
    symlink("log/../index.html", p.root.join("esc")).unwrap();
    p.commit("a link through log");
    let (_, stderr) = p.expect(&["build"], 2);
    assert!(stderr.contains("\"esc\"") && stderr.contains("shared path \"log\""), "{stderr}");
}
