//! Deploying to local targets: the layout, steps and their environment, shared paths,
//! idempotence, pruning, confirmation and dry runs.

use super::harness::{Gate, Project, config_with, text};

#[test]
fn deploy_noop_redeploy_then_new_commit() {
    let p = Project::with_targets(&["a", "b"], "");
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["env"], "staging");
    assert_eq!(out["version"], "v1");
    assert_eq!(out["commit"], p.head());
    let sha = out["artifact"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    let release = p.live("a").expect("a has a current release");
    assert_eq!(Some(release.clone()), p.live("b"));
    assert_eq!(release, sha[..12], "the release id is derived from the artifact");
    for t in out["targets"].as_array().unwrap() {
        assert_eq!(t["outcome"], "succeeded");
        assert_eq!(t["release"], release.as_str());
        assert!(t["duration_ms"].is_u64());
    }
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
    // The on-target layout of the README ("How it works").
    for path in ["shared", ".ship/lock", ".ship/journal.jsonl", &format!(".ship/manifests/{sha}.json"), ".ship/objects"]
    {
        assert!(p.target("a").join(path).exists(), "{path} is missing");
    }
    // The artifact is not kept: its files' contents are, once each, and the release links them.
    assert!(!p.target("a").join(format!(".ship/artifacts/{sha}.tar.zst")).exists());
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let file = std::fs::metadata(p.target("a").join("current/index.html")).unwrap();
        let sha_of = super::harness::sha256_hex(b"version one\n");
        let object = std::fs::metadata(p.target("a").join(".ship/objects").join(sha_of)).unwrap();
        assert_eq!(file.ino(), object.ino(), "a release's file is a link to its content");
        assert_eq!(file.permissions().mode() & 0o777, 0o444, "and read-only");
    }
    assert!(p.target("a").join("releases").join(&release).join(".ship-manifest.json").is_file());
    let events: Vec<String> = p.journal("a").iter().map(|r| r["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(events, ["begin", "staged", "switched", "live", "end"]);

    // Again: nothing to do, nothing sent, nothing journaled.
    let manifest = p.target("a").join(format!(".ship/manifests/{sha}.json"));
    let mtime = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    let (stdout, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(stdout.contains("up to date"), "{stdout}");
    assert!(!stderr.contains("sending"), "{stderr}");
    assert_eq!(std::fs::metadata(&manifest).unwrap().modified().unwrap(), mtime);
    assert_eq!(p.journal("a").len(), 5, "a no-op deploy writes nothing");
    let again = p.json(&["deploy", "staging"], 0);
    assert_eq!(again["outcome"], "noop");
    assert_eq!(again["targets"][0]["outcome"], "noop");

    // A new commit becomes a new release; the old one stays for rollback.
    p.write("index.html", "version two\n");
    p.commit("second");
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["version"], "v1-1-g".to_string() + &p.head()[..7]);
    assert_eq!(p.live_file("a", "index.html"), "version two\n");
    assert_eq!(p.live_file("b", "index.html"), "version two\n");
    assert_eq!(p.releases("a").len(), 2);
}

#[test]
fn steps_run_in_order_with_the_ship_environment() {
    let p = Project::empty();
    let (a, b) = (p.target("a"), p.target("b"));
    let log = p.base.join("steps.log");
    let extra = format!(
        r#"
[[step]]
name = "before"
run = 'echo "before $SHIP_TARGET $(readlink $SHIP_DEPLOY_PATH/current || echo none) $PWD" >> {log}'

[[step]]
name = "once"
on = "first"
run = 'echo "first $SHIP_TARGET" >> {log}'

[[step]]
name = "here"
on = "local"
run = 'echo "local $PWD $SHIP_VERSION" >> {log}'

[[step]]
name = "after"
when = "after_switch"
run = 'echo "after $SHIP_TARGET $(readlink $SHIP_DEPLOY_PATH/current) $SHIP_APP $SHIP_ENV $SHIP_HOST $SHIP_VERSION $SHIP_COMMIT $SHIP_ARTIFACT_SHA256 $SHIP_RELEASE_DIR prev=$SHIP_PREVIOUS_RELEASE_DIR $GREETING" >> {log}'

[[step]]
name = "never"
when = "after_rollback"
run = 'echo "rollback step ran" >> {log}'
"#,
        log = log.display()
    );
    let mut config = config_with(&[&a, &b], &extra);
    config.push_str("vars = { GREETING = \"hello; rm -rf /\" }\n");
    p.write("deploy.toml", &config);
    p.write("index.html", "one\n");
    p.commit("first");
    let out = p.json(&["deploy", "staging"], 0);
    let sha = out["artifact"]["sha256"].as_str().unwrap();
    let release = &sha[..12];
    let commit = p.head();
    let lines: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    let (ta, tb) = (format!("local:{}", a.display()), format!("local:{}", b.display()));
    let version = &commit[..7];
    // Both targets stage at once: a's steps run in their order, b's beside them.
    let staged = [
        format!("before {ta} none {}/releases/{release}", a.display()),
        format!("first {ta}"),
        format!("before {tb} none {}/releases/{release}", b.display()),
    ];
    let mut first_three = lines[..3].to_vec();
    first_three.sort();
    let mut expected = staged.to_vec();
    expected.sort();
    assert_eq!(first_three, expected, "{lines:#?}");
    let at = |line: &String| lines.iter().position(|l| l == line).unwrap();
    assert!(at(&staged[0]) < at(&staged[1]), "a's before_switch steps run in order: {lines:#?}");
    assert_eq!(
        lines[3..],
        [
            format!("local {} {version}", p.root.display()),
            format!(
                "after {ta} releases/{release} hello staging localhost {version} {commit} {sha} {}/releases/{release} prev= hello; rm -rf /",
                a.display()
            ),
            format!(
                "after {tb} releases/{release} hello staging localhost {version} {commit} {sha} {}/releases/{release} prev= hello; rm -rf /",
                b.display()
            ),
        ]
    );
}

#[test]
fn unless_skips_a_step_and_timeout_stops_it() {
    let p = Project::with_targets(
        &["a"],
        r#"
[[step]]
name = "migrate"
run = "touch $SHIP_DEPLOY_PATH/shared/migrated; echo migrating"
unless = "test -f $SHIP_DEPLOY_PATH/shared/migrated"
"#,
    );
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(stderr.contains("migrating"), "{stderr}");
    p.write("index.html", "two\n");
    p.commit("second");
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(!stderr.contains("migrating"), "the step ran although `unless` held:\n{stderr}");
    assert!(stderr.contains("skipped"), "{stderr}");

    // A step past its timeout is stopped, and the deploy fails before any switch.
    let before = p.live("a");
    let mut config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    config = config
        .replace("[env.staging]", "[[step]]\nname = \"slow\"\nrun = \"sleep 30\"\ntimeout = \"1s\"\n\n[env.staging]");
    p.write("deploy.toml", &config);
    p.write("index.html", "three\n");
    p.commit("third");
    let start = std::time::Instant::now();
    let out = p.json(&["deploy", "staging"], 1);
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(out["outcome"], "failed");
    let error = out["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("step `slow` failed (timed out after 1s)"), "{error}");
    assert_eq!(p.live("a"), before, "a failed step before the switch switched nothing");
}

#[test]
fn shared_paths_are_linked_into_every_release() {
    let p = Project::with_targets(&["a"], "[release]\nshared = [\"log\", \"config/app.env\", \"seed\"]\n");
    p.write("config/app.env", "SEED=1\n");
    p.write("seed/data.txt", "data\n");
    p.write_exec("seed/tool", "#!/bin/sh\n");
    p.commit("with env file");
    p.expect(&["deploy", "staging"], 0);
    let t = p.target("a");
    assert_eq!(
        std::fs::read_to_string(t.join("shared/config/app.env")).unwrap(),
        "SEED=1\n",
        "seeded from the release"
    );
    // What is seeded into shared/ is the app's to write, though release files are read-only.
    for (file, mode) in [("config/app.env", 0o644), ("seed/data.txt", 0o644), ("seed/tool", 0o755)] {
        assert_eq!(inode(&t.join("shared").join(file)).1, mode, "{file}");
    }
    assert!(t.join("shared/log").is_dir());
    let current = t.join("current");
    assert!(std::fs::symlink_metadata(current.join("log")).unwrap().file_type().is_symlink());
    std::fs::write(current.join("log/app.log"), "kept\n").unwrap();
    std::fs::write(t.join("shared/config/app.env"), "SECRET=edited on the server\n").unwrap();

    p.write("index.html", "two\n");
    p.write("config/app.env", "SEED=2\n");
    p.commit("second");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.live_file("a", "log/app.log"), "kept\n");
    assert_eq!(p.live_file("a", "config/app.env"), "SECRET=edited on the server\n", "shared files outlive releases");
}

#[test]
fn keep_prunes_old_releases_but_never_current_or_previous() {
    let p = Project::with_targets(&["a"], "[release]\nkeep = 2\n");
    let mut shas = Vec::new();
    for n in 0..4 {
        p.write("index.html", &format!("version {n}\n"));
        p.commit(&format!("commit {n}"));
        let out = p.json(&["deploy", "staging"], 0);
        shas.push(out["artifact"]["sha256"].as_str().unwrap().to_string());
    }
    let mut expected = vec![shas[2][..12].to_string(), shas[3][..12].to_string()];
    expected.sort();
    assert_eq!(p.releases("a"), expected);
    let manifests: Vec<String> = std::fs::read_dir(p.target("a").join(".ship/manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(manifests.len(), 2, "the manifests of pruned releases are removed: {manifests:?}");
    // So are the contents only they used: index.html of the two kept versions, the rest shared.
    let objects = std::fs::read_dir(p.target("a").join(".ship/objects")).unwrap().count();
    let shared_files = std::fs::read_dir(p.target("a").join("current")).unwrap().count() - 2;
    assert_eq!(objects, shared_files + 2, "contents no kept release uses are removed");
    // A pruned release leaves releases/ before the deploy ends, and its files are deleted
    // once the deploy has its answer (it does not wait for the disk).
    let tmp = p.target("a").join(".ship/tmp");
    super::ssh::wait_until("the pruned trees are deleted", || std::fs::read_dir(&tmp).unwrap().next().is_none());
    // keep = 1 still keeps the previous release for rollback.
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap().replace("keep = 2", "keep = 1");
    p.write("deploy.toml", &config);
    p.commit("keep one");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(p.releases("a").len(), 2);
    p.expect(&["rollback", "staging"], 0);
}

#[test]
fn dry_run_and_plan_touch_nothing() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"migrate\"\nrun = \"true\"\n");
    let (stdout, _) = p.expect(&["deploy", "staging", "--dry-run"], 0);
    assert!(stdout.contains("send, unpack and switch"), "{stdout}");
    assert!(stdout.contains("step: migrate (before_switch)"), "{stdout}");
    assert!(!p.target("a").exists(), "a dry run created the target");
    let plan = p.json(&["plan", "staging"], 0);
    assert_eq!(plan["changes"], true);
    assert_eq!(plan["targets"][0]["action"], "deploy");
    assert_eq!(plan["targets"][0]["current"], serde_json::Value::Null);
    assert_eq!(plan["targets"][0]["steps"][0]["name"], "migrate");
    assert_eq!(plan["targets"][0]["steps"][0]["skip"], false);
    p.expect(&["plan", "staging", "--exit-code"], 10);
    assert!(!p.target("a").exists());

    p.expect(&["deploy", "staging"], 0);
    let plan = p.json(&["plan", "staging", "--exit-code"], 0);
    assert_eq!(plan["changes"], false);
    assert_eq!(plan["targets"][0]["action"], "noop");
    assert_eq!(plan["targets"][0]["current"]["version"], "v1");
    let (stdout, _) = p.expect(&["plan", "staging"], 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("Up to date: every target of staging already runs v1 (artifact "), "{stdout}");
}

#[test]
fn confirm_needs_yes_without_a_terminal() {
    let p = Project::with_targets(&["a"], "");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "confirm = true\n";
    p.write("deploy.toml", &config);
    p.commit("confirm");
    let (_, stderr) = p.expect(&["deploy", "staging"], 2);
    assert!(stderr.contains("confirm = true") && stderr.contains("--yes"), "{stderr}");
    assert!(!p.target("a").exists());
    p.expect(&["deploy", "staging", "--yes"], 0);
    assert!(p.live("a").is_some());
}

#[test]
fn force_reruns_the_steps_on_an_up_to_date_target() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"hello\"\nrun = \"echo step-ran\"\n");
    p.expect(&["deploy", "staging"], 0);
    let (_, stderr) = p.expect(&["deploy", "staging"], 0);
    assert!(!stderr.contains("step-ran"));
    let out = p.json(&["deploy", "staging", "--force"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["targets"][0]["outcome"], "succeeded");
    let (_, stderr) = p.expect(&["deploy", "staging", "--force"], 0);
    assert!(stderr.contains("step-ran"), "{stderr}");
}

