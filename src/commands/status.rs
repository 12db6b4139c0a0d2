//! `ship status`: what is live on each target, whether the targets agree, and with --verify
//! whether the live files are still what was deployed.

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::error::Exit;

#[derive(Serialize)]
struct Status {
    env: String,
    consistent: bool,
    targets: Vec<TargetStatus>,
}

#[derive(Serialize)]
struct TargetStatus {
    target: String,
    current: Option<Live>,
    locked: bool,
    verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
}

#[derive(Serialize)]
struct Live {
    release: String,
    version: Option<String>,
    commit: Option<String>,
    sha256: Option<String>,
    deployed_at: Option<String>,
    deployed_by: Option<String>,
}

pub fn run(cx: &Ctx, env_name: &str, verify: bool) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    let mut targets = super::connect_all(env, &config)?;
    let states = super::read_states(&mut targets)?;
    let mut rows = Vec::new();
    for (target, state) in targets.iter_mut().zip(&states) {
        let (verified, problems) = match (&state.current, verify) {
            (Some(_), true) => {
                let problems = target.verify(&config.release.shared)?;
                (Some(problems.is_empty()), problems)
            }
            _ => (None, Vec::new()),
        };
        rows.push(TargetStatus {
            target: target.spec().to_string(),
            current: state.current.as_ref().map(|c| Live {
                release: c.release.clone(),
                version: c.version.clone(),
                commit: c.commit.clone(),
                sha256: c.sha256.clone(),
                deployed_at: c.deployed_at.clone(),
                deployed_by: c.deployed_by.clone(),
            }),
            locked: state.locked,
            verified,
            holder: state.holder.as_ref().map(|h| h.to_string()),
            problems,
        });
    }
    let first = states.first().map(|s| (s.current.as_ref().map(|c| c.release.clone()), s.confirmed));
    let consistent = states.iter().all(|s| Some((s.current.as_ref().map(|c| c.release.clone()), s.confirmed)) == first);
    let status = Status { env: env.name.clone(), consistent, targets: rows };
    if cx.ui.json() {
        cx.ui.out_json(&status)?;
    } else {
        cx.ui.out(&render(cx, &status))?;
    }
    let drift = !status.consistent || status.targets.iter().any(|t| t.verified == Some(false));
    Ok(if verify && drift { Exit::Error } else { Exit::Success })
}

fn render(cx: &Ctx, s: &Status) -> String {
    use crate::ui::Paint;
    let mut out = String::new();
    let width = s.targets.iter().map(|t| t.target.len()).max().unwrap_or(6).max(6);
    out.push_str(&format!(
        "{:width$}  {:12}  {:20}  {:8}  {:20}  {}\n",
        "TARGET", "RELEASE", "VERSION", "COMMIT", "DEPLOYED", "BY"
    ));
    for t in &s.targets {
        let (release, version, commit, at, by) = match &t.current {
            Some(c) => (
                c.release.as_str(),
                c.version.as_deref().unwrap_or("?"),
                c.commit.as_deref().map_or("?", |c| crate::ui::render::prefix(c, 7)),
                c.deployed_at.as_deref().unwrap_or("(not confirmed)"),
                c.deployed_by.as_deref().unwrap_or("-"),
            ),
            None => ("-", "nothing live", "-", "-", "-"),
        };
        out.push_str(&format!("{:width$}  {release:12}  {version:20}  {commit:8}  {at:20}  {by}", t.target));
        if t.locked {
            out.push_str(&format!("  {}", cx.ui.paint_out("[locked]", Paint::Warn)));
        }
        match t.verified {
            Some(true) => out.push_str(&format!("  {}", cx.ui.paint_out("verified", Paint::Good))),
            Some(false) => out.push_str(&format!("  {}", cx.ui.paint_out("CHANGED", Paint::Bad))),
            None => {}
        }
        out.push('\n');
        if let Some(holder) = &t.holder {
            out.push_str(&format!("    locked by {holder}\n"));
        }
        for p in &t.problems {
            out.push_str(&format!("    {p}\n"));
        }
    }
    if s.consistent {
        out.push_str(&cx.ui.paint_out("All targets agree.", Paint::Good));
    } else {
        out.push_str(&cx.ui.paint_out("DRIFT: the targets are not all on one confirmed release.", Paint::Bad));
    }
    out
}
