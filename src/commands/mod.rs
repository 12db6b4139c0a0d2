//! One file per subcommand; this one dispatches and holds what several of them share:
//! loading the config, picking the version and artifact, reaching and locking targets.

mod build;
mod check;
mod completions;
mod deploy;
mod exec;
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

use crate::artifact::{self, Artifact};
use crate::cli::{Cli, Command};
use crate::config::{Config, Environment};
use crate::error::Exit;
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
        Command::Exec(args) => exec::run(&cx, &args),
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
    /// The build's figures, when it was built now (not reused or fetched).
    pub built: Option<artifact::BuildStats>,
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
        return Ok(Picked { label, commit: artifact.commit.to_string(), artifact, built: None });
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
        return Ok(Picked { label: version.label, commit: version.commit, artifact, built: None });
    }
    cx.ui.status(&format!("Building {named}"));
    let (artifact, stats) =
        artifact::build(store, &repo, &version, &config.build, &config.release.shared, &mut |line| {
            if let Some(warning) = line.strip_prefix("warning: ") {
                cx.ui.warn(warning);
            } else if cx.ui.verbose() {
                cx.ui.status(&format!("build | {line}"));
            }
        })?;
    let secs = stats.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { stats.bytes as f64 / secs } else { 0.0 };
    cx.ui.status(&format!(
        "Artifact {} of {named}: built {} in {secs:.2} s ({}/s), {} packed",
        artifact.sha256.short(),
        crate::ui::render::bytes(stats.bytes),
        crate::ui::render::bytes(rate as u64),
        crate::ui::render::bytes(artifact.size),
    ));
    Ok(Picked { label: version.label, commit: version.commit, artifact, built: Some(stats) })
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

/// Run a deploy, promotion or rollback under Ctrl-C handling, then notify and print its
/// outcome.
pub(crate) fn execute(
    cx: &Ctx,
    config: &Config,
    env: &Environment,
    secrets: Vec<(String, String)>,
    what: crate::rollout::Run<'_>,
    run: impl FnOnce(&crate::rollout::Context<'_>) -> crate::rollout::Outcome,
) -> Result<Exit> {
    let kind = what.kind;
    let promoted_from = what.promoted_from.clone();
    let rcx = crate::rollout::Context::new(config, env, secrets, what, &cx.ui);
    watch_interrupts();
    let mut outcome = run(&rcx);
    outcome.promoted_from = promoted_from;
    cx.ui.clear();
    if let Err(why) = crate::notify::webhook(config, env, kind, &outcome) {
        cx.ui.warn(&format!("the webhook was not notified: {why}"));
    }
    if cx.ui.json() {
        cx.ui.out_json(&outcome)?;
    } else {
        cx.ui.out(&crate::ui::render::outcome(&cx.ui, kind, &outcome))?;
    }
    Ok(outcome.outcome.exit())
}
