//! The clap command tree: raw arguments and their help, nothing else.
//!
//! No logic lives here; `commands/` turns these values into work. Completions and man
//! pages are generated from [`Cli::command`], so the help text here is the documentation.
//! What only ship knows (environment names, release ids) is completed by [`crate::complete`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Parser)]
#[command(
    name = "ship",
    version,
    about = "Build a reproducible artifact from git and deploy it to every target of an environment",
    long_about = "ship reads a declarative deploy.toml, picks the version from git, builds a \
reproducible content-addressed artifact (the same commit gives the same sha256 on any machine), \
and runs idempotent deploy and rollback steps against every target of an environment.\n\n\
Exit codes: 0 success or nothing to do; 1 error; 2 usage or config error; 3 locked by someone \
else; 4 deploy failed and every touched target is back on its previous release; 5 deploy failed \
and the fleet is NOT consistent; 6 the saved plan is stale; 10 `plan --exit-code` with changes \
pending.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Run as if ship was started in DIR
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]
    #[arg(short = 'f', long = "file", value_name = "FILE", global = true)]
    pub file: Option<PathBuf>,

    /// What stdout carries: text for people, or one JSON document for scripts
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,

    /// When to colour output (NO_COLOR is honoured under auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print no progress or status lines on stderr (results and errors still print)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more: the build command's output and the releases pruned from each target
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented deploy.toml in the current directory (never overwrites one)
    Init,

    /// Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them
    Check {
        /// The environment whose targets to check
        #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
        env: Option<String>,
    },

    /// Build the artifact for a commit and print its sha256
    Build {
        /// The commit to build: any git revision (branch, tag, sha, HEAD~2)
        #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
        reference: String,
        /// Build from a working tree with uncommitted changes (the artifact is still the commit's)
        #[arg(long)]
        allow_dirty: bool,
        /// Also upload the artifact and its build record to deploy.toml's [store], unless
        /// the store has it already
        #[arg(long)]
        push: bool,
    },

    /// Show what a deploy to ENV would do, touching nothing
    Plan(PlanArgs),

    /// Deploy a version to every target of ENV
    Deploy(DeployArgs),

    /// Switch every target of ENV back to the release that was live before
    Rollback(RollbackArgs),

    /// Deploy to TO the very artifact live and healthy on every target of FROM
    #[command(long_about = "Deploy to TO the very artifact that is live, confirmed healthy, on every \
target of FROM: the same sha256, never a new build. Refused (exit 1, naming the targets) when FROM \
is not on one confirmed release. It satisfies TO's `requires = \"FROM\"`, is journaled as a \
promotion, and otherwise behaves as `ship deploy TO`: plan, confirmation, canary, health checks, \
automatic rollback, JSON and exit codes.")]
    Promote(PromoteArgs),

    /// Show what is live on each target of ENV, and whether the targets agree
    Status {
        /// The environment
        #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
        env: String,
        /// Rehash every live file against the release's manifest; exit 1 on drift
        #[arg(long)]
        verify: bool,
    },

    /// Show the deploy journal of ENV's targets, newest first
    History {
        /// The environment
        #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
        env: String,
        /// Show at most N events
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
    },

    /// Measure DORA's four keys for ENV from its journals and git, with their performance bands
    #[command(long_about = "Measure DORA's four keys for ENV, from the journals of its targets (merged, as \
`ship history` shows them) and from git, over the window --since before now (default 90 days):\n\n\
- deployment frequency: successful deploys per week;\n\n\
- lead time for changes: the median, over every commit a successful deploy newly brought to ENV, of \
the deploy's end minus the commit's committer time;\n\n\
- change failure rate: failed deploys (rolled back, inconsistent, failed, cut off, or later undone by \
`ship rollback`) over all deploys;\n\n\
- time to restore: the median time from a failed deploy's end to the end of the next deploy or \
rollback that succeeded.\n\n\
Each key gets a band by the thresholds of the Accelerate State of DevOps Report 2023 (DORA): elite \
deploys at least daily, with lead time and time to restore under a day and an hour and at most 5% \
failing; high at least weekly, under a week and a day, at most 10%; medium at least monthly, under \
30 days and a week, at most 15%; low is the rest. ENV's band is the lowest of its keys'. A figure \
with nothing to measure is null (--format json) or \"-\". The README's \"Metrics\" section says \
exactly what counts.")]
    Metrics(MetricsArgs),

    /// Remove old releases, artifacts and uploaded ships from every target of ENV
    #[command(long_about = "Remove from every target of ENV what no rollback needs: releases beyond the \
