//! When things go wrong: failed steps and health checks roll the fleet back, a killed deploy
//! is finished by running it again, and a target is never left on a half-made release.

use std::os::unix::process::ExitStatusExt;

use super::harness::{Project, text};

fn three_targets(extra: &str) -> Project {
    let p = Project::with_targets(&["a", "b", "c"], extra);
    p.expect(&["deploy", "staging"], 0);
    p
}

#[test]
fn a_failed_step_before_the_switch_switches_nothing() {
    let p = three_targets("");
    let v1 = p.live("a").unwrap();
    p.new_version(
        "[[step]]\nname = \"check\"\nrun = \"test $SHIP_TARGET != local:$(dirname $SHIP_DEPLOY_PATH)/b\"\n",
        "two\n",
    );
    let out = p.json(&["deploy", "staging"], 1);
    assert_eq!(out["outcome"], "failed");
    for t in ["a", "b", "c"] {
        assert_eq!(p.live(t).as_ref(), Some(&v1), "{t} was switched");
    }
    let targets = out["targets"].as_array().unwrap();
    assert_eq!(targets[0]["outcome"], "skipped", "a staged fine and was not switched");
    assert_eq!(targets[1]["outcome"], "failed");
    assert!(targets[1]["error"].as_str().unwrap().contains("step `check` failed (exit code 1)"));
    assert_eq!(targets[1]["error_kind"], "step");
    assert_eq!(targets[0]["error_kind"], serde_json::Value::Null, "{}", targets[0]);
    assert_eq!(targets[2]["outcome"], "skipped", "staging stops at the first failure");
    assert_eq!(targets[1]["release"], v1.as_str(), "release says what is live now");
    let failed = p.journal("b").iter().any(|r| r["event"] == "failed");
    assert!(failed, "the failure is journaled");
}

#[test]
fn a_failure_after_the_switch_rolls_back_every_touched_target() {
    let p = three_targets("");
    let v1 = p.live("a").unwrap();
    let log = p.base.join("rollback.log");
    p.new_version(&format!(
            "[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test $SHIP_TARGET != local:$(dirname $SHIP_DEPLOY_PATH)/b\"\n\n\
             [[step]]\nname = \"restart\"\nwhen = \"after_rollback\"\nrun = \"echo $SHIP_TARGET $(readlink $SHIP_DEPLOY_PATH/current) >> {}\"\n",
            log.display()
        ),
        "two\n",
    );
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    for t in ["a", "b", "c"] {
        assert_eq!(p.live(t).as_ref(), Some(&v1), "{t} is not back on v1");
        assert_eq!(p.live_file(t, "index.html"), "version one\n");
    }
    let outcomes: Vec<&str> =
        out["targets"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["rolled_back", "rolled_back", "skipped"]);
    let restarted = std::fs::read_to_string(&log).unwrap();
    assert_eq!(restarted.lines().count(), 2, "after_rollback ran on the two switched targets: {restarted}");
    assert!(restarted.lines().all(|l| l.ends_with(&format!("releases/{v1}"))), "{restarted}");

    // The human report says what happened.
    let (stdout, _) = p.expect(&["deploy", "staging"], 4);
    assert!(stdout.contains("every touched target is back on its previous release"), "{stdout}");
    // The failed release never went live, so a rollback now has nothing before v1.
    let (_, stderr) = p.expect(&["rollback", "staging"], 1);
    assert!(stderr.contains("nothing to roll back to"), "{stderr}");
}

