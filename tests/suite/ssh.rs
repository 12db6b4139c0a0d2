//! `ssh://` targets against a real OpenSSH server on 127.0.0.1: the agent, its bootstrap,
//! fleets, locks, and what happens when the deploying ship or the connection dies.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::harness::{Gate, Project, text};
use super::sshd::Sshd;

/// A project whose `staging` has `n` ssh targets (`target1`..), all on the test sshd.
fn fleet(n: usize, extra: &str) -> Option<(Project, Sshd)> {
    fleet_with_env(n, extra, |_| String::new())
}

/// `fleet`, with sessions on the server also getting `env(base dir)`.
pub(super) fn fleet_with_env(
    n: usize,
    extra: &str,
    env: impl FnOnce(&std::path::Path) -> String,
) -> Option<(Project, Sshd)> {
    let p = Project::empty();
    let sshd = Sshd::start_with_env(&p.base.join("sshd"), &env(&p.base))?;
    let targets: Vec<String> =
        (1..=n).map(|i| format!("\"ssh://target{i}{}\"", p.target(&format!("t{i}")).display())).collect();
    p.write(
        "deploy.toml",
        &format!(
            "[app]\nname = \"hello\"\n\n{}\n{extra}\n\n[env.staging]\ntargets = [{}]\n",
            sshd.ssh_table(),
            targets.join(", ")
        ),
    );
    p.write("index.html", "version one\n");
    p.write_exec("bin/healthy", "#!/bin/sh\ntest -f index.html\n");
    p.commit("first");
    p.tag("v1");
    Some((p, sshd))
}

/// The host user's cache of uploaded ships on the test server.
fn agent_cache(sshd: &Sshd) -> PathBuf {
    sshd.dir.join("home/.cache/ship/bin")
}

/// The uploaded ships (`ship-<sha256>`) in `dir`.
fn ships_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut ships: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ship-"))
        .collect();
    ships.sort();
    ships
}

/// How many uploads of ship a `ship -v` run reports.
fn uploads(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains(": uploaded ship (")).count()
}

