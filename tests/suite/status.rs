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
