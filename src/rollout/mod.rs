//! Executing a plan across a fleet: stage everywhere, switch canaries then batches, check
//! health, and on failure put every touched target back where it was.
//!
//! This layer decides and reports; it never formats text for people. What happens is told
//! to a [`Reporter`] as [`Note`]s, and the result is an [`Outcome`] of plain data.

pub mod plan;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;
use crate::config::{Config, Environment, On, Step, When};
use crate::error::Exit;
use crate::release::{Event, Record, RunKind, StepRequest};
use crate::target::Target;
pub use plan::{Action, ArtifactRef, Current, Plan, PlannedStep, TargetPlan};

/// Something worth telling the person or log watching a rollout.
#[derive(Debug, Clone)]
pub enum Note<'a> {
    /// A target of this run, before anything is done to it: what it runs.
    Target {
        target: &'a str,
        live: Option<&'a str>,
    },
    /// The target fetches the artifact from the shared store itself (pull mode).
    Fetching {
        target: &'a str,
    },
    Sending {
        target: &'a str,
    },
    /// The live release's changed files were rebuilt from the artifact.
    Repaired {
        target: &'a str,
        release: &'a str,
    },
    Staged {
        target: &'a str,
        release: &'a str,
        reused: bool,
    },
    StepStarted {
        target: &'a str,
        step: &'a str,
    },
    StepSkipped {
        target: &'a str,
        step: &'a str,
    },
    StepDone {
        target: &'a str,
        step: &'a str,
        ms: u64,
    },
    Output {
        target: &'a str,
        step: &'a str,
        line: &'a str,
    },
    Switched {
        target: &'a str,
        release: &'a str,
    },
    Healthy {
        target: &'a str,
    },
    /// The target runs the new release, confirmed (its health check passed, if it has one).
    Live {
        target: &'a str,
    },
    Failed {
        target: &'a str,
        error: &'a str,
    },
    RollingBack {
        target: &'a str,
        to: Option<&'a str>,
    },
    RolledBack {
        target: &'a str,
        to: Option<&'a str>,
    },
    Pruned {
        target: &'a str,
        releases: &'a [String],
    },
    Warning {
        message: &'a str,
    },
}

pub trait Reporter: Sync {
    fn note(&self, note: Note<'_>);
}

/// How one target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetOutcome {
    /// It runs the new release, healthy.
    Succeeded,
    /// It already ran it; nothing was done.
    Noop,
    /// It failed or was rolled back with the fleet, and runs its previous release again.
    RolledBack,
    /// It failed: `error` says why, `release` what it runs now (its old release when it
    /// failed before its switch; whatever was left when going back failed too).
    Failed,
    /// The rollout stopped before reaching it; it was not touched.
    Skipped,
}

/// How the whole deploy or rollback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetOutcome {
    Succeeded,
    Noop,
    /// Failed, and every touched target is back on its previous release.
    RolledBack,
    /// Failed, and the targets are not all on one version: see each target.
    Inconsistent,
    /// Failed before any switch: no target changed what is live.
    Failed,
}

impl FleetOutcome {
    pub fn exit(self) -> Exit {
        match self {
            FleetOutcome::Succeeded | FleetOutcome::Noop => Exit::Success,
            FleetOutcome::RolledBack => Exit::RolledBack,
            FleetOutcome::Inconsistent => Exit::Inconsistent,
            FleetOutcome::Failed => Exit::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FleetOutcome::Succeeded => "succeeded",
            FleetOutcome::Noop => "noop",
            FleetOutcome::RolledBack => "rolled_back",
            FleetOutcome::Inconsistent => "inconsistent",
            FleetOutcome::Failed => "failed",
        }
    }
}

