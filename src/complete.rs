//! Dynamic completion of what only ship knows: the environments of deploy.toml, and for
//! `rollback --to`, the releases that went live on the environment's targets.
//!
//! The shell asks ship itself (`source <(COMPLETE=bash ship)` registers it; see
//! [`clap_complete::CompleteEnv`]): ship is started as `ship -- ship WORDS...` with
//! `COMPLETE` set, and `main` answers before parsing anything. The completers here read the
//! words typed so far for `-C`, `-f` and the environment, the way the command itself would.
//! They never prompt and never wait on the network: only local targets are read (directly
//! from disk, what `ship status` would ask their agent), SSH targets are skipped, and any
//! error means no candidates.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;

use crate::config::{Config, TargetSpec};
use crate::release::{ReleaseState, Site};

/// The environments of deploy.toml, each with how many targets it has.
pub fn envs() -> Vec<CompletionCandidate> {
    let Some(typed) = Typed::from_args() else { return Vec::new() };
    let Some(config) = typed.config() else { return Vec::new() };
    config
        .envs
        .values()
        .map(|env| {
            let n = env.targets.len();
            let help = format!("{n} target{}", if n == 1 { "" } else { "s" });
            CompletionCandidate::new(&env.name).help(Some(help.into()))
        })
        .collect()
}

/// The releases `rollback ENV --to` can go back to: those that went live on every local
/// target of ENV (newest first), each with its version.
pub fn releases() -> Vec<CompletionCandidate> {
    let Some(typed) = Typed::from_args() else { return Vec::new() };
    let Some(config) = typed.config() else { return Vec::new() };
    let Some(env) = typed.env.as_deref().and_then(|name| config.envs.get(name)) else { return Vec::new() };
    let states: Vec<_> = env
        .targets
        .iter()
        .filter_map(|spec| match spec {
            TargetSpec::Local { path } => Site::new(path).state().ok(),
            TargetSpec::Ssh { .. } => None,
        })
        .collect();
    let Some((first, others)) = states.split_first() else { return Vec::new() };
    let went_live = |releases: &[ReleaseState], id: &str| releases.iter().any(|r| r.release == id && r.went_live);
    first
        .releases
        .iter()
        .filter(|r| r.went_live && others.iter().all(|s| went_live(&s.releases, &r.release)))
        .map(|r| {
            let mut help = r.version.clone().unwrap_or_else(|| "unknown version".to_string());
            if first.current.as_ref().is_some_and(|c| c.release == r.release) {
                help.push_str(", live now");
            } else if first.previous.as_ref().is_some_and(|p| p.release == r.release) {
                help.push_str(", the one before");
            }
            CompletionCandidate::new(r.release.as_str()).help(Some(help.into()))
        })
        .collect()
}

/// What the words before the one being completed say.
struct Typed {
    directory: Option<PathBuf>,
    file: Option<PathBuf>,
    env: Option<String>,
}

impl Typed {
    /// Read the command line the shell passed: `ship -- ship WORDS...`, the word being
    /// completed at `_CLAP_COMPLETE_INDEX` (bash, zsh, elvish) or last (fish, PowerShell).
    fn from_args() -> Option<Typed> {
        let args: Vec<OsString> = std::env::args_os().collect();
        let escape = args.iter().position(|a| a == "--")?;
        let words = &args[escape + 1..];
        let index = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or(words.len().saturating_sub(1))
            .min(words.len());
        Typed::parse(&words[..index])
    }

    /// Parse the complete words as ship would; an option still waiting for its value (as
    /// `--to` is while its value is completed) is left out.
    fn parse(words: &[OsString]) -> Option<Typed> {
        let cli = crate::cli::Cli::command().ignore_errors(true);
        let matches = cli
            .clone()
            .try_get_matches_from(words)
            .or_else(|_| cli.try_get_matches_from(&words[..words.len().saturating_sub(1)]))
            .ok()?;
        let env = matches.subcommand().and_then(|(_, sub)| sub.try_get_one::<String>("env").ok().flatten().cloned());
        Some(Typed {
            directory: matches.try_get_one::<PathBuf>("directory").ok().flatten().cloned(),
            file: matches.try_get_one::<PathBuf>("file").ok().flatten().cloned(),
            env,
        })
    }

    /// The deploy.toml the command would read, if it can be read and is valid.
    fn config(&self) -> Option<Config> {
        let mut cwd = std::env::current_dir().ok()?;
        if let Some(dir) = &self.directory {
            cwd = cwd.join(dir);
        }
        crate::config::from_args(&cwd, self.file.as_deref()).ok()
    }
}
