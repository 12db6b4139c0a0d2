//! Executing a plan across a fleet: stage everywhere, switch canaries then batches, check
//! health, and on failure put every touched target back where it was.
//!
//! This layer decides and reports; it never formats text for people. What happens is told
//! to a [`Reporter`] as [`Note`]s, and the result is an [`Outcome`] of plain data.

pub mod plan;
pub mod reach;
pub mod rollback_plan;

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::agent::{Supply, Target};
use crate::artifact::Artifact;
use crate::config::{Config, Environment, On, Step, When};
use crate::error::{ErrorKind, Exit, TargetError};
use crate::ids::{CommitId, ReleaseId, ReleaseRef};
use crate::release::{Event, Record, RunKind, StepRequest};
pub use plan::{Action, ArtifactRef, Plan, PlannedStep, TargetPlan};

mod context;
mod deploy;
mod outcome;
mod rollback;

pub use context::*;
pub use deploy::*;
pub use outcome::*;
pub use rollback::*;

/// Journal the end on every target this run touched (with what is still pending there),
/// prune to `prune` releases where the run went live, release the locks, and sum up. One
/// exchange per target.
pub(crate) fn finish(
    cx: &Context<'_>,
    plan: &Plan,
    mut slots: Vec<Slot>,
    outcome: FleetOutcome,
    head: &ReleaseRef,
    kind: RunKind,
    prune: Option<usize>,
) -> Outcome {
    crate::pool::each(&mut slots, cx.env.workers, &|slot| {
        let end = slot.begun.then(|| {
            // The end names the release live now, with the head's version only when that is
            // what is live: a failed deploy must not lend its identity to the old release.
            let live = slot.live.clone();
            let mut record = cx.base_record(kind, Event::End, (live.as_ref() == Some(&head.release)).then_some(head));
            record.release = live;
            record.outcome = Some(slot.outcome.as_str().to_string());
            record.fleet_outcome = Some(outcome.as_str().to_string());
            record.duration_ms = Some(slot.started.elapsed().as_millis() as u64);
            record.message = slot.error.as_ref().map(|e| e.message.clone());
            record
        });
        let prune = prune.filter(|_| slot.begun);
        let pending = std::mem::take(&mut slot.pending);
        match slot.target.finish(pending, prune, end) {
            Ok((pruning, problems)) => {
                if let Some(removed) = pruning.map(|p| p.removed()).filter(|r| !r.is_empty()) {
                    cx.reporter.note(Note::Pruned { target: &slot.name, releases: &removed });
                }
                for problem in problems {
                    cx.reporter.note(Note::Warning { message: &format!("{}: {problem}", slot.name) });
                }
            }
            // Nothing more can be done there: the lock goes with the connection.
            Err(e) if slot.begun => {
                cx.reporter.note(Note::Warning { message: &format!("{}: could not journal the end: {e:#}", slot.name) })
            }
            Err(_) => {}
        }
        if let Some(upload) = crate::agent::agent_upload(slot.target.spec()) {
            cx.reporter.note(Note::AgentUploaded { target: &slot.name, upload: &upload });
        }
        cx.reporter.note(Note::Exchanges { target: &slot.name, count: slot.target.exchanges() });
        slot.target.close();
    });
    Outcome {
        env: plan.env.clone(),
        outcome,
        version: plan.version.clone(),
        commit: plan.commit.clone(),
        artifact: plan.artifact.clone(),
        interrupted: crate::interrupt::requested(),
        rolled_back_to: None,
        rolled_back_from: None,
        promoted_from: None,
        targets: slots
            .into_iter()
            .map(|s| TargetResult {
                target: s.name,
                outcome: s.outcome,
                release: s.live,
                duration_ms: if s.begun { s.started.elapsed().as_millis() as u64 } else { 0 },
                sent_bytes: s.sent,
                error_kind: s.error.as_ref().map(|e| e.kind),
                hint: s.error.as_ref().and_then(|e| e.hint.clone()),
                error: s.error.map(|e| e.message),
            })
            .collect(),
    }
}

pub(crate) fn slots_for(cx: &Context<'_>, plan: &Plan, targets: Vec<Box<dyn Target>>) -> Vec<Slot> {
    for t in &plan.targets {
        cx.reporter.note(Note::Target { target: &t.target, live: t.current.as_ref().map(|c| c.release.as_str()) });
    }
    targets
        .into_iter()
        .zip(&plan.targets)
        .map(|(target, tp)| Slot {
            name: tp.target.clone(),
            // Plans list the environment's targets in its order.
            index: cx.env.index_of(target.spec()).unwrap_or(usize::MAX),
            target,
            plan: tp.clone(),
            started: Instant::now(),
            begun: false,
            switched_from: None,
            outcome: if tp.action == Action::Noop { TargetOutcome::Noop } else { TargetOutcome::Skipped },
            live: tp.current.as_ref().map(|c| c.release.clone()),
            error: None,
            pending: Vec::new(),
            sent: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_of_outcomes_are_the_json_words() {
        use TargetOutcome::*;
        for o in [Succeeded, Noop, RolledBack, Failed, Skipped] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        use FleetOutcome as F;
        for o in [F::Succeeded, F::Noop, F::RolledBack, F::Inconsistent, F::Failed] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }

    #[test]
    fn common_is_the_one_shared_value() {
        assert_eq!(common([1, 1, 1].into_iter()), Some(1));
        assert_eq!(common([1, 2].into_iter()), None);
        assert_eq!(common(std::iter::empty::<u8>()), None);
    }
}

#[cfg(test)]
mod scheduler_tests;
