//! One file per subcommand; this one dispatches and holds what several of them share:
//! loading the config, picking the version and artifact, reaching and locking targets.

mod build;
mod check;
mod completions;
mod deploy;
mod history;
mod init;
mod lock;
mod metrics;
mod plan;
mod promote;
mod prune;
mod rollback;
mod status;
mod stores;

pub(crate) use stores::Stores;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::agent::{self, Target};
use crate::artifact::{self, Artifact};
use crate::cli::{Cli, Command};
use crate::config::{Config, Environment};
use crate::error::Exit;
use crate::release::{Holder, State};
use crate::ui::Ui;
use crate::version::Repo;

/// What every command gets: where it runs, the deploy.toml asked for, and the UI.
pub struct Ctx {
    pub cwd: PathBuf,
    /// `-C DIR` as given.
    pub directory: Option<PathBuf>,
    pub file: Option<PathBuf>,
    pub ui: Ui,
}

impl Ctx {
    pub fn config(&self) -> Result<Config> {
        crate::config::from_args(&self.cwd, self.file.as_deref())
    }
}

pub fn run(cli: Cli) -> Result<Exit> {
    let mut cwd = std::env::current_dir().context("reading the current directory")?;
    if let Some(dir) = &cli.global.directory {
        cwd = cwd.join(dir);
        if !cwd.is_dir() {
            return Err(crate::usage!("-C {}: no such directory", dir.display()));
        }
    }
    let cx =
        Ctx { cwd, directory: cli.global.directory.clone(), file: cli.global.file.clone(), ui: Ui::new(&cli.global) };
    match cli.command {
        Command::Init => init::run(&cx),
        Command::Check { env } => check::run(&cx, env.as_deref()),
        Command::Build { reference, allow_dirty, push } => build::run(&cx, &reference, allow_dirty, push),
        Command::Plan(args) => plan::run(&cx, &args),
        Command::Deploy(args) => deploy::run(&cx, &args),
        Command::Rollback(args) => rollback::run(&cx, &args),
        Command::Promote(args) => promote::run(&cx, &args),
        Command::Status { env, verify } => status::run(&cx, &env, verify),
        Command::History { env, limit } => history::run(&cx, &env, limit),
        Command::Metrics(args) => metrics::run(&cx, &args),
        Command::Prune(args) => prune::run(&cx, &args),
        Command::Completions { shell } => completions::run(&cx, shell),
        Command::Lock { env, reason } => lock::lock(&cx, &env, reason),
        Command::Unlock { env, force } => lock::unlock(&cx, &env, force),
        Command::Agent { path } => crate::agent::serve(&path),
        Command::Guard { command } => match crate::process::guard::guard(&command[0], &command[1..])? {},
    }
}

/// The version and artifact a deploy or plan is about: a stored artifact by sha256, or the
/// commit `reference` built (or reused from the store).
pub(crate) struct Picked {
    pub label: String,
    pub commit: String,
    pub artifact: Artifact,
}

pub(crate) fn pick(
    cx: &Ctx,
    config: &Config,
    stores: &Stores<'_>,
    reference: &str,
    artifact: Option<&str>,
    allow_dirty: bool,
) -> Result<Picked> {
    let store = &stores.local;
    let repo = Repo::discover(&config.dir)?;
    if let Some(sha) = artifact {
        let sha = stores.find(sha)?;
        stores.get(cx, &sha)?;
        let artifact = artifact::from_store(store, &sha)?;
        let label = repo.find(&artifact.commit).map_or_else(|| artifact.commit.short().to_string(), |v| v.label);
        return Ok(Picked { label, commit: artifact.commit.to_string(), artifact });
    }
    let version = repo.resolve(reference)?;
    if reference == "HEAD" && !allow_dirty {
        let dirty = repo.dirty_paths(6)?;
        if !dirty.is_empty() {
            let mut list = dirty.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if dirty.len() > 5 {
                list.push_str(", ...");
            }
            return Err(crate::usage!(
                "the working tree has uncommitted changes ({list}); ship builds the commit, not the working copy: \
                 commit them, or pass --allow-dirty to deploy HEAD ({}) as committed",
                version.label
            ));
        }
    }
    let named = crate::ui::render::label(&version.label, &version.commit);
    if let Some(artifact) = stores.built(cx, &version.commit, &config.build)? {
        cx.ui.status(&format!("Artifact {} of {named}: reused from the store, not rebuilt", artifact.sha256.short()));
        return Ok(Picked { label: version.label, commit: version.commit, artifact });
    }
    cx.ui.status(&format!("Building {named}"));
    let artifact = artifact::build(store, &repo, &version, &config.build, &config.release.shared, &mut |line| {
        if let Some(warning) = line.strip_prefix("warning: ") {
            cx.ui.warn(warning);
        } else if cx.ui.verbose() {
            cx.ui.status(&format!("build | {line}"));
        }
    })?;
    let size = indicatif::HumanBytes(artifact.size);
    cx.ui.status(&format!("Artifact {} of {named}: built, {size}", artifact.sha256.short()));
    Ok(Picked { label: version.label, commit: version.commit, artifact })
}

