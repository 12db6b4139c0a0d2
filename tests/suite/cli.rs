//! The command line itself: the command set, --help and --version, usage errors, `init`,
//! `check`, completions, what goes to stdout versus stderr, and broken pipes.

use std::process::{Command, Output, Stdio};

use super::harness::{Project, text};

const COMMANDS: [&str; 15] = [
    "init",
    "check",
    "build",
    "plan",
    "deploy",
    "rollback",
    "promote",
    "status",
    "history",
    "metrics",
    "prune",
    "exec",
    "lock",
    "unlock",
    "completions",
];
/// Hidden: `agent`, started by ship itself over SSH.
const NOT_IMPLEMENTED: [&str; 1] = ["agent"];

/// ship with the harness's hermetic environment, as a plain `std` command so that its
/// stdout and stderr can be wired to anything.
fn raw(p: &Project) -> Command {
    p.std_command()
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

/// The subcommand names in the "Commands:" section of a help text.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn help_lists_exactly_the_implemented_commands() {
    let p = Project::empty();
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let (stdout, _) = p.expect(args, 0);
        let mut listed = listed_commands(&stdout);
        listed.retain(|c| c != "help");
        assert_eq!(listed, COMMANDS, "{args:?}:\n{stdout}");
        for missing in NOT_IMPLEMENTED {
            assert!(
                !stdout.lines().any(|l| l.split_whitespace().next() == Some(missing)),
                "{args:?} must not offer `{missing}`:\n{stdout}"
            );
        }
    }
    // Each implemented command has its own help.
    for command in COMMANDS {
        let (stdout, _) = p.expect(&[command, "--help"], 0);
        assert!(stdout.contains("Usage: ship"), "{command}:\n{stdout}");
        assert!(stdout.contains(command), "{command}:\n{stdout}");
    }
    let (deploy, _) = p.expect(&["deploy", "--help"], 0);
    for flag in ["--ref", "--artifact", "--yes", "--dry-run", "--force", "--allow-dirty", "--format", "-C", "--file"] {
        assert!(deploy.contains(flag), "deploy --help mentions {flag}:\n{deploy}");
    }
}

