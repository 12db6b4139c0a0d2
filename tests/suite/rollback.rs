//! `ship rollback` and `ship history`: back through what went live, per the journal.

use super::harness::Project;

/// Deploy versions one, two, three; returns their release ids.
fn three_versions(p: &Project) -> Vec<String> {
    let mut releases = vec![];
    for (n, name) in ["one", "two", "three"].iter().enumerate() {
        if n > 0 {
            p.write("index.html", &format!("version {name}\n"));
            p.commit(name);
            p.tag(&format!("v{}", n + 1));
        }
        p.expect(&["deploy", "staging"], 0);
        releases.push(p.live("a").unwrap());
    }
    releases
}

#[test]
fn rollback_walks_back_one_release_at_a_time_then_refuses() {
    let p = Project::with_targets(&["a", "b"], "");
    let r = three_versions(&p);
    let out = p.json(&["rollback", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["version"], "v2");
    assert_eq!(out["targets"][0]["release"], r[1].as_str());
    assert_eq!(p.live("a").as_ref(), Some(&r[1]));
    assert_eq!(p.live("b").as_ref(), Some(&r[1]));
    assert_eq!(p.live_file("b", "index.html"), "version two\n");
    p.expect(&["rollback", "staging"], 0);
    assert_eq!(p.live("a").as_ref(), Some(&r[0]));
    let (_, stderr) = p.expect(&["rollback", "staging"], 1);
    assert!(stderr.contains("nothing to roll back to on any target"), "{stderr}");
    assert_eq!(p.live("a").as_ref(), Some(&r[0]), "a refused rollback changes nothing");
}

#[test]
fn rollback_to_a_release_a_label_or_a_commit() {
    let p = Project::with_targets(&["a"], "");
    let r = three_versions(&p);
    p.expect(&["rollback", "staging", "--to", "v1"], 0);
    assert_eq!(p.live("a").as_ref(), Some(&r[0]));
    p.expect(&["rollback", "staging", "--to", &r[2]], 0);
    assert_eq!(p.live("a").as_ref(), Some(&r[2]));
    let commit_of_v2 =
        p.json(&["history", "staging"], 0)["events"].as_array().unwrap().iter().find(|e| e["version"] == "v2").unwrap()
            ["commit"]
            .as_str()
            .unwrap()
            .to_string();
    p.expect(&["rollback", "staging", "--to", &commit_of_v2[..10]], 0);
    assert_eq!(p.live("a").as_ref(), Some(&r[1]));
    let (_, stderr) = p.expect(&["rollback", "staging", "--to", "v9"], 2);
    assert!(stderr.contains("no target has a release matching `v9` that went live"), "{stderr}");
    // Already there: nothing to do.
    let out = p.json(&["rollback", "staging", "--to", "v2"], 0);
    assert_eq!(out["outcome"], "noop");
}

#[test]
fn rollback_dry_run_shows_what_would_switch_and_changes_nothing() {
    let p = Project::with_targets(&["a"], "");
    let r = three_versions(&p);
    let journal = p.journal("a").len();
    let (stdout, _) = p.expect(&["rollback", "staging", "--dry-run"], 0);
    assert!(stdout.contains("Roll staging back to v2"), "{stdout}");
    assert!(stdout.contains("switch back"), "{stdout}");
    assert_eq!(p.live("a").as_ref(), Some(&r[2]));
    assert_eq!(p.journal("a").len(), journal);
}

#[test]
fn targets_that_disagree_on_previous_need_to() {
    let p = Project::with_targets(&["a", "b"], "");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.solo]\ntargets = [\"local:{}\"]\n", p.target("a").display());
    p.write("deploy.toml", &config);
    p.commit("solo env");
    p.expect(&["deploy", "staging"], 0);
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    p.write("index.html", "three\n");
    p.commit("three");
    p.expect(&["deploy", "solo"], 0);
    // a: one, two, three -> previous is two; b: one, two -> previous is one.
    let (_, stderr) = p.expect(&["rollback", "staging"], 2);
    assert!(stderr.contains("the targets disagree on what to roll back to"), "{stderr}");
    assert!(stderr.contains("--to"), "{stderr}");
    let status = p.json(&["status", "staging"], 0);
    assert_eq!(status["consistent"], false);
}