impl TargetOutcome {
    /// The word for it, in text as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetOutcome::Succeeded => "succeeded",
            TargetOutcome::Noop => "noop",
            TargetOutcome::RolledBack => "rolled_back",
            TargetOutcome::Failed => "failed",
            TargetOutcome::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetResult {
    pub target: String,
    pub outcome: TargetOutcome,
    /// The release live on the target now.
    pub release: Option<String>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of a deploy or rollback: the JSON document the README describes ("JSON").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub env: String,
    pub outcome: FleetOutcome,
    pub version: String,
    pub commit: String,
    pub artifact: ArtifactRef,
    pub targets: Vec<TargetResult>,
    /// The user stopped the run (Ctrl-C or SIGTERM) before it finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A deploy that was rolled back: the release every switched target went back to (absent
    /// when they went back to different releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<Current>,
    /// A rollback: the release the targets it switched ran before (absent when they differed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<Current>,
    /// `ship promote`: the environment whose live artifact this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}

/// Everything a rollout needs besides the targets themselves.
pub struct Context<'a> {
    pub config: &'a Config,
    pub env: &'a Environment,
    /// One id for this whole run, the same in every target's journal.
    pub run: String,
    pub user: String,
    /// Secret names and values: passed to steps, and blanked out of what they print.
    pub secrets: Vec<(String, String)>,
    /// Blanks the secrets' values (and each line of a multi-line one) out of what is shown.
    pub redactor: crate::redact::Redactor,
    /// Set when `--ignore-requires` skipped the environment's gate: why, for the journal.
    pub gate_skipped: Option<String>,
    /// `ship promote FROM TO`: FROM, recorded in the journal's `begin` record.
    pub promoted_from: Option<String>,
    /// Pull mode: the shared store each target fetches the artifact from itself, by a URL
    /// presigned for it when it is its turn (so a long rollout never outlives one URL).
    pub pull: Option<&'a crate::artifact::remote::Shared>,
    pub reporter: &'a dyn Reporter,
    /// The HTTP client for health checks, made on first use.
    pub http: std::sync::OnceLock<Result<crate::http::Http, String>>,
}

/// One target during a rollout.
struct Slot {
    target: Box<dyn Target>,
    name: String,
    plan: TargetPlan,
    started: Instant,
    begun: bool,
    /// `Some(before)` once switched: what `current` pointed at before this run switched it.
    switched_from: Option<Option<String>>,
    outcome: TargetOutcome,
    live: Option<String>,
    error: Option<String>,
}

impl Context<'_> {
    /// Get the artifact onto the target: sent from here, or in pull mode fetched by the
    /// target from the shared store. Either way the target checks its sha256.
    fn put_artifact(&self, slot: &mut Slot, artifact: &Artifact) -> anyhow::Result<()> {
        match self.pull {
            Some(store) => {
                self.reporter.note(Note::Fetching { target: &slot.name });
                let url = store.presigned(&artifact.sha256)?;
                slot.target.fetch_artifact(&url, &artifact.sha256)
            }
            None => {
                self.reporter.note(Note::Sending { target: &slot.name });
                slot.target.send_artifact(artifact)
            }
        }
    }

    fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// The environment of a step in `release` on this slot's target, about `subject`.
    fn step_env(&self, slot: &Slot, subject: &Head, release: &str, previous: Option<&str>) -> Vec<(String, String)> {
        let about = plan::Subject { version: &subject.version, commit: &subject.commit, sha256: &subject.sha256 };
        step_env(self.config, self.env, slot.target.spec(), &about, release, previous, &self.secrets)
    }

    /// The environment of an `after_rollback` step or health check: the release being
    /// restored is the subject (`SHIP_VERSION`, `SHIP_RELEASE_DIR`, ...), and the release
    /// left behind is `SHIP_ROLLED_BACK_FROM_*` and `SHIP_PREVIOUS_RELEASE_DIR`.
    fn rollback_env(&self, slot: &Slot, restored: &Head, from: Option<&Head>) -> Vec<(String, String)> {
        let mut vars = self.step_env(slot, restored, &restored.release, from.map(|f| f.release.as_str()));
        let dir = from.map(|f| slot.target.spec().path().join("releases").join(&f.release).display().to_string());
        vars.extend(rolled_back_from(from, dir));
        vars
    }

    /// Run one step on a target; `Err` says what failed.
    fn run_step(&self, slot: &mut Slot, step: &Step, release: &str, env: &[(String, String)]) -> Result<(), String> {
        let (target, name) = (slot.name.clone(), step.name.as_str());
        self.reporter.note(Note::StepStarted { target: &target, step: name });
        let request = StepRequest {
            name: step.name.clone(),
            run: step.run.clone(),
            unless: step.unless.clone(),
            release: release.to_string(),
            env: env.to_vec(),
            timeout_ms: step.timeout.map(|t| t.as_millis() as u64),
        };
        let mut on_line = |line: &str| {
            let line = self.redact(line);
            self.reporter.note(Note::Output { target: &target, step: name, line: &line });
        };
        let result = slot.target.run_step(request, &mut on_line).map_err(|e| self.redact(&format!("{e:#}")))?;
        if result.skipped {
            self.reporter.note(Note::StepSkipped { target: &target, step: name });
            Ok(())
        } else if result.ended.success() {
            self.reporter.note(Note::StepDone { target: &target, step: name, ms: result.duration_ms });
            Ok(())
        } else {
            Err(format!("step `{name}` failed ({})", result.ended.describe(step.timeout)))
        }
    }