/// Reach every target of `env` at once; the result is in the config's order.
pub(crate) fn connect_all(env: &Environment, config: &Config) -> Result<Vec<Box<dyn Target>>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            env.targets.iter().map(|spec| scope.spawn(move || agent::connect(spec, &config.ssh))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a connection thread panicked"))))
            .collect()
    })
}

/// Reach every target of `env` at once, each on its own: a target that cannot be reached
/// is its own error, and the others are still reached. In the config's order.
pub(crate) fn connect_each(env: &Environment, config: &Config) -> Vec<(String, Result<Box<dyn Target>>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = env
            .targets
            .iter()
            .map(|spec| (spec.to_string(), scope.spawn(|| agent::connect(spec, &config.ssh))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| (name, h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a connection thread panicked")))))
            .collect()
    })
}

/// Take every target's lock and read its state under it: one exchange per target, all at
/// once (up to `workers`). If any target is held by another, the locks taken are released
/// and they are taken again one by one in a fixed order (sorted by address), waiting up to
/// `wait` for each, so that two runs never each hold half and one of two racing runs wins.
/// On a conflict that outlasts `wait`, the locks already taken are released and exit 3
/// follows. The states come in the targets' order.
pub(crate) fn lock_all(
    cx: &Ctx,
    targets: &mut [Box<dyn Target>],
    command: &str,
    wait: Option<std::time::Duration>,
    workers: usize,
) -> Result<Vec<State>> {
    let holder = Holder::me(command);
    let tries = crate::pool::map(targets, workers, |t| t.try_lock_reading(&holder));
    let taken: Vec<usize> = (0..tries.len()).filter(|i| matches!(tries[*i], Ok(Ok(_)))).collect();
    if taken.len() == targets.len() {
        return Ok(tries.into_iter().filter_map(|t| t.ok()?.ok()).collect());
    }
    for i in taken {
        let _ = targets[i].unlock();
    }
    let mut tries = tries.into_iter();
    if let Some(e) = tries.find_map(|t| t.err()) {
        return Err(e);
    }

    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|i| targets[*i].spec().to_string());
    let mut states: Vec<Option<State>> = (0..targets.len()).map(|_| None).collect();
    for (n, i) in order.iter().enumerate() {
        let name = targets[*i].spec().to_string();
        let mut waiting = |by: Option<&Holder>| {
            let who = by.map_or_else(|| "another process".to_string(), |h| h.to_string());
            let limit = wait.map(|w| humantime::format_duration(w).to_string()).unwrap_or_default();
            cx.ui.status(&format!("{name} is locked by {who}: waiting for it (--lock-wait {limit})"));
        };
        match targets[*i].lock_reading(&holder, wait, &mut waiting) {
            Ok(state) => states[*i] = Some(state),
            Err(e) => {
                for j in &order[..n] {
                    let _ = targets[*j].unlock();
                }
                return Err(e);
            }
        }
    }
    Ok(states.into_iter().flatten().collect())
}

