//! The man pages: `ship.1`, and `ship-COMMAND.1` for each command that is not hidden.
//!
//! NAME, DESCRIPTION and OPTIONS come from the command tree's help text through
//! clap_mangen; what help cannot say is written here: a SYNOPSIS that names the command
//! line as typed (`ship deploy [--ref <REF>] ... <ENV>`, global options included), and
//! EXAMPLES, ENVIRONMENT, FILES and EXIT STATUS (the codes of [`crate::error::Exit`]).

use clap::{Arg, Command};
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

/// The examples of `command`'s page (`""` for ship.1): (command line, what it does). They
/// follow the README's deploy.toml, with environments `staging` and `prod`; a test parses
/// each `ship` command line.
pub fn examples(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "" => &[
            ("ship init", "Write a commented deploy.toml to start from."),
            ("ship check staging", "Validate deploy.toml and reach every target of staging."),
            ("ship deploy staging", "Build the artifact of HEAD and deploy it to every target of staging."),
            ("ship status staging", "What is live on each target, and whether they agree."),
            (
                "ship plan prod --ref v1.5.0 --out plan.json",
                "Review what a deploy of the tag v1.5.0 to prod would do, and save that plan.",
            ),
            ("ship deploy prod --plan plan.json", "Apply exactly the saved plan, or change nothing and exit 6."),
            ("ship rollback prod", "Every target of prod back to the release that was live before."),
            ("ship history prod", "Who deployed what, when, and how it ended."),
        ],
        "init" => &[
            (
                "ship init",
                "Write a commented deploy.toml in the current directory, naming the app after it; an existing \
                 deploy.toml is never overwritten.",
            ),
            ("ship -C services/web init", "The same in services/web: the app is named web."),
        ],
        "check" => &[
            (
                "ship check",
                "Validate deploy.toml and list its environments; a mistake is reported with its line and column \
                 (exit 2).",
            ),
            (
                "ship check prod",
                "Also reach every target of prod: reachable, writable, free disk, and who holds its lock.",
            ),
            ("ship --format json check prod", "The same as one JSON document, for scripts."),
        ],
        "build" => &[
            ("ship build", "Build the artifact of HEAD, or reuse the stored one, and print its sha256."),
            ("ship build --ref v1.5.0", "Build the tag v1.5.0: the same commit gives the same sha256 on any machine."),
            ("ship -q build", "Print the sha256 alone, without progress lines."),
        ],
        "plan" => &[
            (
                "ship plan prod --ref v1.5.0",
                "Show, per target of prod, what is live now, what will be, which steps run and which target is the \
                 canary; nothing is touched.",
            ),
            (
                "ship plan prod --ref v1.5.0 --out plan.json",
                "Also save the plan, for ship deploy prod --plan plan.json to apply exactly.",
            ),
            ("ship plan staging --exit-code", "Exit 10 when a deploy of HEAD would change something, 0 when not."),
        ],
        "deploy" => &[
            ("ship deploy staging", "Build the artifact of HEAD and deploy it to every target of staging."),
            (
                "ship deploy prod --ref v1.5.0 --yes",
                "Deploy the tag v1.5.0 to prod without asking (an environment with confirm = true needs --yes when \
                 there is no terminal).",
            ),
            (
                "ship deploy prod --plan plan.json",
                "Apply exactly the plan saved by ship plan prod --out plan.json; if a target or deploy.toml changed \
                 since, change nothing and exit 6.",
            ),
            (
                "ship deploy prod --artifact cd991a36a0d5",
                "Deploy an artifact already in the local store, named by a unique prefix of its sha256.",
            ),
            ("ship deploy prod --lock-wait 5m", "Wait up to five minutes for a locked target instead of exiting 3."),
            (
                "ship deploy staging --yes --format json > outcome.json",
                "In CI: the outcome as one JSON document on stdout; progress goes to stderr.",
            ),
        ],
        "promote" => &[
            (
                "ship promote staging prod --dry-run",
                "Show what promoting the artifact live on staging to prod would do, touching nothing.",
            ),
            (
                "ship promote staging prod --yes --format json > outcome.json",
                "In CI: prod gets the very artifact staging runs; the outcome as one JSON document.",
            ),
        ],
        "rollback" => &[
            (
                "ship rollback prod",
                "Every target of prod back to the release that was live before, as its journal tells.",
            ),
            (
                "ship rollback prod --to v1.4.0 --dry-run",
                "Show what going back to v1.4.0 would switch, touching nothing.",
            ),
            (
                "ship rollback prod --to 21ea5c5efcd8 --yes",
                "Back to a release by its id, as ship status shows it, without asking.",
            ),
        ],
        "status" => &[
            ("ship status prod", "What is live on each target of prod, and whether the targets agree."),
            (
                "ship status prod --verify",
                "Also rehash every live file against its release's manifest; exit 1 on drift.",
            ),
        ],
        "history" => &[
            (
                "ship history prod",
                "The last 20 deploys and rollbacks of prod, merged across its targets, newest first.",
            ),
            ("ship history prod --limit 5 --format json", "The last 5, as JSON."),
        ],
        "metrics" => &[
            (
                "ship metrics prod",
                "DORA's four keys for prod over the last 90 days, each with its band (elite, high, medium, low) \
                 and prod's overall band.",
            ),
            ("ship metrics prod --since 30d --format json", "The last 30 days, as one JSON document."),
            (
                "ship metrics prod --since 12w --html /var/www/dora/prod.html",
                "Also write the dashboard, one self-contained HTML page for a wall screen; run it from cron to keep \
                 it current.",
            ),
        ],
        "prune" => &[
            (
                "ship prune prod --dry-run",
                "List what would be removed from each target of prod, and why the rest stays; touch nothing.",
            ),
            (
                "ship prune prod --keep 3",
                "Keep the three newest releases that went live (the live one and the previous one among them), \
                 failures younger than a day, and what they need; remove the rest.",
            ),
        ],
        "exec" => &[
            (
                "ship exec prod -- ./bin/console cache:clear",
                "Run a command in the live release of every target of prod, with the steps' environment.",
            ),
            (
                "ship exec prod --role worker -- sh -c 'systemctl --user restart worker && echo \"$SHIP_VERSION\"'",
                "Only on the targets with the role worker; a shell only because the command asks for one.",
            ),
            (
                "ship exec prod --target ssh://web1/srv/app --lock -- ./bin/migrate --check",
                "On one target, holding its lock as a deploy does (exit 3 if someone else holds it).",
            ),
            (
                "ship --format json exec prod -- ./bin/healthcheck | jq '.targets[] | {target, exit}'",
                "Each target's exit code (and signal, output, time) as JSON.",
            ),
        ],
        "lock" => &[(
            "ship lock prod --reason \"release freeze until Monday\"",
            "Refuse every deploy and rollback of prod (exit 3, naming you and the reason) until ship unlock prod.",
        )],
        "unlock" => &[
            ("ship unlock prod", "Lift your own lock of prod; someone else's is refused with exit 3, naming them."),
            ("ship unlock prod --force", "Break someone else's lock; every target's journal records who broke whose."),
        ],
        "completions" => &[
            ("ship completions bash > /etc/bash_completion.d/ship", "Install the completion script for bash."),
            ("ship completions zsh > /usr/local/share/zsh/site-functions/_ship", "The same for zsh."),
            ("ship completions fish > ~/.config/fish/completions/ship.fish", "The same for fish."),
            (
                "source <(COMPLETE=bash ship)",
                "Instead of a script, in ~/.bashrc: ship completes itself, environment names and rollback --to \
                 release ids included (zsh: the same with COMPLETE=zsh in ~/.zshrc; fish: COMPLETE=fish ship | \
                 source).",
            ),
        ],
        _ => &[],
    }
}