pub(super) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn deploy_noop_rollback_status_and_history_over_ssh() {
    let Some((p, sshd)) = fleet(2, "[health]\ncommand = \"./bin/healthy\"\n") else { return };
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    let v1 = p.live("t1").unwrap();
    assert_eq!(p.live("t2").as_ref(), Some(&v1));
    assert_eq!(p.live_file("t2", "index.html"), "version one\n");
    // The host had no ship: this very binary was uploaded, content-addressed, once for
    // both targets, into the host user's cache.
    let bins = ships_in(&agent_cache(&sshd));
    assert_eq!(bins.len(), 1, "{bins:?}");
    let own = std::fs::read(assert_cmd::cargo::cargo_bin("ship")).unwrap();
    assert_eq!(std::fs::read(&bins[0]).unwrap(), own, "the uploaded agent is not this build");
    assert!(!p.target("t1").join(".ship/bin").exists() && !p.target("t2").join(".ship/bin").exists());

    let (stdout, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(stdout.contains("up to date"), "{stdout}");
    assert!(!stderr.contains("sending"), "{stderr}");

    p.write("index.html", "version two\n");
    p.commit("second");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.live_file("t1", "index.html"), "version two\n");
    let rolled = p.json(&["rollback", "staging"], 0);
    assert_eq!(rolled["outcome"], "succeeded");
    assert_eq!(p.live("t1").as_ref(), Some(&v1));
    assert_eq!(p.live("t2").as_ref(), Some(&v1));

    let status = p.json(&["status", "staging", "--verify"], 0);
    assert_eq!(status["consistent"], true);
    assert_eq!(status["targets"][0]["current"]["version"], "v1");
    assert_eq!(status["targets"][1]["verified"], true);
    let history = p.json(&["history", "staging"], 0);
    let kinds: Vec<&str> = history["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rollback", "deploy", "deploy"]);

    let check = p.json(&["check", "staging"], 0);
    for t in check["targets"].as_array().unwrap() {
        assert_eq!(t["reachable"], true);
        assert_eq!(t["writable"], true);
        assert_eq!(t["agent_version"], env!("CARGO_PKG_VERSION"));
        assert!(t["free_bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn eight_targets_four_at_a_time() {
    let Some((p, _sshd)) = fleet(8, "") else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "parallel = 4\n";
    p.write("deploy.toml", &config);
    p.commit("parallel");
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["targets"].as_array().unwrap().len(), 8);
    let release = p.live("t1").unwrap();
    for i in 1..=8 {
        assert_eq!(p.live(&format!("t{i}")).as_ref(), Some(&release), "t{i}");
    }
    assert_eq!(p.json(&["deploy", "staging"], 0)["outcome"], "noop");
}

/// Round trips are what a fleet waits on: after connecting, a first version takes four
/// exchanges with each target's agent (lock and state; stage with the artifact's bytes;
/// switch; finish), a new version five (which contents the target lacks comes first, and
/// then only those are sent), a rollback three and a no-op two, journal records included.
#[test]
fn a_first_version_is_four_exchanges_per_target_a_new_one_five_a_rollback_three_a_noop_two() {
    let Some((p, _sshd)) = fleet(3, "") else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "parallel = 3\n";
    p.write("deploy.toml", &config);
    p.commit("parallel");
    let sent = std::cell::RefCell::new(Vec::new());
    let exchanges = |args: &[&str]| -> Vec<String> {
        let (_, stderr) = p.expect(args, 0);
        let lines: Vec<String> =
            stderr.lines().filter(|l| l.contains("exchanges with its agent")).map(String::from).collect();
        assert_eq!(lines.len(), 3, "{stderr}");
        *sent.borrow_mut() = stderr.lines().filter(|l| l.contains("sending")).map(String::from).collect();
        lines
    };
    for line in exchanges(&["-v", "deploy", "staging"]) {
        assert!(line.ends_with(": 4 exchanges with its agent"), "first deploy: {line}");
    }
    assert_eq!(sent.borrow().len(), 3);
    assert!(sent.borrow().iter().all(|l| l.contains("sending the artifact (")), "{:?}", sent.borrow());
    p.write("index.html", "version two\n");
    p.commit("second");
    for line in exchanges(&["-v", "deploy", "staging"]) {
        assert!(line.ends_with(": 5 exchanges with its agent"), "new version: {line}");
    }
    // Only the changed file's content went, to each target.
    assert_eq!(sent.borrow().len(), 3);
    for line in sent.borrow().iter() {
        assert!(line.contains("sending the contents it lacks: 1 of "), "{line}");
    }
    for line in exchanges(&["-v", "deploy", "staging"]) {
        assert!(line.ends_with(": 2 exchanges with its agent"), "no-op: {line}");
    }
    for line in exchanges(&["-v", "rollback", "staging", "--yes"]) {
        assert!(line.ends_with(": 3 exchanges with its agent"), "rollback: {line}");
    }
    // The journal reads as it did when each record took an exchange of its own.
    let journal = std::fs::read_to_string(p.target("t3").join(".ship/journal.jsonl")).unwrap();
    let events: Vec<String> = journal
        .lines()
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}", record["kind"].as_str().unwrap(), record["event"].as_str().unwrap())
        })
        .collect();
    let deploy = ["deploy begin", "deploy staged", "deploy switched", "deploy live", "deploy end"];
    let mut expected: Vec<&str> = [deploy, deploy].concat();
    expected.extend(["rollback begin", "rollback restored", "rollback end"]);
    assert_eq!(events, expected);
    assert_eq!(p.live_file("t3", "index.html"), "version one\n");
}

