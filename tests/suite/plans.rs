//! Saved plans (`plan --out`, `deploy --plan`) and ship as a CI job step: no prompts, plain
//! timestamped lines, GitHub Actions groups, and the README's CI examples run as written.

use super::harness::{Project, text};

#[test]
fn a_saved_plan_is_applied_exactly() {
    let p = Project::with_targets(&["a", "b"], "[[step]]\nname = \"hello\"\nrun = \"echo hello\"\n");
    let plan = p.json(&["plan", "staging", "--out", "plan.json"], 0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.root.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved, plan, "the saved plan is the plan that was shown");
    assert_eq!(saved["format"], 1);
    assert_eq!(saved["config_sha256"].as_str().unwrap().len(), 64);
    // A newer commit exists by the time the plan is applied: the plan's version is deployed.
    p.write("index.html", "newer, not reviewed\n");
    p.commit("not in the plan");
    let out = p.json(&["deploy", "staging", "--plan", "plan.json"], 0);
    assert_eq!(out["outcome"], "succeeded");
    assert_eq!(out["artifact"]["sha256"], saved["artifact"]["sha256"]);
    assert_eq!(out["version"], "v1");
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
    assert_eq!(p.live_file("b", "index.html"), "version one\n");
    // Applying it again (a CI retry): it already took effect, so there is nothing to do.
    let journal = p.journal("a").len();
    let out = p.json(&["deploy", "staging", "--plan", "plan.json"], 0);
    assert_eq!(out["outcome"], "noop");
    let (stdout, stderr) = p.expect(&["deploy", "staging", "--plan", "plan.json"], 0);
    assert!(stderr.contains("The saved plan was already applied: every target of staging runs v1"), "{stderr}");
    assert!(stdout.contains("staging is up to date"), "{stdout}");
    assert_eq!(p.journal("a").len(), journal, "nothing was run again");
    // Once another version went out, the plan no longer holds: stale, in JSON too.
    p.expect(&["deploy", "staging"], 0);
    let newer = p.live("a").unwrap();
    let out = p.json(&["deploy", "staging", "--plan", "plan.json"], 6);
    assert_eq!(out["error"]["kind"], "stale_plan");
    assert_eq!(out["error"]["exit"], 6);
    assert!(out["error"]["hint"].as_str().unwrap().contains("ship plan staging --out FILE"), "{out}");
    let stale = out["stale"].as_array().unwrap();
    assert_eq!(stale.len(), 2, "{out}");
    assert_eq!(stale[0]["target"], format!("local:{}", p.target("a").display()));
    assert!(stale[0]["what"].as_str().unwrap().contains(&format!("it now has release {newer}")), "{out}");
    assert_eq!(p.live("a").unwrap(), newer);
}

/// `plan --out` says how to apply it, exactly: `--yes` where the environment asks for a
/// confirmation, `-f` when the plan was made from another file.
#[test]
fn plan_out_prints_the_exact_command_that_applies_it() {
    let p = Project::with_targets(&["a"], "");
    let (_, stderr) = p.expect(&["plan", "staging", "--out", "plan.json"], 0);
    assert!(stderr.contains("apply it with: ship deploy staging --plan plan.json\n"), "{stderr}");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "confirm = true\n";
    std::fs::write(p.root.join("other deploy.toml"), &config).unwrap();
    let (_, stderr) = p.expect(&["-f", "other deploy.toml", "plan", "staging", "--out", "my plan.json"], 0);
    let command = "ship -f 'other deploy.toml' deploy staging --plan 'my plan.json' --yes";
    assert!(stderr.contains(&format!("apply it with: {command}\n")), "{stderr}");
    // The command works as printed.
    let bin = assert_cmd::cargo::cargo_bin("ship");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap());
    let out = p.ship_shell(command).env("PATH", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("a", "index.html"), "version one\n");

    // From another directory with -C, and a file name that looks like an option.
    p.write("index.html", "two\n");
    p.commit("two");
    let out = p.ship().current_dir(&p.base).args(["-C", "repo", "plan", "staging", "--out=-p.json"]).output().unwrap();
    let stderr = text(&out.stderr);
    let command = "ship -C repo deploy staging --plan ./-p.json";
    assert!(stderr.contains(&format!("apply it with: {command}\n")), "{stderr}");
    let out = p.ship_shell(command).current_dir(&p.base).env("PATH", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("a", "index.html"), "two\n");
}

