//! `ship exec`: a command run in the live release of each picked target, locally and over
//! SSH: its environment, argv kept whole, selection by role and target, exit codes, secrets
//! blanked out, and the lock taken only with --lock.

use super::harness::{Project, text};

/// A project whose `staging` has a `web` target (`web1`) and a `worker` target (`worker1`),
/// with `vars` and whatever `extra` adds to the environment's table.
fn roles_project(extra: &str) -> Project {
    let p = Project::empty();
    let (web, worker) = (p.target("web1"), p.target("worker1"));
    p.write("index.html", "version one\n");
    p.write(
        "deploy.toml",
        &format!(
            "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [{{ url = \"local:{}\", roles = [\"web\"] }}, \
             {{ url = \"local:{}\", roles = [\"worker\"] }}]\nvars = {{ APP_ENV = \"test\" }}\n{extra}",
            web.display(),
            worker.display()
        ),
    );
    p.commit("first");
    p.tag("v1");
    p
}

/// The output lines of the target whose URL ends with `name`, in a JSON report.
fn output_of(report: &serde_json::Value, name: &str) -> Vec<String> {
    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no target {name} in {report}"));
    target["output"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
}

#[test]
fn exec_runs_in_the_live_release_with_the_step_environment_and_prefixes_each_line() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let script = "echo \"dir=$(pwd -P)\"; echo \"env=$SHIP_ENV version=$SHIP_VERSION app=$APP_ENV\"; \
                  echo \"target=$SHIP_TARGET\"";
    let (stdout, _) = p.expect(&["exec", "staging", "--", "sh", "-c", script], 0);
    let web = format!("local:{}", p.target("web1").display());
    let release = p.target("web1").join("releases").join(p.live("web1").unwrap());
    assert!(stdout.contains(&format!("{web}: dir={}", release.display())), "{stdout}");
    assert!(stdout.contains(&format!("{web}: env=staging version=v1 app=test")), "{stdout}");
    assert!(stdout.contains(&format!("{web}: target={web}")), "{stdout}");
    // The table: a line per target with its exit code.
    let table: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("TARGET")).collect();
    assert!(table[0].contains("EXIT") && table[0].contains("TIME"), "{stdout}");
    assert!(table[1].starts_with(&web) && table[1].split_whitespace().nth(1) == Some("0"), "{stdout}");
    assert!(stdout.contains("Exited 0 on all 2 target(s) of staging."), "{stdout}");

    let report = p.json(&["exec", "staging", "--", "sh", "-c", script], 0);
    assert_eq!(report["env"], "staging");
    assert_eq!(report["command"], serde_json::json!(["sh", "-c", script]));
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["roles"], serde_json::json!(["web"]));
    assert_eq!(targets[1]["roles"], serde_json::json!(["worker"]));
    assert!(targets.iter().all(|t| t["exit"] == 0 && t["error"].is_null() && t["duration_ms"].is_u64()));
    assert!(output_of(&report, "worker1").contains(&"env=staging version=v1 app=test".to_string()));
}

#[test]
fn the_command_is_an_argv_not_shell_text() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let report = p.json(
        &[
            "exec",
            "staging",
            "--target",
            &format!("local:{}", p.target("web1").display()),
            "--",
            "printf",
            "%s\\n",
            "two words",
            "$HOME",
            "*",
        ],
        0,
    );
    assert_eq!(output_of(&report, "web1"), ["two words", "$HOME", "*"]);
    // A program that is not there: 127, as a shell says it.
    let report = p.json(&["exec", "staging", "--", "no-such-program-here"], 1);
    assert!(report["targets"].as_array().unwrap().iter().all(|t| t["exit"] == 127), "{report}");
    assert!(output_of(&report, "web1")[0].contains("no-such-program-here"), "{report}");
}

