//! What a rollout runs with ([`Context`]), one target's place in it ([`Slot`]), and the
//! work done on one target: recording to its journal, running steps, checking health, the
//! steps' environment.

use super::*;

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
    /// Set when staging must stop (a target failed to stage, or Ctrl-C): no target starts
    /// a next step of staging, and none starts staging.
    pub stopping: std::sync::atomic::AtomicBool,
    /// The deltas sent to targets that hold most of the artifact's contents already.
    pub deltas: crate::artifact::delta::Deltas,
}

/// What kind of run a [`Context`] is for, and what its journal records say of it.
pub struct Run<'a> {
    /// `deploy`, `promote` or `rollback`: the webhook's `kind` and the outcome's words.
    pub kind: &'static str,
    /// Set when `--ignore-requires` skipped the environment's gate: why.
    pub gate_skipped: Option<String>,
    /// `ship promote FROM ...`: FROM.
    pub promoted_from: Option<String>,
    /// Pull mode: the shared store the targets fetch the artifact from.
    pub pull: Option<&'a crate::artifact::remote::Shared>,
}

impl<'a> Context<'a> {
    /// A new run (with a fresh id) of `env`, telling `reporter` what happens.
    pub fn new(
        config: &'a Config,
        env: &'a Environment,
        secrets: Vec<(String, String)>,
        what: Run<'a>,
        reporter: &'a dyn Reporter,
    ) -> Context<'a> {
        Context {
            config,
            env,
            run: super::reach::run_id(),
            user: crate::clock::user(),
            redactor: crate::redact::Redactor::new(secrets.iter().map(|(_, v)| v.as_str())),
            secrets,
            gate_skipped: what.gate_skipped,
            promoted_from: what.promoted_from,
            pull: what.pull,
            reporter,
            http: Default::default(),
            stopping: Default::default(),
            deltas: Default::default(),
        }
    }
}

/// Why a target's staging ended early: another target failed, or Ctrl-C. Not a failure of
/// its own.
pub(crate) const STOPPED: &str = "staging stopped: another target failed to stage, or Ctrl-C";

pub(crate) fn stopped() -> TargetError {
    TargetError::new(ErrorKind::Interrupted, STOPPED)
}

/// One target during a rollout.
pub(crate) struct Slot {
    pub(crate) target: Box<dyn Target>,
    /// Its place among the environment's targets (its roles, its vars).
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) plan: TargetPlan,
    pub(crate) started: Instant,
    pub(crate) begun: bool,
    /// `Some(before)` once switched: what `current` pointed at before this run switched it.
    pub(crate) switched_from: Option<Option<ReleaseId>>,
    pub(crate) outcome: TargetOutcome,
    pub(crate) live: Option<ReleaseId>,
    pub(crate) error: Option<TargetError>,
    /// Journal records made but not sent yet: they travel with the next request to the
    /// target (the journal is written in the order records were made).
    pub(crate) pending: Vec<Record>,
    /// The artifact's bytes sent to the target (a delta's with its manifest).
    pub(crate) sent: u64,
}