/// The pages of `root`, the whole command tree: (file name, roff).
pub fn pages(mut root: Command) -> Vec<(String, Vec<u8>)> {
    // Building fills in bin names ("ship deploy") and copies global options to each command.
    root.build();
    let globals: Vec<Arg> = root.get_arguments().filter(|a| a.is_global_set() && !a.is_hide_set()).cloned().collect();
    let mut pages = vec![("ship.1".to_string(), page(&root, &[], &globals))];
    for sub in visible(&root) {
        pages.push((format!("ship-{}.1", sub.get_name()), page(sub, &[sub.get_name()], &globals)));
    }
    pages
}

/// The commands of `root` that have a page: not hidden, and not clap's `help`.
fn visible(root: &Command) -> impl Iterator<Item = &Command> {
    root.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// One page: `cmd` is ship itself (`path` empty) or the command `ship PATH`.
fn page(cmd: &Command, path: &[&str], globals: &[Arg]) -> Vec<u8> {
    let title = std::iter::once("ship").chain(path.iter().copied()).collect::<Vec<_>>().join("-");
    let man = Man::new(cmd.clone().display_name(&title))
        .title(title.to_uppercase())
        .source(format!("ship {}", env!("CARGO_PKG_VERSION")));
    // Each rendering starts with roff's preamble (it defines the apostrophe): keep one.
    let preamble = Roff::new().render();
    let mut out = preamble.clone().into_bytes();
    let mut add = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        // Rendering into memory cannot fail.
        let _ = render(&mut buf);
        out.extend_from_slice(buf.strip_prefix(preamble.as_bytes()).unwrap_or(&buf));
    };
    add(&|w| man.render_title(w));
    add(&|w| man.render_name_section(w));
    add(&|w| synopsis(cmd, path, globals).to_writer(w));
    add(&|w| man.render_description_section(w));
    add(&|w| man.render_options_section(w));
    let mut roff = Roff::default();
    if path.is_empty() {
        commands(&mut roff, cmd);
    }
    let command = path.first().copied().unwrap_or("");
    examples_section(&mut roff, command);
    environment(&mut roff);
    files(&mut roff);
    exit_status(&mut roff, command);
    see_also(&mut roff, cmd, path);
    add(&|w| roff.to_writer(w));
    out
}