#[test]
fn roles_and_targets_pick_where_it_runs_and_unknown_ones_are_exit_2() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let report = p.json(&["exec", "staging", "--role", "worker", "--", "true"], 0);
    let picked: Vec<&str> =
        report["targets"].as_array().unwrap().iter().map(|t| t["target"].as_str().unwrap()).collect();
    assert_eq!(picked, [format!("local:{}", p.target("worker1").display())]);
    let both = p.json(&["exec", "staging", "--role", "worker", "--role", "web", "--", "true"], 0);
    assert_eq!(both["targets"].as_array().unwrap().len(), 2);
    let web = format!("local:{}", p.target("web1").display());
    let report = p.json(&["exec", "staging", "--target", &web, "--", "true"], 0);
    assert_eq!(report["targets"][0]["target"], web.as_str());
    assert_eq!(report["targets"].as_array().unwrap().len(), 1);

    let (_, stderr) = p.expect(&["exec", "staging", "--role", "db", "--", "true"], 2);
    assert!(stderr.contains("no target of `staging` has the role \"db\""), "{stderr}");
    assert!(stderr.contains("web, worker"), "the known roles are listed: {stderr}");
    let (_, stderr) = p.expect(&["exec", "staging", "--target", "local:/nowhere", "--", "true"], 2);
    assert!(stderr.contains("has no target local:/nowhere"), "{stderr}");
    assert!(stderr.contains(&web), "the targets are listed: {stderr}");
    // A target without the role asked for: nothing is picked.
    let (_, stderr) = p.expect(&["exec", "staging", "--role", "worker", "--target", &web, "--", "true"], 2);
    assert!(stderr.contains("nothing was run"), "{stderr}");
    // No command: a usage error.
    p.expect(&["exec", "staging"], 2);
    let (_, stderr) = p.expect(&["exec", "staging", "--", ""], 2);
    assert!(stderr.contains("no command to run"), "{stderr}");
}

#[test]
fn a_failing_target_is_exit_1_with_its_code_in_the_table_and_the_json() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let script = "case \"$SHIP_TARGET\" in *web1) echo broken; exit 7;; esac; echo fine";
    let report = p.json(&["exec", "staging", "--", "sh", "-c", script], 1);
    assert_eq!(report["targets"][0]["exit"], 7);
    assert_eq!(report["targets"][1]["exit"], 0);
    assert_eq!(output_of(&report, "web1"), ["broken"]);
    assert_eq!(output_of(&report, "worker1"), ["fine"]);
    let (stdout, _) = p.expect(&["exec", "staging", "--", "sh", "-c", script], 1);
    let web_row = stdout.lines().find(|l| l.starts_with(&format!("local:{}  ", p.target("web1").display()))).unwrap();
    assert_eq!(web_row.split_whitespace().nth(1), Some("7"), "{stdout}");
    assert!(stdout.contains("Failed on 1 of 2 target(s) of staging."), "{stdout}");
    // Killed by a signal: no exit code, the signal.
    let report = p.json(&["exec", "staging", "--role", "web", "--", "sh", "-c", "kill -9 $$"], 1);
    assert!(report["targets"][0]["exit"].is_null(), "{report}");
    assert_eq!(report["targets"][0]["signal"], 9, "{report}");
}

#[test]
fn secrets_reach_the_command_and_are_redacted_from_its_output() {
    let p = roles_project("secrets = [\"API_TOKEN\"]\n");
    let (_, stderr) = p.expect(&["exec", "staging", "--", "true"], 2);
    assert!(stderr.contains("API_TOKEN"), "a missing secret is named: {stderr}");
    p.set_env("API_TOKEN", "s3cr3t-value");
    p.expect(&["deploy", "staging"], 0);
    let (stdout, stderr) = p.expect(&["exec", "staging", "--", "sh", "-c", "echo token=$API_TOKEN"], 0);
    assert!(stdout.contains("token=[redacted]"), "{stdout}");
    assert!(!stdout.contains("s3cr3t-value") && !stderr.contains("s3cr3t-value"), "{stdout}{stderr}");
    let out = p.run(&["--format", "json", "exec", "staging", "--", "sh", "-c", "echo token=$API_TOKEN"]);
    assert!(!text(&out.stdout).contains("s3cr3t-value") && !text(&out.stderr).contains("s3cr3t-value"));
    assert!(text(&out.stdout).contains("token=[redacted]"), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("token=[redacted]"),
        "the lines come on stderr as they come: {}",
        text(&out.stderr)
    );
}

#[test]
fn no_lock_is_taken_without_lock_and_with_it_a_held_target_is_exit_3() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    p.expect(&["lock", "staging", "--reason", "freeze"], 0);
    // A held target still runs the command: exec changes nothing of ship's.
    let report = p.json(&["exec", "staging", "--", "sh", "-c", "echo ran > \"$SHIP_DEPLOY_PATH/ran-once\""], 0);
    assert_eq!(report["targets"].as_array().unwrap().len(), 2);
    assert!(p.target("web1").join("ran-once").exists());
    // With --lock it is refused, naming the holder, and nothing runs anywhere.
    let (_, stderr) =
        p.expect(&["exec", "staging", "--lock", "--", "sh", "-c", "echo ran > \"$SHIP_DEPLOY_PATH/ran-locked\""], 3);
    assert!(stderr.contains("is locked by") && stderr.contains("freeze"), "{stderr}");
    assert!(!p.target("web1").join("ran-locked").exists());
    assert!(!p.target("worker1").join("ran-locked").exists());
    p.expect(&["unlock", "staging"], 0);
    // With --lock and nobody else holding it: it runs, and lets go when done.
    p.expect(
        &[
            "exec",
            "staging",
            "--lock",
            "--parallel",
            "1",
            "--",
            "sh",
            "-c",
            "echo ran > \"$SHIP_DEPLOY_PATH/ran-locked\"",
        ],
        0,
    );
    assert!(p.target("worker1").join("ran-locked").exists());
    p.wait_lock_free("web1");
    p.expect(&["deploy", "staging", "--force"], 0);
}

