//! The delivery pipeline: `promote` sends on the very artifact that is live on the
//! environment before, and `prune` keeps what a rollback or an investigation needs.

use super::harness::{Gate, Project, text};

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

/// After the switch, a release with a file `broken` fails this step and is rolled back.
const SMOKE: &str = "[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test ! -f broken\"\n";

/// Commit `content` as index.html (and `broken` when asked), deploy it expecting `code`,
/// and return its release id.
fn deploy_version(p: &Project, content: &str, broken: bool, code: i32) -> String {
    p.write("index.html", content);
    if broken {
        p.write("broken", "");
    } else {
        let _ = std::fs::remove_file(p.root.join("broken"));
    }
    p.commit(content);
    let out = p.json(&["deploy", "staging"], code);
    out["artifact"]["sha256"].as_str().unwrap()[..12].to_string()
}

/// Make the failure of `release` on `target` `hours` old, as if it had failed then.
fn age_failure(p: &Project, target: &str, release: &str, hours: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    let mut lines = String::new();
    for mut record in p.journal(target) {
        if record["event"] == "failed" && record["release"] == release {
            record["at"] = humantime::format_rfc3339_millis(then).to_string().into();
        }
        lines.push_str(&format!("{record}\n"));
    }
    std::fs::write(p.target(target).join(".ship/journal.jsonl"), lines).unwrap();
}

/// The files in a target's `.ship/artifacts/`, by release id.
/// The releases whose manifests a target keeps.
fn manifest_ids(p: &Project, target: &str) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(p.target(target).join(".ship/manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..12].to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn prune_keeps_the_live_release_the_previous_one_and_the_newest_that_went_live() {
    let p = Project::with_targets(&["a", "b"], &format!("[release]\nkeep = 10\n\n{SMOKE}"));
    let v1 = p.json(&["deploy", "staging"], 0)["artifact"]["sha256"].as_str().unwrap()[..12].to_string();
    let v2 = deploy_version(&p, "two\n", false, 0);
    let v3 = deploy_version(&p, "three\n", false, 0);
    let v4 = deploy_version(&p, "four\n", false, 0);
    let old_failure = deploy_version(&p, "five\n", true, 4);
    let new_failure = deploy_version(&p, "six\n", true, 4);
    let v7 = deploy_version(&p, "seven\n", false, 0);
    for target in ["a", "b"] {
        age_failure(&p, target, &old_failure, 48);
    }
    // The failed deploys stopped at the first target: only `a` has their releases.
    let everything = sorted(&[&v1, &v2, &v3, &v4, &old_failure, &new_failure, &v7]);
    assert_eq!(p.releases("a"), everything, "keep = 10 pruned nothing yet");
    assert_eq!(p.releases("b"), sorted(&[&v1, &v2, &v3, &v4, &v7]));

    // The dry run says what would go and why the rest stays, and touches nothing.
    let dry = p.json(&["prune", "staging", "--keep", "3", "--dry-run"], 0);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["keep"], 3);
    for (t, name) in dry["targets"].as_array().unwrap().iter().zip(["a", "b"]) {
        let verdicts: Vec<(String, String, String)> = t["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["release"].as_str().unwrap().into(),
                    r["action"].as_str().unwrap().into(),
                    r["why"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut expected = vec![(&v7, "keep", "live"), (&v4, "keep", "previous"), (&v3, "keep", "keep")];
        if name == "a" {
            expected.push((&new_failure, "keep", "recent_failure"));
            expected.push((&old_failure, "remove", "failed"));
        }
        expected.extend([(&v2, "remove", "beyond_keep"), (&v1, "remove", "beyond_keep")]);
        let mut expected: Vec<(String, String, String)> =
            expected.into_iter().map(|(id, a, w)| (id.clone(), a.into(), w.into())).collect();
        let mut got = verdicts.clone();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{name}: {t}");
        let removed: Vec<&String> = verdicts.iter().filter(|v| v.1 == "remove").map(|v| &v.0).collect();
        // Each version differs in one file: its content goes with its release, no other.
        assert_eq!(t["objects"]["count"].as_u64(), Some(removed.len() as u64), "{t}");
    }
    assert!(dry["bytes"].as_u64().unwrap() > 0);
    assert_eq!(p.releases("a"), everything, "a dry run removes nothing");
    assert_eq!(manifest_ids(&p, "a"), everything);

    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "3", "--dry-run"], 0);
    for words in [
        "previous: a rollback goes here",
        "among the newest 3 that went live",
        "older than the newest 3 that went live",
        "kept a day as evidence",
        "over a day ago",
        "Would remove 5 releases and 5 file contents from staging (2 targets), freeing ",
        "remove 3 file contents no kept release uses",
        "nothing was removed (--dry-run)",
    ] {
        assert!(stdout.contains(words), "{words:?} in:\n{stdout}");
    }

    let pruned = p.json(&["prune", "staging", "--keep", "3"], 0);
    assert_eq!(pruned["dry_run"], false);
    assert_eq!(pruned["bytes"], dry["bytes"], "the dry run foretold what went");
    for (target, kept) in [("a", sorted(&[&v3, &v4, &new_failure, &v7])), ("b", sorted(&[&v3, &v4, &v7]))] {
        assert_eq!(p.releases(target), kept, "{target}");
        assert_eq!(manifest_ids(&p, target), kept, "{target}: only the kept releases' manifests stay");
    }
    assert_eq!(p.live("a").as_ref(), Some(&v7));
    // What is left is whole: a rollback goes to v4, and the targets verify.
    p.expect(&["rollback", "staging"], 0);
    assert_eq!(p.live("b").as_ref(), Some(&v4));
    p.expect(&["status", "staging", "--verify"], 0);
    // v7, rolled back from, is no longer where rollbacks go: it is pruned next.
    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "3"], 0);
    assert!(
        stdout.contains(&format!("removed {v7}")) && stdout.contains("went live, then a rollback left it"),
        "{stdout}"
    );
    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "3"], 0);
    assert!(stdout.contains("Nothing to prune in staging (2 targets, keep = 3)."), "{stdout}");
}