#[test]
fn a_second_deploy_over_ssh_gets_exit_3_and_lock_wait_waits() {
    let Some((p, _sshd)) = fleet(2, "") else { return };
    let gate = Gate::new(&p);
    p.add_to_config(&gate.step());
    p.commit("gated");
    let first = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    let (_, stderr) = p.expect(&["deploy", "staging"], 3);
    assert!(stderr.contains("is locked by tester@"), "{stderr}");
    assert!(stderr.contains("ship deploy staging"), "{stderr}");
    // With --lock-wait the second deploy waits for the first (it says so), then finds
    // nothing to do.
    let mut second = p.spawn(&["--format", "json", "deploy", "staging", "--lock-wait", "60s"]);
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = second.stderr.take().unwrap();
    let reader = {
        let said = said.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                if n == 0 {
                    break;
                }
                said.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    wait_until("the second deploy waits for the lock", || {
        said.lock().unwrap().contains("waiting for it (--lock-wait 1m)")
    });
    assert!(second.try_wait().unwrap().is_none(), "it is still waiting");
    gate.open();
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let second = second.wait_with_output().unwrap();
    reader.join().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", said.lock().unwrap());
    let out: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(out["outcome"], "noop");
}

/// A gated step that records its pid, so a test can tell whether it was stopped.
fn pid_gate(p: &Project) -> (Gate, PathBuf, String) {
    let gate = Gate::new(p);
    let pid_file = p.base.join("step.pid");
    let step = gate.step().replace("run = \"", &format!("run = \"echo $$ > {}; ", pid_file.display()));
    (gate, pid_file, step)
}

fn alive(pid_file: &PathBuf) -> bool {
    let pid = std::fs::read_to_string(pid_file).unwrap();
    PathBuf::from(format!("/proc/{}", pid.trim())).exists()
}

#[test]
fn sigkill_of_the_deploying_ship_stops_the_remote_side_and_a_rerun_finishes() {
    let Some((p, _sshd)) = fleet(2, "") else { return };
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("t1").unwrap();
    let (gate, pid_file, step) = pid_gate(&p);
    p.new_version(&step, "version two\n");
    let mut child = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The agent notices at once: the step's process group is stopped and the lock is free.
    wait_until("the remote step is stopped", || !alive(&pid_file));
    p.wait_lock_free("t1");
    p.wait_lock_free("t2");
    assert_eq!(p.live("t1").as_ref(), Some(&v1), "nothing was switched");
    assert_eq!(p.live("t2").as_ref(), Some(&v1));
    gate.open();
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(p.live_file("t1", "index.html"), "version two\n");
    assert_eq!(p.live_file("t2", "index.html"), "version two\n");
}

#[test]
fn a_cut_connection_fails_the_deploy_and_leaves_targets_whole() {
    let Some((p, sshd)) = fleet(1, "") else { return };
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("t1").unwrap();
    let (gate, pid_file, step) = pid_gate(&p);
    p.new_version(&step, "version two\n");
    let child = p.spawn(&["--format", "json", "deploy", "staging"]);
    gate.wait_started();
    // Cut every connection on the server side: SIGKILL sshd's session processes.
    for pid in children_of(sshd.pid()) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the connection closed"), "{stderr}");
    // The target is named once per message: the line says who, the error what.
    let target = format!("ssh://target1{}", p.target("t1").display());
    let failed = stderr.lines().find(|l| l.contains("failed:")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(failed.contains(&format!(" {target}: failed: ")), "{failed}");
    assert_eq!(failed.matches(&target).count(), 1, "{failed}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["targets"][0]["error_kind"], "connection", "{json}");
    assert!(!json["targets"][0]["error"].as_str().unwrap().contains("ssh://"), "{json}");
    wait_until("the remote step is stopped", || !alive(&pid_file));
    p.wait_lock_free("t1");
    assert_eq!(p.live("t1").as_ref(), Some(&v1));
    gate.open();
    assert_eq!(p.json(&["deploy", "staging"], 0)["outcome"], "succeeded");
}

use std::process::Command;

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let ppid = after.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

#[test]
fn an_unknown_host_key_is_an_error_not_an_accept() {
    let Some((p, _sshd)) = fleet(1, "") else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace("ssh://target1", "ssh://nokey");
    p.write("deploy.toml", &config);
    p.commit("unknown host");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("ssh://nokey"), "{stderr}");
    assert!(stderr.contains("Host key verification failed"), "{stderr}");
    // What to do about it is a hint, on a line of its own.
    let hint = stderr.lines().find(|l| l.starts_with("hint: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(hint.contains("known_hosts") && hint.contains("ssh-keyscan"), "{hint}");
    assert!(!stderr.contains("(the host's key"), "the hint is not inside the message: {stderr}");
    let json = p.json(&["deploy", "staging"], 1);
    assert_eq!(json["error"]["kind"], "connection", "{json}");
    assert!(json["error"]["hint"].as_str().unwrap().contains("known_hosts"), "{json}");
    assert!(!p.target("t1").exists(), "nothing was created");
    let known = std::fs::read_to_string(p.base.join("sshd/empty_known_hosts")).unwrap();
    assert_eq!(known, "", "the key was not accepted on first use");
    let check = p.json(&["check", "staging"], 1);
    assert!(check["targets"][0]["error"].as_str().unwrap().contains("Host key verification failed"));
}

#[test]
fn a_host_on_another_platform_or_without_agent_path_says_how_to_fix_it() {
    // The host reports another platform: its sessions find this `uname` first on PATH.
    let setup = |base: &std::path::Path| {
        let fakebin = base.join("fakebin");
        std::fs::create_dir_all(&fakebin).unwrap();
        let uname = fakebin.join("uname");
        std::fs::write(&uname, "#!/bin/sh\necho Plan9 mips\n").unwrap();
        std::fs::set_permissions(&uname, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        format!("PATH={}:/usr/bin:/bin", fakebin.display())
    };
    let Some((p, sshd)) = fleet_with_env(1, "", setup) else { return };
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("the host runs Plan9 mips"), "{stderr}");
    assert!(stderr.contains("agent_path"), "{stderr}");
    assert!(!p.target("t1").join("current").exists());

    // agent_path that does not exist on the host.
    let config = format!("{}\n", sshd.ssh_table().trim_end()) + "agent_path = \"/nonexistent/ship\"\n";
    let whole = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let start = whole.find("[ssh]").unwrap();
    let end = start + whole[start..].find("\n\n").unwrap();
    p.write("deploy.toml", &format!("{}{}{}", &whole[..start], config.trim_end(), &whole[end..]));
    p.commit("agent path");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("agent_path /nonexistent/ship is not an executable"), "{stderr}");
}

#[test]
fn a_peer_that_is_not_ships_agent_is_refused_without_a_hang() {
    let Some((p, sshd)) = fleet(1, "") else { return };
    let script = |name: &str, body: &str| {
        let path = p.base.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    };
    let garbage = script("garbage", "echo 'Welcome to the machine'");
    let future = script("future", "echo '{\"hello\":{\"protocol\":99,\"version\":\"9.0.0\"}}'; sleep 5");
    for (agent, expected) in
        [(&garbage, "got unexpected output: Welcome to the machine"), (&future, "speaking protocol 99")]
    {
        let whole = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
        let start = whole.find("[ssh]").unwrap();
        let end = start + whole[start..].find("\n\n").unwrap();
        let table = format!("{}\nagent_path = \"{}\"", sshd.ssh_table().trim_end(), agent.display());
        p.write("deploy.toml", &format!("{}{}{}", &whole[..start], table, &whole[end..]));
        p.commit("agent");
        let start = Instant::now();
        let (_, stderr) = p.expect(&["deploy", "staging"], 1);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(start.elapsed() < Duration::from_secs(30));
        assert!(!p.target("t1").join("current").exists());
    }
}

#[test]
fn ship_lock_holds_every_target_until_unlock() {
    let Some((p, _sshd)) = fleet(2, "") else { return };
    let out = p.json(&["lock", "staging", "--reason", "database migration freeze"], 0);
    assert_eq!(out["locked"], true);
    let (_, stderr) = p.expect(&["deploy", "staging"], 3);
    assert!(stderr.contains("reason: database migration freeze"), "{stderr}");
    let status = p.json(&["status", "staging"], 0);
    assert_eq!(status["targets"][1]["locked"], true);
    assert!(status["targets"][1]["holder"].as_str().unwrap().contains("database migration freeze"));
    let out = p.json(&["unlock", "staging"], 0);
    assert_eq!(out["lifted"].as_array().unwrap().len(), 2);
    p.expect(&["deploy", "staging"], 0);
    let (stdout, _) = p.expect(&["unlock", "staging"], 0);
    assert!(stdout.contains("was not locked"), "{stdout}");
}

#[test]
fn promote_over_ssh_sends_the_artifact_live_on_staging() {
    let Some((p, _sshd)) = fleet(2, "") else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.prod]\ntargets = [\"ssh://target3{}\"]\nrequires = \"staging\"\n", p.target("p").display());
    p.write("deploy.toml", &config);
    p.commit("prod");
    let staged = p.json(&["deploy", "staging"], 0);
    p.write("index.html", "not reviewed\n");
    p.commit("newer");
    let out = p.json(&["promote", "staging", "prod"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["artifact"]["sha256"], staged["artifact"]["sha256"]);
    assert_eq!(p.live("p"), p.live("t1"));
    assert_eq!(p.live_file("p", "index.html"), "version one\n");
}

/// Set a file's modification time to `hours` ago (with touch(1), which never opens it for
/// writing: the file may be a ship that is running).
fn age_file(path: &std::path::Path, hours: u64) {
    let then = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - hours * 3600;
    let status = std::process::Command::new("touch").arg("-m").arg("-d").arg(format!("@{then}")).arg(path).status();
    assert!(status.unwrap().success(), "touch {}", path.display());
}

fn modified_hours_ago(path: &std::path::Path) -> u64 {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    std::time::SystemTime::now().duration_since(modified).unwrap_or_default().as_secs() / 3600
}

#[test]
fn prune_over_ssh_removes_old_releases_and_uploaded_ships_no_longer_run() {
    let Some((p, sshd)) = fleet(2, "[release]\nkeep = 10\n") else { return };
    p.expect(&["deploy", "staging"], 0);
    for n in 2..=4 {
        p.write("index.html", &format!("version {n}\n"));
        p.commit(&format!("v{n}"));
        p.expect(&["deploy", "staging"], 0);
    }
    assert_eq!(p.releases("t1").len(), 4);
    let cache = agent_cache(&sshd);
    let own = ships_in(&cache).pop().unwrap();
    // The uploaded ship marks itself as used whenever it serves, so that another build's
    // prune leaves it alone.
    age_file(&own, 24 * 30);
    p.expect(&["status", "staging"], 0);
    assert_eq!(modified_hours_ago(&own), 0, "serving did not mark {} as used", own.display());
    // In the host user's cache, shared by every target there: another build's ship that
    // last ran eight days ago, and one that ran six days ago.
    let (cached_stale, cached_recent) =
        (cache.join(format!("ship-{}", "c".repeat(64))), cache.join(format!("ship-{}", "d".repeat(64))));
    // In a target's .ship/bin (where ship 0.1 put them): another build's ship that last ran
    // two days ago, one that ran an hour ago, an upload cut off two hours ago, and a file
    // that is not ship's.
    let bin = p.target("t1").join(".ship/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stale = bin.join(format!("ship-{}", "a".repeat(64)));
    let recent = bin.join(format!("ship-{}", "b".repeat(64)));
    let leftover = bin.join(".upload-4242");
    let foreign = bin.join("ship-notes.txt");
    for (path, hours) in
        [(&stale, 48), (&recent, 1), (&leftover, 2), (&foreign, 500), (&cached_stale, 8 * 24), (&cached_recent, 6 * 24)]
    {
        std::fs::write(path, "another build\n").unwrap();
        age_file(path, hours);
    }

    let dry = p.json(&["prune", "staging", "--keep", "2", "--dry-run"], 0);
    let agents: Vec<&str> =
        dry["targets"][0]["agents"].as_array().unwrap().iter().map(|a| a["file"].as_str().unwrap()).collect();
    let expected = [
        ".ship/bin/.upload-4242".to_string(),
        format!(".ship/bin/ship-{}", "a".repeat(64)),
        cached_stale.display().to_string(),
    ];
    assert_eq!(agents, expected);
    assert!(stale.exists() && leftover.exists() && cached_stale.exists(), "a dry run removes nothing");

    let out = p.json(&["prune", "staging", "--keep", "2"], 0);
    assert!(!stale.exists() && !leftover.exists() && !cached_stale.exists(), "{out}");
    assert!(recent.exists(), "a ship that ran within a day is kept");
    assert!(cached_recent.exists(), "a ship in the cache that ran within a week is kept");
    assert!(foreign.exists(), "only ship-<sha256> files are ship's");
    assert!(own.exists(), "the ship serving the prune is kept");
    for target in ["t1", "t2"] {
        assert_eq!(p.releases(target).len(), 2, "{target}");
    }
    // Nothing needed was removed: the next deploy reuses the uploaded ship, and a rollback
    // still has its release.
    p.write("index.html", "version 5\n");
    p.commit("v5");
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert_eq!(uploads(&stderr), 0, "no ship was uploaded again: {stderr}");
    let mut kept = vec![cached_recent, own];
    kept.sort();
    assert_eq!(ships_in(&cache), kept);
    p.expect(&["rollback", "staging"], 0);
    assert_eq!(p.live_file("t2", "index.html"), "version 4\n");
}

#[test]
fn metrics_over_ssh_are_the_figures_worked_out_by_hand() {
    use super::metrics::{SMOKE, assert_the_figures_worked_out_by_hand, history_on};
    let Some((p, _sshd)) = fleet(2, SMOKE) else { return };
    let (p, _) = history_on(p, &["t1", "t2"]);
    assert_the_figures_worked_out_by_hand(&p);
}

/// ship keeps its own sha256 in its cache; a wrong one (damaged, forged) costs one failed
/// connection with a clear message, never a wrong agent run, and is forgotten at once.
#[test]
fn a_wrong_kept_sha256_of_ship_itself_fails_once_and_is_forgotten() {
    let Some((p, sshd)) = fleet(1, "") else { return };
    p.expect(&["deploy", "staging"], 0);
    let kept = p.base.join("cache/own-sha256");
    let text = std::fs::read_to_string(&kept).unwrap();
    let (identity, sha) = text.trim_end().split_once(' ').unwrap();
    assert_eq!(sha.len(), 64, "{text}");
    std::fs::write(&kept, format!("{identity} {}\n", "0".repeat(64))).unwrap();
    // A host without that "build": ship uploads itself, and the host finds other bytes.
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace("/t1\"", "/t9\"");
    p.write("deploy.toml", &config);
    p.commit("another target");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains(&format!("arrived with sha256 {sha}, not {}", "0".repeat(64))), "{stderr}");
    assert!(!kept.exists(), "the wrong sha256 is forgotten");
    assert!(!p.target("t9").join("current").exists());
    assert_eq!(ships_in(&agent_cache(&sshd)).len(), 1, "nothing was kept under the wrong name");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), text, "hashed afresh, and kept again");
}

/// The targets of one host share one upload of ship, kept in the host user's cache: two
/// targets connecting at once, or eight, get one upload between them (the others wait for
/// it), and a later run none.
#[test]
fn targets_on_one_host_share_one_upload_even_all_at_once() {
    for n in [2, 8] {
        let Some((p, sshd)) = fleet(n, "") else { return };
        let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
        assert_eq!(uploads(&stderr), 1, "{n} targets: {stderr}");
        let line = stderr.lines().find(|l| l.contains(": uploaded ship (")).unwrap();
        assert!(line.contains("gzip-compressed) to ") && line.ends_with("to the host user's cache"), "{line}");
        for i in 1..=n {
            assert!(p.live(&format!("t{i}")).is_some(), "t{i}");
            assert!(!p.target(&format!("t{i}")).join(".ship/bin").exists(), "t{i}");
        }
        let cache = agent_cache(&sshd);
        assert_eq!(ships_in(&cache).len(), 1, "{n} targets");
        let left: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".upload-") || name.starts_with(".lock-"))
            .collect();
        assert!(left.is_empty(), "nothing is left of the upload: {left:?}");
        p.write("index.html", "version two\n");
        p.commit("second");
        let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
        assert_eq!(uploads(&stderr), 0, "{stderr}");
    }
}

