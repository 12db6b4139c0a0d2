//! How `ship rollback` chooses where a fleet goes back to, and its plan: plain data from
//! the targets' states, like a deploy's plan. Nothing here touches a target.

use anyhow::Result;

use super::plan::{Action, ArtifactRef, Plan, TargetPlan};
use crate::config::{Config, Environment};
use crate::release::{ReleaseState, State};

/// The plan of rolling `env` back (to `to`, a release id, version label or commit, if given),
/// from its targets' `states` in config order.
pub fn plan(config: &Config, env: &Environment, states: &[State], to: Option<&str>) -> Result<Plan> {
    let names: Vec<String> = env.targets.iter().map(|t| t.to_string()).collect();
    let (to, refusals) = choose(&names, states, to)?;
    let plan = Plan {
        format: super::plan::FORMAT,
        config_sha256: config.fingerprint.clone(),
        app: config.app.clone(),
        env: env.name.clone(),
        version: to.version.clone().unwrap_or_else(|| to.release.to_string()),
        commit: to.commit.clone().unwrap_or_default(),
        artifact: ArtifactRef { sha256: to.sha256.clone().unwrap_or_default() },
        release: to.release.clone(),
        targets: names
            .iter()
            .zip(states)
            .zip(refusals)
            .enumerate()
            .map(|(i, ((name, state), refused))| {
                let here = state.current.as_ref().is_some_and(|c| c.release == to.release) && state.confirmed;
                TargetPlan {
                    target: name.clone(),
                    roles: env.roles_of(i).to_vec(),
                    current: state.current.as_ref().map(ReleaseState::reference),
                    action: if here || refused.is_some() { Action::Noop } else { Action::Switch },
                    canary: false,
                    steps: Vec::new(),
                    unconfirmed: state.current.is_some() && !state.confirmed,
                    rollback_to: None,
                    restore: None,
                    has_artifact: false,
                    has_objects: false,
                    last_failure: None,
                    refused,
                    changed: Vec::new(),
                }
            })
            .collect(),
        local_steps: Vec::new(),
        changes: false,
        refused: None,
        pull: false,
    };
    Ok(Plan { changes: plan.targets.iter().any(|t| t.action != Action::Noop), ..plan })
}

/// The one release the environment goes back to, and for each target why it cannot go
/// there (None: it can, or it is there already).
///
/// Without `--to`: when a deploy was cut off, leaving targets switched but never confirmed,
/// the rollback undoes it: the release before theirs, also for the targets it did confirm.
/// Otherwise each target's previous release, which must be the same everywhere. A target
/// with nothing to go back to is reported and left as it is; the others go back.
fn choose(names: &[String], states: &[State], to: Option<&str>) -> Result<(ReleaseState, Vec<Option<String>>)> {
    let went_live = |state: &State, release: &str| state.releases.iter().any(|r| r.went_live && r.release == release);
    let dest = match to {
        Some(wanted) => {
            let matches = |r: &&ReleaseState| {
                r.went_live
                    && (r.release == wanted
                        || r.version.as_deref() == Some(wanted)
                        || (wanted.len() >= 7 && r.commit.as_deref().is_some_and(|c| c.starts_with(wanted)))
                        || (wanted.len() >= 7 && r.sha256.as_deref().is_some_and(|c| c.starts_with(wanted))))
            };
            let picks: Vec<(&String, ReleaseState)> = names
                .iter()
                .zip(states)
                .filter_map(|(n, s)| s.releases.iter().find(matches).map(|r| (n, r.clone())))
                .collect();
            if picks.is_empty() {
                return Err(crate::usage!(
                    "no target has a release matching `{wanted}` that went live (a release id, version label or \
                     commit); `ship history` lists what went live"
                ));
            }
            agree(picks)?
        }
        None => {
            // A cut-off deploy is undone from the release before its unconfirmed targets';
            // when none of them has one (they are new), from everyone's previous.
            let previous = |i: &usize| states[*i].previous.clone().map(|p| (&names[*i], p));
            let unconfirmed: Vec<usize> =
                (0..states.len()).filter(|i| states[*i].current.is_some() && !states[*i].confirmed).collect();
            let mut picks: Vec<(&String, ReleaseState)> = unconfirmed.iter().filter_map(previous).collect();
            if picks.is_empty() {
                picks = (0..states.len()).filter_map(|i| previous(&i)).collect();
            }
            if picks.is_empty() {
                anyhow::bail!(
                    "nothing to roll back to on any target: no earlier release that went live is still there"
                );
            }
            agree(picks)?
        }
    };
    let refusals: Vec<Option<String>> = states
        .iter()
        .map(|state| {
            // Its current release, even unconfirmed, can be gone back to: that confirms it.
            let current = state.current.as_ref().is_some_and(|c| c.release == dest.release);
            if current || went_live(state, &dest.release) {
                None
            } else if to.is_none() && state.previous.is_none() {
                Some("nothing to roll back to: no earlier release that went live is still here".to_string())
            } else {
                Some(format!("release {} is not here (or never went live here)", dest.release))
            }
        })
        .collect();
    // A fleet on one confirmed release is never split by a rollback: all of it goes back,
    // or none. A fleet already split (a cut-off deploy) gets back what can be.
    let first = states.first().map(|s| (s.current.as_ref().map(|c| &c.release), s.confirmed));
    let one_release = states.iter().all(|s| Some((s.current.as_ref().map(|c| &c.release), s.confirmed)) == first);
    if one_release && refusals.iter().any(Option::is_some) {
        let list: Vec<String> = names
            .iter()
            .zip(&refusals)
            .filter_map(|(n, why)| why.as_ref().map(|why| format!("  {n}: {why}")))
            .collect();
        anyhow::bail!(
            "cannot roll every target back to {} (release {}), and the fleet is on one release: nothing was changed\n{}",
            dest.version.as_deref().unwrap_or("?"),
            dest.release,
            list.join("\n")
        );
    }
    Ok((dest, refusals))
}

/// The release every pick names, or a usage error that lists them.
fn agree(picks: Vec<(&String, ReleaseState)>) -> Result<ReleaseState> {
    let first = picks[0].1.clone();
    if picks.iter().all(|(_, p)| p.release == first.release) {
        return Ok(first);
    }
    let list: Vec<String> =
        picks.iter().map(|(n, p)| format!("  {n}: {} ({})", p.version.as_deref().unwrap_or("?"), p.release)).collect();
    Err(crate::usage!("the targets disagree on what to roll back to:\n{}\npick one with --to RELEASE", list.join("\n")))
}
