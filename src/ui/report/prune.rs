//! `ship prune`'s document: per target, what was (or with `--dry-run` would be) removed
//! and what stays, and why; and its text, a line per release and file, then a summary.

use serde::Serialize;

use crate::release::prune::{Pruning, Why};
use crate::ui::{Paint, Ui};

/// What `ship prune ENV` prints.
#[derive(Serialize)]
pub struct Report {
    pub env: String,
    pub dry_run: bool,
    pub keep: usize,
    /// What all targets' removals take (or would take).
    pub bytes: u64,
    pub targets: Vec<TargetReport>,
}

/// One target: what prune did or would do there (`pruning`), or why it could not.
#[derive(Serialize)]
pub struct TargetReport {
    pub target: String,
    #[serde(flatten)]
    pub pruning: Option<Pruning>,
    /// Why this target was not pruned, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a release stays or goes, in words (`failed_at`: when it failed, if it did).
fn why(why: Why, keep: usize, failed_at: Option<&str>) -> String {
    let failed = failed_at.unwrap_or("at an unknown time");
    match why {
        Why::Live => "live".into(),
        Why::Previous => "previous: a rollback goes here".into(),
        Why::Keep => format!("among the newest {keep} that went live"),
        Why::RecentFailure => format!("failed {failed}: kept a day as evidence"),
        Why::Unknown => "not judged (the journal does not know it, or is damaged): kept".into(),
        Why::RolledBack => "went live, then a rollback left it".into(),
        Why::BeyondKeep => format!("older than the newest {keep} that went live"),
        Why::Failed => format!("failed {failed}, over a day ago"),
        Why::NeverLive => "never went live (staged, or cut off before it was confirmed)".into(),
    }
}

/// A file's path as a person reads it: an artifact by the start of its sha256.
fn short(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    match name.strip_suffix(".tar.zst") {
        Some(sha) if sha.len() == 64 => format!("{}…", crate::ui::render::prefix(sha, 12)),
        _ => match name.strip_prefix("ship-") {
            Some(sha) if sha.len() == 64 => format!("ship-{}…", crate::ui::render::prefix(sha, 12)),
            _ => file.to_string(),
        },
    }
}

/// `n thing(s)`, in words.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Each target's releases and files, removed or kept and why, then what it came to.
pub fn render(ui: &Ui, r: &Report) -> String {
    let size = |b: u64| indicatif::HumanBytes(b).to_string();
    // Words as wide as each other, so that the columns line up.
    let (removed, kept) = if r.dry_run { ("remove", "keep  ") } else { ("removed", "kept   ") };
    let mut out = String::new();
    let (mut releases, mut artifacts, mut agents, mut contents) = (0, 0, 0, 0);
    for t in &r.targets {
        out.push_str(&ui.paint_out(&t.target, Paint::Bold));
        out.push('\n');
        let Some(p) = &t.pruning else {
            let error = t.error.as_deref().unwrap_or("not pruned");
            out.push_str(&format!("  {}\n", ui.paint_out(&format!("not pruned: {error}"), Paint::Bad)));
            continue;
        };
        if let Some(holder) = &p.holder {
            out.push_str(&format!(
                "  {}\n",
                ui.paint_out(&format!("locked by {holder}: pruning now would exit 3"), Paint::Warn)
            ));
        }
        let width = p.releases.iter().map(|v| v.version.as_deref().unwrap_or("?").chars().count()).max().unwrap_or(0);
        for v in &p.releases {
            let (word, paint) = match (v.why.removes(), &v.error) {
                (true, None) => (removed, Paint::Bad),
                (true, Some(_)) => ("FAILED", Paint::Bad),
                (false, _) => (kept, Paint::Good),
            };
            let version = v.version.as_deref().unwrap_or("?");
            let mut line = format!(
                "  {} {}  {version:width$}  {}",
                ui.paint_out(word, paint),
                v.release,
                why(v.why, r.keep, v.failed_at.as_deref())
            );
            if let Some(bytes) = v.bytes {
                line.push_str(&format!("  ({})", size(bytes)));
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if let Some(error) = &v.error {
                out.push_str(&format!("         {}\n", ui.paint_out(error, Paint::Bad)));
            }
        }
        if p.releases.is_empty() {
            out.push_str("  nothing deployed here\n");
        }
        for (kind, files) in [("artifact", &p.artifacts), ("uploaded ship", &p.agents)] {
            for f in files {
                let word = ui.paint_out(removed, Paint::Bad);
                out.push_str(&format!("  {word} {kind} {}  ({})\n", short(&f.file), size(f.bytes)));
            }
        }
        if p.objects.count > 0 {
            let word = ui.paint_out(removed, Paint::Bad);
            let what = count(p.objects.count, "file content", "file contents");
            // Their space is counted with the releases removed above, but for contents that
            // no release used any more (a staging cut off).
            let more = if p.objects.bytes > 0 { format!("  ({})", size(p.objects.bytes)) } else { String::new() };
            out.push_str(&format!("  {word} {what} no kept release uses{more}\n"));
        }
        contents += p.objects.count;
        releases += p.releases.iter().filter(|v| v.why.removes() && v.error.is_none()).count();
        artifacts += p.artifacts.len();
        agents += p.agents.len();
    }
    let parts: Vec<String> = [
        (releases, "release", "releases"),
        (artifacts, "artifact", "artifacts"),
        (agents, "uploaded ship", "uploaded ships"),
        (contents, "file content", "file contents"),
    ]
    .into_iter()
    .filter(|(n, ..)| *n > 0)
    .map(|(n, one, many)| count(n, one, many))
    .collect();
    let what = match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let on = count(r.targets.len(), "target", "targets");
    let failed = r
        .targets
        .iter()
        .filter(|t| t.error.is_some() || t.pruning.as_ref().is_some_and(|p| !p.errors().is_empty()))
        .count();
    let pruned = if failed == 0 { on.clone() } else { format!("{} of {on}", r.targets.len() - failed) };
    let summary = if parts.is_empty() {
        format!("Nothing to prune in {} ({pruned}, keep = {}).", r.env, r.keep)
    } else if r.dry_run {
        format!(
            "Would remove {what} from {} ({pruned}), freeing {}; nothing was removed (--dry-run).",
            r.env,
            size(r.bytes)
        )
    } else {
        format!("Pruned {} ({pruned}): removed {what}, freeing {}.", r.env, size(r.bytes))
    };
    out.push_str(&summary);
    if failed > 0 {
        out.push('\n');
        out.push_str(&ui.paint_out(
            &format!(
                "{} could not be pruned, or not wholly: pruning again is safe once the cause is fixed.",
                count(failed, "target", "targets")
            ),
            Paint::Bad,
        ));
    }
    out
}
