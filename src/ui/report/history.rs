//! `ship history`'s document: an environment's deploys and rollbacks, newest first, one
//! event per run merged across its targets; and its text, a line per event.

use serde::Serialize;

use crate::release::RunKind;

/// What `ship history ENV` prints.
#[derive(Serialize)]
pub struct History {
    pub env: String,
    pub events: Vec<HistoryEvent>,
}

/// One deploy or rollback, merged across the targets it touched (by
/// `commands::history::events`). The fields not written (`release`, `from`, `ended_at`)
/// are for `ship metrics`, which reads the same events.
#[derive(Serialize)]
pub struct HistoryEvent {
    /// When it began, as a `begin` record says.
    pub at: String,
    pub kind: RunKind,
    pub version: Option<String>,
    pub commit: Option<crate::ids::CommitId>,
    pub sha256: Option<crate::ids::Sha256>,
    pub user: Option<String>,
    /// The fleet's outcome; `interrupted` when no target journaled an end.
    pub outcome: String,
    pub duration_ms: Option<u64>,
    pub targets: Vec<TargetEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The release it deployed or rolled back to.
    #[serde(skip)]
    pub release: Option<crate::ids::ReleaseId>,
    /// What its targets ran when it began: each release once, `None` for a target that had
    /// nothing live.
    #[serde(skip)]
    pub from: Vec<Option<crate::ids::ReleaseId>>,
    /// When it ended: the latest `end` record's time, else the latest record's.
    #[serde(skip)]
    pub ended_at: String,
}

/// What one run came to on one target.
#[derive(Serialize)]
pub struct TargetEvent {
    pub target: String,
    /// Its roles in deploy.toml now (none for a target no longer there).
    pub roles: Vec<String>,
    pub outcome: String,
}

/// A line per event (and below it, each target that did not succeed and each error); or
/// a sentence when nothing was deployed yet. No colours, so no `Ui`.
pub fn render(h: &History) -> String {
    if h.events.is_empty() {
        return format!("No deploys to {} yet.", h.env);
    }
    let mut out = String::new();
    for e in &h.events {
        let kind = match e.kind {
            RunKind::Deploy => "deploy",
            RunKind::Rollback => "rollback",
            RunKind::Unlock => "unlock",
        };
        // "v1.2.0 (abc1234)", or the commit alone when it has no tag.
        let version = match (e.version.as_deref(), e.commit.as_ref()) {
            (Some(v), Some(c)) => crate::ui::render::label(v, c),
            (Some(v), None) => v.to_string(),
            (None, Some(c)) => c.short().to_string(),
            (None, None) => "?".to_string(),
        };
        out.push_str(&format!(
            "{}  {kind:8}  {version:30}  {:12}  by {}  ({} target(s), {} ms)\n",
            e.at,
            e.outcome,
            e.user.as_deref().unwrap_or("?"),
            e.targets.len(),
            e.duration_ms.unwrap_or(0)
        ));
        let show_roles = crate::ui::render::roles_shown(e.targets.iter().map(|t| t.roles.as_slice()));
        for t in e.targets.iter().filter(|t| t.outcome != "succeeded") {
            let roles = crate::ui::render::roles_tag(&t.roles, show_roles);
            out.push_str(&format!("    {}{roles}: {}\n", t.target, t.outcome));
        }
        for err in &e.errors {
            out.push_str(&format!("    {err}\n"));
        }
    }
    out
}
