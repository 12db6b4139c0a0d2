//! A deploy across a fleet: stage every target (a pool), switch canaries then `parallel` at
//! a time, and past `max_failures` roll back what this run switched.

use super::*;

/// Run `work` on every slot of `indices`, `width` at a time.
pub(crate) fn in_batches(slots: &mut [Slot], indices: &[usize], width: usize, work: &(dyn Fn(&mut Slot) + Sync)) {
    let mut picked: Vec<&mut Slot> =
        slots.iter_mut().enumerate().filter(|(i, _)| indices.contains(i)).map(|(_, s)| s).collect();
    for batch in picked.chunks_mut(width.max(1)) {
        if batch.len() == 1 {
            work(batch[0]);
            continue;
        }
        std::thread::scope(|scope| {
            for slot in batch.iter_mut() {
                scope.spawn(|| work(slot));
            }
        });
    }
}

/// `work` on the slots at `indices`, at most `workers` at a time, each worker taking the
/// next slot as soon as it is free.
pub(crate) fn in_pool(slots: &mut [Slot], indices: &[usize], workers: usize, work: &(dyn Fn(&mut Slot) + Sync)) {
    let mut picked: Vec<&mut Slot> =
        slots.iter_mut().enumerate().filter(|(i, _)| indices.contains(i)).map(|(_, s)| s).collect();
    crate::pool::each(&mut picked, workers, &|slot| work(slot));
}

