//! Safe rollouts: canaries, batches and fleet-wide rollback, HTTP health checks, Ctrl-C,
//! webhooks, and zero downtime proven with nginx serving `current` under load.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::harness::{Gate, Project, config_with, text};
use super::nginx::Nginx;

fn eight(extra: &str, env_extra: &str) -> Project {
    let p = Project::empty();
    let names: Vec<String> = (1..=8).map(|i| format!("t{i}")).collect();
    let targets: Vec<std::path::PathBuf> = names.iter().map(|n| p.target(n)).collect();
    let refs: Vec<&Path> = targets.iter().map(|t| t.as_path()).collect();
    p.write("deploy.toml", &(config_with(&refs, extra) + env_extra));
    p.write("index.html", "version one\n");
    p.write_exec("bin/healthy", "#!/bin/sh\ntest -f index.html\n");
    p.commit("first");
    p.tag("v1");
    p.expect(&["deploy", "staging"], 0);
    p
}

#[test]
fn a_release_failing_its_health_on_the_canary_touches_no_other_target() {
    let p = eight(
        "[health]\ncommand = \"./bin/healthy\"\ntimeout = \"1s\"\ninterval = \"100ms\"\n",
        "canary = 1\nparallel = 4\n",
    );
    let v1 = p.live("t1").unwrap();
    let journals: Vec<usize> = (2..=8).map(|i| p.journal(&format!("t{i}")).len()).collect();
    p.write_exec("bin/healthy", "#!/bin/sh\nexit 1\n");
    p.commit("broken");
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    assert_eq!(out["targets"][0]["outcome"], "rolled_back");
    for i in 1..=8 {
        assert_eq!(p.live(&format!("t{i}")).as_ref(), Some(&v1), "t{i}");
    }
    for (n, i) in (2..=8).enumerate() {
        assert_eq!(out["targets"][i - 1]["outcome"], "skipped", "t{i}");
        // Staged (as every target is before the first switch), but never switched.
        let events: Vec<String> = p.journal(&format!("t{i}"))[journals[n]..]
            .iter()
            .map(|r| r["event"].as_str().unwrap().to_string())
            .collect();
        assert!(!events.contains(&"switched".to_string()), "t{i} was switched: {events:?}");
    }
    // The next plan shows the failed release and why.
    let plan = p.json(&["plan", "staging"], 0);
    let failure = &plan["targets"][0]["last_failure"];
    assert!(failure["reason"].as_str().unwrap().contains("health check still failing"), "{plan}");
    assert_eq!(failure["release"], out["artifact"]["sha256"].as_str().unwrap()[..12]);
    let (stdout, _) = p.expect(&["plan", "staging"], 0);
    assert!(stdout.contains("last deploy: release"), "{stdout}");
    assert!(stdout.contains("[canary]"), "{stdout}");
}

#[test]
fn a_release_failing_on_the_third_of_eight_restores_all_three() {
    let p = eight("", "");
    let v1 = p.live("t1").unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace(
        "[env.staging]",
        "[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test $(basename $SHIP_DEPLOY_PATH) != t3\"\n\n[env.staging]",
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "version two\n");
    p.commit("second");
    let out = p.json(&["deploy", "staging"], 4);
    let outcomes: Vec<&str> =
        out["targets"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["rolled_back", "rolled_back", "rolled_back", "skipped", "skipped", "skipped", "skipped", "skipped"]
    );
    for i in 1..=8 {
        assert_eq!(p.live(&format!("t{i}")).as_ref(), Some(&v1), "t{i}");
        assert_eq!(p.live_file(&format!("t{i}"), "index.html"), "version one\n");
    }
    let (stdout, _) = p.expect(&["deploy", "staging"], 4);
    assert!(stdout.contains("every touched target is back on its previous release"), "{stdout}");
}