#[test]
fn a_failing_health_check_rolls_back_and_says_why() {
    let p = Project::with_targets(
        &["a", "b"],
        "[health]\ncommand = \"./bin/healthy\"\ntimeout = \"1s\"\ninterval = \"200ms\"\n",
    );
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    p.write_exec("bin/healthy", "#!/bin/sh\necho database unreachable\nexit 1\n");
    p.commit("broken");
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    let error = out["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("health check still failing after 1s: `./bin/healthy` ended with exit code 1"), "{error}");
    assert!(error.contains("database unreachable"), "{error}");
    assert_eq!(out["targets"][0]["error_kind"], "health");
    assert_eq!(out["targets"][1]["outcome"], "skipped");
    assert_eq!(p.live("a"), Some(v1.clone()));
    assert_eq!(p.live("b"), Some(v1));
}

#[test]
fn a_failed_first_deploy_leaves_nothing_live() {
    let p = Project::with_targets(&["a"], "[health]\ncommand = \"false\"\ntimeout = \"1s\"\n");
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    assert_eq!(p.live("a"), None, "there was nothing live before, so nothing is live now");
    assert_eq!(out["targets"][0]["release"], serde_json::Value::Null);
    // Journaled in the order it happened: why it failed, then the undoing.
    let events: Vec<String> = p.journal("a").iter().map(|r| r["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(events, ["begin", "staged", "switched", "failed", "restored", "end"]);
}

#[test]
fn a_rollback_that_fails_reports_an_inconsistent_fleet() {
    let p = three_targets("");
    p.new_version("[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test $SHIP_TARGET != local:$(dirname $SHIP_DEPLOY_PATH)/b\"\n\n\
         [[step]]\nname = \"restart\"\nwhen = \"after_rollback\"\nrun = \"echo cannot restart; exit 7\"\n",
        "two\n",
    );
    let out = p.json(&["deploy", "staging"], 5);
    assert_eq!(out["outcome"], "inconsistent");
    let a = &out["targets"][0];
    assert_eq!(a["outcome"], "failed");
    assert!(a["error"].as_str().unwrap().contains("rollback failed: step `restart` failed (exit code 7)"), "{a}");
    let (stdout, _) = p.expect(&["deploy", "staging"], 5);
    assert!(stdout.contains("NOT all on one release"), "{stdout}");
    assert!(stdout.contains("failed"), "{stdout}");
    assert!(stdout.contains("skipped"), "{stdout}");
}

#[test]
fn max_failures_tolerates_a_target_that_goes_back_alone() {
    let p = three_targets("");
    let v1 = p.live("a").unwrap();
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "max_failures = 1\n";
    p.write("deploy.toml", &config);
    p.new_version("[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test $SHIP_TARGET != local:$(dirname $SHIP_DEPLOY_PATH)/b\"\n",
        "two\n",
    );
    let out = p.json(&["deploy", "staging"], 5);
    assert_eq!(out["outcome"], "inconsistent");
    let outcomes: Vec<&str> =
        out["targets"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["succeeded", "rolled_back", "succeeded"]);
    assert_eq!(p.live("b"), Some(v1.clone()));
    assert_ne!(p.live("a"), Some(v1));
}

/// A step that kills the deploying ship with SIGKILL the first time it runs. The step's
/// parent is its guard, the guard's is the target's agent, and the agent's is ship.
fn killer(p: &Project, when: &str) -> String {
    let marker = p.base.join(format!("killed-{when}"));
    format!(
        "[[step]]\nname = \"killer\"\nwhen = \"{when}\"\n\
         run = \"if [ ! -f {m} ]; then touch {m}; agent=$(cut -d' ' -f4 /proc/$PPID/stat); \
         kill -9 $(cut -d' ' -f4 /proc/$agent/stat); sleep 5; fi\"\n",
        m = marker.display()
    )
}

#[test]
fn killed_before_the_switch_the_next_run_finishes_the_deploy() {
    let p = Project::with_targets(&["a", "b"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    p.new_version(&killer(&p, "before_switch"), "two\n");
    let out = p.run(&["deploy", "staging"]);
    assert_eq!(out.status.code(), None, "ship was killed by SIGKILL");
    assert_eq!(p.live("a"), Some(v1.clone()));
    assert_eq!(p.live("b"), Some(v1.clone()));
    // No lock outlives the killed process, and the same command completes the deploy.
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(p.live_file("a", "index.html"), "two\n");
    assert_eq!(p.live_file("b", "index.html"), "two\n");
    assert_eq!(p.json(&["deploy", "staging"], 0)["outcome"], "noop");
}

#[test]
fn killed_after_the_switch_the_next_run_confirms_it_and_rollback_skips_it() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    p.new_version(&killer(&p, "after_switch"), "two\n");
    let out = p.run(&["deploy", "staging"]);
    assert_eq!(out.status.code(), None);
    let v2 = p.live("a").unwrap();
    assert_ne!(v2, v1, "the switch happened before the kill");

    // status says the live release was never confirmed; plan says the deploy completes it.
    let status = p.json(&["status", "staging"], 0);
    assert_eq!(status["targets"][0]["current"]["release"], v2.as_str());
    assert_eq!(status["targets"][0]["current"]["deployed_at"], serde_json::Value::Null);
    let plan = p.json(&["plan", "staging"], 0);
    assert_eq!(plan["targets"][0]["action"], "switch");
    assert_eq!(plan["targets"][0]["unconfirmed"], true);

    // A rollback now goes to the release live before: v1, not the half-made v2.
    let out = p.json(&["rollback", "staging", "--dry-run"], 0);
    assert_eq!(out["release"], v1.as_str());

    // Re-running the deploy completes it.
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(p.live("a"), Some(v2));
    let status = p.json(&["status", "staging"], 0);
    assert!(status["targets"][0]["current"]["deployed_at"].is_string());
    p.expect(&["rollback", "staging"], 0);
    assert_eq!(p.live("a"), Some(v1));
}

#[test]
fn leftovers_of_a_cut_off_unpack_are_cleared_and_never_become_releases() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let tmp = p.target("a").join(".ship/tmp/0123456789ab-half");
    std::fs::create_dir_all(tmp.join("sub")).unwrap();
    std::fs::write(tmp.join("sub/half"), "half").unwrap();
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    assert!(!tmp.exists(), "the half-unpacked tree was cleared");
    assert_eq!(p.releases("a").len(), 2);
}

#[test]
fn a_current_that_is_not_ships_symlink_is_an_error_not_a_guess() {
    let p = Project::with_targets(&["a"], "");
    std::fs::create_dir_all(p.target("a").join("current")).unwrap();
    let (_, stderr) = p.expect(&["deploy", "staging"], 1);
    assert!(stderr.contains("is not a symlink"), "{stderr}");
}

/// Add `[env.prod]` (target `p`) with `requires = "staging"` to deploy.toml; not committed.
fn add_gated_prod(p: &Project) {
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.prod]\ntargets = [\"local:{}\"]\nrequires = \"staging\"\n", p.target("p").display());
    p.write("deploy.toml", &config);
}

/// A failed deploy must not lend its version to the release that stays live: `requires`
/// and `status` would believe the broken artifact is on staging.
#[test]
fn a_failed_deploy_does_not_relabel_the_live_release() {
    let p = Project::with_targets(&["a"], "[health]\ncommand = \"grep -q good index.html\"\ntimeout = \"1s\"\n");
    add_gated_prod(&p);
    p.write("index.html", "good\n");
    p.commit("good");
    p.tag("good");
    p.expect(&["deploy", "staging"], 0);
    p.expect(&["deploy", "prod"], 0);
    p.write("index.html", "bad\n");
    p.commit("bad");
    p.expect(&["deploy", "staging"], 4);
    let status = p.json(&["status", "staging"], 0);
    assert_eq!(status["targets"][0]["current"]["version"], "good", "{status}");
    let (_, stderr) = p.expect(&["deploy", "prod"], 1);
    assert!(stderr.contains("requires `staging` first"), "{stderr}");
    assert_eq!(p.live_file("p", "index.html"), "good\n");
}

#[test]
fn a_failing_local_after_switch_step_fails_the_deploy() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a");
    p.new_version(
        "[[step]]\nname = \"purge-cdn\"\non = \"local\"\nwhen = \"after_switch\"\nrun = \"exit 1\"\n",
        "two\n",
    );
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back");
    assert!(out["targets"][0]["error"].as_str().unwrap().contains("local step `purge-cdn` failed"), "{out}");
    assert_eq!(p.live("a"), v1);
}

#[test]
fn a_torn_journal_line_does_not_swallow_the_next_record() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let journal = p.target("a").join(".ship/journal.jsonl");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"at\":\"2026-01-01T00:00:00Z\",\"run\":\"torn"); // a crash mid-write
    std::fs::write(&journal, text).unwrap();
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    let history = p.json(&["history", "staging"], 0);
    assert_eq!(history["events"].as_array().unwrap().len(), 2, "{history}");
    p.expect(&["rollback", "staging"], 0);
}