#[test]
fn missing_or_bad_arguments_are_usage_errors_that_name_them() {
    let p = Project::with_targets(&["staging"], "");
    for (args, named) in [
        (&["promote", "staging"][..], "<TO>"),
        (&["prune"], "<ENV>"),
        (&["prune", "staging", "--keep", "some"], "invalid value 'some' for '--keep <N>'"),
    ] {
        let (stdout, stderr) = p.expect(args, 2);
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let p = Project::empty();
    let expected = format!("ship {}", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"]] {
        let (stdout, stderr) = p.expect(args, 0);
        assert_eq!(stdout.trim(), expected, "{args:?}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn bad_command_lines_are_usage_errors_on_stderr() {
    let p = Project::with_targets(&["staging"], "");
    let cases: [&[&str]; 8] = [
        &["--bogus"],
        &["deploy", "staging", "--bogus"],
        &["frobnicate"],
        &[],
        &["deploy"],
        &["--format", "yaml", "check"],
        &["--color", "sometimes", "check"],
        &["completions", "tcsh"],
    ];
    for args in cases {
        let (stdout, stderr) = p.expect(args, 2);
        assert!(stdout.is_empty(), "{args:?}: usage errors go to stderr, stdout is for results:\n{stdout}");
        assert!(stderr.starts_with("error:") || stderr.contains("Usage: ship"), "{args:?}:\n{stderr}");
    }
    let (_, stderr) = p.expect(&["--bogus"], 2);
    assert!(stderr.contains("--bogus"), "{stderr}");
    let (_, stderr) = p.expect(&["-q", "-v", "check"], 2);
    assert!(stderr.contains("--quiet") || stderr.contains("--verbose"), "{stderr}");
    assert!(!p.target("staging").exists());
}

#[test]
fn init_writes_a_config_that_check_accepts_and_never_overwrites() {
    let p = Project::empty();
    let (stdout, _) = p.expect(&["init"], 0);
    assert!(stdout.contains("deploy.toml"), "{stdout}");
    let written = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap();
    assert!(written.contains("name = \"repo\""), "the app is named after the directory:\n{written}");
    assert!(written.lines().filter(|l| l.trim_start().starts_with('#')).count() > 5, "it is commented:\n{written}");
    let json = p.json(&["check"], 0);
    assert_eq!(json["app"], "repo");
    assert_eq!(json["envs"], serde_json::json!(["staging"]));

    // A second init refuses, and the user's edits survive.
    let edited = format!("{written}\n# my own note\n");
    std::fs::write(p.root.join("deploy.toml"), &edited).unwrap();
    let out = p.run(&["init"]);
    assert!(!out.status.success(), "a second init must fail");
    assert_ne!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(p.root.join("deploy.toml")).unwrap(), edited, "the file is unchanged");
}

#[test]
fn init_with_dash_c_names_the_app_after_that_directory() {
    let p = Project::empty();
    std::fs::create_dir_all(p.root.join("My Web_App")).unwrap();
    p.expect(&["-C", "My Web_App", "init"], 0);
    assert!(p.root.join("My Web_App/deploy.toml").is_file());
    assert!(!p.root.join("deploy.toml").exists());
    let json = p.json(&["-C", "My Web_App", "check"], 0);
    let app = json["app"].as_str().unwrap();
    assert!(app.starts_with("my") && app.contains("web"), "a valid name derived from the directory: {app}");
}

#[test]
fn check_validates_and_prints_the_app() {
    let p = Project::with_targets(&["staging"], "[env.prod]\ntargets = [\"local:/nonexistent/ship-test/prod\"]\n");
    let (stdout, _) = p.expect(&["check"], 0);
    assert!(stdout.contains("hello"), "{stdout}");
    assert!(stdout.contains("staging") && stdout.contains("prod"), "{stdout}");
    let json = p.json(&["check"], 0);
    assert_eq!(json["app"], "hello");
    assert_eq!(json["envs"], serde_json::json!(["prod", "staging"]));
    assert_eq!(json["targets"], serde_json::json!([]), "without ENV no target is contacted");
}

#[test]
fn check_env_reaches_every_target() {
    let p = Project::with_targets(&["web1", "web2"], "");
    let json = p.json(&["check", "staging"], 0);
    assert_eq!(json["env"], "staging");
    assert_eq!(json["ok"], true);
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    for (t, name) in targets.iter().zip(["web1", "web2"]) {
        assert_eq!(t["target"], format!("local:{}", p.target(name).display()));
        assert_eq!(t["reachable"], true, "{t}");
        assert_eq!(t["writable"], true, "{t}");
        assert_eq!(t["locked"], false, "{t}");
        assert!(t["error"].is_null(), "{t}");
    }
    assert!(!p.target("web1").exists(), "check touches nothing");
    let (stdout, _) = p.expect(&["check", "staging"], 0);
    assert!(stdout.contains(&p.target("web1").display().to_string()), "{stdout}");
}

#[test]

fn check_env_fails_for_a_target_that_cannot_be_created() {
    let p = Project::empty();
    std::fs::write(p.base.join("a-file"), "not a directory\n").unwrap();
    let target = p.base.join("a-file/site");
    p.write("index.html", "hi\n");
    p.write("deploy.toml", &super::harness::config_with(&[&target], ""));
    p.commit("first");
    p.expect(&["deploy", "staging", "--yes"], 1);
    let json = p.json(&["check", "staging"], 1);
    assert_eq!(json["ok"], false);
    assert_eq!(json["targets"][0]["writable"], false, "{json}");
    assert!(json["targets"][0]["error"].is_string(), "{json}");
}

#[test]
fn completions_are_printed_for_every_shell() {
    let p = Project::empty();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (stdout, stderr) = p.expect(&["completions", shell], 0);
        assert!(stdout.len() > 200, "{shell}: {stdout}");
        assert!(stdout.contains("deploy") && stdout.contains("rollback"), "{shell} completes the commands");
        assert!(stdout.contains("artifact"), "{shell} completes deploy's flags");
        assert!(stdout.contains("promote"), "{shell} completes promote");
        assert!(stdout.contains("metrics"), "{shell} completes metrics");
        assert!(stderr.is_empty(), "{shell}: {stderr}");
    }
}

#[test]
fn stdout_carries_only_the_result() {
    let p = Project::with_targets(&["staging"], "");
    let out = p.ship().args(["--format", "json", "build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout must be one JSON document ({e}):\n{}", text(&out.stdout)));
    assert!(json["sha256"].is_string());
    assert!(text(&out.stderr).contains("Artifact"), "progress goes to stderr:\n{}", text(&out.stderr));

    // --quiet silences progress, never results.
    let (stdout, stderr) = p.expect(&["-q", "build"], 0);
    assert_eq!(stdout.trim(), json["sha256"].as_str().unwrap());
    assert!(stderr.is_empty(), "-q prints no progress:\n{stderr}");

    // Every command's JSON output is a single document, with logs kept off stdout.
    for args in
        [&["check", "staging"][..], &["deploy", "staging", "--yes"], &["status", "staging"], &["history", "staging"]]
    {
        let v = p.json(args, 0);
        assert!(v.is_object(), "{args:?}: {v}");
    }
    // Errors go to stderr; with --format json stdout also gets the error as its one document.
    let out = p.ship().args(["--format", "json", "deploy", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "unknown_env");
    assert!(text(&out.stderr).contains("error: no environment `nope`"));
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    let p = Project::with_targets(&["staging"], "");
    let cases: [&[&str]; 5] =
        [&["completions", "bash"], &["--help"], &["check"], &["build"], &["--format", "json", "check", "staging"]];
    for args in cases {
        let out = raw(&p).args(args).stdout(closed_pipe()).stderr(Stdio::piped()).output().unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{args:?}: a closed pipe is not an error:\n{stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}:\n{stderr}");
    }
    // A reader that went away does not turn a failed deploy into a success: the exit code
    // still says what happened on the targets.
    p.add_to_config("[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"exit 3\"\n");
    p.commit("failing smoke test");
    let out = raw(&p).args(["--format", "json", "deploy", "staging"]).stdout(closed_pipe()).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn piping_into_head_prints_one_line_and_no_panic() {
    let p = Project::empty();
    let script = "\"$0\" completions bash | head -1; \"$0\" completions zsh | head -c 10 >/dev/null";
    let out: Output =
        Command::new("sh").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_ship")).current_dir(&p.root).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", text(&out.stdout));
    assert!(text(&out.stderr).is_empty(), "nothing on stderr, no panic:\n{}", text(&out.stderr));
}

#[test]

fn a_closed_stderr_keeps_the_exit_code() {
    let p = Project::empty();
    p.write("deploy.toml", "[app]\nname = \"Bad Name\"\n");
    p.commit("first");
    let out = raw(&p).arg("check").stdout(Stdio::piped()).stderr(closed_pipe()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a config error is exit 2 whether or not anyone reads stderr");
    let p = Project::with_targets(&["staging"], "");
    let out =
        raw(&p).args(["deploy", "staging", "--yes"]).stdout(Stdio::piped()).stderr(closed_pipe()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "progress lines that cannot be written do not fail a deploy");
    assert_eq!(p.live_file("staging", "index.html"), "version one\n");
}

/// completions/ and man/ are generated from the command tree; this fails when they differ
/// from what the code generates. To regenerate: `SHIP_REGENERATE=1 cargo test generated`.
#[test]
fn generated_completions_and_man_pages_match_the_code() {
    use clap_complete::Shell;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let regenerate = std::env::var_os("SHIP_REGENERATE").is_some();
    let mut expected: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish] {
        expected.push((root.join("completions").join(ship::cli::completion_file(shell)), ship::cli::completion(shell)));
    }
    for (name, page) in ship::cli::man_pages() {
        expected.push((root.join("man").join(name), page));
    }
    assert!(expected.iter().any(|(p, _)| p.ends_with("man/ship-deploy.1")));
    assert!(!expected.iter().any(|(p, _)| p.ends_with("man/ship-agent.1")), "the hidden agent has no page");
    let mut stale = Vec::new();
    for (path, content) in &expected {
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        } else if std::fs::read(path).ok().as_ref() != Some(content) {
            stale.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if !expected.iter().any(|(p, _)| *p == path) {
                stale.push(format!("{} (no longer generated)", path.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run `SHIP_REGENERATE=1 cargo test generated` and commit the result"
    );
}

/// With `--format json`, a refusal is still one JSON document on stdout: the error's kind,
/// message, hint and exit code, plus what is known (the lock holder, the gate).
#[test]
fn json_refusals_are_one_document_on_stdout() {
    let p = Project::with_targets(&["a"], "");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap()
        + &format!("\n[env.prod]\ntargets = [\"local:{}\"]\nrequires = \"staging\"\n", p.target("p").display());
    p.write("deploy.toml", &config);
    p.commit("prod");
    let error = |args: &[&str], code: i32, kind: &str| {
        let out = p.json(args, code);
        assert_eq!(out["error"]["kind"], kind, "{out}");
        assert_eq!(out["error"]["exit"], code, "{out}");
        assert!(!out["error"]["message"].as_str().unwrap().is_empty(), "{out}");
        out
    };
    let out = error(&["deploy", "prd"], 2, "unknown_env");
    assert_eq!(out["error"]["hint"], "did you mean `prod`?");
    assert_eq!(out["envs"], serde_json::json!(["prod", "staging"]));
    let out = error(&["deploy", "staging", "--ref", "nope"], 2, "unknown_ref");
    assert!(out["error"]["message"].as_str().unwrap().contains("unknown revision `nope`"), "{out}");
    error(&["deploy", "staging", "--bogus"], 2, "usage");
    // The gate: which environment it wants, the artifact, and what runs there instead.
    let out = error(&["deploy", "prod", "--yes"], 1, "gate");
    assert_eq!(out["gate"]["requires"], "staging");
    assert_eq!(out["gate"]["artifact"].as_str().unwrap().len(), 64);
    assert_eq!(out["gate"]["target"], format!("local:{}", p.target("a").display()));
    assert_eq!(out["gate"]["runs"], serde_json::Value::Null);
    assert!(out["error"]["hint"].as_str().unwrap().contains("--ignore-requires"), "{out}");
    assert!(!p.target("p").join("current").exists());
    // Locked: who holds it, and why.
    p.expect(&["lock", "staging", "--reason", "db migration"], 0);
    let out = p.ship().args(["--format", "json", "deploy", "staging"]).env("USER", "someone-else").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out["error"]["kind"], "locked");
    assert_eq!(out["lock"]["holder"]["user"], "tester");
    assert_eq!(out["lock"]["holder"]["reason"], "db migration");
    assert_eq!(out["lock"]["target"], format!("local:{}", p.target("a").display()));
    let target = format!("local:{}", p.target("a").display());
    let message = out["error"]["message"].as_str().unwrap();
    assert_eq!(message.matches(&target).count(), 1, "the target is named once: {message}");
    assert!(out["error"]["hint"].as_str().unwrap().contains("--lock-wait"), "{out}");
    // Waited for in vain: the hint says it was still held, and is no longer "wait for it".
    let out = p.ship().args(["--format", "json", "deploy", "staging", "--lock-wait", "300ms"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out["error"]["hint"].as_str().unwrap().contains("still held after waiting 300ms"), "{out}");
    p.expect(&["unlock", "staging"], 0);
    // A broken deploy.toml: where.
    p.write("deploy.toml", "[app]\nname = \"hello\"\nbogus = 1\n");
    let out = error(&["status", "staging"], 2, "config");
    assert_eq!(out["config"]["line"], 3);
    // Without --format json, stdout stays empty and the hint has its own line on stderr.
    let (stdout, stderr) = p.expect(&["-f", "missing.toml", "status", "x"], 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

/// The user a lock, journal or status names is a name whenever one can be found: $USER,
/// then $LOGNAME, then the password database, never a bare uid when the database has one.
#[test]
fn the_user_is_a_name_from_the_password_database_without_user() {
    let p = Project::with_targets(&["a"], "");
    let out = p.ship().args(["deploy", "staging"]).env_remove("USER").env_remove("LOGNAME").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let uid = rustix::process::getuid().as_raw().to_string();
    let name = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
        })
        .expect("the test user is in /etc/passwd");
    let begin = p.journal("a").into_iter().next().unwrap();
    assert_eq!(begin["user"], name.as_str());
    let (stdout, _) = p.expect(&["status", "staging"], 0);
    assert!(stdout.contains(&format!("  {name}\n")), "{stdout}");
}

/// A man page as text: roff's escapes and font changes undone, one roff line per line.
fn man_text(page: &[u8]) -> String {
    let text = String::from_utf8(page.to_vec()).unwrap();
    let mut text = text.replace("\\fB", "").replace("\\fI", "").replace("\\fR", "").replace("\\fP", "");
    for (escape, plain) in [("\\-", "-"), ("\\*(Aq", "'"), ("\\&", ""), ("\\\\", "\\")] {
        text = text.replace(escape, plain);
    }
    text
}

/// The lines of `section` (from `.SH SECTION` to the next `.SH`) of a man page's text.
fn man_section<'a>(text: &'a str, section: &str) -> Vec<&'a str> {
    let heading = [format!(".SH {section}"), format!(".SH \"{section}\"")];
    text.lines().skip_while(|l| !heading.iter().any(|h| l == h)).skip(1).take_while(|l| !l.starts_with(".SH")).collect()
}

/// The text lines of a section, without its requests (`.TP`, `.br`, ...).
fn prose(lines: Vec<&str>) -> String {
    lines.into_iter().filter(|l| !l.starts_with('.')).collect::<Vec<_>>().join("\n")
}

#[test]
fn man_pages_name_the_real_command_and_say_what_help_cannot() {
    let pages: std::collections::BTreeMap<String, String> =
        ship::cli::man_pages().into_iter().map(|(name, page)| (name, man_text(&page))).collect();
    for (name, text) in &pages {
        for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "ENVIRONMENT", "FILES", "EXIT STATUS"] {
            assert!(!man_section(text, section).is_empty(), "{name} has a {section} section:\n{text}");
        }
        let command = name.trim_end_matches(".1").replacen('-', " ", 1);
        let synopsis = prose(man_section(text, "SYNOPSIS"));
        assert!(synopsis.contains(&command), "{name}: the synopsis names `{command}`:\n{synopsis}");
        assert!(!synopsis.contains("ship-"), "{name}: no ship-COMMAND in the synopsis:\n{synopsis}");
        for global in ["[-C <DIR>]", "[-f|--file <FILE>]", "[--format <FORMAT>]", "[-q|--quiet]"] {
            assert!(synopsis.contains(global), "{name}: the synopsis has the global {global}:\n{synopsis}");
        }
        let environment = man_section(text, "ENVIRONMENT").join("\n");
        for var in ["SHIP_CACHE_DIR", "CI", "NO_COLOR", "GITHUB_ACTIONS", "TERM", "secrets", "[redacted]"] {
            assert!(environment.contains(var), "{name}: ENVIRONMENT tells of {var}:\n{environment}");
        }
        let files = man_section(text, "FILES").join("\n");
        for file in ["deploy.toml", "$SHIP_CACHE_DIR", "~/.cache/ship", "current", "releases/<id>/", "shared/"] {
            assert!(files.contains(file), "{name}: FILES tells of {file}:\n{files}");
        }
        for file in [".ship/journal.jsonl", ".ship/lock"] {
            assert!(files.contains(file), "{name}: FILES tells of {file}:\n{files}");
        }
    }
    let deploy = &pages["ship-deploy.1"];
    let synopsis = prose(man_section(deploy, "SYNOPSIS"));
    assert!(synopsis.starts_with("ship deploy [--ref <REF>]"), "{synopsis}");
    for part in ["[--artifact <SHA256>]", "[--lock-wait <DURATION>]", "[-y|--yes]", "<ENV>"] {
        assert!(synopsis.contains(part), "{part}:\n{synopsis}");
    }
    assert!(man_section(deploy, "EXAMPLES").iter().any(|l| l.starts_with("ship deploy prod --plan plan.json")));
    let codes = |page: &str| -> Vec<String> {
        let lines = man_section(&pages[page], "EXIT STATUS");
        lines.windows(2).filter(|w| w[0] == ".TP").map(|w| w[1].to_string()).collect()
    };
    assert_eq!(codes("ship.1"), ["0", "1", "2", "3", "4", "5", "6", "10"], "ship.1 lists every exit code");
    assert_eq!(codes("ship-deploy.1"), ["0", "1", "2", "3", "4", "5", "6"]);
    assert_eq!(codes("ship-plan.1"), ["0", "1", "2", "10"]);
    assert_eq!(codes("ship-status.1"), ["0", "1", "2"]);
    let check = prose(man_section(&pages["ship-check.1"], "SYNOPSIS"));
    assert!(check.contains("ship check") && check.contains("[ENV]"), "an optional argument in brackets:\n{check}");
    let ship = man_section(&pages["ship.1"], "COMMANDS").join("\n");
    assert!(ship.contains("ship deploy (ship-deploy(1))"), "{ship}");
    assert!(!ship.contains("help") && !ship.contains("agent"), "only commands with a page:\n{ship}");
}

/// Every example of every man page is a command line that ship accepts, for that page's
/// command.
#[test]
fn man_page_examples_are_command_lines_ship_accepts() {
    use clap::CommandFactory;
    let pages = ship::cli::man_pages();
    let mut seen = 0;
    for (name, _) in &pages {
        let command = name.trim_end_matches(".1").strip_prefix("ship-").unwrap_or("");
        let examples = ship::man::examples(command);
        assert!(!examples.is_empty(), "{name} has examples");
        for (line, what) in examples {
            assert!(!what.is_empty(), "{line}");
            let Some(words) = shell_words(line) else { continue };
            let matches = ship::cli::Cli::command()
                .try_get_matches_from(&words)
                .unwrap_or_else(|e| panic!("{name}: `{line}` is not a valid command line:\n{e}"));
            if !command.is_empty() {
                assert_eq!(matches.subcommand_name(), Some(command), "{name}: `{line}`");
            }
            seen += 1;
        }
    }
    assert!(seen > 20, "{seen}");
}

/// The words of a `ship ...` command line up to a redirection or pipe (double quotes only);
/// `None` for a line that does not run ship.
fn shell_words(line: &str) -> Option<Vec<String>> {
    if !line.starts_with("ship ") {
        return None;
    }
    let line = line.split(['>', '|']).next().unwrap();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

/// What ship answers when `shell` asks for the candidates of `words[index]`, the way that
/// shell's registration script asks (`COMPLETE=SHELL ship -- ship WORDS...`), run in `dir`.
fn complete_in(p: &Project, dir: &std::path::Path, shell: &str, words: &[&str]) -> Vec<String> {
    let out = p
        .ship()
        .current_dir(dir)
        .env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .args(["--", "ship"])
        .args(&words[1..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{words:?}: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{words:?}: completion never complains:\n{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
}

fn complete(p: &Project, words: &[&str]) -> Vec<String> {
    complete_in(p, &p.root, "bash", words)
}

/// The candidates that are not options.
fn values(candidates: Vec<String>) -> Vec<String> {
    candidates.into_iter().filter(|c| !c.starts_with('-')).collect()
}

const PROD: &str = "[env.prod]\ntargets = [\"local:/nonexistent/ship-test/prod\"]\n";

#[test]
fn dynamic_completion_offers_the_environments_of_deploy_toml() {
    let p = Project::with_targets(&["a"], PROD);
    for command in ["check", "plan", "deploy", "rollback", "status", "history", "lock", "unlock"] {
        assert_eq!(values(complete(&p, &["ship", command, ""])), ["prod", "staging"], "ship {command} <TAB>");
        assert_eq!(complete(&p, &["ship", command, "st"]), ["staging"], "ship {command} st<TAB>");
    }
    assert_eq!(values(complete(&p, &["ship", "--format", "json", "deploy", "--yes", ""])), ["prod", "staging"]);
    // zsh and fish also show each one's help.
    let fish = complete_in(&p, &p.root, "fish", &["ship", "deploy", "p"]);
    assert_eq!(fish, ["prod\t1 target"]);
    // From a subdirectory, with -C, and with -f: the deploy.toml the command would read.
    std::fs::create_dir_all(p.root.join("sub")).unwrap();
    assert_eq!(values(complete_in(&p, &p.root.join("sub"), "bash", &["ship", "status", ""])), ["prod", "staging"]);
    assert_eq!(values(complete_in(&p, &p.base, "bash", &["ship", "-C", "repo", "status", ""])), ["prod", "staging"]);
    p.write("other.toml", "[app]\nname = \"other\"\n\n[env.qa]\ntargets = [\"local:/nonexistent/qa\"]\n");
    assert_eq!(values(complete(&p, &["ship", "-f", "other.toml", "lock", ""])), ["qa"]);
    assert_eq!(values(complete(&p, &["ship", "lock", "--file=other.toml", ""])), ["qa"]);
    // Commands and their options are completed as before.
    assert!(complete(&p, &["ship", "ro"]).contains(&"rollback".to_string()));
    assert!(complete(&p, &["ship", "deploy", "staging", "--ar"]).contains(&"--artifact".to_string()));
}

#[test]
fn dynamic_completion_offers_the_releases_that_went_live_for_rollback_to() {
    let p = Project::with_targets(&["a", "b"], PROD);
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("a").unwrap();
    p.new_version("", "version two\n");
    p.expect(&["deploy", "staging"], 0);
    let v2 = p.live("a").unwrap();
    assert_ne!(v1, v2);
    assert_eq!(values(complete(&p, &["ship", "rollback", "staging", "--to", ""])), [v2.clone(), v1.clone()]);
    assert_eq!(values(complete(&p, &["ship", "rollback", "staging", "--to", &v1[..4]])), [v1.as_str()]);
    assert_eq!(values(complete(&p, &["ship", "rollback", "--yes", "staging", "--dry-run", "--to", ""])).len(), 2);
    let fish = complete_in(&p, &p.root, "fish", &["ship", "rollback", "staging", "--to", ""]);
    assert_eq!(fish, [format!("{v2}\tv1-1-g{}, live now", &p.head()[..7]), format!("{v1}\tv1, the one before")]);
    // A release that never went live (failed its health check) is no place to go back to.
    p.new_version("[health]\ncommand = \"grep -q two index.html\"\ntimeout = \"1s\"\n", "version three\n");
    p.expect(&["deploy", "staging"], 4);
    assert_eq!(p.releases("a").len(), 3);
    assert_eq!(values(complete(&p, &["ship", "rollback", "staging", "--to", ""])), [v2, v1]);
    // Without an environment, or one whose targets hold nothing: no candidates.
    assert!(values(complete(&p, &["ship", "rollback", "--to", ""])).is_empty());
    assert!(values(complete(&p, &["ship", "rollback", "prod", "--to", ""])).is_empty());
}

/// Completion never fails loudly, prompts or waits: no deploy.toml, a broken one, or SSH
/// targets (never contacted) give no candidates, quickly.
#[test]
fn dynamic_completion_gives_nothing_rather_than_an_error() {
    let p = Project::empty();
    assert!(values(complete(&p, &["ship", "deploy", ""])).is_empty(), "no deploy.toml");
    p.write("deploy.toml", "[app]\nname = \"Bad Name\"\n");
    assert!(values(complete(&p, &["ship", "deploy", ""])).is_empty(), "an invalid deploy.toml");
    p.write(
        "deploy.toml",
        "[app]\nname = \"hello\"\n\n[env.prod]\ntargets = [\"ssh://nobody@127.0.0.1:1/srv/hello\"]\n",
    );
    let started = std::time::Instant::now();
    assert!(values(complete(&p, &["ship", "rollback", "prod", "--to", ""])).is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "SSH targets are not contacted");
    assert_eq!(values(complete(&p, &["ship", "-C", "/nonexistent", "deploy", ""])), Vec::<String>::new());
}

/// Through bash itself: the script `COMPLETE=bash ship` prints, sourced, fills COMPREPLY
/// the way a Tab does.
#[test]
fn bash_completes_environments_and_releases_through_the_registered_function() {
    let p = Project::with_targets(&["a"], PROD);
    p.expect(&["deploy", "staging"], 0);
    let release = p.live("a").unwrap();
    let tab = |line: &str| -> Vec<String> {
        let script = format!(
            "source <(COMPLETE=bash \"$0\") || exit 1\n\
             COMP_LINE='{line}'; read -ra COMP_WORDS <<< \"$COMP_LINE\"\n\
             case \"$COMP_LINE\" in *' ') COMP_WORDS+=('') ;; esac\n\
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_TYPE=9\n\
             _clap_complete_ship ship \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = p.shell("bash", &script).arg(env!("CARGO_BIN_EXE_ship")).output().unwrap();
        assert!(out.status.success(), "{line}: {}", text(&out.stderr));
        values(text(&out.stdout).lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
    };
    assert_eq!(tab("ship deploy "), ["prod", "staging"]);
    assert_eq!(tab("ship status pr"), ["prod"]);
    assert_eq!(tab("ship rollback staging --to "), [release]);
}