#[test]
fn prune_never_touches_a_target_a_deploy_or_a_lock_holds() {
    let p = Project::with_targets(&["a"], "[release]\nkeep = 10\n");
    p.expect(&["deploy", "staging"], 0);
    deploy_version(&p, "two\n", false, 0);
    deploy_version(&p, "three\n", false, 0);
    let before = p.releases("a");
    assert_eq!(before.len(), 3);

    p.expect(&["lock", "staging", "--reason", "investigating v1"], 0);
    let refused = p.json(&["prune", "staging", "--keep", "1"], 3);
    assert_eq!(refused["error"]["kind"], "locked");
    assert_eq!(refused["lock"]["holder"]["reason"], "investigating v1");
    assert_eq!(p.releases("a"), before, "a locked target keeps everything");
    // A dry run still looks, and says who holds the lock.
    let dry = p.json(&["prune", "staging", "--keep", "1", "--dry-run"], 0);
    assert_eq!(dry["targets"][0]["holder"]["reason"], "investigating v1");
    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "1", "--dry-run"], 0);
    assert!(stdout.contains("locked by") && stdout.contains("pruning now would exit 3"), "{stdout}");
    p.expect(&["unlock", "staging"], 0);

    // A deploy under way holds the target: prune waits for nobody and removes nothing.
    let gate = Gate::new(&p);
    p.new_version(&gate.step(), "four\n");
    let deploy = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    let (_, stderr) = p.expect(&["prune", "staging", "--keep", "1"], 3);
    assert!(stderr.contains("ship deploy staging"), "the holder is named: {stderr}");
    assert_eq!(p.releases("a").len(), 4, "the release being deployed and the others stay");
    gate.open();
    let out = deploy.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pruned = p.json(&["prune", "staging", "--keep", "1"], 0);
    assert_eq!(
        pruned["targets"][0]["releases"].as_array().unwrap().iter().filter(|r| r["action"] == "remove").count(),
        2
    );
    assert_eq!(p.releases("a").len(), 2, "the live release and the previous one stay, whatever --keep says");
}

/// The `ship` commands of the README's "Pipeline" section: its `sh` block's, then its
/// workflow's `run:` steps, in order, comments dropped.
fn readme_pipeline_commands() -> (Vec<String>, Vec<String>) {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Pipeline\n").nth(1).expect("README has a \"Pipeline\" section");
    let section = section.split("\n## ").next().unwrap();
    let block = |fence: &str| section.split(fence).nth(1).unwrap().split("```").next().unwrap().to_string();
    let commands = |block: String, prefix: &str| -> Vec<String> {
        block
            .lines()
            .filter_map(|l| l.trim().strip_prefix(prefix).map(|c| c.split(" #").next().unwrap().trim().to_string()))
            .filter(|c| c.starts_with("ship "))
            .collect()
    };
    (commands(block("```sh"), ""), commands(block("```yaml"), "- run: "))
}