/// Killing ship, or closing its terminal, stops the steps it started on local targets
/// before their lock is free: no step ever runs on with the target unlocked.
#[test]
fn a_killed_or_hung_up_ship_leaves_no_local_step_running() {
    use super::harness::Gate;
    for signal in [rustix::process::Signal::KILL, rustix::process::Signal::HUP] {
        let p = Project::with_targets(&["a"], "");
        p.expect(&["deploy", "staging"], 0);
        let gate = Gate::new(&p);
        let pid_file = p.base.join("step.pid");
        let late = p.base.join("late");
        let step = gate
            .step()
            .replace("run = \"", &format!("run = \"echo $$ > {}; ", pid_file.display()))
            .replace("done\"", &format!("done; touch {}\"", late.display()));
        p.new_version(&step, "two\n");
        let mut child = p.spawn(&["deploy", "staging"]);
        gate.wait_started();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(signal.as_raw()), "{signal:?} ends ship");
        let step_pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        p.wait_lock_free("a");
        assert!(!std::path::Path::new(&format!("/proc/{step_pid}")).exists(), "{signal:?}: the step runs on unlocked");
        gate.open();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!late.exists(), "{signal:?}: the step went on after ship died");
        assert_eq!(p.live_file("a", "index.html"), "version one\n");
    }
}