/// Every target's state, read at once (up to `workers` at a time).
pub(crate) fn read_states(targets: &mut [Box<dyn Target>], workers: usize) -> Result<Vec<State>> {
    crate::pool::map(targets, workers, |t| {
        let name = t.spec().to_string();
        t.state().with_context(|| format!("reading the state of {name}"))
    })
    .into_iter()
    .collect()
}

/// The secrets an environment names, read from ship's own environment.
pub(crate) fn read_secrets(env: &Environment) -> Result<Vec<(String, String)>> {
    env.secrets
        .iter()
        .map(|name| match std::env::var(name) {
            Ok(value) => Ok((name.clone(), value)),
            Err(_) => Err(crate::usage!(
                "environment `{}` needs the secret {name}, which is not set: export {name} before running ship",
                env.name
            )),
        })
        .collect()
}

/// A fresh id for one run, the same in every target's journal.
pub(crate) fn run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{}", std::process::id(), crate::clock::hostname());
    crate::digest::sha256_hex(seed.as_bytes())[..16].to_string()
}

/// Watch for Ctrl-C during a deploy or rollback: the first stops new work and rolls back,
/// the second exits at once.
pub(crate) fn watch_interrupts() {
    let _ = crate::interrupt::install(
        || {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\ninterrupted: letting running steps finish, then rolling back what this run switched \
                 (press Ctrl-C again to stop at once)"
            );
        },
        crate::ui::print_board,
    );
}

/// What kind of run `execute` runs, and what its journal records say of it.
pub(crate) struct Run<'a> {
    /// `deploy`, `promote` or `rollback`: the webhook's `kind` and the outcome's words.
    pub kind: &'static str,
    /// Set when `--ignore-requires` skipped the environment's gate: why.
    pub gate_skipped: Option<String>,
    /// `ship promote FROM ...`: FROM.
    pub promoted_from: Option<String>,
    /// Pull mode: the shared store the targets fetch the artifact from.
    pub pull: Option<&'a crate::artifact::remote::Shared>,
}

/// Run a deploy, promotion or rollback under Ctrl-C handling, then notify and print its
/// outcome.
pub(crate) fn execute(
    cx: &Ctx,
    config: &Config,
    env: &Environment,
    secrets: Vec<(String, String)>,
    what: Run<'_>,
    run: impl FnOnce(&crate::rollout::Context<'_>) -> crate::rollout::Outcome,
) -> Result<Exit> {
    let kind = what.kind;
    let rcx = crate::rollout::Context {
        config,
        env,
        run: run_id(),
        user: crate::clock::user(),
        redactor: crate::redact::Redactor::new(secrets.iter().map(|(_, v)| v.as_str())),
        secrets,
        gate_skipped: what.gate_skipped,
        promoted_from: what.promoted_from.clone(),
        pull: what.pull,
        reporter: &cx.ui,
        http: Default::default(),
        stopping: Default::default(),
    };
    watch_interrupts();
    let mut outcome = run(&rcx);
    outcome.promoted_from = what.promoted_from;
    cx.ui.clear();
    notify(cx, config, env, kind, &outcome);
    if cx.ui.json() {
        cx.ui.out_json(&outcome)?;
    } else {
        cx.ui.out(&crate::ui::render::outcome(&cx.ui, kind, &outcome))?;
    }
    Ok(outcome.outcome.exit())
}

/// POST the outcome to the environment's webhook, if it has one; a failure is a warning.
pub(crate) fn notify(cx: &Ctx, config: &Config, env: &Environment, kind: &str, outcome: &crate::rollout::Outcome) {
    let Some(url) = &env.webhook else { return };
    if outcome.outcome == crate::rollout::FleetOutcome::Noop {
        return;
    }
    let notice = crate::notify::Notice {
        app: &config.app,
        kind,
        user: &crate::clock::user(),
        host: &crate::clock::hostname(),
        at: &crate::clock::now_rfc3339(),
        outcome,
    };
    if let Err(why) = crate::notify::send(url, &notice) {
        cx.ui.warn(&format!("the webhook was not notified: {why}"));
    }
}
