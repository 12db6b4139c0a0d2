//! `ship history`: the journals of an environment's targets, merged into one event per
//! deploy or rollback, newest first. `ship metrics` reads the same events ([`events`]).

use std::collections::BTreeMap;

use anyhow::Result;

use super::Ctx;
use crate::agent::Target;
use crate::error::Exit;
use crate::release::{Event, Record};
use crate::ui::report::history::{History, HistoryEvent, TargetEvent};

pub fn run(cx: &Ctx, env_name: &str, limit: usize) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    let mut targets = crate::rollout::reach::connect_all(env, &config)?;
    let mut events: Vec<HistoryEvent> = events(&mut targets, env.workers)?.into_iter().take(limit).collect();
    for target in events.iter_mut().flat_map(|e| e.targets.iter_mut()) {
        let index = env.targets.iter().position(|t| t.to_string() == target.target);
        target.roles = index.map(|i| env.roles_of(i).to_vec()).unwrap_or_default();
    }
    let history = History { env: env.name.clone(), events };
    if cx.ui.json() {
        cx.ui.out_json(&history)?;
    } else {
        cx.ui.out(&crate::ui::report::history::render(&history))?;
    }
    Ok(Exit::Success)
}

/// Every deploy and rollback in the journals of `targets`, one event per run, newest first.
pub(crate) fn events(targets: &mut [Box<dyn Target>], workers: usize) -> Result<Vec<HistoryEvent>> {
    // Every journal read at once (up to `workers`).
    let journals = crate::pool::map(targets, workers, |t| {
        let name = t.spec().to_string();
        t.journal().map_err(|e| e.context(format!("reading the journal of {name}"))).map(|j| (name, j))
    });
    // Each run's records, and its latest position in any target's journal: within one
    // target, journal order is exact, so it breaks ties between runs of the same instant.
    let mut runs: BTreeMap<String, (usize, Vec<(String, Record)>)> = BTreeMap::new();
    for journal in journals {
        let (name, journal) = journal?;
        for (pos, record) in journal.into_iter().enumerate() {
            let run = runs.entry(record.run.clone()).or_default();
            run.0 = run.0.max(pos);
            run.1.push((name.clone(), record));
        }
    }
    let mut events: Vec<(usize, HistoryEvent)> =
        runs.into_values().filter_map(|(pos, records)| merge(records).map(|e| (pos, e))).collect();
    events.sort_by(|(pa, a), (pb, b)| b.at.cmp(&a.at).then(pb.cmp(pa)));
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

/// One run's records from every target, as one event.
fn merge(records: Vec<(String, Record)>) -> Option<HistoryEvent> {
    let (_, begin) = records.iter().find(|(_, r)| r.event == Event::Begin)?;
    let mut event = HistoryEvent {
        at: begin.at.clone(),
        kind: begin.kind,
        version: begin.version.clone(),
        commit: begin.commit.clone(),
        sha256: begin.sha256.clone(),
        user: begin.user.clone(),
        outcome: "interrupted".to_string(),
        duration_ms: None,
        targets: Vec::new(),
        errors: Vec::new(),
        release: begin.release.clone(),
        from: Vec::new(),
        ended_at: begin.at.clone(),
    };
    let mut per_target: BTreeMap<&str, String> = BTreeMap::new();
    // Journal times are RFC 3339 in one format: their text sorts as they do.
    let (mut last, mut last_end): (&str, Option<&str>) = (&begin.at, None);
    for (target, r) in &records {
        last = last.max(r.at.as_str());
        if r.event == Event::Begin {
            per_target.entry(target).or_insert_with(|| "interrupted".to_string());
            if !event.from.contains(&r.from) {
                event.from.push(r.from.clone());
            }
        }
        if r.event == Event::End {
            last_end = last_end.max(Some(r.at.as_str()));
            per_target.insert(target, r.outcome.clone().unwrap_or_else(|| "unknown".into()));
            if let Some(fleet) = &r.fleet_outcome {
                event.outcome = fleet.clone();
            }
            event.duration_ms = event.duration_ms.max(r.duration_ms);
            if let Some(m) = &r.message {
                event.errors.push(format!("{target}: {m}"));
            }
        }
    }
    event.ended_at = last_end.unwrap_or(last).to_string();
    event.targets = per_target
        .into_iter()
        .map(|(t, o)| TargetEvent { target: t.to_string(), roles: Vec::new(), outcome: o })
        .collect();
    Some(event)
}