#[test]
fn secrets_reach_steps_and_are_redacted() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"leak\"\nrun = \"echo token=$API_TOKEN\"\n");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "secrets = [\"API_TOKEN\"]\n";
    p.write("deploy.toml", &config);
    p.commit("secret");
    let (_, stderr) = p.expect(&["deploy", "staging"], 2);
    assert!(stderr.contains("API_TOKEN"), "a missing secret is named: {stderr}");
    let out = p.ship().args(["deploy", "staging"]).env("API_TOKEN", "s3cr3t-value").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("token=[redacted]"), "{stderr}");
    assert!(!stderr.contains("s3cr3t-value"), "{stderr}");
}

#[test]
fn a_dirty_tree_is_refused_unless_allowed() {
    let p = Project::with_targets(&["a"], "");
    p.write("index.html", "uncommitted\n");
    let (_, stderr) = p.expect(&["deploy", "staging"], 2);
    assert!(stderr.contains("uncommitted changes (index.html)"), "{stderr}");
    assert!(!p.target("a").exists());
    p.expect(&["deploy", "staging", "--allow-dirty"], 0);
    assert_eq!(p.live_file("a", "index.html"), "version one\n", "the commit is deployed, not the working copy");
    // An older commit can be deployed from a dirty tree: it is not HEAD.
    p.expect(&["deploy", "staging", "--ref", "v1"], 0);
}

