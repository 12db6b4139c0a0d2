//! Reaching a fleet: connecting to every target at once, taking their locks (reading their
//! states under them), and the run's id. What a deploy, rollback or prune does first.

use anyhow::{Context as _, Result};

use super::{Note, Reporter};
use crate::agent::{self, Target};
use crate::config::{Config, Environment};
use crate::release::{Holder, State};

/// Reach every target of `env` at once; the result is in the config's order.
pub fn connect_all(env: &Environment, config: &Config) -> Result<Vec<Box<dyn Target>>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = env.targets.iter().map(|spec| scope.spawn(move || connect_named(spec, config))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a connection thread panicked"))))
            .collect()
    })
}

/// Reach one target; a failure names it (as the first error of a fleet, nothing else would).
fn connect_named(spec: &crate::config::TargetSpec, config: &Config) -> Result<Box<dyn Target>> {
    agent::connect(spec, &config.ssh).map_err(|e| e.context(spec.to_string()))
}

/// Also names the target of an error, unless it already does: a refusal (a lock held
/// by another) says which target it is about.
pub fn naming(err: anyhow::Error, what: &str, name: &str) -> anyhow::Error {
    if crate::error::refusal_of(&err).is_some() { err } else { err.context(format!("{what} {name}")) }
}

/// Reach every target of `env` at once, each on its own: a target that cannot be reached
/// is its own error, and the others are still reached. In the config's order.
pub fn connect_each(env: &Environment, config: &Config) -> Vec<(String, Result<Box<dyn Target>>)> {
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
pub fn lock_all(
    targets: &mut [Box<dyn Target>],
    command: &str,
    wait: Option<std::time::Duration>,
    workers: usize,
    reporter: &dyn Reporter,
) -> Result<Vec<State>> {
    let holder = Holder::me(command);
    let tries = crate::pool::map(targets, workers, |t| {
        let name = t.spec().to_string();
        t.try_lock_reading(&holder).map_err(|e| naming(e, "locking", &name))
    });
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
            reporter.note(Note::Waiting { target: &name, holder: by, limit: wait.unwrap_or_default() })
        };
        match targets[*i].lock_reading(&holder, wait, &mut waiting).map_err(|e| naming(e, "locking", &name)) {
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
pub fn read_states(targets: &mut [Box<dyn Target>], workers: usize) -> Result<Vec<State>> {
    crate::pool::map(targets, workers, |t| {
        let name = t.spec().to_string();
        t.state().with_context(|| format!("reading the state of {name}"))
    })
    .into_iter()
    .collect()
}

/// A fresh id for one run, the same in every target's journal.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{}", std::process::id(), crate::clock::hostname());
    crate::digest::sha256_hex(seed.as_bytes())[..16].to_string()
}