impl Context<'_> {
    /// Where the target gets the artifact from: in pull mode fetched by the target from the
    /// shared store, by a URL presigned now; otherwise sent from here, and to a target that
    /// holds file contents already, only those it lacks (asked with one exchange; `verify`
    /// has it hash what it holds, for a repair). The whole artifact is sent when the target
    /// lacks more than half of its bytes. Either way the target checks every sha256.
    pub(crate) fn supply<'b>(
        &self,
        slot: &mut Slot,
        artifact: &'b Artifact,
        verify: bool,
    ) -> Result<Supply<'b>, TargetError> {
        let err = |e: anyhow::Error| TargetError::of(&e);
        if let Some(store) = self.pull {
            self.reporter.note(Note::Fetching { target: &slot.name });
            return store.presigned(&artifact.sha256).map(Supply::Fetch).map_err(|e| TargetError::of(&e));
        }
        if slot.plan.has_objects {
            let contents = self.deltas.contents(artifact).map_err(err)?;
            let missing = slot.target.lacks(&contents.offer, verify).map_err(err)?;
            let lacking: u64 =
                missing.iter().filter_map(|&i| contents.wanted.get(i as usize)).map(|(_, size)| size).sum();
            if lacking.saturating_mul(2) <= contents.total {
                let delta = self.deltas.make(artifact, &missing).map_err(err)?;
                slot.sent += (contents.offer.len() + delta.bytes.len()) as u64;
                self.reporter.note(Note::Sending {
                    target: &slot.name,
                    bytes: (contents.offer.len() + delta.bytes.len()) as u64,
                    files: Some((missing.len(), contents.wanted.len())),
                });
                return Ok(Supply::Delta(delta));
            }
        }
        if slot.plan.has_objects {
            // It was offered the manifest first, and lacked too much.
            slot.sent += self.deltas.contents(artifact).map(|c| c.offer.len() as u64).unwrap_or(0);
        }
        slot.sent += artifact.size;
        self.reporter.note(Note::Sending { target: &slot.name, bytes: artifact.size, files: None });
        Ok(Supply::Upload(artifact))
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// The environment of a step in `release` on this slot's target, about `subject`.
    pub(crate) fn step_env(
        &self,
        slot: &Slot,
        subject: &ReleaseRef,
        release: &str,
        previous: Option<&str>,
    ) -> Vec<(String, String)> {
        let about = plan::Subject::of(subject);
        step_env(self.config, self.env, slot.target.spec(), &about, release, previous, &self.secrets)
    }

    /// The environment of an `after_rollback` step or health check: the release being
    /// restored is the subject (`SHIP_VERSION`, `SHIP_RELEASE_DIR`, ...), and the release
    /// left behind is `SHIP_ROLLED_BACK_FROM_*` and `SHIP_PREVIOUS_RELEASE_DIR`.
    pub(crate) fn rollback_env(
        &self,
        slot: &Slot,
        restored: &ReleaseRef,
        from: Option<&ReleaseRef>,
    ) -> Vec<(String, String)> {
        let mut vars = self.step_env(slot, restored, &restored.release, from.map(|f| f.release.as_str()));
        let dir = from.map(|f| slot.target.spec().path().join("releases").join(&f.release).display().to_string());
        vars.extend(rolled_back_from(from, dir));
        vars
    }

    /// Run one step on a target; `Err` says what failed.
    pub(crate) fn run_step(
        &self,
        slot: &mut Slot,
        step: &Step,
        release: &str,
        env: &[(String, String)],
    ) -> Result<(), TargetError> {
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
        let result = slot.target.run_step(request, &mut on_line).map_err(|e| self.failure(&e))?;
        if result.skipped {
            self.reporter.note(Note::StepSkipped { target: &target, step: name });
            Ok(())
        } else if result.ended.success() {
            self.reporter.note(Note::StepDone { target: &target, step: name, ms: result.duration_ms });
            Ok(())
        } else {
            Err(TargetError::new(
                ErrorKind::Step,
                format!("step `{name}` failed ({})", result.ended.describe(step.timeout)),
            ))
        }
    }

    pub(crate) fn staging_stopped(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst) || crate::interrupt::requested()
    }

    /// The steps of `when` that run on the target at `here`, among the `active` targets of
    /// this run (its roles, and `on = "first"`: the first active target with the step's roles).
    pub(crate) fn steps_here(&self, when: When, here: usize, active: &[usize]) -> Vec<&Step> {
        self.config.steps_at(when).filter(|s| self.env.runs_step(s, here, active)).collect()
    }

    /// Whether anything runs on a switched target before it counts as live: `after_switch`
    /// steps or a health check. If nothing does, it is live as it is switched.
    pub(crate) fn checks_after_switch(&self, here: usize, active: &[usize]) -> bool {
        !self.steps_here(When::AfterSwitch, here, active).is_empty() || self.env.health_checks(here)
    }

    /// Run the steps of `when` that apply to this slot's target, among the `active` ones.
    pub(crate) fn run_steps(
        &self,
        slot: &mut Slot,
        when: When,
        active: &[usize],
        release: &str,
        env: &[(String, String)],
    ) -> Result<(), TargetError> {
        let steps = self.steps_here(when, slot.index, active);
        for step in steps {
            // During staging no step starts once staging is stopping (a migration of a
            // deploy that already failed elsewhere must not run). Running steps finish.
            if when == When::BeforeSwitch && self.staging_stopped() {
                return Err(stopped());
            }
            self.run_step(slot, step, release, env)?;
        }
        Ok(())
    }

    /// The `on = "local"` steps of `when`, run once on this machine in deploy.toml's directory.
    pub(crate) fn run_local_steps(&self, when: When, base_env: &[(String, String)]) -> Result<(), TargetError> {
        let failed = |e: anyhow::Error| TargetError::new(ErrorKind::Step, format!("{e:#}"));
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
                if crate::process::run(&check, &mut |_| {}).map_err(failed)?.success() {
                    self.reporter.note(Note::StepSkipped { target, step: &step.name });
                    continue;
                }
            }
            let start = Instant::now();
            let ended = crate::process::run(&shell, &mut |line| {
                let line = self.redact(line);
                self.reporter.note(Note::Output { target, step: &step.name, line: &line });
            })
            .map_err(failed)?;
            if !ended.success() {
                let why = format!("local step `{}` failed ({})", step.name, ended.describe(step.timeout));
                return Err(TargetError::new(ErrorKind::Step, why));
            }
            self.reporter.note(Note::StepDone { target, step: &step.name, ms: start.elapsed().as_millis() as u64 });
        }
        Ok(())
    }

    /// The health check of the environment on `release`: `http` (its placeholders filled in
    /// for this target) from this machine and/or `command` on the target, only on a target
    /// with one of `[health] roles` (if given), retried every `interval` until both pass or `timeout` ends.
    pub(crate) fn health(&self, slot: &mut Slot, release: &str, env: &[(String, String)]) -> Result<(), TargetError> {
        let unhealthy = |why: String| TargetError::new(ErrorKind::Health, why);
        let health = &self.env.health;
        if !self.env.health_checks(slot.index) {
            return Ok(());
        }
        let deadline = Instant::now() + health.timeout;
        let target = slot.name.clone();
        let url = health.url_for(slot.target.spec().host(), &self.env.vars_of(slot.index));
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            let failure = self.health_once(slot, url.as_deref(), release, env, remaining)?;
            let Some(why) = failure else {
                self.reporter.note(Note::Healthy { target: &target });
                return Ok(());
            };
            if crate::interrupt::requested() {
                return Err(unhealthy(format!("health check interrupted while failing: {why}")));
            }
            if Instant::now() + health.interval >= deadline {
                return Err(unhealthy(format!(
                    "health check still failing after {}: {why}",
                    humantime::format_duration(health.timeout)
                )));
            }
            std::thread::sleep(health.interval);
        }
    }

    /// One try of every configured check. `Ok(Some(why))`: unhealthy; `Err`: the target
    /// could not be asked at all.
    pub(crate) fn health_once(
        &self,
        slot: &mut Slot,
        url: Option<&str>,
        release: &str,
        env: &[(String, String)],
        remaining: Duration,
    ) -> Result<Option<String>, TargetError> {
        if let Some(url) = url {
            let http = self
                .http
                .get_or_init(crate::http::Http::new)
                .as_ref()
                .map_err(|e| TargetError::new(ErrorKind::Io, e))?;
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
            let r = result.map_err(|e| self.failure(&e))?;
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
    pub(crate) fn base_record(&self, kind: RunKind, event: Event, head: Option<&ReleaseRef>) -> Record {
        let mut record = Record::new(&self.run, kind, event);
        record.user = Some(self.user.clone());
        if let Some(head) = head {
            // Every field written, an unknown one empty, as journals always had them.
            record.release = Some(head.release.clone());
            record.version = Some(head.version_str().to_string());
            record.commit = Some(head.commit_str().into());
            record.sha256 = Some(head.sha256_str().into());
        }
        record
    }

    /// A journal record of this run about `head`, filled in by `fill`.
    pub(crate) fn made(
        &self,
        kind: RunKind,
        event: Event,
        head: &ReleaseRef,
        fill: impl FnOnce(&mut Record),
    ) -> Record {
        let mut record = self.base_record(kind, event, Some(head));
        fill(&mut record);
        record
    }

    /// Journal a record on this slot's target with the next request to it.
    pub(crate) fn journal(&self, slot: &mut Slot, record: Record) {
        slot.pending.push(record);
    }

    /// Journal now what is pending on this slot's target (one exchange, if anything is).
    pub(crate) fn flush(&self, slot: &mut Slot) -> Result<(), TargetError> {
        if slot.pending.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut slot.pending);
        slot.target.record(records).map_err(|e| TargetError::of(&e))
    }

    /// What an error from a target says, its secrets blanked out.
    pub(crate) fn failure(&self, err: &anyhow::Error) -> TargetError {
        TargetError::of(err).map_text(|text| self.redact(text))
    }

    pub(crate) fn fail(&self, slot: &mut Slot, error: TargetError) {
        self.reporter.note(Note::Failed { target: &slot.name, error: &error.message, hint: error.hint.as_deref() });
        slot.error = Some(error);
    }
}