#[test]
fn a_second_deploy_while_one_runs_gets_exit_3_naming_the_holder() {
    let p = Project::empty();
    let gate = Gate::new(&p);
    p.write("deploy.toml", &config_with(&[&p.target("a"), &p.target("b")], &gate.step()));
    p.write("index.html", "one\n");
    p.commit("gated");
    let first = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    let (_, stderr) = p.expect(&["deploy", "staging"], 3);
    gate.open();
    assert!(stderr.contains("is locked by tester@"), "{stderr}");
    assert!(stderr.contains("`ship deploy staging`"), "{stderr}");
    assert!(!p.target("b").join("current").exists(), "the refused deploy changed nothing");
    let status = first.wait_with_output().unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    // The lock went with the process: the next deploy is a no-op, not exit 3.
    p.expect(&["deploy", "staging"], 0);
}

/// The README's quickstart: this repository's own deploy.toml and demo site deploy as
/// written (only the target paths are moved into the test's temp dir).
#[test]
fn the_quickstart_config_deploys() {
    let p = Project::empty();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(repo.join("deploy.toml")).unwrap();
    assert!(config.contains("/tmp/ship-demo/a"), "the quickstart targets moved: update this test and the README");
    let config = config.replace("/tmp/ship-demo", &p.base.join("demo").display().to_string());
    p.write("deploy.toml", &config);
    for file in ["build.sh", "index.html", "style.css"] {
        p.write(
            &format!("fixtures/demo/{file}"),
            &std::fs::read_to_string(repo.join("fixtures/demo").join(file)).unwrap(),
        );
    }
    let commit = p.commit("demo");
    let out = p.json(&["deploy", "demo"], 0);
    assert_eq!(out["outcome"], "succeeded");
    let site = std::fs::read_to_string(p.base.join("demo/a/current/site/index.html")).unwrap();
    assert!(site.contains(&commit), "{site}");
    let log = std::fs::read_to_string(p.base.join("demo/b/shared/log/deploys.log")).unwrap();
    assert!(log.contains("now serves"), "{log}");
    assert_eq!(p.json(&["deploy", "demo"], 0)["outcome"], "noop");
}

