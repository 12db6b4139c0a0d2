//! `ship status`: what is live on each target, whether the targets agree, and with --verify
//! whether the live files are still what was deployed.

use anyhow::{Context, Result};

use super::Ctx;
use crate::error::Exit;
use crate::ui::report::status::{Live, Status, TargetStatus};

pub fn run(cx: &Ctx, env_name: &str, verify: bool) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    // Each target on its own: one that cannot be reached or read is reported, and the
    // others are still shown.
    let mut reached: Vec<(String, Result<Box<dyn crate::agent::Target>>)> =
        crate::rollout::reach::connect_each(env, &config);
    type Read = Result<(crate::release::State, Option<bool>, Vec<String>)>;
    let read: Vec<Read> = crate::pool::map(&mut reached, env.workers, |(_, target)| {
        let target = target.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let state = target.state().context("reading its state")?;
        let (verified, problems) = match (&state.current, verify) {
            (Some(_), true) => {
                let problems = target.verify(&config.release)?;
                (Some(problems.is_empty()), problems)
            }
            _ => (None, Vec::new()),
        };
        Ok((state, verified, problems))
    });
    let mut rows = Vec::new();
    let mut states = Vec::new();
    for (i, ((name, _), read)) in reached.iter().zip(read).enumerate() {
        let roles = env.roles_of(i).to_vec();
        let row = match read {
            Ok((state, verified, problems)) => {
                let row = TargetStatus {
                    target: name.clone(),
                    roles,
                    current: state.current.as_ref().map(|c| Live {
                        at: c.reference(),
                        deployed_at: c.deployed_at.clone(),
                        deployed_by: c.deployed_by.clone(),
                        confirmed: state.confirmed,
                    }),
                    locked: state.locked,
                    verified,
                    holder: state.holder.as_ref().map(|h| h.to_string()),
                    problems,
                    journal_damaged: state.journal_damaged.clone(),
                    error: None,
                };
                states.push(state);
                row
            }
            Err(e) => TargetStatus {
                target: name.clone(),
                roles,
                current: None,
                locked: false,
                verified: None,
                holder: None,
                problems: Vec::new(),
                journal_damaged: Vec::new(),
                error: Some(format!("{e:#}")),
            },
        };
        rows.push(row);
    }
    let unreadable = rows.iter().any(|r| r.error.is_some());
    let first = states.first().map(|s| (s.current.as_ref().map(|c| c.release.clone()), s.confirmed));
    let consistent = !unreadable
        && states.iter().all(|s| Some((s.current.as_ref().map(|c| c.release.clone()), s.confirmed)) == first);
    let status = Status { env: env.name.clone(), consistent, targets: rows };
    if cx.ui.json() {
        cx.ui.out_json(&status)?;
    } else {
        cx.ui.out(&crate::ui::report::status::render(&cx.ui, &status))?;
    }
    let drift = !status.consistent || status.targets.iter().any(|t| t.verified == Some(false));
    Ok(if unreadable || (verify && drift) { Exit::Error } else { Exit::Success })
}