/// The ship kept in the cache is checked before it is started: a damaged (or replaced) one
/// is refused with a clear error, never run, and removed; the next run uploads it afresh.
#[test]
fn a_damaged_ship_in_the_host_cache_is_refused_never_run_and_replaced_next_time() {
    let Some((p, sshd)) = fleet(1, "") else { return };
    p.expect(&["deploy", "staging"], 0);
    let bin = ships_in(&agent_cache(&sshd)).pop().unwrap();
    let ran = p.base.join("the-damaged-ship-ran");
    // Put in place by a rename: the agent of the last deploy may still be running from it.
    let damaged = p.base.join("damaged");
    std::fs::write(&damaged, format!("#!/bin/sh\ntouch {}\n", ran.display())).unwrap();
    std::fs::set_permissions(&damaged, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&damaged, &bin).unwrap();
    p.write("index.html", "version two\n");
    p.commit("second");
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains(&format!("the ship kept on the host at {} has sha256 ", bin.display())), "{stderr}");
    assert!(stderr.contains("it was not run, and was removed"), "{stderr}");
    assert!(stderr.contains("hint: run again"), "{stderr}");
    assert!(!ran.exists(), "the damaged ship was run");
    assert!(!bin.exists(), "the damaged ship was not removed");
    assert_eq!(p.live_file("t1", "index.html"), "version one\n");
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert_eq!(uploads(&stderr), 1, "{stderr}");
    let own = std::fs::read(assert_cmd::cargo::cargo_bin("ship")).unwrap();
    assert!(std::fs::read(&bin).unwrap() == own, "the cache holds this build again");
    assert_eq!(p.live_file("t1", "index.html"), "version two\n");
    assert!(!ran.exists());
}