#[test]
fn every_target_is_staged_at_once_whatever_parallel_says() {
    // Each target's before_switch step waits until all four have started it: staged one at
    // a time (parallel = 1, the default) it would wait in vain and fail.
    let p = Project::with_targets(&["a", "b", "c", "d"], "");
    let dir = p.base.join("started");
    std::fs::create_dir_all(&dir).unwrap();
    let step = |wait: u32| {
        format!(
            "[[step]]\nname = \"barrier\"\nrun = \"touch {d}/$(basename $SHIP_DEPLOY_PATH); n=0; \
             while [ $(ls {d} | wc -l) -lt 4 ]; do n=$((n+1)); [ $n -gt {wait} ] && exit 1; sleep 0.05; done\"\n",
            d = dir.display()
        )
    };
    p.add_to_config(&step(400));
    p.commit("barrier");
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded");
    // `workers = 1` stages one target at a time: the barrier is never met.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    p.write(
        "deploy.toml",
        &config.replace("n -gt 400", "n -gt 40").replace("[env.staging]\n", "[env.staging]\nworkers = 1\n"),
    );
    p.write("index.html", "two\n");
    p.commit("one at a time");
    let out = p.json(&["deploy", "staging"], 1);
    assert_eq!(out["outcome"], "failed", "{out}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "one target at a time");
}