/// `--force` reruns steps; it never skips the `requires` gate. Skipping it takes its own
/// flag, which warns and leaves a record in every target's journal.
#[test]
fn force_never_skips_a_gate_and_ignore_requires_says_so_and_is_journaled() {
    let p = Project::with_targets(&["a"], "");
    add_gated_prod(&p);
    p.commit("a gated prod");
    let (_, stderr) = p.expect(&["deploy", "prod", "--force"], 1);
    assert!(stderr.contains("requires `staging` first") && stderr.contains("--ignore-requires"), "{stderr}");
    assert!(p.live("p").is_none(), "--force switched prod past its gate");

    let (_, stderr) = p.expect(&["deploy", "prod", "--ignore-requires"], 0);
    assert!(stderr.contains("warning") && stderr.contains("skipped with --ignore-requires"), "{stderr}");
    assert!(p.live("p").is_some());
    let begin = p.journal("p").into_iter().find(|r| r["event"] == "begin").expect("a begin record");
    assert!(begin["message"].as_str().unwrap_or("").contains("--ignore-requires"), "{begin}");

    // Once staging runs it, the gate holds and nothing is said.
    p.expect(&["deploy", "staging"], 0);
    let (_, stderr) = p.expect(&["deploy", "prod", "--force"], 0);
    assert!(!stderr.contains("--ignore-requires"), "{stderr}");
}