    /// Run the steps of `when` that apply to this target (`first`: it is the first target).
    fn run_steps(
        &self,
        slot: &mut Slot,
        when: When,
        first: bool,
        release: &str,
        env: &[(String, String)],
    ) -> Result<(), String> {
        let steps: Vec<&Step> =
            self.config.steps_at(when).filter(|s| s.on == On::Each || (s.on == On::First && first)).collect();
        for step in steps {
            self.run_step(slot, step, release, env)?;
        }
        Ok(())
    }

    /// The `on = "local"` steps of `when`, run once on this machine in deploy.toml's directory.
    fn run_local_steps(&self, when: When, base_env: &[(String, String)]) -> Result<(), String> {
        for step in self.config.steps_at(when).filter(|s| s.on == On::Local) {
            let target = "local";
            self.reporter.note(Note::StepStarted { target, step: &step.name });
            let shell = crate::process::Shell {
                script: &step.run,
                cwd: &self.config.dir,
                env: base_env,
                inherit: crate::process::Inherit::Login,
                timeout: step.timeout,
                cancel: None,
            };
            if let Some(unless) = &step.unless {
                let check = crate::process::Shell { script: unless, ..shell };
                if crate::process::run(&check, &mut |_| {}).map_err(|e| format!("{e:#}"))?.success() {
                    self.reporter.note(Note::StepSkipped { target, step: &step.name });
                    continue;
                }
            }
            let start = Instant::now();
            let ended = crate::process::run(&shell, &mut |line| {
                let line = self.redact(line);
                self.reporter.note(Note::Output { target, step: &step.name, line: &line });
            })
            .map_err(|e| format!("{e:#}"))?;
            if !ended.success() {
                return Err(format!("local step `{}` failed ({})", step.name, ended.describe(step.timeout)));
            }
            self.reporter.note(Note::StepDone { target, step: &step.name, ms: start.elapsed().as_millis() as u64 });
        }
        Ok(())
    }

    /// The health check of the environment on `release`: `http` from this machine and/or
    /// `command` on the target, retried every `interval` until both pass or `timeout` ends.
    fn health(&self, slot: &mut Slot, release: &str, env: &[(String, String)]) -> Result<(), String> {
        let health = &self.env.health;
        if !health.is_set() {
            return Ok(());
        }
        let deadline = Instant::now() + health.timeout;
        let target = slot.name.clone();
        let url = health.http.as_ref().map(|u| u.replace("{host}", slot.target.spec().host()));
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            let failure = self.health_once(slot, url.as_deref(), release, env, remaining)?;
            let Some(why) = failure else {
                self.reporter.note(Note::Healthy { target: &target });
                return Ok(());
            };
            if crate::interrupt::requested() {
                return Err(format!("health check interrupted while failing: {why}"));
            }
            if Instant::now() + health.interval >= deadline {
                return Err(format!(
                    "health check still failing after {}: {why}",
                    humantime::format_duration(health.timeout)
                ));
            }
            std::thread::sleep(health.interval);
        }
    }

    /// One try of every configured check. `Ok(Some(why))`: unhealthy; `Err`: the target
    /// could not be asked at all.
    fn health_once(
        &self,
        slot: &mut Slot,
        url: Option<&str>,
        release: &str,
        env: &[(String, String)],
        remaining: Duration,
    ) -> Result<Option<String>, String> {
        if let Some(url) = url {
            let http = self.http.get_or_init(crate::http::Http::new).as_ref().map_err(Clone::clone)?;
            if let Err(why) = http.check(url, remaining.min(Duration::from_secs(10)), &|text| self.redact(text)) {
                return Ok(Some(self.redact(&why)));
            }
        }
        if let Some(command) = &self.env.health.command {
            let request = StepRequest {
                name: "health".to_string(),
                run: command.clone(),
                unless: None,
                release: release.to_string(),
                env: env.to_vec(),
                timeout_ms: Some(remaining.as_millis() as u64),
            };
            let mut last = Vec::new();
            let result = slot.target.run_step(request, &mut |line| last.push(self.redact(line)));
            let r = result.map_err(|e| self.redact(&format!("{e:#}")))?;
            if !r.ended.success() {
                let tail = last.iter().rev().take(5).rev().cloned().collect::<Vec<_>>().join(" | ");
                let mut why = format!("`{command}` ended with {}", r.ended.describe(None));
                if !tail.is_empty() {
                    why.push_str(&format!(": {tail}"));
                }
                return Ok(Some(why));
            }
        }
        Ok(None)
    }

    /// A journal record of this run, about `head` when given.
    fn base_record(&self, kind: RunKind, event: Event, head: Option<&Head>) -> Record {
        let mut record = Record::new(&self.run, kind, event);
        record.user = Some(self.user.clone());
        if let Some(head) = head {
            record.release = Some(head.release.clone());
            record.version = Some(head.version.clone());
            record.commit = Some(head.commit.clone());
            record.sha256 = Some(head.sha256.clone());
        }
        record
    }

    fn record(
        &self,
        slot: &mut Slot,
        kind: RunKind,
        event: Event,
        head: &Head,
        fill: impl FnOnce(&mut Record),
    ) -> Result<(), String> {
        let mut record = self.base_record(kind, event, Some(head));
        fill(&mut record);
        slot.target.record(&record).map_err(|e| format!("{e:#}"))
    }

    fn fail(&self, slot: &mut Slot, error: String) {
        self.reporter.note(Note::Failed { target: &slot.name, error: &error });
        slot.error = Some(error);
    }
}