#[test]
fn a_target_that_fails_to_stage_stops_the_others_before_their_next_step() {
    // b fails its first step at once; a and c are still in theirs. The migration (on the
    // first target, after) must not start for a deploy that has already failed.
    let p = Project::with_targets(&["a", "b", "c"], "");
    let marker = p.base.join("migrated");
    p.add_to_config(&format!(
        "[[step]]\nname = \"check\"\nrun = \"case $SHIP_DEPLOY_PATH in */b) exit 3;; esac; sleep 1\"\n\n\
         [[step]]\nname = \"migrate\"\non = \"first\"\nrun = \"touch {}\"\n",
        marker.display()
    ));
    p.commit("steps");
    let out = p.json(&["deploy", "staging"], 1);
    assert_eq!(out["outcome"], "failed");
    let outcomes: Vec<&str> =
        out["targets"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["skipped", "failed", "skipped"], "{out}");
    assert!(!marker.exists(), "the migration ran for a deploy that had already failed");
    for t in ["a", "b", "c"] {
        assert!(p.live(t).is_none(), "{t} switched");
    }
}

#[test]
fn a_repair_goes_parallel_at_a_time_and_stops_at_a_failure() {
    // --repair rebuilds live files in place: like a switch, it goes `parallel` (1) at a
    // time, so a failure on the first target leaves the others' files as they are.
    let p = Project::with_targets(&["a", "b"], "");
    p.add_to_config(&format!(
        "[[step]]\nname = \"check\"\nrun = \"test ! -f {}/fail-$(basename $SHIP_DEPLOY_PATH)\"\n",
        p.base.display()
    ));
    p.commit("steps");
    p.expect(&["deploy", "staging"], 0);
    for t in ["a", "b"] {
        std::fs::write(p.target(t).join("current/index.html"), "hotfix\n").unwrap();
    }
    std::fs::write(p.base.join("fail-a"), "").unwrap();
    p.expect(&["deploy", "staging", "--repair"], 1);
    assert_eq!(p.live_file("b", "index.html"), "hotfix\n", "b was not touched");
}