/// `ship unlock` lifts one's own `ship lock`; someone else's is refused (exit 3, naming
/// them) unless `--force`, and breaking it leaves a record of who broke whose lock.
#[test]
fn unlock_refuses_someone_elses_lock_unless_forced_and_records_who_broke_it() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let held = p.target("a").join(".ship/lock.held");
    let alice = serde_json::json!({"user": "alice", "host": "laptop", "pid": 4242,
        "command": "ship lock staging", "since": "2026-12-01T10:00:00Z", "reason": "db freeze"});
    std::fs::write(&held, alice.to_string()).unwrap();

    let (_, stderr) = p.expect(&["unlock", "staging"], 3);
    assert!(stderr.contains("alice@laptop") && stderr.contains("db freeze"), "{stderr}");
    assert!(stderr.contains("--force"), "says how to break it:\n{stderr}");
    assert!(held.exists(), "someone else's lock was lifted without --force");

    let out = p.ship().args(["--format", "json", "unlock", "staging", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("broke the lock of alice@laptop"), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lifted"][0]["broken"], true, "{json}");
    assert!(!held.exists());
    let broken = p.journal("a").into_iter().find(|r| r["event"] == "lock_broken").expect("a lock_broken record");
    assert_eq!(broken["user"], "tester");
    assert!(broken["message"].as_str().unwrap().contains("alice@laptop"), "{broken}");
    // The record is not a deploy: history still shows the one deploy.
    let history = p.json(&["history", "staging"], 0);
    assert_eq!(history["events"].as_array().unwrap().len(), 1, "{history}");
}

/// `check ENV` and `plan` say beforehand what a deploy would be refused for: a shared file
/// missing on a target that the release does not bring, and an unmet `requires` gate.
#[test]
fn check_and_plan_foresee_a_missing_shared_file_and_an_unmet_gate() {
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"config/app.env\", \"log\"]\n");
    let (stdout, _) = p.expect(&["check", "staging"], 1);
    assert!(
        stdout.contains("shared/config/app.env does not exist there and HEAD (v1) has no config/app.env"),
        "{stdout}"
    );
    let check = p.json(&["check", "staging"], 1);
    assert_eq!(check["ok"], false);
    assert_eq!(check["targets"][0]["shared_missing"], serde_json::json!(["config/app.env", "log"]));
    let plan = p.json(&["plan", "staging"], 0);
    assert!(plan["refused"].as_str().unwrap().contains("shared/config/app.env does not exist"), "{plan}");
    assert!(plan["targets"][0]["refused"].as_str().unwrap().contains("create it on the target first"), "{plan}");
    let (stdout, _) = p.expect(&["plan", "staging"], 0);
    assert!(stdout.contains("REFUSED: a deploy of this plan would fail:"), "{stdout}");
    // The deploy is refused as foreseen, before anything is written.
    let out = p.json(&["deploy", "staging"], 1);
    assert_eq!(out["error"]["kind"], "shared_missing");
    assert!(p.live("a").is_none());
    assert!(p.releases("a").is_empty(), "nothing was staged");
    assert!(!p.target("a").join("shared/log").exists(), "nothing was seeded");
    // Made on the target: check and plan agree with the deploy that now succeeds.
    std::fs::create_dir_all(p.target("a").join("shared/config")).unwrap();
    std::fs::write(p.target("a").join("shared/config/app.env"), "KEY=1\n").unwrap();
    assert_eq!(p.json(&["check", "staging"], 0)["ok"], true);
    assert!(p.json(&["plan", "staging"], 0).get("refused").is_none());
    p.expect(&["deploy", "staging"], 0);
    // A release that brings the file seeds it: no refusal on a fresh target either.
    let q = Project::with_targets(&["a"], "[release]\nshared = [\"config/app.env\"]\n");
    q.write("config/app.env", "KEY=seed\n");
    q.commit("seed");
    assert_eq!(q.json(&["check", "staging"], 0)["ok"], true);

    // The gate: prod requires staging.
    add_gated_prod(&p);
    std::fs::create_dir_all(p.target("p").join("shared/config")).unwrap();
    std::fs::write(p.target("p").join("shared/config/app.env"), "KEY=1\n").unwrap();
    p.commit("prod");
    let check = p.json(&["check", "prod"], 1);
    assert_eq!(check["gate"]["requires"], "staging");
    assert!(check["gate"]["error"].as_str().unwrap().contains("a deploy of HEAD"), "{check}");
    let plan = p.json(&["plan", "prod"], 0);
    assert!(plan["refused"].as_str().unwrap().contains("requires `staging` first"), "{plan}");
    // --ignore-requires: the dry run says the gate would be skipped, not that it refuses.
    let out = p.ship().args(["deploy", "prod", "--dry-run", "--ignore-requires"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!super::harness::text(&out.stdout).contains("REFUSED"), "{}", super::harness::text(&out.stdout));
    assert!(super::harness::text(&out.stderr).contains("the `requires` gate would be skipped"));
    p.expect(&["deploy", "staging"], 0);
    let check = p.json(&["check", "prod"], 0);
    assert_eq!(check["gate"]["admits"]["release"], p.live("a").unwrap().as_str());
    assert!(p.json(&["plan", "prod"], 0).get("refused").is_none());
    p.expect(&["plan", "prod", "--out", "prod-plan.json"], 0);
    p.expect(&["deploy", "prod", "--plan", "prod-plan.json"], 0);
    // Staging moves on: what prod runs is no longer what the gate admits, but nothing that
    // changes nothing is refused: a retried plan, a deploy of what is live.
    p.write("index.html", "moved on\n");
    p.commit("staging moves on");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.json(&["deploy", "prod", "--plan", "prod-plan.json"], 0)["outcome"], "noop");
    let prod_commit = p.json(&["status", "prod"], 0)["targets"][0]["current"]["commit"].as_str().unwrap().to_string();
    assert_eq!(p.json(&["deploy", "prod", "--ref", &prod_commit], 0)["outcome"], "noop");
    let forced = p.json(&["deploy", "prod", "--ref", &prod_commit, "--force"], 1);
    assert_eq!(forced["error"]["kind"], "gate", "rerunning steps changes something: gated");
}

/// The plan lists steps in the order they run, whatever their order in deploy.toml.
#[test]
fn plan_lists_steps_in_the_order_they_run() {
    let p = Project::with_targets(
        &["a"],
        "[[step]]\nname = \"restart\"\nwhen = \"after_switch\"\nrun = \"true\"\n\n\
         [[step]]\nname = \"migrate\"\nrun = \"true\"\n",
    );
    let plan = p.json(&["plan", "staging"], 0);
    let names: Vec<&str> =
        plan["targets"][0]["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["migrate", "restart"]);
}