/// `ship deploy [--ref <REF>] ... [-C <DIR>] ... <ENV>`: the command as typed, its own
/// options, then the global ones, then its arguments.
fn synopsis(cmd: &Command, path: &[&str], globals: &[Arg]) -> Roff {
    let mut roff = Roff::default();
    roff.control("SH", ["SYNOPSIS"]);
    // Break lines between options, never inside one: no justification, no hyphenation.
    roff.control("ad", ["l"]);
    roff.control("nh", []);
    let name = std::iter::once("ship").chain(path.iter().copied()).collect::<Vec<_>>().join(" ");
    let is_global = |a: &Arg| globals.iter().any(|g| g.get_id() == a.get_id());
    let shown = |a: &&Arg| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version");
    let mut line = vec![bold(&name)];
    for arg in cmd.get_arguments().filter(shown).filter(|a| !a.is_positional() && !is_global(a)) {
        line.push(roman(" "));
        line.extend(synopsis_option(arg));
    }
    for arg in globals.iter().filter(|a| shown(a)) {
        line.push(roman(" "));
        line.extend(synopsis_option(arg));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let value = value_name(arg);
        line.push(roman(" "));
        if arg.is_last_set() {
            // `-- <CMD> [<ARGS>...]`: what follows `--` is taken as it is (`ship exec`).
            line.push(roman("-- "));
            line.push(italic(format!("<{value}> [<ARGS>...]")));
            continue;
        }
        line.push(if arg.is_required_set() { italic(format!("<{value}>")) } else { italic(format!("[{value}]")) });
    }
    if path.is_empty() {
        line.push(roman(" "));
        line.push(italic("<COMMAND> [<ARGS>]"));
    }
    roff.text(line);
    // --version on ship.1 alone: every command's is ship's.
    let flags: &[&str] = if path.is_empty() { &["help", "version"] } else { &["help"] };
    for flag in flags {
        if let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == *flag) {
            roff.control("br", []);
            let mut line = vec![bold(&name), roman(" ")];
            line.extend(switches(arg));
            roff.text(line);
        }
    }
    roff.control("ad", []);
    roff.control("hy", []);
    roff
}

/// `[-f|--file <FILE>]`, or without brackets when the option is required.
fn synopsis_option(arg: &Arg) -> Vec<Inline> {
    let mut parts = switches(arg);
    if arg.get_num_args().is_some_and(|n| n.takes_values()) {
        parts.push(roman(" "));
        parts.push(italic(format!("<{}>", value_name(arg))));
    }
    if !arg.is_required_set() {
        parts.insert(0, roman("["));
        parts.push(roman("]"));
    }
    parts
}

/// `-f|--file`.
fn switches(arg: &Arg) -> Vec<Inline> {
    let mut parts = Vec::new();
    if let Some(short) = arg.get_short() {
        parts.push(bold(format!("-{short}")));
    }
    if let Some(long) = arg.get_long() {
        if !parts.is_empty() {
            parts.push(roman("|"));
        }
        parts.push(bold(format!("--{long}")));
    }
    parts
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names().map_or_else(|| arg.get_id().as_str().to_uppercase(), |names| names.join(" "))
}

