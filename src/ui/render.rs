//! Human text for results: plans, deploy and rollback outcomes, status, history.

use std::fmt::Write;

use super::{Paint, Ui};
use crate::rollout::{Action, FleetOutcome, Outcome, Plan, TargetOutcome};

fn short(sha: &str) -> &str {
    prefix(sha, 12)
}

/// The first `n` characters of `s` (a digest, a commit id), whatever `s` holds: values read
/// from targets, journals and saved plans are never trusted to be ASCII.
pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// "v1.2.0 (abc1234, release 3f2a9c1b0d4e)".
fn describe_current(c: &crate::rollout::Current) -> String {
    match (&c.version, &c.commit) {
        (Some(v), Some(commit)) => format!("{v} ({}, release {})", prefix(commit, 7), c.release),
        _ => format!("release {}", c.release),
    }
}

pub fn plan(ui: &Ui, plan: &Plan) -> String {
    let mut s = String::new();
    if !plan.changes {
        let _ = writeln!(
            s,
            "{}: every target of {} already runs {} (artifact {})",
            ui.paint_out("Up to date", Paint::Good),
            plan.env,
            plan.version,
            short(&plan.artifact.sha256)
        );
        return s;
    }
    let _ = writeln!(
        s,
        "Plan: deploy {} {} ({}) to {}, artifact {}",
        plan.app,
        ui.paint_out(&plan.version, Paint::Bold),
        prefix(&plan.commit, 7),
        plan.env,
        short(&plan.artifact.sha256)
    );
    for t in &plan.targets {
        let now = t.current.as_ref().map_or("nothing live".to_string(), describe_current);
        let (mark, what) = match t.action {
            Action::Noop => (ui.paint_out("=", Paint::Dim), "up to date".to_string()),
            Action::Deploy => {
                (ui.paint_out("+", Paint::Good), format!("send, unpack and switch to release {}", plan.release))
            }
            Action::Switch => {
                (ui.paint_out("~", Paint::Warn), format!("switch to release {} (already on the target)", plan.release))
            }
        };
        let canary = if t.canary { " [canary]" } else { "" };
        let _ = writeln!(s, "  {mark} {}{canary}", t.target);
        let _ = writeln!(s, "      now:  {now}");
        let _ = writeln!(s, "      then: {what}");
        if let Some(f) = &t.last_failure {
            let version = f.version.as_deref().unwrap_or("?");
            let why = f.reason.as_deref().unwrap_or("no reason recorded");
            let _ = writeln!(
                s,
                "      {} release {} ({version}) failed at {}: {why}",
                ui.paint_out("last deploy:", Paint::Warn),
                f.release,
                f.at
            );
        }
        if t.unconfirmed {
            let _ = writeln!(s, "      note: a deploy was cut off after switching this target; this one completes it");
        }
        for step in &t.steps {
            let skip = if step.skip { " (skipped: unless holds)" } else { "" };
            let _ = writeln!(s, "      step: {} ({}){skip}", step.name, step.when);
        }
    }
    for step in &plan.local_steps {
        let _ = writeln!(s, "  local step: {} ({})", step.name, step.when);
    }
    let count = |a: Action| plan.targets.iter().filter(|t| t.action == a).count();
    let _ = writeln!(
        s,
        "{} to deploy, {} to switch, {} up to date.",
        count(Action::Deploy),
        count(Action::Switch),
        count(Action::Noop)
    );
    s
}

pub fn outcome(ui: &Ui, verb: &str, o: &Outcome) -> String {
    let mut s = String::new();
    let headline = match o.outcome {
        FleetOutcome::Succeeded => {
            ui.paint_out(&format!("{verb} of {} to {} succeeded", o.version, o.env), Paint::Good)
        }
        FleetOutcome::Noop => {
            ui.paint_out(&format!("{} is up to date: every target already runs {}", o.env, o.version), Paint::Good)
        }
        FleetOutcome::RolledBack => ui.paint_out(
            &format!(
                "{verb} of {} to {} failed; every touched target is back on its previous release",
                o.version, o.env
            ),
            Paint::Bad,
        ),
        FleetOutcome::Inconsistent => ui.paint_out(
            &format!("{verb} of {} to {} failed and the targets are NOT all on one release", o.version, o.env),
            Paint::Bad,
        ),
        FleetOutcome::Failed => ui.paint_out(
            &format!("{verb} of {} to {} failed before any switch; no target changed", o.version, o.env),
            Paint::Bad,
        ),
    };
    let _ = writeln!(s, "{headline}");
    if o.interrupted {
        let _ = writeln!(s, "{}", ui.paint_out("(interrupted by the user)", Paint::Warn));
    }
    if o.outcome == FleetOutcome::Noop {
        return s;
    }
    let width = o.targets.iter().map(|t| t.target.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(s, "  {:width$}  {:12}  {:12}  {:>8}  ERROR", "TARGET", "OUTCOME", "LIVE NOW", "TIME");
    for t in &o.targets {
        let outcome = match t.outcome {
            TargetOutcome::Succeeded => "succeeded",
            TargetOutcome::Noop => "up to date",
            TargetOutcome::RolledBack => "rolled back",
            TargetOutcome::Failed => "FAILED",
            TargetOutcome::Skipped => "untouched",
        };
        let paint = match t.outcome {
            TargetOutcome::Succeeded | TargetOutcome::Noop => Paint::Good,
            TargetOutcome::Failed => Paint::Bad,
            _ => Paint::Warn,
        };
        let _ = writeln!(
            s,
            "  {:width$}  {}  {:12}  {:>6} ms  {}",
            t.target,
            ui.paint_out(&format!("{outcome:12}"), paint),
            t.release.as_deref().unwrap_or("-"),
            t.duration_ms,
            t.error.as_deref().unwrap_or("")
        );
    }
    s
}