/// An artifact already on the target is not sent again, even when its release is not there
/// (a failed unpack, a release removed by hand): staging unpacks it from what is there.
#[test]
fn an_artifact_on_the_target_is_not_sent_again() {
    let p = Project::with_targets(&["a"], "");
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert!(stderr.contains("sending the artifact"), "a first deploy sends it: {stderr}");
    let release = p.live("a").unwrap();
    p.write("index.html", "version two\n");
    p.commit("second");
    p.expect(&["deploy", "staging"], 0);
    std::fs::remove_dir_all(p.target("a").join("releases").join(&release)).unwrap();
    let (_, stderr) = p.expect(&["-v", "deploy", "staging", "--ref", "HEAD~1"], 0);
    assert!(!stderr.contains("sending the artifact"), "{stderr}");
    assert_eq!(p.live("a").as_ref(), Some(&release));
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
}

/// What a target's release is made of: a file's inode and mode.
fn inode(path: &std::path::Path) -> (u64, u32) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.ino(), meta.permissions().mode() & 0o777)
}

/// A new version sends only the contents the target lacks: the releases share every
/// unchanged file (one read-only inode), the release is complete and verifies, a content
/// damaged on the target is sent again, and a rollback finds the old release whole.
#[test]
fn a_new_version_sends_only_the_contents_a_target_lacks() {
    let p = Project::with_targets(&["a"], "");
    // Contents that do not compress away: the artifact is mostly file contents.
    let content = |i: usize| -> String {
        (0..32).map(|j| super::harness::sha256_hex(format!("{i}/{j}").as_bytes()) + "\n").collect()
    };
    for i in 0..100 {
        p.write(&format!("lib/part{}/file{i}.txt", i % 10), &content(i));
    }
    std::os::unix::fs::symlink("part1/file1.txt", p.root.join("lib/latest")).unwrap();
    p.commit("a hundred files");
    let first = p.json(&["deploy", "staging"], 0);
    let v1 = first["targets"][0]["release"].as_str().unwrap().to_string();
    let whole = first["targets"][0]["sent_bytes"].as_u64().unwrap();
    let artifact = std::fs::metadata(
        p.base.join("cache/artifacts").join(format!("{}.tar.zst", first["artifact"]["sha256"].as_str().unwrap())),
    )
    .unwrap()
    .len();
    assert_eq!(whole, artifact, "a first deploy sends the whole artifact");
    p.write("lib/part3/file3.txt", "changed\n");
    p.commit("one file changed");
    let (stdout, _) = p.expect(&["plan", "staging"], 0);
    assert!(stdout.contains("then: send the contents it lacks, unpack and switch to release"), "{stdout}");
    let out = p.run(&["-v", "--format", "json", "deploy", "staging"]);
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("sending")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("sending the contents it lacks: 1 of 103 files ("), "{line}");
    let sent =
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["targets"][0]["sent_bytes"].as_u64().unwrap();
    assert!(sent > 0 && sent * 10 < whole, "a delta is a fraction of the artifact: {sent} of {whole}");
    let again = p.json(&["deploy", "staging"], 0);
    assert_eq!(again["targets"][0]["sent_bytes"], 0, "a no-op sends nothing");
    let v2 = p.live("a").unwrap();
    assert_ne!(v1, v2);
    let release = |id: &str, path: &str| p.target("a").join("releases").join(id).join(path);
    let (shared, mode) = inode(&release(&v1, "lib/part4/file4.txt"));
    assert_eq!(inode(&release(&v2, "lib/part4/file4.txt")), (shared, mode), "one inode for both releases");
    assert_eq!(mode, 0o444, "shared contents are read-only");
    assert_ne!(inode(&release(&v1, "lib/part3/file3.txt")).0, inode(&release(&v2, "lib/part3/file3.txt")).0);
    assert_eq!(p.live_file("a", "lib/part3/file3.txt"), "changed\n");
    assert_eq!(std::fs::read_link(release(&v2, "lib/latest")).unwrap(), std::path::Path::new("part1/file1.txt"));
    p.expect(&["status", "staging", "--verify"], 0);

    // A content made writable on the target (or cut short) is not trusted: sent again.
    let object = p.target("a").join(".ship/objects").join(super::harness::sha256_hex(content(5).as_bytes()));
    std::fs::set_permissions(&object, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    p.write("lib/part3/file3.txt", "changed again\n");
    p.commit("again");
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert!(stderr.contains("sending the contents it lacks: 2 of 103 files ("), "{stderr}");
    assert_eq!(inode(&object).1, 0o444, "replaced by a sound copy");
    assert_eq!(p.live_file("a", "lib/part5/file5.txt"), content(5));
    p.expect(&["status", "staging", "--verify"], 0);

    // A content written in place (as root: the mode does not stop it), even to the same
    // size, bears the time of the write: not trusted, sent again for the new release.
    let live = p.target("a").join("current/lib/part6/file6.txt");
    let tampered = content(6).replacen(&content(6)[..6], "HACKED", 1);
    std::fs::write(&live, &tampered).unwrap();
    p.expect(&["status", "staging", "--verify"], 1);
    p.write("lib/part3/file3.txt", "changed a third time\n");
    p.commit("third");
    let (_, stderr) = p.expect(&["-v", "deploy", "staging"], 0);
    assert!(stderr.contains("sending the contents it lacks: 2 of 103 files ("), "{stderr}");
    assert_eq!(p.live_file("a", "lib/part6/file6.txt"), content(6));
    p.expect(&["status", "staging", "--verify"], 0);
    let v4 = p.live("a").unwrap();
    p.expect(&["rollback", "staging", "--yes"], 0);
    p.expect(&["status", "staging", "--verify"], 1);
    assert_eq!(p.live_file("a", "lib/part6/file6.txt"), tampered, "the release it was written through");
    p.expect(&["deploy", "staging", "--repair"], 0);
    p.expect(&["status", "staging", "--verify"], 0);
    p.expect(&["deploy", "staging", "--ref", "HEAD"], 0);
    assert_eq!(p.live("a"), Some(v4));

    // The older releases are whole: a rollback lands on exactly what v2 was.
    p.expect(&["rollback", "staging", "--yes"], 0);
    p.expect(&["rollback", "staging", "--yes"], 0);
    assert_eq!(p.live("a").as_ref(), Some(&v2));
    assert_eq!(p.live_file("a", "lib/part3/file3.txt"), "changed\n");
}