#[test]
fn the_readme_pipeline_runs_as_written() {
    let (sh, workflow) = readme_pipeline_commands();
    for commands in [&sh, &workflow] {
        for needed in ["ship build", "ship deploy staging", "ship promote staging prod", "ship metrics prod"] {
            assert!(commands.iter().any(|c| c.starts_with(needed)), "{needed} in {commands:?}");
        }
    }
    for (commands, writes_files) in [(sh, false), (workflow, true)] {
        let p = pipeline();
        let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace(
            &format!("targets = [\"local:{}\"]\nrequires", p.target("p").display()),
            &format!(
                "targets = [\"local:{}\", \"local:{}\"]\nconfirm = true\nrequires",
                p.target("p1").display(),
                p.target("p2").display()
            ),
        );
        assert!(config.contains("confirm = true"), "{config}");
        p.write("deploy.toml", &config);
        p.commit("a two-target prod that asks before it changes");
        let bin = assert_cmd::cargo::cargo_bin("ship");
        let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap());
        for command in &commands {
            let out = p.ship_shell(command).env("PATH", &path).env("CI", "true").output().unwrap();
            assert_eq!(out.status.code(), Some(0), "`{command}`: {}", text(&out.stderr));
        }
        assert!(p.live("p1").is_some());
        assert_eq!(p.live("p1"), p.live("a"), "prod runs what staging runs");
        assert_eq!(p.live("p2"), p.live("b"));
        if writes_files {
            let read = |file: &str| -> serde_json::Value {
                serde_json::from_slice(&std::fs::read(p.root.join(file)).unwrap()).unwrap()
            };
            let built = read("build.json")["sha256"].clone();
            assert_eq!(read("staging.json")["artifact"]["sha256"], built);
            assert_eq!(read("prod.json")["artifact"]["sha256"], built, "the very bytes that were built once");
            assert_eq!(read("prod.json")["promoted_from"], "staging");
            let page = std::fs::read_to_string(p.root.join("dora.html")).unwrap();
            assert!(page.contains("prod"), "the dashboard is prod's");
        }
    }
}