#[test]
fn http_health_checks_show_status_and_body_and_do_not_follow_redirects() {
    let p = Project::with_targets(&["a"], "");
    p.write("health.txt", "ok\n");
    p.commit("health file");
    p.expect(&["deploy", "staging"], 0);
    let Some(nginx) = Nginx::serve(&p.base.join("nginx"), &p.target("a").join("current")) else { return };
    let v1 = p.live("a").unwrap();
    let health = |url: &str| format!("[health]\nhttp = \"{url}\"\ntimeout = \"1s\"\ninterval = \"200ms\"\n");
    let with_health = |h: &str| {
        std::fs::read_to_string(p.root.join("deploy.toml"))
            .unwrap()
            .replace("[env.staging]", &format!("{h}\n[env.staging]"))
    };
    let base = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();

    // {host} is the target's host: localhost for a local target.
    p.write("deploy.toml", &with_health(&health(&format!("http://{{host}}:{}/health.txt", nginx.port))));
    p.write("index.html", "two\n");
    p.commit("healthy two");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.live_file("a", "index.html"), "two\n");

    // A release without the health file answers 404: rolled back, and the message says so.
    std::fs::remove_file(p.root.join("health.txt")).unwrap();
    p.write("index.html", "three\n");
    p.commit("no health file");
    let out = p.json(&["deploy", "staging"], 4);
    let error = out["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("404 Not Found"), "{error}");
    assert!(error.contains("<title>404 Not Found</title>"), "the body's first lines are shown: {error}");
    assert_eq!(p.live_file("a", "index.html"), "two\n");

    // A redirect is a failure, naming where it points.
    p.write("deploy.toml", &base.replace("[env.staging]", &format!("{}\n[env.staging]", health(&nginx.url("/moved")))));
    p.write("health.txt", "ok\n");
    p.commit("redirecting health url");
    // The restored release is checked with the same URL, so it is unhealthy too: exit 5.
    let out = p.json(&["deploy", "staging"], 5);
    let error = out["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("301 Moved Permanently, a redirect to"), "{error}");
    assert!(error.contains("do not follow redirects"), "{error}");

    // Per-environment override: the env's own health replaces the broken global URL.
    let config = base.replace("[env.staging]", &format!("{}\n[env.staging]", health(&nginx.url("/moved"))))
        + &format!("health = {{ http = \"{}\" }}\n", nginx.url("/health.txt"));
    p.write("deploy.toml", &config);
    p.commit("env override");
    p.expect(&["deploy", "staging"], 0);
    assert_ne!(p.live("a"), Some(v1));
}

/// A one-shot HTTP server that records the body of each POST and answers `status`.
fn webhook_server(status: u16) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hooks/T0/SECRET-TOKEN?key=hunter2", listener.local_addr().unwrap().port());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            if let Ok(v) = serde_json::from_slice(&body) {
                seen.lock().unwrap().push(v);
            }
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

