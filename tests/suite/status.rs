//! `ship status`: what is live where, drift between targets, and --verify.

use super::harness::{Gate, Project};

#[test]
fn status_reports_each_target_and_agreement() {
    let p = Project::with_targets(&["a", "b"], "");
    let s = p.json(&["status", "staging"], 0);
    assert_eq!(s["env"], "staging");
    assert_eq!(s["consistent"], true, "nothing anywhere is consistent");
    assert_eq!(s["targets"][0]["current"], serde_json::Value::Null);

    p.expect(&["deploy", "staging"], 0);
    let s = p.json(&["status", "staging"], 0);
    assert_eq!(s["consistent"], true);
    for t in s["targets"].as_array().unwrap() {
        let c = &t["current"];
        assert_eq!(c["version"], "v1");
        assert_eq!(c["commit"], p.head());
        assert_eq!(c["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(c["release"].as_str().unwrap(), &c["sha256"].as_str().unwrap()[..12]);
        assert_eq!(c["deployed_by"], "tester");
        assert!(c["deployed_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(t["locked"], false);
        assert_eq!(t["verified"], serde_json::Value::Null);
    }
    let (stdout, _) = p.expect(&["status", "staging"], 0);
    assert!(stdout.contains("All targets agree."), "{stdout}");
}

#[test]
fn verify_rehashes_live_files() {
    let p = Project::with_targets(&["a", "b"], "[release]\nshared = [\"log\"]\n");
    p.expect(&["deploy", "staging"], 0);
    std::fs::write(p.target("a").join("current/log/app.log"), "logs are not drift\n").unwrap();
    let s = p.json(&["status", "staging", "--verify"], 0);
    assert_eq!(s["targets"][0]["verified"], true);
    assert_eq!(s["targets"][1]["verified"], true);

    std::fs::write(p.target("b").join("current/index.html"), "hot-patched\n").unwrap();
    let s = p.json(&["status", "staging", "--verify"], 1);
    assert_eq!(s["targets"][0]["verified"], true);
    assert_eq!(s["targets"][1]["verified"], false);
    assert_eq!(s["targets"][1]["problems"][0], "index.html: content changed");
    let (stdout, _) = p.expect(&["status", "staging", "--verify"], 1);
    assert!(stdout.contains("CHANGED"), "{stdout}");
    // Without --verify, status only reports.
    p.expect(&["status", "staging"], 0);
}

#[test]
fn status_shows_who_holds_a_lock() {
    let p = Project::empty();
    let gate = Gate::new(&p);
    p.write("deploy.toml", &super::harness::config_with(&[&p.target("a")], &gate.step()));
    p.write("index.html", "one\n");
    p.commit("gated");
    let child = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    let s = p.json(&["status", "staging"], 0);
    gate.open();
    assert_eq!(s["targets"][0]["locked"], true);
    assert!(s["targets"][0]["holder"].as_str().unwrap().contains("ship deploy staging"), "{s}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = p.json(&["status", "staging"], 0);
    assert_eq!(s["targets"][0]["locked"], false);
}

/// The table's columns line up under their headers, full timestamps included.
#[test]
fn status_columns_line_up_with_full_timestamps() {
    let p = Project::with_targets(&["a", "a-longer-name"], "");
    p.expect(&["deploy", "staging"], 0);
    let (stdout, _) = p.expect(&["status", "staging"], 0);
    let lines: Vec<&str> = stdout.lines().collect();
    let by = lines[0].find("BY").unwrap();
    let deployed = lines[0].find("DEPLOYED").unwrap();
    for row in &lines[1..3] {
        assert_eq!(row.get(by..by + 6), Some("tester"), "{stdout}");
        let stamp = &row[deployed..row[deployed..].find(' ').unwrap() + deployed];
        assert!(stamp.len() == 24 && stamp.ends_with('Z'), "a full timestamp under DEPLOYED: {stamp:?}\n{stdout}");
    }
}

/// Tampering found by `status --verify` is repaired by `deploy --repair`: the live release is
/// rebuilt from the artifact in place (journaled), its steps and checks run again, and
/// `status --verify` passes. `--force` alone reruns steps on the changed files.
#[test]
fn deploy_repair_rebuilds_a_changed_live_release() {
    let log = "[release]\nshared = [\"log\"]\n\n[[step]]\nname = \"restart\"\nwhen = \"after_switch\"\nrun = \"echo restarted >> log/steps\"\n";
    let p = Project::with_targets(&["a", "b"], log);
    p.expect(&["deploy", "staging"], 0);
    let release = p.live("b").unwrap();
    let live = p.target("b").join("current");
    std::fs::write(live.join("index.html"), "hot-patched\n").unwrap();
    std::fs::remove_file(live.join("bin/healthy")).unwrap();
    let (stdout, _) = p.expect(&["status", "staging", "--verify"], 1);
    assert!(!stdout.contains("All targets agree"), "a changed file is not agreement: {stdout}");
    assert!(stdout.contains("`ship deploy staging --repair` restores them"), "{stdout}");

    p.expect(&["deploy", "staging", "--force"], 0);
    assert_eq!(p.live_file("b", "index.html"), "hot-patched\n", "--force reuses the release as it is");

    let plan = p.json(&["deploy", "staging", "--repair", "--dry-run"], 0);
    assert_eq!(plan["targets"][0]["action"], "noop");
    assert_eq!(plan["targets"][1]["action"], "repair");
    assert_eq!(
        plan["targets"][1]["changed"],
        serde_json::json!(["bin/healthy: missing", "index.html: content changed"])
    );
    assert_eq!(plan["targets"][1]["steps"][0]["name"], "restart");
    let (stdout, _) = p.expect(&["deploy", "staging", "--repair", "--dry-run"], 0);
    assert!(stdout.contains("rebuild release"), "{stdout}");
    assert_eq!(p.live_file("b", "index.html"), "hot-patched\n", "a dry run changes nothing");

    let steps_before = std::fs::read_to_string(p.target("b").join("shared/log/steps")).unwrap().lines().count();
    let out = p.json(&["deploy", "staging", "--repair"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["targets"][0]["outcome"], "noop");
    assert_eq!(out["targets"][1]["outcome"], "succeeded");
    assert_eq!(p.live("b").unwrap(), release, "the same release, rebuilt in place");
    assert_eq!(p.live_file("b", "index.html"), "version one\n");
    assert!(p.target("b").join("current/bin/healthy").is_file());
    let steps = std::fs::read_to_string(p.target("b").join("shared/log/steps")).unwrap().lines().count();
    assert_eq!(steps, steps_before + 1, "its steps ran again");
    assert!(p.journal("b").iter().any(|r| r["event"] == "repaired"), "journaled");
    let (stdout, _) = p.expect(&["status", "staging", "--verify"], 0);
    assert!(stdout.contains("All targets agree."), "{stdout}");

    // An added file, and a change hidden by editing the release's manifest to match, are
    // found against the artifact; so is a deleted manifest. --repair undoes all three.
    std::fs::write(live.join("evil.php"), "<?php system($_GET['c']);\n").unwrap();
    std::fs::write(live.join("index.html"), "defaced\n").unwrap();
    let manifest = std::fs::read_to_string(live.join(".ship-manifest.json")).unwrap();
    let digest = |s: &str| {
        use sha2::Digest;
        sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    std::fs::write(
        live.join(".ship-manifest.json"),
        manifest.replace(&digest("version one\n"), &digest("defaced\n")).replace("\"size\": 12", "\"size\": 8"),
    )
    .unwrap();
    let s = p.json(&["status", "staging", "--verify"], 1);
    let problems = s["targets"][1]["problems"].to_string();
    for expected in ["evil.php: added", "index.html: content changed", ".ship-manifest.json: changed or missing"] {
        assert!(problems.contains(expected), "{expected}: {problems}");
    }
    std::fs::remove_file(p.target("a").join("current/.ship-manifest.json")).unwrap();
    let s = p.json(&["status", "staging", "--verify"], 1);
    assert_eq!(s["targets"][0]["problems"], serde_json::json!([".ship-manifest.json: changed or missing"]));
    p.expect(&["deploy", "staging", "--repair"], 0);
    p.expect(&["status", "staging", "--verify"], 0);
    assert!(!live.join("evil.php").exists());
    // Nothing changed: --repair is a no-op.
    assert_eq!(p.json(&["deploy", "staging", "--repair"], 0)["outcome"], "noop");
}

/// With --repair, an `on = "first"` step is planned once, on the first target that changes,
/// as the rollout runs it.
#[test]
fn a_repair_plan_runs_first_steps_once() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"migrate\"\non = \"first\"\nrun = \"true\"\n");
    p.expect(&["deploy", "staging"], 0);
    std::fs::write(p.target("a").join("current/index.html"), "changed\n").unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let b = format!("\"local:{}\"]", p.target("b").display());
    p.write("deploy.toml", &config.replacen("\"]", &format!("\", {b}"), 1));
    p.commit("b joins");
    // HEAD changed, so a new artifact: deploy the live one with --artifact.
    let live = p.json(&["status", "staging"], 0)["targets"][0]["current"]["sha256"].as_str().unwrap().to_string();
    let plan = p.json(&["deploy", "staging", "--artifact", &live, "--repair", "--dry-run"], 0);
    assert_eq!(plan["targets"][0]["action"], "repair");
    assert_eq!(plan["targets"][1]["action"], "deploy");
    assert_eq!(plan["targets"][0]["steps"][0]["name"], "migrate");
    assert_eq!(plan["targets"][1]["steps"], serde_json::json!([]), "{plan}");
}

#[test]
fn status_shows_the_targets_it_can_read_and_names_the_one_it_cannot() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!(
            "\n[env.mixed]\ntargets = [\"local:{}\", \"ssh://nobody@127.0.0.1:1/srv/x\"]\n",
            p.target("a").display()
        );
    p.write("deploy.toml", &config);
    let out = p.json(&["status", "mixed"], 1);
    assert_eq!(out["consistent"], false);
    assert_eq!(out["targets"][0]["current"]["version"], "v1", "{out}");
    assert!(out["targets"][1]["error"].as_str().is_some_and(|e| !e.is_empty()), "{out}");
    let (stdout, _) = p.expect(&["status", "mixed"], 1);
    assert!(stdout.contains("UNREADABLE") && stdout.contains("1 target(s) could not be read"), "{stdout}");
}

#[test]
fn a_damaged_journal_line_is_reported_and_prune_judges_nothing_by_it() {
    let p = Project::with_targets(&["a"], "[release]\nkeep = 10\n");
    p.expect(&["deploy", "staging"], 0);
    for n in 2..=3 {
        p.write("index.html", &format!("v{n}\n"));
        p.commit(&format!("v{n}"));
        p.expect(&["deploy", "staging"], 0);
    }
    // A line in the middle is damaged (a disk error, a hand edit): not the torn last line of
    // a crash, and not to be silently skipped.
    let path = p.target("a").join(".ship/journal.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(String::from).collect();
    lines[2] = "{\"this is\": not a record".to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = p.json(&["status", "staging"], 0);
    assert_eq!(out["targets"][0]["journal_damaged"], serde_json::json!([3]), "{out}");
    let (stdout, _) = p.expect(&["status", "staging"], 0);
    assert!(stdout.contains("journal: line(s) 3 of .ship/journal.jsonl are damaged"), "{stdout}");
    let dry = p.json(&["prune", "staging", "--keep", "1", "--dry-run"], 0);
    let removed = dry["targets"][0]["releases"].as_array().unwrap().iter().filter(|r| r["action"] == "remove").count();
    assert_eq!(removed, 0, "nothing is removed on the word of a damaged journal: {dry}");
}