/// The environment of a step or health command on `spec`, running in `release`: the
/// `SHIP_*` variables (`SHIP_ROLES`: its roles, comma-separated), the environment's vars
/// overridden by the target's own, then the secrets.
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
    let index = env.index_of(spec);
    let roles = index.map(|i| env.roles_of(i).join(",")).unwrap_or_default();
    let mut vars = vec![
        ("SHIP_APP".to_string(), config.app.clone()),
        ("SHIP_ENV".to_string(), env.name.clone()),
        ("SHIP_TARGET".to_string(), spec.to_string()),
        ("SHIP_ROLES".to_string(), roles),
        ("SHIP_HOST".to_string(), spec.host().to_string()),
        ("SHIP_DEPLOY_PATH".to_string(), root.display().to_string()),
        ("SHIP_RELEASE_DIR".to_string(), dir(release)),
        ("SHIP_PREVIOUS_RELEASE_DIR".to_string(), previous.map(dir).unwrap_or_default()),
        ("SHIP_VERSION".to_string(), subject.version.to_string()),
        ("SHIP_COMMIT".to_string(), subject.commit.to_string()),
        ("SHIP_ARTIFACT_SHA256".to_string(), subject.sha256.to_string()),
    ];
    // The environment's vars, overridden by the target's own.
    let own = index.map(|i| env.vars_of(i)).unwrap_or_else(|| env.vars.clone());
    vars.extend(own);
    vars.extend(secrets.iter().cloned());
    vars
}