#[test]
fn webhooks_get_every_outcome_and_a_failing_one_is_only_a_warning() {
    let (url, bodies) = webhook_server(200);
    let p = Project::with_targets(&["a", "b"], &format!("[notify]\nwebhook = \"{url}\"\n"));
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(!stderr.contains("warning"), "{stderr}");
    p.write("index.html", "two\n");
    let two = p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    p.expect(&["rollback", "staging"], 0);
    p.expect(&["deploy", "staging"], 0); // back to two: a switch, notified
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 4, "{got:?}");
    let first = &got[0];
    assert_eq!(first["app"], "hello");
    assert_eq!(first["kind"], "deploy");
    assert_eq!(first["env"], "staging");
    assert_eq!(first["outcome"], "succeeded");
    assert_eq!(first["version"], "v1");
    assert_eq!(first["user"], "tester");
    assert_eq!(first["commit"].as_str().unwrap().len(), 40);
    assert_eq!(first["artifact"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(first["targets"].as_array().unwrap().len(), 2);
    assert_eq!(first["targets"][0]["outcome"], "succeeded");
    assert_eq!(got[2]["kind"], "rollback");
    // A rollback's notice is about the release restored, and names the one it left.
    assert_eq!(got[2]["version"], "v1");
    assert_eq!(got[2]["commit"], got[0]["commit"]);
    assert_eq!(got[2]["rolled_back_from"]["commit"], two.as_str());
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(bodies.lock().unwrap().len(), 4, "a no-op deploy notifies no one");

    // A webhook that fails: the deploy still succeeds, and the URL's secrets are not shown.
    let (bad, _) = webhook_server(500);
    let config =
        std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + &format!("notify = {{ webhook = \"{bad}\" }}\n");
    p.write("deploy.toml", &config);
    p.write("index.html", "three\n");
    p.commit("three");
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(stderr.contains("warning: the webhook was not notified: POST http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("500"), "{stderr}");
    assert!(!stderr.contains("SECRET-TOKEN") && !stderr.contains("hunter2"), "{stderr}");
    // Nobody listening: also only a warning.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config.replace(&bad, &format!("http://127.0.0.1:{closed}/x?token=SECRET-TOKEN"));
    p.write("deploy.toml", &config);
    p.write("index.html", "four\n");
    p.commit("four");
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(stderr.contains("the webhook was not notified"), "{stderr}");
    assert!(!stderr.contains("SECRET-TOKEN"), "{stderr}");
}

fn signal(child: &std::process::Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

#[test]
fn the_first_ctrl_c_lets_the_running_step_finish_then_rolls_back() {
    let p = Project::with_targets(&["a", "b"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    let gate = Gate::new(&p);
    let done = p.base.join("step-finished");
    let step = gate
        .step()
        .replace("[[step]]", "[[step]]\nwhen = \"after_switch\"")
        .replace("done\"", &format!("done; touch {}\"", done.display()));
    let config = std::fs::read_to_string(p.root.join("deploy.toml"))
        .unwrap()
        .replace("[env.staging]", &format!("{step}\n[env.staging]"));
    p.write("deploy.toml", &config);
    p.write("index.html", "two\n");
    p.commit("two");
    let mut child = p.spawn(&["--format", "json", "deploy", "staging"]);
    gate.wait_started();
    signal(&child, rustix::process::Signal::INT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "ship exited at the first Ctrl-C instead of letting the step finish");
    gate.open();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(done.exists(), "the running step was allowed to finish");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "rolled_back");
    assert_eq!(json["interrupted"], true);
    assert_eq!(json["targets"][0]["outcome"], "rolled_back");
    assert_eq!(json["targets"][1]["outcome"], "skipped", "no new work was started");
    assert_eq!(p.live("a").as_ref(), Some(&v1));
    assert_eq!(p.live("b").as_ref(), Some(&v1));
    assert!(text(&out.stderr).contains("press Ctrl-C again to stop at once"));
}

#[test]
fn a_second_ctrl_c_exits_at_once_leaving_complete_releases() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let gate = Gate::new(&p);
    let config = std::fs::read_to_string(p.root.join("deploy.toml"))
        .unwrap()
        .replace("[env.staging]", &format!("{}\n[env.staging]", gate.step()));
    p.write("deploy.toml", &config);
    p.write("index.html", "two\n");
    p.commit("two");
    let mut child = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    ctrl_c_twice(&mut child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let live = p.live("a").unwrap();
    assert!(p.target("a").join("releases").join(&live).join(".ship-manifest.json").is_file());
    // The agent sees ship gone, stops the step, and only then lets the lock go.
    p.wait_lock_free("a");
    gate.open();
    p.expect(&["deploy", "staging"], 0);
}

/// Request `path` from nginx in a loop until `stop`, checking every answer is 200 and one
/// of `bodies` whole. Returns (requests, failures).
fn hammer(port: u16, stop: Arc<AtomicBool>, bodies: Vec<String>) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let count = AtomicUsize::new(0);
        let mut failures = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            count.fetch_add(1, Ordering::SeqCst);
            match client.get(format!("http://127.0.0.1:{port}/page.txt")).send() {
                Ok(r) if r.status() == 200 => {
                    let body = r.text().unwrap_or_default();
                    if !bodies.contains(&body) {
                        failures.push(format!("a torn or unknown body of {} bytes", body.len()));
                    }
                }
                Ok(r) => failures.push(format!("status {}", r.status())),
                Err(e) => failures.push(format!("request failed: {e}")),
            }
        }
        (count.into_inner(), failures)
    })
}

#[test]
fn zero_downtime_through_twenty_switches_and_a_failed_release() {
    let page = |v: &str| format!("{v}-start\n{}\n{v}-end\n", v.repeat(100_000));
    let p = Project::with_targets(&["a"], "");
    p.write("page.txt", &page("one"));
    p.commit("page one");
    p.tag("page-one");
    p.expect(&["deploy", "staging"], 0);
    let Some(nginx) = Nginx::serve(&p.base.join("nginx"), &p.target("a").join("current")) else { return };
    p.write("page.txt", &page("two"));
    p.commit("page two");
    p.tag("page-two");

    let stop = Arc::new(AtomicBool::new(false));
    let load = hammer(nginx.port, stop.clone(), vec![page("one"), page("two")]);
    for _ in 0..10 {
        let out = p.json(&["deploy", "staging", "--ref", "page-two"], 0);
        assert_eq!(out["outcome"], "succeeded");
        assert!(p.live_file("a", "page.txt").starts_with("two-start"));
        let out = p.json(&["rollback", "staging"], 0);
        assert_eq!(out["outcome"], "succeeded");
        assert!(p.live_file("a", "page.txt").starts_with("one-start"));
    }
    // A release whose health check fails: the fleet returns to page one, and no request fails.
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace(
        "[env.staging]",
        "[health]\ncommand = \"grep -q one-start page.txt\"\ntimeout = \"1s\"\ninterval = \"100ms\"\n\n[env.staging]",
    );
    p.write("deploy.toml", &config);
    p.write("page.txt", &page("one"));
    p.commit("health: only page one is healthy");
    p.expect(&["deploy", "staging"], 0);
    p.write("page.txt", &page("two"));
    p.commit("page two again, unhealthy");
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    assert!(p.live_file("a", "page.txt").starts_with("one-start"));
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let (requests, failures) = load.join().unwrap();
    assert!(requests > 50, "too few requests to prove anything: {requests}");
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

/// An after_switch step that waits at `gate` on target `only`, and passes at once elsewhere.
fn gate_after_switch_on(p: &Project, gate: &Gate, only: &str) {
    let step = gate
        .step()
        .replace("[[step]]", "[[step]]\nwhen = \"after_switch\"")
        .replace("run = \"", &format!("run = \"case $SHIP_TARGET in */{only}) ;; *) exit 0;; esac; "));
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    p.write("deploy.toml", &config.replace("[env.staging]", &format!("{step}\n[env.staging]")));
}

/// Ctrl-C, then a second one while the first is being honoured: stop at once.
fn ctrl_c_twice(child: &mut std::process::Child) {
    // Two signals sent close together can merge into one pending signal, and then ship
    // would wait for the gate for ever: keep sending until it has exited (it exits at the
    // second one it sees).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        signal(child, rustix::process::Signal::INT);
        std::thread::sleep(Duration::from_millis(200));
        if child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "ship did not exit on a second Ctrl-C");
    }
}

