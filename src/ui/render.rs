//! Human text for plans and for the outcomes of deploys, promotions and rollbacks, and the
//! pieces every report shares: short ids, labels, figures (hours, percentages). What the
//! other commands print is in [`super::report`].

use std::fmt::Write;

use super::{Paint, Ui};
use crate::rollout::{Action, FleetOutcome, Outcome, Plan, TargetOutcome};

fn short(sha: &str) -> &str {
    prefix(sha, 12)
}

/// The first `n` characters of `s` (a digest, a commit id), whatever `s` holds: values read
/// from targets, journals and saved plans are never trusted to be ASCII.
/// A size as people read it: `52.4 MB` (decimal units, one decimal), `812 kB`, `96 B`.
pub fn bytes(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 1000 {
        format!("{} kB", n / 1000)
    } else {
        format!("{n} B")
    }
}

pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// "v1.2.0 (abc1234)", or just "abc1234" when the label is the commit (there is no tag).
pub fn label(version: &str, commit: &str) -> String {
    let short = prefix(commit, 7);
    if version == short || commit.is_empty() { version.to_string() } else { format!("{version} ({short})") }
}

/// "v1.2.0 (abc1234, release 3f2a9c1b0d4e)".
fn describe_current(c: &crate::ids::ReleaseRef) -> String {
    match (&c.version, &c.commit) {
        (Some(v), Some(commit)) if v == commit.short() => format!("{v} (release {})", c.release),
        (Some(v), Some(commit)) => format!("{v} ({}, release {})", commit.short(), c.release),
        _ => format!("release {}", c.release),
    }
}

/// Whether text shows the targets' roles: unless every target has only the default role.
pub fn roles_shown<'a>(all: impl IntoIterator<Item = &'a [String]>) -> bool {
    all.into_iter().any(|r| !r.is_empty() && r != [crate::config::DEFAULT_ROLE])
}

/// A target's roles as text shows them after its name: ` [web,worker]` (nothing when not
/// `shown`, or when it has none, as a target no longer in deploy.toml).
pub fn roles_tag(roles: &[String], shown: bool) -> String {
    if shown && !roles.is_empty() { format!(" [{}]", roles.join(",")) } else { String::new() }
}