newest N that went live (N = --keep, else deploy.toml's [release] keep, default 5; newest in the \
journal's order), counting the live release and the one a rollback goes to, which are always kept. \
Also removed: releases a rollback left, releases that failed more than a day ago (younger failures \
stay as evidence), releases that never went live, artifacts no kept release came from, and ship \
binaries uploaded to the target that have not run there for a day. Releases the journal does not \
know are kept. Every target's lock is taken first, so nothing a deploy or `ship lock` holds is \
touched: a locked target is exit 3, naming the holder. A target that cannot be reached, or a \
release that cannot be deleted, is reported and the rest pruned (exit 1). --dry-run lists what \
would go, and why the rest stays, touching nothing. A successful deploy prunes the same way, with \
deploy.toml's keep.")]
    Prune(PruneArgs),

    /// Run a command in the live release of each target of ENV (or of those picked by
    /// --role and --target), with the steps' environment
    #[command(long_about = "Run a command in the live release of each target of ENV, or of those \
picked by --role and --target, at most --parallel at once, with the environment a step gets there: \
SHIP_* (SHIP_RELEASE_DIR, SHIP_VERSION, ... of the live release), the environment's vars and its \
secrets (which must be set, as for a deploy). CMD and its arguments are run as they are, no shell \
between: write `sh -c '...'` for pipes, globs or variables. Each line of output is printed as it \
comes, after its target's name, with every secret's value blanked out; then a table of each \
target's exit code and time (--format json: each target's exit code, signal, output and time).\n\n\
It does not take the targets' lock: it runs while a deploy or `ship lock` holds them. With --lock \
it takes every picked target's lock first, as a deploy does (held by someone else: exit 3, nothing \
run), and holds it until the command is done there.\n\n\
Exit 0 when the command exited 0 on every picked target; 1 when it failed, was killed, or could \
not run on any (a target that cannot be reached, or has nothing live); 2 for an unknown target or \
role; 3 with --lock when a target is locked by someone else.")]
    Exec(ExecArgs),

    /// Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)
    Lock {
        /// The environment
        #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
        env: String,
        /// Why, for whoever is refused
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },

    /// End a `ship lock` on every target of ENV
    Unlock {
        /// The environment
        #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
        env: String,
        /// Lift the lock even when someone else holds it (recorded in every target's journal)
        #[arg(long)]
        force: bool,
    },

    /// Serve on-target operations over stdin/stdout (started by ship itself over SSH)
    #[command(hide = true)]
    Agent {
        /// The target's directory
        #[arg(long)]
        path: std::path::PathBuf,
    },

    /// Run a command as the guard of a step (started by ship itself for every step)
    #[command(hide = true)]
    Guard {
        /// The program and its arguments
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },

    /// Print a shell completion script to stdout
    #[command(long_about = "Print a shell completion script to stdout.\n\n\
The script completes commands and options. To complete environment names and, for \
`rollback ENV --to`, release ids too, let ship complete itself instead: \
`source <(COMPLETE=bash ship)` in ~/.bashrc, `source <(COMPLETE=zsh ship)` in ~/.zshrc, or \
`COMPLETE=fish ship | source` in ~/.config/fish/completions/ship.fish.")]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The environment to plan for
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// The commit to plan: any git revision
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
    pub reference: String,
    /// Plan from a working tree with uncommitted changes (the artifact is still the commit's)
    #[arg(long)]
    pub allow_dirty: bool,
    /// Exit 10 when changes are pending, 0 when every target is up to date
    #[arg(long)]
    pub exit_code: bool,
    /// Also save the plan to FILE, for `ship deploy ENV --plan FILE` to apply exactly
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The environment to deploy to
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// The commit to deploy: any git revision (branch, tag, sha, HEAD~2)
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD", conflicts_with_all = ["artifact", "plan"])]
    pub reference: String,
    /// Deploy an artifact already in the local store, by sha256 (or a unique prefix)
    #[arg(long, value_name = "SHA256", conflicts_with = "plan")]
    pub artifact: Option<String>,
    /// Apply exactly the plan saved by `ship plan ENV --out FILE`; exit 6 if it is stale
    #[arg(long, value_name = "FILE", conflicts_with_all = ["force", "allow_dirty"])]
    pub plan: Option<std::path::PathBuf>,
    /// Do not ask for confirmation (needed without a terminal when the env has confirm = true)
    #[arg(short, long)]
    pub yes: bool,
    /// Show the plan and stop: the same as `ship plan`
    #[arg(long)]
    pub dry_run: bool,
    /// Run the steps and health checks even on targets already on this artifact (never
    /// skips a gate: see --ignore-requires)
    #[arg(long)]
    pub force: bool,
    /// Where this artifact is live but its files changed since (what `status --verify`
    /// finds), rebuild the release from the artifact in place, then run the steps and checks
    #[arg(long, conflicts_with = "plan")]
    pub repair: bool,
    /// Deploy even though the artifact is not live on the environment named by `requires`
    /// (warned about, and recorded in every target's journal)
    #[arg(long)]
    pub ignore_requires: bool,
    /// Deploy HEAD even though the working tree has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,
    /// When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<crate::config::Span>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment whose live artifact is promoted (e.g. staging)
    pub from: String,
    /// The environment to deploy it to (e.g. prod)
    pub to: String,
    /// Do not ask for confirmation (needed without a terminal when TO has confirm = true)
    #[arg(short, long)]
    pub yes: bool,
    /// Show the plan and stop
    #[arg(long)]
    pub dry_run: bool,
    /// When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<crate::config::Span>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment to roll back
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// The release to go back to: a release id, a version label or a commit
    #[arg(long, value_name = "RELEASE", add = ArgValueCandidates::new(crate::complete::releases))]
    pub to: Option<String>,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// Show what would switch, touching nothing
    #[arg(long)]
    pub dry_run: bool,
    /// When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<crate::config::Span>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The environment
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// Only the targets that have this role (repeatable: those with any of them)
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Only this target, its URL as deploy.toml writes it (repeatable)
    #[arg(long = "target", value_name = "URL")]
    pub targets: Vec<String>,
    /// Run on at most N targets at once [default: the environment's workers]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,
    /// Take each picked target's lock first, as a deploy does, and hold it while the
    /// command runs (held by someone else: exit 3, nothing run)
    #[arg(long)]
    pub lock: bool,
    /// With --lock: when a target is locked, wait this long for it (e.g. 30s, 5m) instead
    /// of exiting 3
    #[arg(long, value_name = "DURATION", requires = "lock")]
    pub lock_wait: Option<crate::config::Span>,
    /// The program and its arguments, after `--`: run as they are, no shell between
    #[arg(value_name = "CMD", required = true, last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The environment to prune
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// Keep the newest N releases that went live, the live one and the previous one included
    /// (default: deploy.toml's [release] keep)
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// List what would be removed and why the rest stays, touching nothing
    #[arg(long)]
    pub dry_run: bool,
    /// When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<crate::config::Span>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The environment to measure
    #[arg(add = ArgValueCandidates::new(crate::complete::envs))]
    pub env: String,
    /// The window: what ended within this long before now (e.g. 30d, 12w)
    #[arg(long, value_name = "DURATION", default_value = "90d")]
    pub since: crate::config::Span,
    /// Also write a dashboard to FILE: one self-contained HTML page (no scripts, no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// The completion script for `shell`, generated from the command tree.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ship", &mut out);
    out
}

/// Where each shell's script lives in `completions/`.
pub fn completion_file(shell: clap_complete::Shell) -> &'static str {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => "ship.bash",
        Shell::Zsh => "_ship",
        Shell::Fish => "ship.fish",
        Shell::PowerShell => "_ship.ps1",
        Shell::Elvish => "ship.elv",
        _ => "ship.completion",
    }
}

/// The man pages, generated from the command tree: `ship.1`, and `ship-COMMAND.1` for each
/// command that is not hidden (see [`crate::man`]).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    use clap::CommandFactory;
    crate::man::pages(Cli::command())
}