#[test]
fn a_plan_is_stale_when_a_target_changed_or_the_config_did() {
    let p = Project::with_targets(&["a", "b"], "");
    p.expect(&["deploy", "staging"], 0);
    p.write("index.html", "two\n");
    p.commit("two");
    p.expect(&["plan", "staging", "--out", "plan.json"], 0);
    // Someone deploys a third version to target b meanwhile.
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.b-only]\ntargets = [\"local:{}\"]\n", p.target("b").display());
    let before = p.live("a");
    std::fs::write(p.root.join("other.toml"), &config).unwrap(); // untracked: not a dirty tree
    p.expect(&["-f", "other.toml", "deploy", "b-only"], 0);
    let b_now = p.live("b").unwrap();
    let (_, stderr) = p.expect(&["deploy", "staging", "--plan", "plan.json"], 6);
    assert!(stderr.contains(&format!("local:{}: the plan saw release", p.target("b").display())), "{stderr}");
    assert!(stderr.contains(&format!("it now has release {b_now}")), "{stderr}");
    assert_eq!(p.live("a"), before, "a stale plan changes nothing");
    assert_eq!(p.live("b").unwrap(), b_now);

    // deploy.toml changed since the plan was made: a comment, spacing or key order do not
    // count (the plan is compared with what the file says), a value does.
    p.expect(&["plan", "staging", "--out", "fresh.json"], 0);
    let original = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    let reworded = format!("# reviewed by ops\n\n{}", original.replace(" = ", "   =   "));
    p.write("deploy.toml", &reworded);
    assert_eq!(p.json(&["deploy", "staging", "--plan", "fresh.json"], 0)["outcome"], "succeeded");
    p.write("index.html", "three\n");
    p.commit("three");
    p.expect(&["plan", "staging", "--out", "fresh.json"], 0);
    p.write("deploy.toml", &(original + "parallel = 2\n"));
    let (_, stderr) = p.expect(&["deploy", "staging", "--plan", "fresh.json"], 6);
    assert!(stderr.contains("deploy.toml changed since the plan was made"), "{stderr}");
}