pub fn plan(ui: &Ui, plan: &Plan) -> String {
    let mut s = String::new();
    let show_roles = roles_shown(plan.targets.iter().map(|t| t.roles.as_slice()));
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
        "Plan: deploy {} {} to {}, artifact {}",
        plan.app,
        ui.paint_out(&label(&plan.version, &plan.commit), Paint::Bold),
        plan.env,
        short(&plan.artifact.sha256)
    );
    if let Some(why) = &plan.refused {
        let _ = writeln!(s, "  {} {why}", ui.paint_out("REFUSED: a deploy of this plan would fail:", Paint::Bad));
    }
    for t in &plan.targets {
        let now = t.current.as_ref().map_or("nothing live".to_string(), describe_current);
        let (mark, what) = match t.action {
            Action::Noop => (ui.paint_out("=", Paint::Dim), "up to date".to_string()),
            Action::Deploy => {
                let how = match (plan.pull, t.has_objects) {
                    (true, _) => "fetch from the store",
                    (false, true) => "send the contents it lacks",
                    (false, false) => "send",
                };
                (ui.paint_out("+", Paint::Good), format!("{how}, unpack and switch to release {}", plan.release))
            }
            Action::Switch => {
                (ui.paint_out("~", Paint::Warn), format!("switch to release {} (already on the target)", plan.release))
            }
            Action::Repair => {
                let mut list = t.changed.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                if t.changed.len() > 3 {
                    list.push_str(&format!(" and {} more", t.changed.len() - 3));
                }
                (
                    ui.paint_out("!", Paint::Bad),
                    format!("rebuild release {} from the artifact, in place (changed: {list})", plan.release),
                )
            }
        };
        let canary = if t.canary { " [canary]" } else { "" };
        let roles = roles_tag(&t.roles, show_roles);
        let _ = writeln!(s, "  {mark} {}{roles}{canary}", t.target);
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
        if let Some(why) = &t.refused {
            let _ = writeln!(s, "      {} {why}", ui.paint_out("refused:", Paint::Bad));
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
    let repair = match count(Action::Repair) {
        0 => String::new(),
        n => format!("{n} to repair, "),
    };
    let _ = writeln!(
        s,
        "{} to deploy, {} to switch, {repair}{} up to date.",
        count(Action::Deploy),
        count(Action::Switch),
        count(Action::Noop)
    );
    s
}

/// The words of a deploy's or rollback's result: what went where, then each target. `verb`
/// is `deploy` or `rollback`; the outcome words are the JSON's.
pub fn outcome(ui: &Ui, verb: &str, o: &Outcome) -> String {
    let mut s = String::new();
    let (version, env) = (&o.version, &o.env);
    let (text, paint) = if verb == "rollback" {
        let from = o.rolled_back_from.as_ref().map_or(String::new(), |c| format!(", from {}", describe_current(c)));
        match o.outcome {
            FleetOutcome::Succeeded => (format!("Rolled {env} back to {version}{from}"), Paint::Good),
            FleetOutcome::Noop => {
                (format!("{env} already runs {version} on every target: nothing to roll back"), Paint::Good)
            }
            FleetOutcome::Failed => (format!("Rolling {env} back to {version} failed; no target changed"), Paint::Bad),
            FleetOutcome::RolledBack | FleetOutcome::Inconsistent => (
                format!("Rolling {env} back to {version}{from} failed, and the targets are NOT all on one release"),
                Paint::Bad,
            ),
        }
    } else if let Some(from) = &o.promoted_from {
        match o.outcome {
            FleetOutcome::Succeeded => {
                (format!("Promoted {version} from {from} to {env}: every target runs it"), Paint::Good)
            }
            FleetOutcome::Noop => {
                (format!("{env} already runs {version}, as {from} does: nothing to promote"), Paint::Good)
            }
            FleetOutcome::RolledBack => (
                format!(
                    "Promotion of {version} from {from} to {env} failed; every touched target is back on its previous release"
                ),
                Paint::Bad,
            ),
            FleetOutcome::Inconsistent => (
                format!(
                    "Promotion of {version} from {from} to {env} failed, and the targets are NOT all on one release"
                ),
                Paint::Bad,
            ),
            FleetOutcome::Failed => (
                format!("Promotion of {version} from {from} to {env} failed before any switch; no target changed"),
                Paint::Bad,
            ),
        }
    } else {
        match o.outcome {
            FleetOutcome::Succeeded => (format!("Deployed {version} to {env}: every target runs it"), Paint::Good),
            FleetOutcome::Noop => (format!("{env} is up to date: every target already runs {version}"), Paint::Good),
            FleetOutcome::RolledBack => {
                let to = o.rolled_back_to.as_ref().map_or(String::new(), |c| format!(": {}", describe_current(c)));
                (
                    format!(
                        "Deploy of {version} to {env} failed; every touched target is back on its previous release{to}"
                    ),
                    Paint::Bad,
                )
            }
            FleetOutcome::Inconsistent => {
                (format!("Deploy of {version} to {env} failed, and the targets are NOT all on one release"), Paint::Bad)
            }
            FleetOutcome::Failed => {
                (format!("Deploy of {version} to {env} failed before any switch; no target changed"), Paint::Bad)
            }
        }
    };
    let headline = ui.paint_out(&text, paint);
    let _ = writeln!(s, "{headline}");
    if o.interrupted {
        let _ = writeln!(s, "{}", ui.paint_out("(interrupted by the user)", Paint::Warn));
    }
    if o.outcome == FleetOutcome::Noop {
        return s;
    }
    let width = o.targets.iter().map(|t| t.target.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(s, "  {:width$}  {:12}  {:12}  {:>9}  ERROR", "TARGET", "OUTCOME", "LIVE NOW", "TIME");
    for t in &o.targets {
        let outcome = t.outcome.as_str();
        let paint = match t.outcome {
            TargetOutcome::Succeeded | TargetOutcome::Noop => Paint::Good,
            TargetOutcome::Failed => Paint::Bad,
            _ => Paint::Warn,
        };
        let line = format!(
            "  {:width$}  {}  {:12}  {:>9}  {}",
            t.target,
            ui.paint_out(&format!("{outcome:12}"), paint),
            t.release.as_deref().unwrap_or("-"),
            format!("{} ms", t.duration_ms),
            t.error.as_deref().unwrap_or("")
        );
        let _ = writeln!(s, "{}", line.trim_end());
        if let Some(hint) = &t.hint {
            let _ = writeln!(s, "  {:width$}  hint: {hint}", "");
        }
    }
    s
}

/// Hours for people: "35 min", "20 h", "11.5 h", "3.2 days".
pub fn hours(h: f64) -> String {
    if h < 1.0 {
        format!("{} min", (h * 60.0).round())
    } else if h < 48.0 {
        format!("{} h", decimal(h, 1))
    } else {
        format!("{} days", decimal(h / 24.0, 1))
    }
}

/// A rate as a percentage: "50%", "33.3%".
pub fn percent(rate: f64) -> String {
    format!("{}%", decimal(rate * 100.0, 1))
}

/// `x` with at most `places` decimals, and none that are trailing zeros: "0.5", "2", "0.47".
pub fn decimal(x: f64, places: usize) -> String {
    let text = format!("{x:.places$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// What `ship rollback` will do (or would, with `--dry-run`), one line per target.
pub fn rollback_plan(plan: &crate::rollout::Plan) -> String {
    let mut s = format!("Roll {} back to {} (release {}):\n", plan.env, plan.version, plan.release);
    for t in &plan.targets {
        let now = t
            .current
            .as_ref()
            .map_or("nothing live".to_string(), |c| format!("{} ({})", c.version.as_deref().unwrap_or("?"), c.release));
        let what = match (&t.refused, t.action) {
            (Some(why), _) => format!("left as it is: {why}"),
            (None, crate::rollout::Action::Noop) => "already there".to_string(),
            (None, _) => "switch back".to_string(),
        };
        s.push_str(&format!("  {}: {now} -> {what}\n", t.target));
    }
    s
}

/// `text` with its control characters (escape sequences, carriage returns, bells) shown as
/// `^[`-style marks, so that printing it cannot move the cursor, clear the screen or retitle
/// the terminal. Tabs stay.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(super::printable("plain\ttext"), "plain\ttext");
        assert_eq!(super::printable("a\u{1b}]0;pwned\u{7}b\u{1b}[2Jc\rd"), "a^[]0;pwned^Gb^[[2Jc^Md");
        assert_eq!(super::printable("x\u{9b}y\u{7f}"), "x\\u{9b}y^?");
    }
}
