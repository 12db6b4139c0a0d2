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
    assert!(stderr.contains("nothing to roll back to on local:"), "{stderr}");
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
    assert!(stderr.contains("no release matching `v9` that went live"), "{stderr}");
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
    assert!(stdout.contains("Rollback of staging to v2"), "{stdout}");
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