/// Deploy `plan` to `targets` (locked, in plan order).
pub fn deploy(cx: &Context<'_>, plan: &Plan, artifact: &Artifact, targets: Vec<Box<dyn Target>>) -> Outcome {
    let head = head_of(plan);
    let mut slots = slots_for(cx, plan, targets);
    let active: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].plan.action != Action::Noop).collect();
    if active.is_empty() {
        return finish(cx, plan, slots, FleetOutcome::Noop, &head, RunKind::Deploy, None);
    }
    let first = active[0];
    // Where `on = "first"` steps run: among the targets this run changes, by index.
    let places: Vec<usize> = active.iter().map(|i| slots[*i].index).collect();
    let places = places.as_slice();
    let local_env = local_env(cx, &head);

    // 1. Stage everywhere before the first switch.
    let stage = |slot: &mut Slot| {
        if cx.staging_stopped() {
            return; // another target failed, or the user asked to stop: stage no more
        }
        match stage_one(cx, slot, &head, artifact, places) {
            Ok(()) => {}
            // Stopped between steps because of another target: not a failure of its own.
            Err(e) if e.message == STOPPED => {}
            Err(e) => {
                cx.stopping.store(true, Ordering::SeqCst);
                cx.fail(slot, e);
                let message = slot.error.as_ref().map(|e| e.message.clone());
                cx.journal(slot, cx.made(RunKind::Deploy, Event::Failed, &head, |r| r.message = message));
                // At once (a failure costs an exchange): the next plan shows it even if
                // ship dies before the end.
                let _ = cx.flush(slot);
            }
        }
    };
    // Every target at once (up to `workers`), whatever `parallel` says: staging changes
    // nothing live, and a slow target holds up no other. A repair is the exception: it
    // rebuilds the live release in place, so it goes `parallel` at a time, as switches do.
    let repairs = active.iter().any(|i| slots[*i].plan.action == Action::Repair);
    in_pool(&mut slots, &active, if repairs { cx.env.parallel } else { cx.env.workers }, &stage);
    if crate::interrupt::requested() {
        slots[first]
            .error
            .get_or_insert_with(|| TargetError::new(ErrorKind::Interrupted, "interrupted before any switch"));
    }
    let mut failed = active.iter().any(|i| slots[*i].error.is_some());
    if !failed && let Err(e) = cx.run_local_steps(When::BeforeSwitch, &local_env) {
        cx.reporter.note(Note::Failed { target: "local", error: &e.message, hint: e.hint.as_deref() });
        slots[first].error = Some(e);
        failed = true;
    }
    if failed {
        // Nothing was switched: every target still runs what it ran before.
        for i in &active {
            if slots[*i].error.is_some() {
                slots[*i].outcome = TargetOutcome::Failed;
            }
        }
        return finish(cx, plan, slots, FleetOutcome::Failed, &head, RunKind::Deploy, None);
    }

    // 2. Switch: canaries alone, then `parallel` at a time; stop past max_failures.
    let mut order: Vec<Vec<usize>> = Vec::new();
    for i in active.iter().filter(|i| slots[**i].plan.canary) {
        order.push(vec![*i]);
    }
    let rest: Vec<usize> = active.iter().copied().filter(|i| !slots[*i].plan.canary).collect();
    for chunk in rest.chunks(cx.env.parallel.max(1)) {
        order.push(chunk.to_vec());
    }
    let failures = Mutex::new(0usize);
    let mut stopped = false;
    let switch = |slot: &mut Slot| {
        if let Err(e) = switch_one(cx, slot, &head, places) {
            cx.fail(slot, e);
            let message = slot.error.as_ref().map(|e| e.message.clone());
            cx.journal(slot, cx.made(RunKind::Deploy, Event::Failed, &head, |r| r.message = message));
            let mut count = failures.lock().unwrap_or_else(|p| p.into_inner());
            *count += 1;
            if slot.switched_from.is_none() {
                // It failed before its switch: it still runs what it ran, and counts as failed.
                slot.outcome = TargetOutcome::Failed;
            } else if *count <= cx.env.max_failures {
                // Tolerated: this target alone goes back to what it ran.
                restore_one(cx, slot, &head, places);
            }
        }
    };
    for group in &order {
        if crate::interrupt::requested() {
            stopped = true;
            cx.reporter.note(Note::Warning {
                message: "interrupted: switching no more targets, rolling back what this deploy switched",
            });
            break;
        }
        in_batches(&mut slots, group, group.len(), &switch);
        if *failures.lock().unwrap_or_else(|p| p.into_inner()) > cx.env.max_failures {
            stopped = true;
            break;
        }
    }

    // A local after_switch step that fails fails the deploy like any after_switch step.
    if !stopped
        && active.iter().all(|i| slots[*i].outcome == TargetOutcome::Succeeded)
        && let Err(e) = cx.run_local_steps(When::AfterSwitch, &local_env)
    {
        cx.reporter.note(Note::Failed { target: "local", error: &e.message, hint: e.hint.as_deref() });
        slots[first].error.get_or_insert(e);
        stopped = true;
    }
    let mut restored = None;
    let outcome = if stopped {
        // 3. The rollout failed: every target this run switched goes back, in parallel.
        let switched: Vec<usize> = active
            .iter()
            .copied()
            .filter(|i| slots[*i].switched_from.is_some() && slots[*i].outcome != TargetOutcome::RolledBack)
            .collect();
        let restore = |slot: &mut Slot| {
            restore_one(cx, slot, &head, places);
        };
        in_batches(&mut slots, &switched, switched.len().max(1), &restore);
        let went_back = slots.iter().filter_map(|s| s.switched_from.as_ref().map(|to| (s, to.clone())));
        restored = common(went_back.map(|(s, to)| to.map(|r| restored_head(s, &r)))).flatten();
        let rollback_env = local_rollback_env(cx, restored.as_ref(), Some(&head));
        if let Err(e) = cx.run_local_steps(When::AfterRollback, &rollback_env) {
            cx.reporter.note(Note::Failed { target: "local", error: &e.message, hint: e.hint.as_deref() });
        }
        // Every target is back where it was: never switched, or switched back successfully.
        let back = |s: &Slot| s.switched_from.is_none() || s.outcome == TargetOutcome::RolledBack;
        if active.iter().all(|i| back(&slots[*i])) { FleetOutcome::RolledBack } else { FleetOutcome::Inconsistent }
    } else if active.iter().all(|i| slots[*i].outcome == TargetOutcome::Succeeded) {
        FleetOutcome::Succeeded
    } else {
        // Failures within max_failures: those targets went back, the others moved on.
        FleetOutcome::Inconsistent
    };

    // A deploy that went live everywhere prunes as it finishes (in the same exchange).
    let prune = (outcome == FleetOutcome::Succeeded).then_some(cx.config.release.keep);
    let mut outcome = finish(cx, plan, slots, outcome, &head, RunKind::Deploy, prune);
    outcome.rolled_back_to = restored;
    outcome
}

