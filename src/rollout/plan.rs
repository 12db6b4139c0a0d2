//! The plan: plain data computed from the targets' states, then either printed, saved, or
//! executed. Nothing here touches a target.

use serde::{Deserialize, Serialize};

use crate::config::{Config, Environment, On, When};
use crate::ids::{CommitId, ReleaseId, ReleaseRef, Sha256};
use crate::release::{ReleaseState, State};

/// The format of saved plans (`ship plan --out`).
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send and unpack the artifact, then switch.
    Deploy,
    /// The release is already on the target: switch to it (and run the steps again).
    Switch,
    /// The target already runs this artifact.
    Noop,
    /// The target runs this artifact, but its files changed (`deploy --repair`): rebuild the
    /// release from the artifact, in place, then run the steps and health check.
    Repair,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub sha256: Sha256,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub name: String,
    pub when: When,
    /// `unless` says the step will be skipped (only known when the release is already staged).
    pub skip: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPlan {
    pub target: String,
    /// Its roles (sorted): which steps and checks apply to it.
    #[serde(default)]
    pub roles: Vec<String>,
    pub current: Option<ReleaseRef>,
    pub action: Action,
    /// Deployed and checked first, alone.
    pub canary: bool,
    pub steps: Vec<PlannedStep>,
    /// `current` was switched by a deploy that never finished: this deploy completes it.
    pub unconfirmed: bool,
    /// The release this target goes back to if the deploy fails (what was live before).
    pub rollback_to: Option<ReleaseId>,
    /// What `rollback_to` is (version, commit, artifact), for the steps' environment during
    /// a rollback. Computed afresh with every plan, never saved.
    #[serde(skip)]
    pub restore: Option<ReleaseRef>,
    /// The artifact is on the target already (its file, whether or not its release is):
    /// staging need not send it. Computed afresh with every plan, never saved.
    #[serde(skip)]
    pub has_artifact: bool,
    /// The target holds file contents (objects): it is asked which it lacks, and sent only
    /// those. Computed afresh with every plan, never saved.
    #[serde(skip)]
    pub has_objects: bool,
    /// The last deploy to this target failed (and was rolled back): which release, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<LastFailure>,
    /// Why this target is left as it is (a rollback with nothing to go back to here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What changed in the live release's files (`action: "repair"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastFailure {
    pub release: ReleaseId,
    pub version: Option<String>,
    pub at: String,
    pub reason: Option<String>,
}

/// The newest failed release on a target since a deploy last went live there.
fn last_failure(state: &State) -> Option<LastFailure> {
    state.last_failure.as_ref().map(|r| LastFailure {
        release: r.release.clone(),
        version: r.version.clone(),
        at: r.failed_at.clone().unwrap_or_default(),
        reason: r.failure.clone(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan file's format; a ship refuses a format it does not know.
    pub format: u32,
    /// sha256 of the deploy.toml the plan was made from.
    pub config_sha256: String,
    pub app: String,
    pub env: String,
    pub version: String,
    pub commit: CommitId,
    pub artifact: ArtifactRef,
    pub release: ReleaseId,
    pub targets: Vec<TargetPlan>,
    /// Steps that run once on this machine.
    pub local_steps: Vec<PlannedStep>,
    pub changes: bool,
    /// Why a deploy of this plan would be refused (the `requires` gate), if it would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The targets fetch the artifact from the shared store themselves (`pull = true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
}

/// What is being deployed.
pub struct Subject<'a> {
    pub version: &'a str,
    pub commit: &'a str,
    pub sha256: &'a str,
}

impl Subject<'_> {
    /// A release as a subject: what is not known of it is empty.
    pub fn of(r: &ReleaseRef) -> Subject<'_> {
        Subject { version: r.version_str(), commit: r.commit_str(), sha256: r.sha256_str() }
    }
}