#[test]
fn a_target_with_nothing_live_says_so() {
    let p = roles_project("");
    p.expect(&["deploy", "staging", "--yes"], 0);
    std::fs::remove_file(p.target("worker1").join("current")).unwrap();
    let report = p.json(&["exec", "staging", "--", "true"], 1);
    assert_eq!(report["targets"][0]["exit"], 0);
    let worker = &report["targets"][1];
    assert!(worker["exit"].is_null());
    assert!(worker["error"].as_str().unwrap().contains("nothing is live"), "{report}");
    let (stdout, _) = p.expect(&["exec", "staging", "--", "true"], 1);
    assert!(stdout.contains("nothing is live on this target: deploy first"), "{stdout}");
}

#[test]
fn a_target_that_cannot_be_reached_is_its_own_error_and_the_others_still_run() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!(
            "\n[env.mixed]\ntargets = [\"local:{}\", \"ssh://nobody@127.0.0.1:1/srv/hello\"]\n",
            p.target("web1").display()
        );
    p.write("deploy.toml", &config);
    let report = p.json(&["exec", "mixed", "--", "sh", "-c", "echo here"], 1);
    assert_eq!(report["targets"][0]["exit"], 0);
    assert_eq!(output_of(&report, "web1"), ["here"]);
    let unreachable = &report["targets"][1];
    assert_eq!(unreachable["target"], "ssh://nobody@127.0.0.1:1/srv/hello");
    assert_eq!(unreachable["roles"], serde_json::json!(["app"]));
    assert!(unreachable["exit"].is_null() && unreachable["error"].is_string(), "{report}");
}

#[test]
fn exec_over_ssh_runs_on_every_target_and_respects_the_lock_only_when_asked() {
    let Some((p, _sshd)) = super::ssh::fleet_with_env(2, "", |_| String::new()) else { return };
    p.expect(&["deploy", "staging"], 0);
    let script = "echo \"$SHIP_TARGET $SHIP_VERSION $(pwd -P)\"";
    let report = p.json(&["exec", "staging", "--", "sh", "-c", script], 0);
    for (i, name) in ["t1", "t2"].iter().enumerate() {
        let target = format!("ssh://target{}{}", i + 1, p.target(name).display());
        let release = p.target(name).join("releases").join(p.live(name).unwrap());
        assert_eq!(output_of(&report, name), [format!("{target} v1 {}", release.display())]);
    }
    let report = p.json(&["exec", "staging", "--parallel", "1", "--", "printf", "%s\\n", "a b", "$HOME"], 0);
    assert_eq!(output_of(&report, "t2"), ["a b", "$HOME"]);
    let t1 = format!("ssh://target1{}", p.target("t1").display());
    let report = p.json(&["exec", "staging", "--target", &t1, "--", "sh", "-c", "exit 4"], 1);
    assert_eq!(report["targets"].as_array().unwrap().len(), 1);
    assert_eq!(report["targets"][0]["exit"], 4);

    p.expect(&["lock", "staging"], 0);
    p.expect(&["exec", "staging", "--", "true"], 0);
    let (_, stderr) = p.expect(&["exec", "staging", "--lock", "--", "sh", "-c", "touch \"$SHIP_DEPLOY_PATH/ran\""], 3);
    assert!(stderr.contains("is locked by"), "{stderr}");
    assert!(!p.target("t1").join("ran").exists() && !p.target("t2").join("ran").exists());
    p.expect(&["unlock", "staging"], 0);
    p.expect(&["exec", "staging", "--lock", "--", "sh", "-c", "touch \"$SHIP_DEPLOY_PATH/ran\""], 0);
    assert!(p.target("t1").join("ran").exists() && p.target("t2").join("ran").exists());
}