/// With no usable cache on the host (HOME unset, or the cache cannot be made: here
/// XDG_CACHE_HOME names a file), ship goes to the target's own `.ship/bin`, as before.
#[test]
fn without_a_usable_cache_on_the_host_ship_is_kept_in_the_target() {
    let no_cache = |base: &std::path::Path| {
        std::fs::create_dir_all(base).unwrap();
        std::fs::write(base.join("a-file"), "").unwrap();
        format!("XDG_CACHE_HOME={}", base.join("a-file").display())
    };
    let Some((p, sshd)) = fleet_with_env(2, "", no_cache) else { return };
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    // One upload per target path now: each has its own .ship/bin.
    assert_eq!(uploads(&stderr), 2, "{stderr}");
    for t in ["t1", "t2"] {
        assert_eq!(ships_in(&p.target(t).join(".ship/bin")).len(), 1, "{t}");
        assert_eq!(p.live_file(t, "index.html"), "version one\n");
    }
    assert!(!agent_cache(&sshd).exists());
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert_eq!(uploads(&stderr), 0, "{stderr}");
}

/// A host without gzip gets ship as it is, still verified.
#[test]
fn a_host_without_gzip_gets_ship_uncompressed() {
    // The host's sessions find only these tools on PATH: no gzip.
    let no_gzip = |base: &std::path::Path| {
        let bin = base.join("no-gzip-bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["sh", "sha256sum", "cksum", "head", "mkdir", "rm", "mv", "chmod", "cat", "uname", "sleep"] {
            let real = ["/usr/bin", "/bin"].iter().map(|d| PathBuf::from(d).join(tool)).find(|p| p.exists());
            std::os::unix::fs::symlink(real.unwrap_or_else(|| panic!("no {tool}")), bin.join(tool)).unwrap();
        }
        format!("PATH={}", bin.display())
    };
    let Some((p, sshd)) = fleet_with_env(1, "", no_gzip) else { return };
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert_eq!(uploads(&stderr), 1, "{stderr}");
    assert!(stderr.contains(" uncompressed) to the host user's cache"), "{stderr}");
    let own = std::fs::read(assert_cmd::cargo::cargo_bin("ship")).unwrap();
    assert!(std::fs::read(&ships_in(&agent_cache(&sshd))[0]).unwrap() == own);
    assert_eq!(p.live_file("t1", "index.html"), "version one\n");
}