/// Stage `head` on one target: the artifact, the release, the `before_switch` steps. Without
/// steps, that is one exchange with the target, journal records included.
pub(crate) fn stage_one(
    cx: &Context<'_>,
    slot: &mut Slot,
    head: &ReleaseRef,
    artifact: &Artifact,
    active: &[usize],
) -> Result<(), TargetError> {
    slot.begun = true;
    slot.started = Instant::now();
    let from = slot.plan.current.as_ref().map(|c| c.release.clone());
    let skipped = cx.gate_skipped.clone();
    let promoted_from = cx.promoted_from.clone();
    cx.journal(
        slot,
        cx.made(RunKind::Deploy, Event::Begin, head, |r| {
            r.from = from;
            r.message = skipped;
            r.promoted_from = promoted_from;
        }),
    );
    let err = |e: anyhow::Error| TargetError::of(&e);
    let steps = !cx.steps_here(When::BeforeSwitch, slot.index, active).is_empty();
    let staged = || cx.made(RunKind::Deploy, Event::Staged, head, |_| {});
    let layout = &cx.config.release;
    let release = if slot.plan.action == Action::Repair {
        // The live release's files changed: rebuilt from the artifact (sent again, so it is
        // the very bytes) and exchanged with the changed tree in one step.
        let supply = cx.supply(slot, artifact, true)?;
        let changed = slot.plan.changed.join(", ");
        let mut after = vec![cx.made(RunKind::Deploy, Event::Repaired, head, |r| {
            r.message = Some(format!("rebuilt from the artifact; changed were: {changed}"));
        })];
        after.extend((!steps).then(staged));
        let before = std::mem::take(&mut slot.pending);
        slot.target.repair(head.sha256_str(), layout, supply, before, after).map_err(err)?;
        cx.reporter.note(Note::Repaired { target: &slot.name, release: &head.release });
        head.release.clone()
    } else {
        // The state was read under this run's lock: a release or artifact it lists is there.
        let needed = slot.plan.action == Action::Deploy && !slot.plan.has_artifact;
        let supply = if needed { cx.supply(slot, artifact, false)? } else { Supply::Here };
        let after = (!steps).then(staged).into_iter().collect();
        let before = std::mem::take(&mut slot.pending);
        let (release, reused) = slot.target.stage(head.sha256_str(), layout, supply, before, after).map_err(err)?;
        cx.reporter.note(Note::Staged { target: &slot.name, release: &release, reused });
        ReleaseId::from(release)
    };
    if steps {
        let previous = slot.plan.current.as_ref().map(|c| c.release.clone());
        let env = cx.step_env(slot, head, &release, previous.as_deref());
        cx.run_steps(slot, When::BeforeSwitch, active, &release, &env)?;
        // Journaled with the switch (or the end, if staging stops elsewhere).
        cx.journal(slot, staged());
    }
    Ok(())
}

/// Switch one target to `head`, run the `after_switch` steps and the health check. Without
/// either, that is one exchange, and the target is journaled live with its switch.
pub(crate) fn switch_one(
    cx: &Context<'_>,
    slot: &mut Slot,
    head: &ReleaseRef,
    active: &[usize],
) -> Result<(), TargetError> {
    // Counted as switched before the call: a switch that happened but whose answer was lost
    // (a dropped connection) must still be rolled back.
    slot.switched_from = Some(slot.plan.rollback_to.clone());
    // What `current` points at now: the state was read under this run's lock.
    let previous = slot.plan.current.as_ref().map(|c| c.release.clone());
    let checks = cx.checks_after_switch(slot.index, active);
    let live = || cx.made(RunKind::Deploy, Event::Live, head, |_| {});
    let mut after = vec![cx.made(RunKind::Deploy, Event::Switched, head, |r| r.from = previous.clone())];
    after.extend((!checks).then(live));
    let before = std::mem::take(&mut slot.pending);
    slot.target.switch(&head.release, before, after).map_err(|e| TargetError::of(&e))?;
    slot.live = Some(head.release.clone());
    cx.reporter.note(Note::Switched { target: &slot.name, release: &head.release });
    if checks {
        let previous = previous.filter(|b| *b != head.release);
        let env = cx.step_env(slot, head, &head.release, previous.as_deref());
        cx.run_steps(slot, When::AfterSwitch, active, &head.release, &env)?;
        cx.health(slot, &head.release, &env)?;
        // Journaled at once: a target confirmed live must say so even if ship dies next.
        cx.journal(slot, live());
        cx.flush(slot)?;
    }
    cx.reporter.note(Note::Live { target: &slot.name });
    slot.outcome = TargetOutcome::Succeeded;
    Ok(())
}