/// Wait (up to a minute) for `path` to appear.
fn wait_for(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_running_exec_leaves_the_target_free_and_with_lock_holds_it_until_done() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let gate = |name: &str| {
        let (started, open) = (p.base.join(format!("{name}-started")), p.base.join(format!("{name}-open")));
        let script =
            format!("touch {}; while [ ! -f {} ]; do sleep 0.05; done; echo done", started.display(), open.display());
        (started, open, script)
    };

    // Without --lock: a deploy goes through while the command runs.
    let (started, open, script) = gate("free");
    let exec = p.spawn(&["exec", "staging", "--role", "web", "--", "sh", "-c", &script]);
    wait_for(&started);
    p.write("index.html", "version two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.live_file("web1", "index.html"), "version two\n");
    std::fs::write(&open, "").unwrap();
    let out = exec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("local:{}: done", p.target("web1").display())));

    // With --lock: a deploy is refused while the command runs, and goes through after.
    let (started, open, script) = gate("held");
    let exec = p.spawn(&["exec", "staging", "--role", "web", "--lock", "--", "sh", "-c", &script]);
    wait_for(&started);
    let (_, stderr) = p.expect(&["deploy", "staging", "--force"], 3);
    assert!(stderr.contains("ship exec staging"), "the holder is named: {stderr}");
    std::fs::write(&open, "").unwrap();
    let out = exec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    p.wait_lock_free("web1");
    p.expect(&["deploy", "staging", "--force"], 0);
}

/// A target's own vars and its roles reach the command, as they reach its steps: the
/// target's value of a var wins over the environment's.
#[test]
fn a_targets_own_vars_and_roles_reach_the_command() {
    let p = Project::empty();
    let (web, worker) = (p.target("web1"), p.target("worker1"));
    p.write("index.html", "version one\n");
    p.write(
        "deploy.toml",
        &format!(
            "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{}\", \
             {{ url = \"local:{}\", roles = [\"worker\", \"cron\"], vars = {{ QUEUE = \"mail\" }} }}]\n\
             default_roles = [\"web\"]\nvars = {{ QUEUE = \"default\" }}\n",
            web.display(),
            worker.display()
        ),
    );
    p.commit("first");
    p.expect(&["deploy", "staging"], 0);
    let report = p.json(&["exec", "staging", "--", "sh", "-c", "echo \"$SHIP_ROLES $QUEUE\""], 0);
    assert_eq!(output_of(&report, "web1"), ["web default"]);
    assert_eq!(output_of(&report, "worker1"), ["cron,worker mail"]);
    let roles: Vec<&serde_json::Value> = report["targets"].as_array().unwrap().iter().map(|t| &t["roles"]).collect();
    assert_eq!(roles, [&serde_json::json!(["web"]), &serde_json::json!(["cron", "worker"])]);
}

/// What a target prints cannot take over the terminal, a secret typed into the command is
/// not shown, and a line too long for one message comes as several.
#[test]
fn output_is_shown_not_obeyed_and_long_lines_come_in_pieces() {
    let p = roles_project("secrets = [\"TOKEN\"]\n");
    p.set_env("TOKEN", "hunter22");
    p.expect(&["deploy", "staging"], 0);
    let (stdout, stderr) = p.expect(
        &[
            "exec",
            "staging",
            "--target",
            &format!("local:{}", p.target("web1").display()),
            "--",
            "printf",
            "a\\033[2Jb\\rc %s\\n",
            "hunter22",
        ],
        0,
    );
    assert!(stdout.contains("a^[[2Jb^Mc [redacted]"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains("hunter22") && !stderr.contains("hunter22"),
        "{stdout}{stderr}"
    );
    let report = p.json(
        &[
            "exec",
            "staging",
            "--role",
            "web",
            "--",
            "sh",
            "-c",
            "head -c 200000 /dev/zero | tr '\\0' a; echo; echo after",
        ],
        0,
    );
    let lines = output_of(&report, "web1");
    assert_eq!(lines.len(), 5, "four pieces and the last line");
    assert!(lines[..3].iter().all(|l| l.len() == 65536), "{:?}", lines.iter().map(String::len).collect::<Vec<_>>());
    assert_eq!(lines.iter().take(4).map(String::len).sum::<usize>(), 200000);
    assert_eq!(lines[4], "after");
    let hidden = p.json(&["exec", "staging", "--role", "web", "--", "echo", "hunter22"], 0);
    assert_eq!(hidden["command"], serde_json::json!(["echo", "[redacted]"]));
}

#[test]
fn lock_wait_waits_for_a_held_target_and_needs_lock() {
    let p = roles_project("");
    p.expect(&["deploy", "staging"], 0);
    let (_, stderr) = p.expect(&["exec", "staging", "--lock-wait", "1s", "--", "true"], 2);
    assert!(stderr.contains("--lock"), "{stderr}");
    p.expect(&["lock", "staging", "--reason", "maintenance"], 0);
    let started = std::time::Instant::now();
    let (_, stderr) = p.expect(&["exec", "staging", "--lock", "--lock-wait", "1s", "--", "true"], 3);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited");
    assert!(stderr.contains("maintenance"), "{stderr}");
}