/// ship.1's list of commands, each with its page.
fn commands(roff: &mut Roff, root: &Command) {
    roff.control("SH", ["COMMANDS"]);
    for sub in visible(root) {
        roff.control("TP", []);
        roff.text([bold(format!("ship {}", sub.get_name())), roman(format!(" (ship-{}(1))", sub.get_name()))]);
        if let Some(about) = sub.get_about() {
            roff.text([roman(about.to_string())]);
        }
    }
}

fn examples_section(roff: &mut Roff, command: &str) {
    let examples = examples(command);
    if examples.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (line, what) in examples {
        roff.control("TP", []);
        roff.text([bold(*line)]);
        roff.text([roman(*what)]);
    }
}

/// `.TP` items: a bold tag and its text.
fn items(roff: &mut Roff, items: &[(&str, &str)]) {
    for (tag, text) in items {
        roff.control("TP", []);
        roff.text([bold(*tag)]);
        roff.text([roman(*text)]);
    }
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    items(
        roff,
        &[
            (
                "SHIP_CACHE_DIR",
                "Where the local artifact store and ssh's connection sockets live. Default: \
                 $XDG_CACHE_HOME/ship, else ~/.cache/ship.",
            ),
            ("XDG_CACHE_HOME, HOME", "Give the default of SHIP_CACHE_DIR; HOME also expands ~/ in deploy.toml paths."),
            (
                "CI",
                "When set to anything but empty, 0 or false, ship never prompts (an environment with confirm = true \
                 then needs --yes) and draws no progress bars: progress goes to stderr as plain timestamped lines, \
                 as it does whenever stderr is not a terminal.",
            ),
            ("NO_COLOR", "When set and not empty, no colour under --color auto."),
            ("TERM", "When dumb, no colour under --color auto."),
            (
                "GITHUB_ACTIONS",
                "When set (as GitHub Actions does), each target's step output is folded into a ::group::.",
            ),
            ("USER, LOGNAME", "Who deploys, as journals, locks and ship history name them (else the uid)."),
            (
                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
                "Credentials for an s3:// [store]; without them, those of the profile AWS_PROFILE names (default: \
                 default) in ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE).",
            ),
            (
                "AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP",
                "The store's region (default us-east-1, or the profile's in ~/.aws/config, AWS_CONFIG_FILE), an \
                 S3-compatible server instead of AWS, and whether it may be plain http (true).",
            ),
            (
                "COMPLETE",
                "Set to bash, zsh, fish, elvish or powershell, ship does nothing but completion: it prints that \
                 shell's registration script (source <(COMPLETE=bash ship)) or, as that script asks, the \
                 candidates for the words typed, environment names and release ids included.",
            ),
        ],
    );
    for text in [
        "Secrets: the variables an environment names in secrets = [...] are read from ship's environment and \
         given to its steps; deploy and rollback refuse to start (exit 2) while one is not set. Their values, and \
         every line of 4 characters or more of a multi-line value, are printed and recorded as [redacted].",
        "Steps, unless and health commands get a clean, login-like environment: PATH, HOME, USER, LOGNAME, \
         SHELL, LANG, and LC_ALL and TZ when set, plus SHIP_APP, SHIP_ENV, SHIP_TARGET, SHIP_HOST, \
         SHIP_DEPLOY_PATH, SHIP_RELEASE_DIR, SHIP_PREVIOUS_RELEASE_DIR, SHIP_VERSION, SHIP_COMMIT, \
         SHIP_ARTIFACT_SHA256, the environment's vars and its secrets. Nothing else of the shell that runs ship \
         reaches them. A build command also gets SOURCE_DATE_EPOCH, the commit's time.",
        "ssh(1), which ship runs for ssh:// targets, reads its own variables (such as SSH_AUTH_SOCK) and \
         ~/.ssh/config.",
    ] {
        roff.control("PP", []);
        roff.text([roman(text)]);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    items(
        roff,
        &[
            (
                "deploy.toml",
                "The configuration: the first deploy.toml in the current directory (or -C DIR) and its parents up \
                 to the git root, or the file -f names. ship init writes a commented one.",
            ),
            (
                "$SHIP_CACHE_DIR/artifacts/<sha256>.tar.zst",
                "The local artifact store (default ~/.cache/ship), verified on every read; builds/ remembers which \
                 commit and build config made which artifact.",
            ),
            (
                "$SHIP_CACHE_DIR/ssh/",
                "ssh ControlMaster sockets (mode 0700), kept 60 s; /tmp/ship-<uid>/ when the cache path is too long.",
            ),
            (
                "$SHIP_CACHE_DIR/agent/ship-<sha256>.gz",
                "This ship, gzip-compressed once per build, as it is uploaded to SSH hosts that lack it.",
            ),
            (
                "~/.cache/ship/bin/ship-<sha256> (on an SSH host)",
                "The ship uploaded to the host, once per host and user ($XDG_CACHE_HOME/ship/bin when set), checked \
                 before each start; pruned once it has not started for 7 days.",
            ),
        ],
    );
    roff.control("PP", []);
    roff.text([roman("On each target, under its path:")]);
    items(
        roff,
        &[
            ("current", "A symlink to releases/<id>, switched by one rename(2)."),
            (
                "releases/<id>/",
                "Complete releases only: unpacked beside, then renamed in. <id> is the first 12 hex digits of the \
                 artifact's sha256.",
            ),
            ("shared/", "Files that outlive releases ([release] shared), linked into each release."),
            (".ship/journal.jsonl", "The append-only, fsync'd journal: staged, switched, live, failed, restored."),
            (
                ".ship/lock",
                "flock'd for the whole of a deploy or rollback; it vanishes with the process that holds it.",
            ),
            (".ship/lock.held", "The lock of ship lock, until ship unlock."),
            (".ship/artifacts/<sha256>.tar.zst", "Artifacts received, verified by their sha256."),
            (
                ".ship/bin/ship-<sha256>",
                "The ship uploaded to an SSH host whose user has no usable ~/.cache (and where ship 0.1 kept it); \
                 pruned once it has not run there for a day.",
            ),
        ],
    );
}

/// The exit codes: ship.1 lists all, a command's page those the command can return.
fn exit_status(roff: &mut Roff, command: &str) {
    let error = match command {
        "check" => "Error, or a target of ENV that cannot be reached, written to, or is short of disk.",
        "status" => "Error, or --verify found a live file that differs from its release.",
        "deploy" => "Error: the build, I/O, or a step that failed before any switch (no target changed).",
        "promote" => {
            "Error, FROM not on one confirmed release, or a step that failed before any switch (no target changed)."
        }
        "rollback" => "Error, or a refused rollback (nothing to roll back to; no target changed).",
        "metrics" => "Error: a target that cannot be reached or read, or a --html file that cannot be written.",
        "prune" => "A target could not be reached, or a release could not be deleted; the rest was pruned.",
        "exec" => {
            "The command failed (a non-zero exit, a signal) or could not run (unreachable, nothing live) on a \
             target; the others still ran."
        }
        _ => "Error: the build, I/O, a failed step before any switch (no target changed), a refused rollback.",
    };
    let failed = if command == "rollback" { "The rollback failed" } else { "The deploy failed" };
    let rolled_back = format!("{failed}; every target it touched is back on its previous release.");
    let inconsistent = format!("{failed} and the fleet is NOT consistent; each target's state is printed.");
    let codes: [(&str, &str, &[&str]); 8] = [
        ("0", "Success, or nothing to do.", &[]),
        ("1", error, &[]),
        ("2", "Usage or config error; nothing was touched.", &[]),
        (
            "3",
            "A target is locked by someone else, who is named.",
            &["deploy", "promote", "rollback", "prune", "exec", "lock", "unlock"],
        ),
        ("4", &rolled_back, &["deploy", "promote", "rollback"]),
        ("5", &inconsistent, &["deploy", "promote", "rollback"]),
        ("6", "The saved plan is stale: a target changed since it was made, or deploy.toml did.", &["deploy"]),
        ("10", "plan --exit-code only: changes are pending.", &["plan"]),
    ];
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning, only) in codes {
        if command.is_empty() || only.is_empty() || only.contains(&command) {
            roff.control("TP", []);
            roff.text([bold(code)]);
            roff.text([roman(meaning)]);
        }
    }
}

fn see_also(roff: &mut Roff, cmd: &Command, path: &[&str]) {
    roff.control("SH", ["SEE ALSO"]);
    let pages: Vec<String> = if path.is_empty() {
        visible(cmd).map(|s| format!("ship-{}(1)", s.get_name())).collect()
    } else {
        vec!["ship(1)".to_string()]
    };
    roff.text([roman(format!(
        "{}, ssh(1), and README.md and docs/deploy-toml.md in ship's source.",
        pages.join(", ")
    ))]);
}
