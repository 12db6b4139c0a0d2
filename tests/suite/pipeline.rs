//! The delivery pipeline: `promote` sends on the very artifact that is live on the
//! environment before, and `prune` keeps what a rollback or an investigation needs.

use super::harness::{Project, text};

/// staging (a, b) and prod (p) that requires staging.
fn pipeline() -> Project {
    let p = Project::with_targets(&["a", "b"], "");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.prod]\ntargets = [\"local:{}\"]\nrequires = \"staging\"\n", p.target("p").display());
    p.write("deploy.toml", &config);
    p.commit("prod");
    p.tag("v1.1");
    p
}

#[test]
fn promote_deploys_the_very_artifact_live_on_staging() {
    let p = pipeline();
    let staged = p.json(&["deploy", "staging"], 0);
    let sha = staged["artifact"]["sha256"].as_str().unwrap().to_string();
    // HEAD moves on: promote does not build it, it sends what staging runs.
    p.write("index.html", "not reviewed\n");
    p.commit("newer");
    let dry = p.json(&["promote", "staging", "prod", "--dry-run"], 0);
    assert_eq!(dry["artifact"]["sha256"], sha.as_str());
    assert_eq!(dry["targets"][0]["action"], "deploy");
    assert!(!p.target("p").join("current").exists(), "a dry run changes nothing");
    // From a machine whose store does not have it: rebuilt to the very same sha256.
    let out = p
        .ship()
        .args(["--format", "json", "promote", "staging", "prod", "--yes"])
        .env("SHIP_CACHE_DIR", p.base.join("other-cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "succeeded");
    assert_eq!(json["promoted_from"], "staging");
    assert_eq!(json["version"], "v1.1");
    assert_eq!(json["artifact"]["sha256"], sha.as_str());
    assert_eq!(p.live("p"), p.live("a"));
    assert_eq!(p.live_file("p", "index.html"), "version one\n");
    let begin = p.journal("p").into_iter().find(|r| r["event"] == "begin").unwrap();
    assert_eq!(begin["promoted_from"], "staging", "journaled as a promotion");
    let (stdout, _) = p.expect(&["promote", "staging", "prod"], 0);
    assert!(stdout.contains("prod already runs v1.1, as staging does"), "{stdout}");
    let (stdout, stderr) = p.expect(&["status", "prod"], 0);
    assert!(stdout.contains("v1.1"), "{stdout}{stderr}");
}

#[test]
fn promote_refuses_an_environment_not_on_one_confirmed_release() {
    let p = pipeline();
    // Nothing live on staging.
    let out = p.json(&["promote", "staging", "prod", "--yes"], 1);
    assert_eq!(out["error"]["kind"], "not_promotable");
    assert!(out["error"]["message"].as_str().unwrap().contains("nothing live"), "{out}");
    // a and b on different versions.
    p.expect(&["deploy", "staging"], 0);
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.b-only]\ntargets = [\"local:{}\"]\n", p.target("b").display());
    std::fs::write(p.root.join("other.toml"), &config).unwrap();
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["-f", "other.toml", "deploy", "b-only"], 0);
    let (_, stderr) = p.expect(&["promote", "staging", "prod", "--yes"], 1);
    assert!(stderr.contains("staging is not on one release"), "{stderr}");
    for t in ["a", "b"] {
        assert!(stderr.contains(&format!("local:{}: v1", p.target(t).display())), "{t}: {stderr}");
    }
    assert!(!p.target("p").join("current").exists(), "nothing was changed");
    let (_, stderr) = p.expect(&["promote", "staging", "staging"], 2);
    assert!(stderr.contains("to itself"), "{stderr}");
    let (_, stderr) = p.expect(&["promote", "staging", "prd"], 2);
    assert!(stderr.contains("did you mean `prod`"), "{stderr}");
}

/// A promotion is a deploy: its health check failing rolls prod back (exit 4).
#[test]
fn a_promotion_that_fails_its_health_check_rolls_back() {
    let p = pipeline();
    p.expect(&["deploy", "staging"], 0);
    p.expect(&["promote", "staging", "prod"], 0);
    let v1 = p.live("p").unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + "\n[env.prod.health]\ncommand = \"grep -q one index.html\"\ntimeout = \"1s\"\n";
    p.write("deploy.toml", &config);
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    let out = p.json(&["promote", "staging", "prod"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    assert_eq!(out["promoted_from"], "staging");
    assert_eq!(p.live("p").unwrap(), v1);
}