/// `[release] writable` files are private, writable copies: a step that rewrites one in
/// place changes its own release only. Every other file is a read-only link.
#[test]
fn writable_files_are_private_copies_a_step_may_change_in_place() {
    let p = Project::with_targets(
        &["a"],
        "[release]\nwritable = [\"config/*.env\"]\n\n[[step]]\nname = \"configure\"\nrun = \"echo \\\"built=$SHIP_VERSION\\\" >> config/app.env\"\n",
    );
    p.write("config/app.env", "mode=prod\n");
    p.write("config/other.txt", "fixed\n");
    p.commit("config");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["deploy", "staging"], 0);
    let v2 = p.live("a").unwrap();
    let release = |id: &str, path: &str| p.target("a").join("releases").join(id).join(path);
    let (one, two) = (inode(&release(&v1, "config/app.env")), inode(&release(&v2, "config/app.env")));
    assert_ne!(one.0, two.0, "each release has its own copy");
    assert_eq!((one.1, two.1), (0o644, 0o644), "writable, with the artifact's mode");
    let text = |id: &str| std::fs::read_to_string(release(id, "config/app.env")).unwrap();
    assert_eq!(text(&v1).lines().count(), 2, "{}", text(&v1));
    assert_eq!(text(&v2).lines().count(), 2, "the second deploy's step did not write into the first release");
    assert_eq!(inode(&release(&v1, "config/other.txt")), inode(&release(&v2, "config/other.txt")));
    assert_eq!(inode(&release(&v2, "config/other.txt")).1, 0o444);
    // What its steps wrote there is not a change `status --verify` reports, or `--repair` undoes.
    p.expect(&["status", "staging", "--verify"], 0);
    std::fs::remove_file(release(&v2, "config/app.env")).unwrap();
    let (stdout, _) = p.expect(&["status", "staging", "--verify"], 1);
    assert!(stdout.contains("config/app.env: missing"), "{stdout}");
}
