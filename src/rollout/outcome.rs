//! What a rollout tells as it goes ([`Note`]s to a [`Reporter`]) and what it ends with (an
//! [`Outcome`]): plain data, never text for people.

use super::*;

/// Something worth telling the person or log watching a rollout.
#[derive(Debug, Clone)]
pub enum Note<'a> {
    /// A target is locked by another run, and this one waits for it up to `limit`.
    Waiting {
        target: &'a str,
        holder: Option<&'a crate::release::Holder>,
        limit: Duration,
    },
    /// How many requests a target's connection carried in this run (each a round trip).
    Exchanges {
        target: &'a str,
        count: u32,
    },
    /// This ship was uploaded to the target's host, to serve as its agent (`bytes` sent,
    /// `gzip` or `raw`, kept in `dir` there).
    AgentUploaded {
        target: &'a str,
        upload: &'a crate::agent::AgentUpload,
    },
    /// A target of this run, before anything is done to it: what it runs.
    Target {
        target: &'a str,
        live: Option<&'a str>,
    },
    /// The target fetches the artifact from the shared store itself (pull mode).
    Fetching {
        target: &'a str,
    },
    /// The artifact is sent to a target: `bytes` of it, or with `files` (sent, of all the
    /// artifact's contents) a delta of only what the target lacks.
    Sending {
        target: &'a str,
        bytes: u64,
        files: Option<(usize, usize)>,
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
        hint: Option<&'a str>,
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
    pub release: Option<ReleaseId>,
    pub duration_ms: u64,
    /// The artifact's bytes sent to this target from here: the whole artifact, or a delta
    /// of only the contents it lacked with its manifest (0 when none went, or it fetched
    /// the artifact from the store itself).
    #[serde(default)]
    pub sent_bytes: u64,
    /// What went wrong here, if anything: what happened, its kind, and what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<crate::error::ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The result of a deploy or rollback: the JSON document the README describes ("JSON").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub env: String,
    pub outcome: FleetOutcome,
    pub version: String,
    pub commit: CommitId,
    pub artifact: ArtifactRef,
    pub targets: Vec<TargetResult>,
    /// The user stopped the run (Ctrl-C or SIGTERM) before it finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A deploy that was rolled back: the release every switched target went back to (absent
    /// when they went back to different releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<ReleaseRef>,
    /// A rollback: the release the targets it switched ran before (absent when they differed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<ReleaseRef>,
    /// `ship promote`: the environment whose live artifact this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}
