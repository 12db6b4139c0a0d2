//! `ship rollback`: every target of an environment back to the release that was live before
//! (per the journal), or to `--to` a release id, version label or commit.

use anyhow::Result;

use super::Ctx;
use crate::cli::RollbackArgs;
use crate::error::Exit;
use crate::release::{ReleaseState, State};
use crate::rollout::{self, Action, ArtifactRef, Current, Plan, TargetPlan};

pub fn run(cx: &Ctx, args: &RollbackArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let secrets = super::read_secrets(env)?;
    let must_confirm = env.confirm && !args.yes && !args.dry_run;
    if must_confirm && !cx.ui.interactive() {
        return Err(crate::usage!(
            "environment `{}` has confirm = true and there is no terminal to ask: pass --yes to roll back",
            env.name
        ));
    }
    let mut targets = super::connect_all(env, &config)?;
    if !args.dry_run {
        super::lock_all(&mut targets, &format!("ship rollback {}", env.name), args.lock_wait.map(|w| w.0))?;
    }
    let states = super::read_states(&mut targets)?;
    let names: Vec<String> = env.targets.iter().map(|t| t.to_string()).collect();
    let to = choose(&names, &states, args.to.as_deref())?;
    let plan = Plan {
        format: crate::rollout::plan::FORMAT,
        config_sha256: config.fingerprint.clone(),
        app: config.app.clone(),
        env: env.name.clone(),
        version: to.version.clone().unwrap_or_else(|| to.release.clone()),
        commit: to.commit.clone().unwrap_or_default(),
        artifact: ArtifactRef { sha256: to.sha256.clone().unwrap_or_default() },
        release: to.release.clone(),
        targets: names
            .iter()
            .zip(&states)
            .map(|(name, state)| {
                let here = state.current.as_ref().is_some_and(|c| c.release == to.release) && state.confirmed;
                TargetPlan {
                    target: name.clone(),
                    current: state.current.as_ref().map(Current::of),
                    action: if here { Action::Noop } else { Action::Switch },
                    canary: false,
                    steps: Vec::new(),
                    unconfirmed: state.current.is_some() && !state.confirmed,
                    rollback_to: None,
                    restore: None,
                    last_failure: None,
                }
            })
            .collect(),
        local_steps: Vec::new(),
        changes: false,
    };
    let plan = Plan { changes: plan.targets.iter().any(|t| t.action != Action::Noop), ..plan };

    if args.dry_run {
        if cx.ui.json() {
            cx.ui.out_json(&plan)?;
        } else {
            cx.ui.out(&describe(&plan))?;
        }
        return Ok(Exit::Success);
    }
    if plan.changes && !cx.ui.json() {
        cx.ui.status(describe(&plan).trim_end());
    }
    if plan.changes && must_confirm && !cx.ui.confirm(&format!("Roll {} back to {}?", env.name, plan.version))? {
        return Err(anyhow::anyhow!("rollback cancelled: nothing was changed"));
    }
    super::execute(cx, &config, env, secrets, "rollback", None, |rcx| rollout::rollback(rcx, &plan, targets))
}

/// The one release every target goes back to.
fn choose(names: &[String], states: &[State], to: Option<&str>) -> Result<ReleaseState> {
    let mut picks: Vec<(&String, ReleaseState)> = Vec::new();
    for (name, state) in names.iter().zip(states) {
        let pick = match to {
            Some(wanted) => state
                .releases
                .iter()
                .filter(|r| r.went_live)
                .find(|r| {
                    r.release == wanted
                        || r.version.as_deref() == Some(wanted)
                        || (wanted.len() >= 7 && r.commit.as_deref().is_some_and(|c| c.starts_with(wanted)))
                        || (wanted.len() >= 7 && r.sha256.as_deref().is_some_and(|c| c.starts_with(wanted)))
                })
                .cloned()
                .ok_or_else(|| {
                    crate::usage!(
                        "{name} has no release matching `{wanted}` that went live (a release id, version label or commit); \
                         `ship history` lists what went live"
                    )
                })?,
            None => state.previous.clone().ok_or_else(|| {
                anyhow::anyhow!("nothing to roll back to on {name}: no earlier release that went live is still there")
            })?,
        };
        picks.push((name, pick));
    }
    let first = picks[0].1.clone();
    let same = |a: &ReleaseState| a.release == first.release;
    if !picks.iter().all(|(_, p)| same(p)) {
        let list: Vec<String> = picks
            .iter()
            .map(|(n, p)| format!("  {n}: {} ({})", p.version.as_deref().unwrap_or("?"), p.release))
            .collect();
        return Err(crate::usage!(
            "the targets disagree on what to roll back to:\n{}\npick one with --to RELEASE",
            list.join("\n")
        ));
    }
    Ok(first)
}

fn describe(plan: &Plan) -> String {
    let mut s = format!("Roll {} back to {} (release {}):\n", plan.env, plan.version, plan.release);
    for t in &plan.targets {
        let now = t
            .current
            .as_ref()
            .map_or("nothing live".to_string(), |c| format!("{} ({})", c.version.as_deref().unwrap_or("?"), c.release));
        let what = if t.action == Action::Noop { "already there" } else { "switch back" };
        s.push_str(&format!("  {}: {now} -> {what}\n", t.target));
    }
    s
}