#[test]
fn corrupt_foreign_and_future_plans_are_refused() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["plan", "staging", "--out", "plan.json"], 0);
    let good = std::fs::read_to_string(p.root.join("plan.json")).unwrap();
    let cases = [
        ("{ not json", "is not a ship plan: it is not JSON"),
        ("{\"hello\": 1}", "is not a ship plan: it has no format"),
        (&good.replace("\"format\": 1", "\"format\": 99"), "is a plan of format 99; this ship reads format 1"),
        (&good.replace("\"app\": \"hello\"", "\"app\": \"other\""), "is a plan for app `other`"),
        (&good.replace("\"env\": \"staging\"", "\"env\": \"prod\""), "is a plan for environment `prod`, not `staging`"),
        (&good.replace("\"targets\"", "\"targetz\""), "is a corrupt ship plan"),
    ];
    for (content, expected) in cases {
        std::fs::write(p.root.join("bad.json"), content).unwrap();
        let (_, stderr) = p.expect(&["deploy", "staging", "--plan", "bad.json"], 2);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(!p.target("a").join("current").exists());
    let (_, stderr) = p.expect(&["deploy", "staging", "--plan", "missing.json"], 2);
    assert!(stderr.contains("cannot read the plan"), "{stderr}");
    let (_, stderr) = p.expect(&["deploy", "staging", "--plan", "plan.json", "--ref", "v1"], 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn a_plan_made_elsewhere_is_rebuilt_to_the_same_sha256() {
    let p = Project::with_targets(
        &["a"],
        "[build]\ncommand = \"mkdir -p out && cp index.html out/\"\ninclude = [\"out/**\"]\n",
    );
    p.expect(&["plan", "staging", "--out", "plan.json"], 0);
    // Deploy from another machine's point of view: an empty artifact store.
    let out = p
        .ship()
        .args(["--format", "json", "deploy", "staging", "--plan", "plan.json"])
        .env("SHIP_CACHE_DIR", p.base.join("other-cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("rebuilding commit"), "{}", text(&out.stderr));
    assert_eq!(p.live_file("a", "out/index.html"), "version one\n");
}

#[test]
fn under_ci_output_is_plain_timestamped_lines_and_never_a_prompt() {
    let p = Project::with_targets(&["a"], "[[step]]\nname = \"hello\"\nrun = \"echo hello from the step\"\n");
    let out = p.ship().args(["deploy", "staging"]).env("CI", "true").env_remove("NO_COLOR").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains('\x1b') && !text(&out.stdout).contains('\x1b'), "no colour or bars: {stderr:?}");
    for line in stderr.lines() {
        let stamp = line.split(' ').next().unwrap();
        assert!(stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[4] == b'-', "not timestamped: {line}");
    }
    assert!(stderr.contains("hello from the step"), "{stderr}");
    // --color always forces colour even there.
    let out = p.ship().args(["--color", "always", "status", "staging"]).env("CI", "true").output().unwrap();
    assert!(text(&out.stdout).contains('\x1b'), "{}", text(&out.stdout));
}

#[test]
fn under_github_actions_each_targets_step_output_is_a_group() {
    let p = Project::with_targets(&["a", "b"], "[[step]]\nname = \"hello\"\nrun = \"echo one; echo two\"\n");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "parallel = 2\n";
    p.write("deploy.toml", &config);
    p.commit("parallel");
    let out = p.ship().args(["deploy", "staging"]).env("CI", "true").env("GITHUB_ACTIONS", "true").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    for t in ["a", "b"] {
        let group = format!("::group::local:{} | hello\none\ntwo\n::endgroup::", p.target(t).display());
        assert!(stderr.contains(&group), "{group}\nnot in:\n{stderr}");
    }
}

/// The shell commands of the README's "Use in CI" examples: `run: ship ...` lines of the
/// GitHub Actions job and `- ship ...` lines of the GitLab job.
fn readme_ci_commands() -> (Vec<String>, Vec<String>) {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## Use in CI").nth(1).expect("README has a \"Use in CI\" section");
    let section = section.split("\n## ").next().unwrap();
    let blocks: Vec<&str> = section.split("```yaml").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert_eq!(blocks.len(), 2, "a GitHub Actions job and a GitLab CI job");
    let pick = |block: &str, prefix: &str| -> Vec<String> {
        block
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix(prefix).or_else(|| l.strip_prefix("- ").and_then(|l| l.strip_prefix(prefix)))
            })
            .filter(|c| c.starts_with("ship "))
            .map(|c| c.split(" #").next().unwrap().trim().to_string())
            .collect()
    };
    (pick(blocks[0], "run: "), pick(blocks[1], "- "))
}

#[test]
fn the_readme_ci_examples_run_as_written() {
    let (github, gitlab) = readme_ci_commands();
    for commands in [github, gitlab] {
        assert!(commands.iter().any(|c| c.contains("ship plan staging --out")), "{commands:?}");
        assert!(commands.iter().any(|c| c.contains("--plan")), "{commands:?}");
        let p = Project::with_targets(&["a"], "");
        let bin = assert_cmd::cargo::cargo_bin("ship");
        let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap());
        for command in &commands {
            let out = p.ship_shell(command).env("PATH", &path).env("CI", "true").output().unwrap();
            assert_eq!(out.status.code(), Some(0), "`{command}`: {}", text(&out.stderr));
        }
        assert_eq!(p.live_file("a", "index.html"), "version one\n");
    }
}