#[test]
fn prune_keeps_what_it_cannot_judge_and_follows_the_journal_not_clocks() {
    let p = Project::with_targets(&["a"], "[release]\nkeep = 10\n");
    let v1 = p.json(&["deploy", "staging"], 0)["artifact"]["sha256"].as_str().unwrap()[..12].to_string();
    let v2 = deploy_version(&p, "two\n", false, 0);
    let v3 = deploy_version(&p, "three\n", false, 0);
    let v4 = deploy_version(&p, "four\n", false, 0);
    // v3's deploy was made by a machine whose clock was a day behind: it is still newer
    // than v2 in the journal, and that is what counts.
    let journal = p.target("a").join(".ship/journal.jsonl");
    let mut lines = String::new();
    let yesterday =
        humantime::format_rfc3339_millis(std::time::SystemTime::now() - std::time::Duration::from_secs(86_400));
    for mut record in p.journal("a") {
        if record["release"] == v3.as_str() || record["from"] == v3.as_str() {
            record["at"] = yesterday.to_string().into();
        }
        lines.push_str(&format!("{record}\n"));
    }
    std::fs::write(&journal, lines).unwrap();
    let dry = p.json(&["prune", "staging", "--keep", "3", "--dry-run"], 0);
    let order: Vec<(&str, &str)> = dry["targets"][0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["release"].as_str().unwrap(), r["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        [(v4.as_str(), "live"), (v3.as_str(), "previous"), (v2.as_str(), "keep"), (v1.as_str(), "beyond_keep")]
    );

    // Without the journal nothing can be judged: only what `current` shows is known, and
    // nothing is removed.
    std::fs::rename(&journal, p.target("a").join("journal.saved")).unwrap();
    let pruned = p.json(&["prune", "staging", "--keep", "1"], 0);
    let whys: Vec<&str> =
        pruned["targets"][0]["releases"].as_array().unwrap().iter().map(|r| r["why"].as_str().unwrap()).collect();
    assert_eq!(whys, ["live", "unknown", "unknown", "unknown"]);
    assert_eq!(p.releases("a").len(), 4);
}

#[test]
fn after_a_fleet_rollback_every_target_keeps_the_same_releases() {
    // v4 goes live on a, fails on b, and the fleet goes back to v3: a's v4 does not take
    // one of a's `keep` places, so both targets keep v3, v2 and v5 and can go back alike.
    let step = "[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test ! -f $SHIP_DEPLOY_PATH/fail-here\"\n";
    let p = Project::with_targets(&["a", "b"], &format!("[release]\nkeep = 3\n\n{step}"));
    p.expect(&["deploy", "staging"], 0);
    let v2 = deploy_version(&p, "two\n", false, 0);
    let v3 = deploy_version(&p, "three\n", false, 0);
    std::fs::write(p.target("b").join("fail-here"), "").unwrap();
    let v4 = deploy_version(&p, "four\n", false, 4);
    std::fs::remove_file(p.target("b").join("fail-here")).unwrap();
    let v5 = deploy_version(&p, "five\n", false, 0);
    assert!(p.releases("a").contains(&v2) && p.releases("b").contains(&v2));
    assert!(!p.releases("a").contains(&v4), "a's v4 was left by the fleet's rollback");
    assert!(p.releases("b").contains(&v4), "b's failed v4 is kept a day as evidence");
    assert_eq!(p.releases("a"), sorted(&[&v2, &v3, &v5]));
    let dry = p.json(&["rollback", "staging", "--to", &v2, "--dry-run"], 0);
    assert_eq!(dry["release"], v2.as_str());
}

#[test]
fn prune_reports_each_target_and_goes_on_past_one_that_fails() {
    let p = Project::with_targets(&["a", "b"], "[release]\nkeep = 10\n");
    let v1 = p.json(&["deploy", "staging"], 0)["artifact"]["sha256"].as_str().unwrap()[..12].to_string();
    deploy_version(&p, "two\n", false, 0);
    deploy_version(&p, "three\n", false, 0);
    // An environment with a target never deployed to, and one that cannot be reached.
    let never = p.target("never");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!(
            "\n[env.mixed]\ntargets = [\"local:{}\", \"local:{}\", \"ssh://nobody@127.0.0.1:1/srv/x\"]\n",
            p.target("a").display(),
            never.display()
        );
    p.write("deploy.toml", &config);
    let out = p.json(&["prune", "mixed", "--keep", "2"], 1);
    let targets = out["targets"].as_array().unwrap();
    assert_eq!(targets[0]["releases"].as_array().unwrap().iter().filter(|r| r["action"] == "remove").count(), 1);
    assert_eq!(p.releases("a").len(), 2, "the reachable target was pruned");
    assert_eq!(targets[1]["releases"].as_array().unwrap().len(), 0);
    assert!(!never.exists(), "pruning a target never deployed to creates nothing there");
    assert!(targets[2]["error"].as_str().is_some(), "{out}");

    // A release that cannot be deleted: the others go, and what happened is said.
    assert!(p.releases("b").contains(&v1), "{:?}", p.releases("b"));
    let stuck = p.target("b").join("releases").join(&v1).join("index.html");
    // (cargo's LD_LIBRARY_PATH misleads chattr's libraries: it is left out.)
    let chattr = |flag: &str, file: &std::path::Path| {
        std::process::Command::new("chattr").env_remove("LD_LIBRARY_PATH").arg(flag).arg(file).status()
    };
    let immutable = chattr("+i", &stuck).is_ok_and(|s| s.success());
    if !immutable {
        eprintln!("notice: chattr +i is not supported here; skipping the undeletable release");
        return;
    }
    let out = p.run(&["--format", "json", "prune", "staging", "--keep", "2"]);
    // It was moved out of releases/ before the deletion failed.
    let tmp = p.target("b").join(".ship/tmp");
    let moved_dir = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.file_name().unwrap().to_string_lossy().starts_with(&format!("prune-{v1}-")))
        .unwrap_or_else(|| panic!("{v1} was not moved into {}", tmp.display()));
    let moved = moved_dir.join("index.html");
    assert!(chattr("-i", &moved).is_ok_and(|s| s.success()), "{} is where it was moved", moved.display());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &json["targets"][1];
    let stuck_release = b["releases"].as_array().unwrap().iter().find(|r| r["release"] == v1.as_str()).unwrap();
    assert!(stuck_release["error"].as_str().unwrap().contains("not all of it could be deleted"), "{b}");
    assert_eq!(p.releases("b").len(), 2, "taken out of releases/ all the same");
    // Its leftover goes with the next lock, and the content only it had with the next prune.
    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "2"], 0);
    assert!(stdout.contains("removed 1 file content no kept release uses  ("), "{stdout}");
    let (stdout, _) = p.expect(&["prune", "staging", "--keep", "2"], 0);
    assert!(stdout.contains("Nothing to prune"), "{stdout}");
}
