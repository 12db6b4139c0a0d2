//! Putting targets back: one target after a failed switch, and `ship rollback` across a
//! fleet.

use super::*;

/// Put a switched target back on what it ran before this run, run `after_rollback` steps and
/// the health check there.
pub(crate) fn restore_one(cx: &Context<'_>, slot: &mut Slot, head: &ReleaseRef, active: &[usize]) {
    let to = slot.switched_from.clone().flatten();
    cx.reporter.note(Note::RollingBack { target: &slot.name, to: to.as_deref() });
    let result = (|| -> Result<(), TargetError> {
        let err = |e: anyhow::Error| TargetError::of(&e);
        match &to {
            Some(release) => {
                let mut record = cx.base_record(RunKind::Deploy, Event::Restored, None);
                record.release = Some(release.clone());
                record.from = Some(head.release.clone());
                let before = std::mem::take(&mut slot.pending);
                slot.target.switch(release, before, vec![record]).map_err(err)?;
                slot.live = Some(release.clone());
                let restored = restored_head(slot, release);
                let env = cx.rollback_env(slot, &restored, Some(head));
                cx.run_steps(slot, When::AfterRollback, active, release, &env)?;
                cx.health(slot, release, &env)
            }
            None => {
                // What is pending (why this run failed) is journaled before the undoing.
                cx.flush(slot)?;
                let mut record = cx.base_record(RunKind::Deploy, Event::Restored, None);
                record.from = Some(head.release.clone());
                record.message = Some("nothing was live before: current removed".into());
                slot.target.unswitch(vec![record]).map_err(err)?;
                slot.live = None;
                Ok(())
            }
        }
    })();
    match result {
        Ok(()) => {
            slot.outcome = TargetOutcome::RolledBack;
            cx.reporter.note(Note::RolledBack { target: &slot.name, to: to.as_deref() });
        }
        Err(e) => {
            slot.outcome = TargetOutcome::Failed;
            let message = match slot.error.take() {
                Some(first) => format!("{first}; then the rollback failed: {e}"),
                None => format!("rollback failed: {e}"),
            };
            let error = TargetError { message, ..e };
            cx.fail(slot, error);
        }
    }
}

/// What a switched target goes back to: `release`, with what its plan knows of it.
/// An empty value is an unknown one.
pub(crate) fn restored_head(slot: &Slot, release: &str) -> ReleaseRef {
    match slot.plan.restore.as_ref().filter(|c| c.release == release) {
        Some(c) => c.clone().without_blanks(),
        None => ReleaseRef::bare(ReleaseId::new(release)),
    }
}

/// Roll every target of `plan` back to `plan.release` (targets locked, in plan order): switch,
/// run `after_rollback` steps, check health. `plan.targets[i].action` is `Switch` or `Noop`.
pub fn rollback(cx: &Context<'_>, plan: &Plan, targets: Vec<Box<dyn Target>>) -> Outcome {
    let head = head_of(plan);
    let mut slots = slots_for(cx, plan, targets);
    // A target with nothing to go back to is left as it is, and said so.
    let mut refused = false;
    for slot in &mut slots {
        if let Some(why) = slot.plan.refused.clone() {
            slot.outcome = TargetOutcome::Skipped;
            cx.reporter.note(Note::Warning { message: &format!("{}: left as it is: {why}", slot.name) });
            slot.error = Some(TargetError::new(ErrorKind::Refused, why));
            refused = true;
        }
    }
    let active: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].plan.action != Action::Noop).collect();
    if active.is_empty() {
        let outcome = if refused { FleetOutcome::Inconsistent } else { FleetOutcome::Noop };
        return finish(cx, plan, slots, outcome, &head, RunKind::Rollback, None);
    }
    // Where `on = "first"` steps run: among the targets this rollback switches, by index.
    let places: Vec<usize> = active.iter().map(|i| slots[*i].index).collect();
    let places = places.as_slice();
    let work = |slot: &mut Slot| {
        let result = (|| -> Result<(), TargetError> {
            slot.begun = true;
            slot.started = Instant::now();
            let from = slot.plan.current.as_ref().map(|c| c.release.clone());
            // Journaled before the switch, in the same exchange: a rollback cut off right
            // after its switch must not leave a journal whose "previous" is the release just
            // rolled back from.
            let before = vec![
                cx.made(RunKind::Rollback, Event::Begin, &head, |r| r.from = from.clone()),
                cx.made(RunKind::Rollback, Event::Restored, &head, |r| r.from = from.clone()),
            ];
            slot.target.switch(&head.release, before, Vec::new()).map_err(|e| TargetError::of(&e))?;
            slot.live = Some(head.release.clone());
            cx.reporter.note(Note::Switched { target: &slot.name, release: &head.release });
            let env = cx.rollback_env(slot, &head, slot.plan.current.as_ref());
            cx.run_steps(slot, When::AfterRollback, places, &head.release, &env)?;
            cx.health(slot, &head.release, &env)
        })();
        match result {
            Ok(()) => {
                slot.outcome = TargetOutcome::Succeeded;
                cx.reporter.note(Note::Live { target: &slot.name });
            }
            Err(e) => {
                slot.outcome = TargetOutcome::Failed;
                cx.fail(slot, e);
                // Not tied to a release: the release rolled back to is not the one that failed.
                let mut record = cx.base_record(RunKind::Rollback, Event::Failed, None);
                record.message = slot.error.as_ref().map(|e| e.message.clone());
                cx.journal(slot, record);
                let _ = cx.flush(slot);
            }
        }
    };
    in_batches(&mut slots, &active, cx.env.parallel, &work);
    let left = common(active.iter().map(|i| slots[*i].plan.current.clone())).flatten();
    let local_env = local_rollback_env(cx, Some(&head), left.as_ref());
    let mut outcome = FleetOutcome::Succeeded;
    if let Err(e) = cx.run_local_steps(When::AfterRollback, &local_env) {
        cx.reporter.note(Note::Failed { target: "local", error: &e.message, hint: e.hint.as_deref() });
        outcome = FleetOutcome::Inconsistent;
    }
    if refused || active.iter().any(|i| slots[*i].outcome != TargetOutcome::Succeeded) {
        outcome = FleetOutcome::Inconsistent;
    }
    let mut outcome = finish(cx, plan, slots, outcome, &head, RunKind::Rollback, None);
    outcome.rolled_back_from = left;
    outcome
}