/// What a deploy of `subject` would do to targets in these states (`force`: run the steps
/// even where the artifact is already live). `skip_of` answers a step's `unless` on a target
/// where the release is already staged.
pub fn compute(
    config: &Config,
    env: &Environment,
    subject: Subject<'_>,
    states: &[State],
    force: bool,
    mut skip_of: impl FnMut(usize, &str) -> bool,
) -> Plan {
    let Subject { version, commit, sha256 } = subject;
    let release = ReleaseId::new(crate::release::release_id(sha256));
    let mut targets = Vec::new();
    let mut canaries = 0;
    let actions: Vec<Action> = states
        .iter()
        .map(|state| {
            let live_here = state.current.as_ref().is_some_and(|c| c.release == release);
            if live_here && state.confirmed && !force {
                Action::Noop
            } else if state.releases.iter().any(|r| r.release == release) {
                Action::Switch
            } else {
                Action::Deploy
            }
        })
        .collect();
    let active: Vec<usize> = (0..actions.len()).filter(|i| actions[*i] != Action::Noop).collect();
    for (i, (spec, state)) in env.targets.iter().zip(states).enumerate() {
        let action = actions[i];
        let staged = action == Action::Switch;
        let mut steps = Vec::new();
        if action != Action::Noop {
            // In the order they run: every before_switch step, then every after_switch one.
            let steps_in_order = [When::BeforeSwitch, When::AfterSwitch].into_iter().flat_map(|w| config.steps_at(w));
            for step in steps_in_order.filter(|s| env.runs_step(s, i, &active)) {
                let skip = staged && step.unless.as_deref().is_some_and(|u| skip_of(i, u));
                steps.push(PlannedStep { name: step.name.clone(), when: step.when, skip });
            }
        }
        let canary = action != Action::Noop && canaries < env.canary;
        if canary {
            canaries += 1;
        }
        let restore = if state.confirmed { state.current.as_ref() } else { state.previous.as_ref() };
        targets.push(TargetPlan {
            target: spec.to_string(),
            roles: env.roles_of(i).to_vec(),
            current: state.current.as_ref().map(ReleaseState::reference),
            action,
            canary,
            steps,
            unconfirmed: state.current.is_some() && !state.confirmed,
            last_failure: last_failure(state),
            rollback_to: restore.map(|c| c.release.clone()),
            restore: restore.map(ReleaseState::reference),
            has_artifact: state.artifacts.iter().any(|a| *a == subject.sha256),
            has_objects: state.objects,
            refused: None,
            changed: Vec::new(),
        });
    }
    let changes = targets.iter().any(|t| t.action != Action::Noop);
    let local_steps = if changes {
        [When::BeforeSwitch, When::AfterSwitch]
            .into_iter()
            .flat_map(|w| config.steps_at(w))
            .filter(|s| s.on == On::Local)
            .map(|s| PlannedStep { name: s.name.clone(), when: s.when, skip: false })
            .collect()
    } else {
        Vec::new()
    };
    Plan {
        format: FORMAT,
        config_sha256: config.fingerprint.clone(),
        app: config.app.clone(),
        env: env.name.clone(),
        version: version.to_string(),
        commit: CommitId::new(commit),
        artifact: ArtifactRef { sha256: Sha256::new(sha256) },
        release,
        targets,
        local_steps,
        changes,
        refused: None,
        pull: env.pull,
    }
}

/// One way a target (or the whole environment, `target: None`) differs from what a saved
/// plan observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub target: Option<String>,
    pub what: String,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.target {
            Some(t) => write!(f, "{t}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl Plan {
    /// What differs between the targets as this plan observed them and as `now` observes
    /// them, one entry per target that changed (empty: the plan still holds).
    pub fn drift(&self, now: &Plan) -> Vec<Drift> {
        let mut changes = Vec::new();
        let names: Vec<&str> = self.targets.iter().map(|t| t.target.as_str()).collect();
        let now_names: Vec<&str> = now.targets.iter().map(|t| t.target.as_str()).collect();
        if names != now_names {
            changes.push(Drift {
                target: None,
                what: format!(
                    "the environment's targets changed: the plan has {}, now {}",
                    names.join(", "),
                    now_names.join(", ")
                ),
            });
            return changes;
        }
        let show = |c: &Option<ReleaseRef>, unconfirmed: bool| match c {
            None => "nothing live".to_string(),
            Some(c) => format!(
                "release {} ({}){}",
                c.release,
                c.version.as_deref().unwrap_or("?"),
                if unconfirmed { ", not confirmed" } else { "" }
            ),
        };
        for (then, now) in self.targets.iter().zip(&now.targets) {
            let was = (then.current.as_ref().map(|c| &c.release), then.unconfirmed);
            let is = (now.current.as_ref().map(|c| &c.release), now.unconfirmed);
            if was != is {
                changes.push(Drift {
                    target: Some(then.target.clone()),
                    what: format!(
                        "the plan saw {}, it now has {}",
                        show(&then.current, then.unconfirmed),
                        show(&now.current, now.unconfirmed)
                    ),
                });
            }
        }
        changes
    }
}