#[test]
fn history_merges_targets_newest_first() {
    let p = Project::with_targets(&["a", "b"], "");
    three_versions(&p);
    p.expect(&["rollback", "staging"], 0);
    let h = p.json(&["history", "staging"], 0);
    assert_eq!(h["env"], "staging");
    let events = h["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rollback", "deploy", "deploy", "deploy"]);
    let versions: Vec<&str> = events.iter().map(|e| e["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["v2", "v3", "v2", "v1"]);
    for e in events {
        assert_eq!(e["outcome"], "succeeded");
        assert_eq!(e["user"], "tester");
        assert_eq!(e["commit"].as_str().unwrap().len(), 40);
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
        assert!(e["duration_ms"].is_u64());
        let targets = e["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 2);
        assert!(targets.iter().all(|t| t["outcome"] == "succeeded"));
    }
    let limited = p.json(&["history", "staging", "--limit", "1"], 0);
    assert_eq!(limited["events"].as_array().unwrap().len(), 1);
    let (stdout, _) = p.expect(&["history", "staging"], 0);
    assert!(stdout.lines().next().unwrap().contains("rollback"), "{stdout}");
}

#[test]
fn history_shows_failed_deploys_and_why() {
    let p = Project::with_targets(&["a"], "[health]\ncommand = \"./bin/healthy\"\ntimeout = \"1s\"\n");
    p.expect(&["deploy", "staging"], 0);
    p.write_exec("bin/healthy", "#!/bin/sh\nexit 1\n");
    p.commit("broken");
    p.expect(&["deploy", "staging"], 4);
    let h = p.json(&["history", "staging"], 0);
    let last = &h["events"][0];
    assert_eq!(last["outcome"], "rolled_back");
    assert_eq!(last["targets"][0]["outcome"], "rolled_back");
    assert!(last["errors"][0].as_str().unwrap().contains("health check"), "{last}");
}

/// During any rollback, after_rollback steps (on targets and local) see the release being
/// restored as SHIP_VERSION / SHIP_COMMIT / SHIP_RELEASE_DIR, and the one left behind as
/// SHIP_ROLLED_BACK_FROM_*; the JSON outcome says what went where.
#[test]
fn rollback_steps_see_the_restored_release_and_the_one_left() {
    let p = Project::with_targets(&["a", "b"], "");
    let log = p.base.join("rollback.log");
    let line = "$SHIP_VERSION $SHIP_COMMIT $SHIP_ARTIFACT_SHA256 $(basename \\\"$SHIP_RELEASE_DIR\\\") \
                from $SHIP_ROLLED_BACK_FROM_VERSION $SHIP_ROLLED_BACK_FROM_COMMIT $SHIP_ROLLED_BACK_FROM_ARTIFACT_SHA256 \
                $(basename \\\"$SHIP_ROLLED_BACK_FROM_RELEASE_DIR\\\") prev $(basename \\\"$SHIP_PREVIOUS_RELEASE_DIR\\\")";
    let steps = format!(
        "[[step]]\nname = \"note\"\nwhen = \"after_rollback\"\nrun = \"echo {line} >> {log}\"\n\n\
         [[step]]\nname = \"local-note\"\nwhen = \"after_rollback\"\non = \"local\"\n\
         run = \"echo local $SHIP_VERSION $SHIP_COMMIT from $SHIP_ROLLED_BACK_FROM_VERSION $SHIP_ROLLED_BACK_FROM_COMMIT >> {log}\"\n",
        log = log.display()
    );
    p.add_to_config(&steps);
    let c1 = p.commit("steps");
    p.tag("v1.1");
    let v1 = p.json(&["deploy", "staging"], 0);
    let (r1, sha1) = (p.live("a").unwrap(), v1["artifact"]["sha256"].as_str().unwrap().to_string());

    // An automatic rollback: v2's smoke test fails after the switch.
    p.add_to_config("[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"exit 3\"\n");
    p.write("index.html", "two\n");
    let c2 = p.commit("two");
    p.tag("v2");
    let failed = p.json(&["deploy", "staging"], 4);
    let sha2 = failed["artifact"]["sha256"].as_str().unwrap().to_string();
    let r2 = sha2[..12].to_string();
    assert_eq!(failed["rolled_back_to"]["version"], "v1.1");
    assert_eq!(failed["rolled_back_to"]["release"], r1.as_str());
    let lines = std::fs::read_to_string(&log).unwrap();
    let want = format!("v1.1 {c1} {sha1} {r1} from v2 {c2} {sha2} {r2} prev {r2}");
    // Only `a` was switched (the deploy stopped at its failure), so only `a` went back.
    let remote: Vec<&str> = lines.lines().filter(|l| !l.starts_with("local")).collect();
    assert_eq!(remote, [want.as_str()], "{lines}");
    assert!(lines.contains(&format!("local v1.1 {c1} from v2 {c2}")), "{lines}");

    // `ship rollback`: from v3 back to v1.1.
    std::fs::remove_file(&log).unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace("exit 3", "true");
    p.write("deploy.toml", &config);
    p.write("index.html", "three\n");
    let c3 = p.commit("three");
    p.tag("v3");
    let v3 = p.json(&["deploy", "staging"], 0);
    let (r3, sha3) = (p.live("a").unwrap(), v3["artifact"]["sha256"].as_str().unwrap().to_string());
    let back = p.json(&["rollback", "staging"], 0);
    assert_eq!(back["version"], "v1.1");
    assert_eq!(back["rolled_back_from"]["version"], "v3");
    assert_eq!(back["rolled_back_from"]["release"], r3.as_str());
    let lines = std::fs::read_to_string(&log).unwrap();
    let want = format!("v1.1 {c1} {sha1} {r1} from v3 {c3} {sha3} {r3} prev {r3}");
    let remote: Vec<&str> = lines.lines().filter(|l| !l.starts_with("local")).collect();
    assert_eq!(remote, [want.as_str(), want.as_str()], "{lines}");
    assert!(lines.contains(&format!("local v1.1 {c1} from v3 {c3}")), "{lines}");
    let (stdout, _) = p.expect(&["deploy", "staging"], 0);
    assert!(stdout.contains("Deployed v3 to staging"), "{stdout}");
    let (stdout, _) = p.expect(&["rollback", "staging", "--yes"], 0);
    assert!(stdout.contains("Rolled staging back to v1.1, from v3"), "{stdout}");
}

/// Without a tag the version is the short commit: history and the plan say it once. The
/// outcome table's columns line up under their headers.
#[test]
fn an_untagged_version_is_named_once_and_tables_line_up() {
    let p = Project::empty();
    p.write("deploy.toml", &super::harness::config_with(&[&p.target("a"), &p.target("a-long")], ""));
    p.write("index.html", "one\n");
    let short = p.commit("untagged")[..7].to_string();
    let (plan, _) = p.expect(&["plan", "staging"], 0);
    assert!(plan.contains(&format!("Plan: deploy hello {short} to staging")), "{plan}");
    let (stdout, _) = p.expect(&["deploy", "staging"], 0);
    let lines: Vec<&str> = stdout.lines().collect();
    let time = lines[1].find("TIME").unwrap() + "TIME".len();
    for row in &lines[2..4] {
        assert!(row[..time].ends_with(" ms"), "TIME ends where its header does:\n{stdout}");
        assert_eq!(row.trim_end(), *row, "no trailing spaces");
    }
    let (history, _) = p.expect(&["history", "staging"], 0);
    assert_eq!(history.matches(&short).count(), 1, "{history}");
}
