//! `ship status`'s document: what is live on each target, whether the targets agree, what
//! `--verify` found; and its text, a table with a line per target.

use serde::Serialize;

use crate::ui::{Paint, Ui};

/// What `ship status ENV` prints: every target of the environment, and whether they agree.
#[derive(Serialize)]
pub struct Status {
    pub env: String,
    pub consistent: bool,
    pub targets: Vec<TargetStatus>,
}

/// One target: what is live there, its lock, and what `--verify` found.
#[derive(Serialize)]
pub struct TargetStatus {
    pub target: String,
    /// Its roles in deploy.toml.
    pub roles: Vec<String>,
    pub current: Option<Live>,
    pub locked: bool,
    pub verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The journal's damaged lines (numbered from 1), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal_damaged: Vec<usize>,
    /// Why the target could not be read, if it could not (the others still are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The release live on a target, and who put it there when.
#[derive(Serialize)]
pub struct Live {
    #[serde(flatten)]
    pub at: crate::ids::ReleaseRef,
    pub deployed_at: Option<String>,
    pub deployed_by: Option<String>,
    /// False when a deploy switched to it and was cut off before confirming it healthy:
    /// a rollback (or a new deploy) settles it.
    pub confirmed: bool,
}

/// The table of `ship status`, a line per target (and what is wrong with it below), then
/// whether the targets agree.
pub fn render(ui: &Ui, s: &Status) -> String {
    let header = ["TARGET", "RELEASE", "VERSION", "COMMIT", "DEPLOYED", "BY"];
    let show_roles = crate::ui::render::roles_shown(s.targets.iter().map(|t| t.roles.as_slice()));
    let rows: Vec<[String; 6]> = s
        .targets
        .iter()
        .map(|t| (format!("{}{}", t.target, crate::ui::render::roles_tag(&t.roles, show_roles)), t))
        .map(|(name, t)| match &t.current {
            Some(c) => [
                name,
                c.at.release.to_string(),
                c.at.version.clone().unwrap_or_else(|| "?".into()),
                c.at.commit.as_ref().map_or("?", |c| c.short()).to_string(),
                match (&c.deployed_at, c.confirmed) {
                    (Some(at), true) => at.clone(),
                    _ => "NOT CONFIRMED".to_string(),
                },
                c.deployed_by.clone().unwrap_or_else(|| "-".into()),
            ],
            None if t.error.is_some() => [name, "-".into(), "UNREADABLE".into(), "-".into(), "-".into(), "-".into()],
            None => [name, "-".into(), "nothing live".into(), "-".into(), "-".into(), "-".into()],
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
            out.push_str(&format!("  {}", ui.paint_out("[not confirmed]", Paint::Warn)));
        }
        if t.locked {
            out.push_str(&format!("  {}", ui.paint_out("[locked]", Paint::Warn)));
        }
        match t.verified {
            Some(true) => out.push_str(&format!("  {}", ui.paint_out("verified", Paint::Good))),
            Some(false) => out.push_str(&format!("  {}", ui.paint_out("CHANGED", Paint::Bad))),
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
            out.push_str(&format!("    {}\n", ui.paint_out(e, Paint::Bad)));
        }
        if !t.journal_damaged.is_empty() {
            let lines: Vec<String> = t.journal_damaged.iter().map(usize::to_string).collect();
            out.push_str(&format!(
                "    {}\n",
                ui.paint_out(
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
        out.push_str(&ui.paint_out(
            &format!("{unreadable} target(s) could not be read: what the others run is shown above."),
            Paint::Bad,
        ));
    } else if !s.consistent {
        out.push_str(&ui.paint_out("DRIFT: the targets are not all on one confirmed release.", Paint::Bad));
    } else if changed > 0 {
        out.push_str(&ui.paint_out(
            &format!(
                "The targets agree on one release, but its files changed on {changed} of them: \
                 `ship deploy {} --repair` restores them.",
                s.env
            ),
            Paint::Bad,
        ));
    } else {
        out.push_str(&ui.paint_out("All targets agree.", Paint::Good));
    }
    out
}