/// The lock of an upload whose session died (its pid is gone) does not hold up the next:
/// it is taken over at once.
#[test]
fn the_upload_lock_of_a_dead_session_is_taken_over() {
    let Some((p, sshd)) = fleet(2, "") else { return };
    let out = Command::new("sha256sum").arg(assert_cmd::cargo::cargo_bin("ship")).output().unwrap();
    let sha = text(&out.stdout).split_whitespace().next().unwrap().to_string();
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let lock = agent_cache(&sshd).join(format!(".lock-{sha}"));
    std::fs::create_dir_all(&lock).unwrap();
    std::fs::write(lock.join("pid"), format!("{dead}\n")).unwrap();
    let started = Instant::now();
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    // A live holder would have been waited for 30 s (LOCK_WAIT_SECS) before uploading anyway.
    assert!(started.elapsed() < Duration::from_secs(29), "waited for a dead lock: {:?}\n{stderr}", started.elapsed());
    assert_eq!(uploads(&stderr), 1, "{stderr}");
    assert!(!lock.exists(), "the lock is left behind");
    assert_eq!(ships_in(&agent_cache(&sshd)).len(), 1);
}

/// Two ship runs reaching one host at the same time upload ship once between them.
#[test]
fn two_ship_runs_at_once_upload_ship_once() {
    let Some((p, _sshd)) = fleet(2, "") else { return };
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!(
            "\n[env.other]\ntargets = [\"ssh://target3{}\", \"ssh://target4{}\"]\n",
            p.target("o1").display(),
            p.target("o2").display()
        );
    p.write("deploy.toml", &config);
    p.commit("another environment");
    let runs = [p.spawn(&["-v", "deploy", "staging"]), p.spawn(&["-v", "deploy", "other"])];
    let mut said = String::new();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        said.push_str(&stderr);
    }
    assert_eq!(uploads(&said), 1, "{said}");
    for t in ["t1", "t2", "o1", "o2"] {
        assert_eq!(p.live_file(t, "index.html"), "version one\n", "{t}");
    }
}
