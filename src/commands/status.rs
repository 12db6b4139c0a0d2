//! `ship status`: what is live on each target, whether the targets agree, and with --verify
//! whether the live files are still what was deployed.

use anyhow::{Context, Result};
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
    /// The journal's damaged lines (numbered from 1), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    journal_damaged: Vec<usize>,
    /// Why the target could not be read, if it could not (the others still are).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Live {
    #[serde(flatten)]
    at: crate::ids::ReleaseRef,
    deployed_at: Option<String>,
    deployed_by: Option<String>,
    /// False when a deploy switched to it and was cut off before confirming it healthy:
    /// a rollback (or a new deploy) settles it.
    confirmed: bool,
}

pub fn run(cx: &Ctx, env_name: &str, verify: bool) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    // Each target on its own: one that cannot be reached or read is reported, and the
    // others are still shown.
    let mut reached: Vec<(String, Result<Box<dyn crate::agent::Target>>)> =
        crate::rollout::reach::connect_each(env, &config);
    let shared = &config.release.shared;
    type Read = Result<(crate::release::State, Option<bool>, Vec<String>)>;
    let read: Vec<Read> = crate::pool::map(&mut reached, env.workers, |(name, target)| {
        let target = target.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let state = target.state().with_context(|| format!("reading the state of {name}"))?;
        let (verified, problems) = match (&state.current, verify) {
            (Some(_), true) => {
                let problems = target.verify(shared)?;
                (Some(problems.is_empty()), problems)
            }
            _ => (None, Vec::new()),
        };
        Ok((state, verified, problems))
    });
    let mut rows = Vec::new();
    let mut states = Vec::new();
    for ((name, _), read) in reached.iter().zip(read) {
        let row = match read {
            Ok((state, verified, problems)) => {
                let row = TargetStatus {
                    target: name.clone(),
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
        cx.ui.out(&render(cx, &status))?;
    }
    let drift = !status.consistent || status.targets.iter().any(|t| t.verified == Some(false));
    Ok(if unreadable || (verify && drift) { Exit::Error } else { Exit::Success })
}

fn render(cx: &Ctx, s: &Status) -> String {
    use crate::ui::Paint;
    let header = ["TARGET", "RELEASE", "VERSION", "COMMIT", "DEPLOYED", "BY"];
    let rows: Vec<[String; 6]> = s
        .targets
        .iter()
        .map(|t| match &t.current {
            Some(c) => [
                t.target.clone(),
                c.at.release.to_string(),
                c.at.version.clone().unwrap_or_else(|| "?".into()),
                c.at.commit.as_ref().map_or("?", |c| c.short()).to_string(),
                match (&c.deployed_at, c.confirmed) {
                    (Some(at), true) => at.clone(),
                    _ => "NOT CONFIRMED".to_string(),
                },
                c.deployed_by.clone().unwrap_or_else(|| "-".into()),
            ],
            None if t.error.is_some() => {
                [t.target.clone(), "-".into(), "UNREADABLE".into(), "-".into(), "-".into(), "-".into()]
            }
            None => [t.target.clone(), "-".into(), "nothing live".into(), "-".into(), "-".into(), "-".into()],
        })
        .collect();
    // Every column as wide as its widest cell, full timestamps included.
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:w$}  "));
            }
        }
        text
    };
    let mut out = line(&header.map(String::from)).trim_end().to_string();
    out.push('\n');
    for (t, row) in s.targets.iter().zip(&rows) {
        out.push_str(&line(row));
        if t.current.as_ref().is_some_and(|c| !c.confirmed) {
            out.push_str(&format!("  {}", cx.ui.paint_out("[not confirmed]", Paint::Warn)));
        }
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
        if t.current.as_ref().is_some_and(|c| !c.confirmed) {
            out.push_str(
                "    switched by a deploy that was cut off before it was confirmed healthy: \
                          `ship rollback` undoes it, a new deploy completes it\n",
            );
        }
        for p in &t.problems {
            out.push_str(&format!("    {p}\n"));
        }
        if let Some(e) = &t.error {
            out.push_str(&format!("    {}\n", cx.ui.paint_out(e, Paint::Bad)));
        }
        if !t.journal_damaged.is_empty() {
            let lines: Vec<String> = t.journal_damaged.iter().map(usize::to_string).collect();
            out.push_str(&format!(
                "    {}\n",
                cx.ui.paint_out(
                    &format!(
                        "journal: line(s) {} of .ship/journal.jsonl are damaged and were skipped; prune keeps what \
                         it cannot judge",
                        lines.join(", ")
                    ),
                    Paint::Warn
                )
            ));
        }
    }
    let changed = s.targets.iter().filter(|t| t.verified == Some(false)).count();
    let unreadable = s.targets.iter().filter(|t| t.error.is_some()).count();
    if unreadable > 0 {
        out.push_str(&cx.ui.paint_out(
            &format!("{unreadable} target(s) could not be read: what the others run is shown above."),
            Paint::Bad,
        ));
    } else if !s.consistent {
        out.push_str(&cx.ui.paint_out("DRIFT: the targets are not all on one confirmed release.", Paint::Bad));
    } else if changed > 0 {
        out.push_str(&cx.ui.paint_out(
            &format!(
                "The targets agree on one release, but its files changed on {changed} of them: \
                 `ship deploy {} --repair` restores them.",
                s.env
            ),
            Paint::Bad,
        ));
    } else {
        out.push_str(&cx.ui.paint_out("All targets agree.", Paint::Good));
    }
    out
}