/// `SHIP_ROLLED_BACK_FROM_*`: the release a rollback leaves (empty when unknown).
pub(crate) fn rolled_back_from(from: Option<&ReleaseRef>, dir: Option<String>) -> Vec<(String, String)> {
    let field = |f: fn(&ReleaseRef) -> &str| from.map(f).unwrap_or_default().to_string();
    vec![
        ("SHIP_ROLLED_BACK_FROM_VERSION".to_string(), field(ReleaseRef::version_str)),
        ("SHIP_ROLLED_BACK_FROM_COMMIT".to_string(), field(ReleaseRef::commit_str)),
        ("SHIP_ROLLED_BACK_FROM_ARTIFACT_SHA256".to_string(), field(ReleaseRef::sha256_str)),
        ("SHIP_ROLLED_BACK_FROM_RELEASE_DIR".to_string(), dir.unwrap_or_default()),
    ]
}

/// The one value every item has, if they all have the same.
pub(crate) fn common<T: PartialEq + Clone>(mut items: impl Iterator<Item = T>) -> Option<T> {
    let first = items.next()?;
    items.all(|x| x == first).then_some(first)
}

/// What a run of `plan` is about: the release it deploys or restores.
pub(crate) fn head_of(plan: &Plan) -> ReleaseRef {
    ReleaseRef {
        release: plan.release.clone(),
        version: Some(plan.version.clone()),
        commit: Some(plan.commit.clone()),
        sha256: Some(plan.artifact.sha256.clone()),
    }
}

/// The environment of local `after_rollback` steps: the restored release when every target
/// went back to the same one (else its fields are empty), and the one left behind.
pub(crate) fn local_rollback_env(
    cx: &Context<'_>,
    restored: Option<&ReleaseRef>,
    from: Option<&ReleaseRef>,
) -> Vec<(String, String)> {
    let blank = ReleaseRef::bare(ReleaseId::default());
    let mut env = local_env(cx, restored.unwrap_or(&blank));
    let at = env.iter().position(|(k, _)| k == "SHIP_ARTIFACT_SHA256").map_or(env.len(), |i| i + 1);
    let from_vars: Vec<_> = rolled_back_from(from, None).into_iter().filter(|(k, _)| !k.ends_with("_DIR")).collect();
    env.splice(at..at, from_vars);
    env
}

pub(crate) fn local_env(cx: &Context<'_>, head: &ReleaseRef) -> Vec<(String, String)> {
    let mut env = vec![
        ("SHIP_APP".to_string(), cx.config.app.clone()),
        ("SHIP_ENV".to_string(), cx.env.name.clone()),
        ("SHIP_VERSION".to_string(), head.version_str().to_string()),
        ("SHIP_COMMIT".to_string(), head.commit_str().to_string()),
        ("SHIP_ARTIFACT_SHA256".to_string(), head.sha256_str().to_string()),
    ];
    env.extend(cx.env.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(cx.secrets.iter().cloned());
    env
}
