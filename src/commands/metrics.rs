//! `ship metrics ENV`: DORA's four keys for an environment and their bands (computed in
//! [`crate::metrics`]) from its targets' journals and git; a table, one JSON document, and
//! with `--html FILE` a self-contained dashboard page too.

use anyhow::{Context, Result};

use super::Ctx;
use crate::cli::MetricsArgs;
use crate::error::Exit;
use crate::metrics::{self, Run};
use crate::release::RunKind;
use crate::ui::report::history::HistoryEvent;
use crate::version::Repo;

pub fn run(cx: &Ctx, args: &MetricsArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let repo = Repo::discover(&config.dir)?;
    let mut targets = crate::rollout::reach::connect_all(env, &config)?;
    cx.ui.status(&format!("Reading the journals of {} target(s) of {}", targets.len(), env.name));
    // history gives newest first; a run whose times do not parse cannot be placed, and is left out.
    let mut runs: Vec<Run> =
        super::history::events(&mut targets, env.workers)?.into_iter().rev().filter_map(run_of).collect();
    // A deploy or rollback under way has no end yet: it is not a failure, and waits for its end.
    let busy = crate::rollout::reach::read_states(&mut targets, env.workers)?.into_iter().any(|s| {
        s.locked
            && s.holder
                .as_ref()
                .is_none_or(|h| ["ship deploy", "ship rollback"].iter().any(|c| h.command.starts_with(c)))
    });
    if busy && runs.last().is_some_and(|r| r.outcome == "interrupted") {
        runs.pop();
        cx.ui.status("A deploy or rollback is under way: it is left out until it ends");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    // A window longer than the epoch is old starts in 1970.
    let start = now.saturating_sub(i64::try_from(args.since.0.as_secs()).unwrap_or(i64::MAX)).max(0);
    let brought = |to: &str, from: &[String]| repo.brought(to, from);
    let since = crate::ui::report::metrics::span_text(args.since.0);
    let report = metrics::compute(&env.name, &config.app, &since, (start, now), &runs, &brought);
    if let Some(file) = &args.html {
        let page = crate::ui::dashboard::page(&report, &crate::clock::now_rfc3339());
        save(&cx.cwd.join(file), file, &page)?;
        cx.ui.status(&format!("Wrote the dashboard of {} to {}", env.name, file.display()));
    }
    if cx.ui.json() {
        cx.ui.out_json(&report)?;
    } else {
        cx.ui.out(&crate::ui::report::metrics::render(&cx.ui, &report))?;
    }
    Ok(Exit::Success)
}

/// A merged journal event as the metrics read it; `None` when its times do not parse, or it
/// is not a deploy or a rollback.
fn run_of(e: HistoryEvent) -> Option<Run> {
    if e.kind == RunKind::Unlock {
        return None;
    }
    Some(Run {
        kind: e.kind,
        began: metrics::parse_time(&e.at)?,
        ended: metrics::parse_time(&e.ended_at)?,
        began_at: e.at,
        ended_at: e.ended_at,
        outcome: e.outcome,
        release: e.release,
        from: e.from,
        version: e.version,
        commit: e.commit,
        user: e.user,
        targets: e.targets.into_iter().map(|t| (t.target, t.outcome)).collect(),
    })
}

/// Write the page to `path` (`shown` as the person gave it) atomically: a temporary file
/// beside it, renamed into place, readable by all as a web server needs.
fn save(path: &std::path::Path, shown: &std::path::Path, page: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let what = || format!("writing the dashboard to {}", shown.display());
    let dir = path.parent().unwrap_or(std::path::Path::new("/"));
    if !dir.is_dir() {
        return Err(anyhow::anyhow!("no such directory").context(what()));
    }
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| anyhow::anyhow!("{}", e.kind())).with_context(what)?;
    std::io::Write::write_all(&mut tmp, page.as_bytes()).with_context(what)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).with_context(what)?;
    tmp.persist(path).map_err(|e| e.error).with_context(what)?;
    Ok(())
}