/// A fleet split by a second Ctrl-C: the run says where it left each target, `status` marks
/// the target that was switched but never confirmed, and `rollback` undoes the cut-off
/// deploy everywhere (the confirmed target too), leaving the untouched one as it is.
#[test]
fn a_fleet_split_by_a_second_ctrl_c_is_shown_and_rolled_back() {
    let p = Project::with_targets(&["a", "b", "c"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    let gate = Gate::new(&p);
    // Only b's after_switch step waits at the gate: a is done, b switched, c not reached.
    gate_after_switch_on(&p, &gate, "b");
    p.write("index.html", "two\n");
    p.commit("two");
    let mut child = p.spawn(&["--format", "json", "deploy", "staging"]);
    gate.wait_started();
    ctrl_c_twice(&mut child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    p.wait_lock_free("b");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "interrupted");
    assert_eq!(json["targets"][1]["state"], "switched, NOT confirmed healthy; step `gate` was running");
    let v2 = p.live("a").unwrap();
    assert_ne!(v1, v2);
    let stderr = text(&out.stderr);
    let at = |t: &str| format!("local:{}", p.target(t).display());
    assert!(stderr.contains("where each target was left:"), "{stderr}");
    assert!(stderr.contains(&format!("  {}: runs release {v2}; live, confirmed\n", at("a"))), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "  {}: runs release {v2}; switched, NOT confirmed healthy; step `gate` was running\n",
            at("b")
        )),
        "{stderr}"
    );
    let c_line = format!("  {}: runs release {v1}; release {v2} staged, not switched to\n", at("c"));
    assert!(stderr.contains(&c_line), "{stderr}");

    // status: b runs v2 unconfirmed; the fleet is not consistent.
    let status = p.json(&["status", "staging"], 0);
    assert_eq!(status["consistent"], false);
    let confirmed: Vec<&serde_json::Value> =
        status["targets"].as_array().unwrap().iter().map(|t| &t["current"]["confirmed"]).collect();
    assert_eq!(confirmed, [true, false, true]);
    let (stdout, _) = p.expect(&["status", "staging"], 0);
    let b_line = stdout.lines().find(|l| l.starts_with(&at("b"))).unwrap();
    assert!(b_line.contains("NOT CONFIRMED") && b_line.contains("[not confirmed]"), "{stdout}");

    // rollback undoes the cut-off deploy: a and b back to v1, c already there.
    let back = p.json(&["rollback", "staging"], 0);
    assert_eq!(back["outcome"], "succeeded", "{back}");
    let outcomes: Vec<&str> =
        back["targets"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["succeeded", "succeeded", "noop"]);
    for t in ["a", "b", "c"] {
        assert_eq!(p.live(t).as_ref(), Some(&v1), "{t}");
    }
    assert_eq!(p.json(&["status", "staging"], 0)["consistent"], true);
    gate.open();
}