/// What a run is about: the release it deploys or restores.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    release: String,
    version: String,
    commit: String,
    sha256: String,
}

/// The environment of a step or health command on `spec`, running in `release`.
pub fn step_env(
    config: &Config,
    env: &Environment,
    spec: &crate::config::TargetSpec,
    subject: &plan::Subject<'_>,
    release: &str,
    previous: Option<&str>,
    secrets: &[(String, String)],
) -> Vec<(String, String)> {
    let root = spec.path().to_path_buf();
    let dir = |r: &str| root.join("releases").join(r).display().to_string();
    let mut vars = vec![
        ("SHIP_APP".to_string(), config.app.clone()),
        ("SHIP_ENV".to_string(), env.name.clone()),
        ("SHIP_TARGET".to_string(), spec.to_string()),
        ("SHIP_HOST".to_string(), spec.host().to_string()),
        ("SHIP_DEPLOY_PATH".to_string(), root.display().to_string()),
        ("SHIP_RELEASE_DIR".to_string(), dir(release)),
        ("SHIP_PREVIOUS_RELEASE_DIR".to_string(), previous.map(dir).unwrap_or_default()),
        ("SHIP_VERSION".to_string(), subject.version.to_string()),
        ("SHIP_COMMIT".to_string(), subject.commit.to_string()),
        ("SHIP_ARTIFACT_SHA256".to_string(), subject.sha256.to_string()),
    ];
    vars.extend(env.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(secrets.iter().cloned());
    vars
}

/// `SHIP_ROLLED_BACK_FROM_*`: the release a rollback leaves (empty when unknown).
fn rolled_back_from(from: Option<&Head>, dir: Option<String>) -> Vec<(String, String)> {
    let field = |f: fn(&Head) -> &str| from.map(f).unwrap_or_default().to_string();
    vec![
        ("SHIP_ROLLED_BACK_FROM_VERSION".to_string(), field(|h| &h.version)),
        ("SHIP_ROLLED_BACK_FROM_COMMIT".to_string(), field(|h| &h.commit)),
        ("SHIP_ROLLED_BACK_FROM_ARTIFACT_SHA256".to_string(), field(|h| &h.sha256)),
        ("SHIP_ROLLED_BACK_FROM_RELEASE_DIR".to_string(), dir.unwrap_or_default()),
    ]
}

/// The one value every item has, if they all have the same.
fn common<T: PartialEq + Clone>(mut items: impl Iterator<Item = T>) -> Option<T> {
    let first = items.next()?;
    items.all(|x| x == first).then_some(first)
}

impl Head {
    /// A release as journaled on a target; what the journal does not know stays empty.
    fn of_current(c: &Current) -> Head {
        Head {
            release: c.release.clone(),
            version: c.version.clone().unwrap_or_default(),
            commit: c.commit.clone().unwrap_or_default(),
            sha256: c.sha256.clone().unwrap_or_default(),
        }
    }

    fn as_current(&self) -> Current {
        let some = |s: &String| (!s.is_empty()).then(|| s.clone());
        Current {
            release: self.release.clone(),
            version: some(&self.version),
            commit: some(&self.commit),
            sha256: some(&self.sha256),
        }
    }

    fn of(plan: &Plan) -> Head {
        Head {
            release: plan.release.clone(),
            version: plan.version.clone(),
            commit: plan.commit.clone(),
            sha256: plan.artifact.sha256.clone(),
        }
    }
}

/// Run `work` on every slot of `indices`, `width` at a time.
fn in_batches(slots: &mut [Slot], indices: &[usize], width: usize, work: &(dyn Fn(&mut Slot) + Sync)) {
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
fn in_pool(slots: &mut [Slot], indices: &[usize], workers: usize, work: &(dyn Fn(&mut Slot) + Sync)) {
    let mut picked: Vec<&mut Slot> =
        slots.iter_mut().enumerate().filter(|(i, _)| indices.contains(i)).map(|(_, s)| s).collect();
    crate::pool::each(&mut picked, workers, &|slot| work(slot));
}

/// Deploy `plan` to `targets` (locked, in plan order).
pub fn deploy(cx: &Context<'_>, plan: &Plan, artifact: &Artifact, targets: Vec<Box<dyn Target>>) -> Outcome {
    let head = Head::of(plan);
    let mut slots = slots_for(cx, plan, targets);
    let active: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].plan.action != Action::Noop).collect();
    if active.is_empty() {
        return finish(cx, plan, slots, FleetOutcome::Noop, &head, RunKind::Deploy);
    }
    let first = active[0];
    let local_env = local_env(cx, &head);

    // 1. Stage everywhere before the first switch.
    let abort = AtomicBool::new(false);
    let stage = |slot: &mut Slot| {
        if abort.load(Ordering::SeqCst) || crate::interrupt::requested() {
            return; // another target failed, or the user asked to stop: stage no more
        }
        let is_first = slot.name == plan.targets[first].target;
        if let Err(e) = stage_one(cx, slot, &head, artifact, is_first) {
            abort.store(true, Ordering::SeqCst);
            cx.fail(slot, e);
            let message = slot.error.clone();
            let _ = cx.record(slot, RunKind::Deploy, Event::Failed, &head, |r| r.message = message);
        }
    };
    // Every target at once (up to `workers`), whatever `parallel` says: staging changes
    // nothing live, and a slow target holds up no other.
    in_pool(&mut slots, &active, cx.env.workers, &stage);
    if crate::interrupt::requested() {
        slots[first].error.get_or_insert_with(|| "interrupted before any switch".to_string());
    }
    let mut failed = active.iter().any(|i| slots[*i].error.is_some());
    if !failed && let Err(e) = cx.run_local_steps(When::BeforeSwitch, &local_env) {
        cx.reporter.note(Note::Failed { target: "local", error: &e });
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
        return finish(cx, plan, slots, FleetOutcome::Failed, &head, RunKind::Deploy);
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
        let is_first = slot.name == plan.targets[first].target;
        if let Err(e) = switch_one(cx, slot, &head, is_first) {
            cx.fail(slot, e);
            let message = slot.error.clone();
            let _ = cx.record(slot, RunKind::Deploy, Event::Failed, &head, |r| r.message = message);
            let mut count = failures.lock().unwrap_or_else(|p| p.into_inner());
            *count += 1;
            if slot.switched_from.is_none() {
                // It failed before its switch: it still runs what it ran, and counts as failed.
                slot.outcome = TargetOutcome::Failed;
            } else if *count <= cx.env.max_failures {
                // Tolerated: this target alone goes back to what it ran.
                restore_one(cx, slot, &head, is_first);
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
        cx.reporter.note(Note::Failed { target: "local", error: &e });
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
            let is_first = slot.name == plan.targets[first].target;
            restore_one(cx, slot, &head, is_first);
        };
        in_batches(&mut slots, &switched, switched.len().max(1), &restore);
        let went_back = slots.iter().filter_map(|s| s.switched_from.as_ref().map(|to| (s, to.clone())));
        restored = common(went_back.map(|(s, to)| to.map(|r| restored_head(s, &r)))).flatten();
        let rollback_env = local_rollback_env(cx, restored.as_ref(), Some(&head));
        if let Err(e) = cx.run_local_steps(When::AfterRollback, &rollback_env) {
            cx.reporter.note(Note::Failed { target: "local", error: &e });
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

    if outcome == FleetOutcome::Succeeded {
        in_pool(&mut slots, &active, cx.env.workers, &|slot| match slot.target.prune(cx.config.release.keep, false) {
            Ok(pruning) if !pruning.removed().is_empty() => {
                cx.reporter.note(Note::Pruned { target: &slot.name, releases: &pruning.removed() })
            }
            Ok(_) => {}
            Err(e) => cx.reporter.note(Note::Warning { message: &format!("{}: pruning failed: {e:#}", slot.name) }),
        });
    }
    let mut outcome = finish(cx, plan, slots, outcome, &head, RunKind::Deploy);
    outcome.rolled_back_to = restored.map(|h| h.as_current());
    outcome
}

fn stage_one(cx: &Context<'_>, slot: &mut Slot, head: &Head, artifact: &Artifact, first: bool) -> Result<(), String> {
    slot.begun = true;
    slot.started = Instant::now();
    let from = slot.plan.current.as_ref().map(|c| c.release.clone());
    let skipped = cx.gate_skipped.clone();
    let promoted_from = cx.promoted_from.clone();
    cx.record(slot, RunKind::Deploy, Event::Begin, head, |r| {
        r.from = from;
        r.message = skipped;
        r.promoted_from = promoted_from;
    })?;
    let err = |e: anyhow::Error| format!("{e:#}");
    let release = if slot.plan.action == Action::Repair {
        // The live release's files changed: rebuilt from the artifact (sent again, so it is
        // the very bytes) and exchanged with the changed tree in one step.
        cx.put_artifact(slot, artifact).map_err(err)?;
        slot.target.repair(&head.sha256, &cx.config.release.shared).map_err(err)?;
        let changed = slot.plan.changed.join(", ");
        cx.record(slot, RunKind::Deploy, Event::Repaired, head, |r| {
            r.message = Some(format!("rebuilt from the artifact; changed were: {changed}"));
        })?;
        cx.reporter.note(Note::Repaired { target: &slot.name, release: &head.release });
        head.release.clone()
    } else {
        if !slot.target.has_artifact(&head.sha256).map_err(err)? {
            cx.put_artifact(slot, artifact).map_err(err)?;
        }
        let (release, reused) = slot.target.stage(&head.sha256, &cx.config.release.shared).map_err(err)?;
        cx.reporter.note(Note::Staged { target: &slot.name, release: &release, reused });
        release
    };
    let previous = slot.plan.current.as_ref().map(|c| c.release.clone());
    let env = cx.step_env(slot, head, &release, previous.as_deref());
    cx.run_steps(slot, When::BeforeSwitch, first, &release, &env)?;
    cx.record(slot, RunKind::Deploy, Event::Staged, head, |_| {})
}

fn switch_one(cx: &Context<'_>, slot: &mut Slot, head: &Head, first: bool) -> Result<(), String> {
    // Counted as switched before the call: a switch that happened but whose answer was lost
    // (a dropped connection) must still be rolled back.
    slot.switched_from = Some(slot.plan.rollback_to.clone());
    let before = slot.target.switch(&head.release).map_err(|e| format!("{e:#}"))?;
    slot.live = Some(head.release.clone());
    cx.reporter.note(Note::Switched { target: &slot.name, release: &head.release });
    let from = before.clone();
    cx.record(slot, RunKind::Deploy, Event::Switched, head, |r| r.from = from)?;
    let previous = before.filter(|b| *b != head.release);
    let env = cx.step_env(slot, head, &head.release, previous.as_deref());
    cx.run_steps(slot, When::AfterSwitch, first, &head.release, &env)?;
    cx.health(slot, &head.release, &env)?;
    cx.record(slot, RunKind::Deploy, Event::Live, head, |_| {})?;
    cx.reporter.note(Note::Live { target: &slot.name });
    slot.outcome = TargetOutcome::Succeeded;
    Ok(())
}

/// Put a switched target back on what it ran before this run, run `after_rollback` steps and
/// the health check there.
fn restore_one(cx: &Context<'_>, slot: &mut Slot, head: &Head, first: bool) {
    let to = slot.switched_from.clone().flatten();
    cx.reporter.note(Note::RollingBack { target: &slot.name, to: to.as_deref() });
    let result = (|| -> Result<(), String> {
        let err = |e: anyhow::Error| format!("{e:#}");
        match &to {
            Some(release) => {
                slot.target.switch(release).map_err(err)?;
                slot.live = Some(release.clone());
                let mut record = cx.base_record(RunKind::Deploy, Event::Restored, None);
                record.release = Some(release.clone());
                record.from = Some(head.release.clone());
                slot.target.record(&record).map_err(err)?;
                let restored = restored_head(slot, release);
                let env = cx.rollback_env(slot, &restored, Some(head));
                cx.run_steps(slot, When::AfterRollback, first, release, &env)?;
                cx.health(slot, release, &env)
            }
            None => {
                slot.target.unswitch().map_err(err)?;
                slot.live = None;
                let mut record = cx.base_record(RunKind::Deploy, Event::Restored, None);
                record.from = Some(head.release.clone());
                record.message = Some("nothing was live before: current removed".into());
                slot.target.record(&record).map_err(err)
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
            let error = match slot.error.take() {
                Some(first) => format!("{first}; then the rollback failed: {e}"),
                None => format!("rollback failed: {e}"),
            };
            cx.fail(slot, error);
        }
    }
}

/// What a switched target goes back to: `release`, with what its plan knows of it.
fn restored_head(slot: &Slot, release: &str) -> Head {
    match slot.plan.restore.as_ref().filter(|c| c.release == release) {
        Some(c) => Head::of_current(c),
        None => {
            Head { release: release.to_string(), version: String::new(), commit: String::new(), sha256: String::new() }
        }
    }
}

/// The environment of local `after_rollback` steps: the restored release when every target
/// went back to the same one (else its fields are empty), and the one left behind.
fn local_rollback_env(cx: &Context<'_>, restored: Option<&Head>, from: Option<&Head>) -> Vec<(String, String)> {
    let blank = Head { release: String::new(), version: String::new(), commit: String::new(), sha256: String::new() };
    let mut env = local_env(cx, restored.unwrap_or(&blank));
    let at = env.iter().position(|(k, _)| k == "SHIP_ARTIFACT_SHA256").map_or(env.len(), |i| i + 1);
    let from_vars: Vec<_> = rolled_back_from(from, None).into_iter().filter(|(k, _)| !k.ends_with("_DIR")).collect();
    env.splice(at..at, from_vars);
    env
}

fn local_env(cx: &Context<'_>, head: &Head) -> Vec<(String, String)> {
    let mut env = vec![
        ("SHIP_APP".to_string(), cx.config.app.clone()),
        ("SHIP_ENV".to_string(), cx.env.name.clone()),
        ("SHIP_VERSION".to_string(), head.version.clone()),
        ("SHIP_COMMIT".to_string(), head.commit.clone()),
        ("SHIP_ARTIFACT_SHA256".to_string(), head.sha256.clone()),
    ];
    env.extend(cx.env.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(cx.secrets.iter().cloned());
    env
}

/// Journal the end on every target this run touched, release the locks, and sum up.
fn finish(
    cx: &Context<'_>,
    plan: &Plan,
    mut slots: Vec<Slot>,
    outcome: FleetOutcome,
    head: &Head,
    kind: RunKind,
) -> Outcome {
    crate::pool::each(&mut slots, cx.env.workers, &|slot| {
        if slot.begun {
            let target_outcome = Some(slot.outcome.as_str().to_string());
            let ms = slot.started.elapsed().as_millis() as u64;
            let message = slot.error.clone();
            // The end names the release live now, with the head's version only when that is
            // what is live: a failed deploy must not lend its identity to the old release.
            let live = slot.live.clone();
            let mut record = cx.base_record(kind, Event::End, (live.as_ref() == Some(&head.release)).then_some(head));
            record.release = live;
            record.outcome = target_outcome;
            record.fleet_outcome = Some(outcome.as_str().to_string());
            record.duration_ms = Some(ms);
            record.message = message;
            let result = slot.target.record(&record).map_err(|e| format!("{e:#}"));
            if let Err(e) = result {
                cx.reporter.note(Note::Warning { message: &format!("{}: could not journal the end: {e}", slot.name) });
            }
        }
        let _ = slot.target.unlock();
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
                error: s.error,
            })
            .collect(),
    }
}

/// Roll every target of `plan` back to `plan.release` (targets locked, in plan order): switch,
/// run `after_rollback` steps, check health. `plan.targets[i].action` is `Switch` or `Noop`.
pub fn rollback(cx: &Context<'_>, plan: &Plan, targets: Vec<Box<dyn Target>>) -> Outcome {
    let head = Head::of(plan);
    let mut slots = slots_for(cx, plan, targets);
    // A target with nothing to go back to is left as it is, and said so.
    let mut refused = false;
    for slot in &mut slots {
        if let Some(why) = slot.plan.refused.clone() {
            slot.outcome = TargetOutcome::Skipped;
            cx.reporter.note(Note::Warning { message: &format!("{}: left as it is: {why}", slot.name) });
            slot.error = Some(why);
            refused = true;
        }
    }
    let active: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].plan.action != Action::Noop).collect();
    if active.is_empty() {
        let outcome = if refused { FleetOutcome::Inconsistent } else { FleetOutcome::Noop };
        return finish(cx, plan, slots, outcome, &head, RunKind::Rollback);
    }
    let first = plan.targets[active[0]].target.clone();
    let work = |slot: &mut Slot| {
        let is_first = slot.name == first;
        let result = (|| -> Result<(), String> {
            slot.begun = true;
            slot.started = Instant::now();
            let from = slot.plan.current.as_ref().map(|c| c.release.clone());
            cx.record(slot, RunKind::Rollback, Event::Begin, &head, |r| r.from = from.clone())?;
            // Journaled before the switch: a rollback cut off right after its switch must not
            // leave a journal whose "previous" is the release just rolled back from.
            cx.record(slot, RunKind::Rollback, Event::Restored, &head, |r| r.from = from.clone())?;
            slot.target.switch(&head.release).map_err(|e| format!("{e:#}"))?;
            slot.live = Some(head.release.clone());
            cx.reporter.note(Note::Switched { target: &slot.name, release: &head.release });
            let left = slot.plan.current.as_ref().map(Head::of_current);
            let env = cx.rollback_env(slot, &head, left.as_ref());
            cx.run_steps(slot, When::AfterRollback, is_first, &head.release, &env)?;
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
                record.message = slot.error.clone();
                let _ = slot.target.record(&record);
            }
        }
    };
    in_batches(&mut slots, &active, cx.env.parallel, &work);
    let left = common(active.iter().map(|i| slots[*i].plan.current.clone())).flatten();
    let local_env = local_rollback_env(cx, Some(&head), left.as_ref().map(Head::of_current).as_ref());
    let mut outcome = FleetOutcome::Succeeded;
    if let Err(e) = cx.run_local_steps(When::AfterRollback, &local_env) {
        cx.reporter.note(Note::Failed { target: "local", error: &e });
        outcome = FleetOutcome::Inconsistent;
    }
    if refused || active.iter().any(|i| slots[*i].outcome != TargetOutcome::Succeeded) {
        outcome = FleetOutcome::Inconsistent;
    }
    let mut outcome = finish(cx, plan, slots, outcome, &head, RunKind::Rollback);
    outcome.rolled_back_from = left;
    outcome
}

fn slots_for(cx: &Context<'_>, plan: &Plan, targets: Vec<Box<dyn Target>>) -> Vec<Slot> {
    for t in &plan.targets {
        cx.reporter.note(Note::Target { target: &t.target, live: t.current.as_ref().map(|c| c.release.as_str()) });
    }
    targets
        .into_iter()
        .zip(&plan.targets)
        .map(|(target, tp)| Slot {
            name: tp.target.clone(),
            target,
            plan: tp.clone(),
            started: Instant::now(),
            begun: false,
            switched_from: None,
            outcome: if tp.action == Action::Noop { TargetOutcome::Noop } else { TargetOutcome::Skipped },
            live: tp.current.as_ref().map(|c| c.release.clone()),
            error: None,
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