/// A fleet on one release is never split by a rollback: a target that cannot go back stops
/// it before anything changes. A fleet already split (a cut-off deploy that reached a new
/// target) gets back what can be: the target with nothing earlier is reported and left as
/// it is, the others go back, and the exit is 5.
#[test]
fn rollback_restores_what_it_can_of_a_split_fleet_and_never_splits_one() {
    let p = Project::with_targets(&["a", "b"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let c = format!("\"local:{}\"]", p.target("c").display());
    p.write("deploy.toml", &config.replacen("\"]", &format!("\", {c}"), 1));
    p.write("index.html", "two\n");
    p.commit("c joins");
    p.expect(&["deploy", "staging"], 0);
    let v2 = p.live("c").unwrap();
    // One release everywhere, and c has nothing earlier: refused, nothing changed.
    let (_, stderr) = p.expect(&["rollback", "staging"], 1);
    assert!(stderr.contains("the fleet is on one release: nothing was changed"), "{stderr}");
    assert!(stderr.contains("nothing to roll back to"), "{stderr}");
    for t in ["a", "b", "c"] {
        assert_eq!(p.live(t).as_ref(), Some(&v2), "{t}");
    }

    // A third version, cut off on c (the last target) by a second Ctrl-C.
    let gate = Gate::new(&p);
    gate_after_switch_on(&p, &gate, "c");
    p.write("index.html", "three\n");
    p.commit("three");
    let mut child = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    ctrl_c_twice(&mut child);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
    p.wait_lock_free("c");
    gate.open();
    let v3 = p.live("a").unwrap();
    assert_eq!(p.live("c").as_ref(), Some(&v3));
    // c's only earlier release goes: it now has nothing to go back to.
    std::fs::remove_dir_all(p.target("c").join("releases").join(&v2)).unwrap();

    let (dry, _) = p.expect(&["rollback", "staging", "--dry-run"], 0);
    assert!(dry.contains("left as it is: nothing to roll back to"), "{dry}");
    let out = p.json(&["rollback", "staging"], 5);
    assert_eq!(out["outcome"], "inconsistent");
    assert_eq!(out["version"], "v1-1-g".to_string() + &out["commit"].as_str().unwrap()[..7]);
    let c_result = &out["targets"][2];
    assert_eq!(c_result["outcome"], "skipped");
    assert!(c_result["error"].as_str().unwrap().contains("nothing to roll back to"), "{out}");
    assert_eq!(p.live("a").as_ref(), Some(&v2));
    assert_eq!(p.live("b").as_ref(), Some(&v2));
    assert_eq!(p.live("c").as_ref(), Some(&v3), "c is left as it is");
    assert_ne!(v1, v2);
}

#[test]
fn under_github_actions_a_hard_stop_keeps_what_running_steps_printed() {
    let p = Project::with_targets(&["a"], "");
    let gate = Gate::new(&p);
    let step = gate.step().replace("run = \"", "run = \"echo printed before the stop; ");
    p.new_version(&step, "two\n");
    let mut cmd = p.std_command();
    cmd.args(["deploy", "staging"]).env("GITHUB_ACTIONS", "true").env("CI", "true");
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    p.watch(&child);
    gate.wait_started();
    ctrl_c_twice(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("printed before the stop"), "{stderr}");
    assert!(stderr.contains("::group::local:") && stderr.contains("(cut off)"), "{stderr}");
}
