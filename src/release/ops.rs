//! The on-target operations as data: a [`Request`] and its [`Reply`], and [`handle`], the one
//! dispatch that serves them. `ship agent` calls `handle` for every target, local (a child
//! process over pipes) or remote (over SSH), so there is exactly one implementation of each
//! operation.

use serde::{Deserialize, Serialize};

use super::prune::Pruning;
use super::{Check, Holder, Record, Site, State, StepRequest, StepResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Lock {
        holder: Holder,
    },
    Unlock,
    /// `ship lock`: hold the target beyond this connection, until `ReleaseHold`.
    Hold {
        holder: Holder,
    },
    ReleaseHold {
        /// Who lifts it, when it may be someone else's (`ship unlock --force`): journaled.
        #[serde(default)]
        breaker: Option<Holder>,
    },
    /// `ship check ENV`; `shared`: the `[release] shared` paths, to say which are missing.
    Check {
        #[serde(default)]
        shared: Vec<String>,
    },
    State,
    HasArtifact {
        sha256: String,
    },
    Stage {
        sha256: String,
        shared: Vec<String>,
    },
    /// `deploy --repair`: rebuild the live release of this artifact from it.
    Repair {
        sha256: String,
        shared: Vec<String>,
    },
    Switch {
        release: String,
    },
    /// Remove `current`: undo the first deploy of a target that had nothing live before.
    Unswitch,
    RunStep {
        step: StepRequest,
    },
    WouldSkip {
        unless: String,
        release: String,
        env: Vec<(String, String)>,
    },
    Record {
        record: Record,
    },
    Prune {
        keep: usize,
        dry_run: bool,
    },
    /// Pull mode: GET the artifact from a (presigned) URL and keep it if its sha256 matches.
    Fetch {
        url: String,
        sha256: String,
    },
    Verify {
        shared: Vec<String>,
    },
    Journal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Done,
    Locked { holder: Option<Holder> },
    Released { holder: Option<Holder> },
    Check { check: Check },
    State { state: Box<State> },
    Bool { value: bool },
    Staged { release: String, reused: bool },
    Switched { before: Option<String> },
    Step { result: StepResult },
    Pruned { pruning: Box<Pruning> },
    Problems { problems: Vec<String> },
    Journal { records: Vec<Record> },
}

impl Request {
    /// Check every field a peer sends before anything acts on it: digests and release ids
    /// in their formats, shared paths below the target, environment a process can carry.
    pub fn validate(&self) -> Result<(), String> {
        use super::names::{check_env, check_release_id, check_sha256, check_shared_paths, check_text};
        match self {
            Request::HasArtifact { sha256 } => check_sha256(sha256),
            Request::Fetch { url, sha256 } => {
                check_sha256(sha256)?;
                check_text("artifact URL", url)?;
                if url.len() > 16 * 1024 || !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("the artifact URL must be an http:// or https:// URL of at most 16 KiB".into());
                }
                Ok(())
            }
            Request::Stage { sha256, shared } | Request::Repair { sha256, shared } => {
                check_sha256(sha256)?;
                check_shared_paths(shared)
            }
            Request::Verify { shared } | Request::Check { shared } => check_shared_paths(shared),
            Request::Switch { release } => check_release_id(release),
            Request::RunStep { step } => {
                check_release_id(&step.release)?;
                check_text("step name", &step.name)?;
                check_text("step command", &step.run)?;
                step.unless.as_deref().map_or(Ok(()), |u| check_text("step's unless", u))?;
                check_env(&step.env)
            }
            Request::WouldSkip { unless, release, env } => {
                check_release_id(release)?;
                check_text("step's unless", unless)?;
                check_env(env)
            }
            Request::Record { record } => {
                for release in [&record.release, &record.from].into_iter().flatten() {
                    check_release_id(release)?;
                }
                record.sha256.as_deref().map_or(Ok(()), check_sha256)
            }
            Request::Lock { .. }
            | Request::Unlock
            | Request::Hold { .. }
            | Request::ReleaseHold { .. }
            | Request::State
            | Request::Unswitch
            | Request::Prune { .. }
            | Request::Journal => Ok(()),
        }
    }
}

/// Serve one request on `site`. Its fields were checked when it was decoded
/// ([`crate::target::protocol::decode_to_agent`], which calls [`Request::validate`]). Step output goes to `on_line` as it comes.
pub fn handle(site: &mut Site, request: Request, on_line: &mut dyn FnMut(&str)) -> anyhow::Result<Reply> {
    Ok(match request {
        Request::Lock { holder } => match site.lock(&holder)? {
            Ok(()) => Reply::Done,
            Err(holder) => Reply::Locked { holder },
        },
        Request::Hold { holder } => match site.hold(&holder)? {
            Ok(()) => Reply::Done,
            Err(holder) => Reply::Locked { holder },
        },
        Request::ReleaseHold { breaker } => match site.release_hold(breaker.as_ref())? {
            Ok(holder) => Reply::Released { holder },
            Err(holder) => Reply::Locked { holder },
        },
        Request::Check { shared } => Reply::Check { check: site.check(&shared)? },
        Request::Unlock => {
            site.unlock();
            Reply::Done
        }
        Request::State => Reply::State { state: Box::new(site.state()?) },
        Request::HasArtifact { sha256 } => Reply::Bool { value: site.has_artifact(&sha256) },
        Request::Fetch { url, sha256 } => {
            site.fetch_artifact(&url, &sha256)?;
            Reply::Done
        }
        Request::Stage { sha256, shared } => {
            let (release, reused) = site.stage(&sha256, &shared)?;
            Reply::Staged { release, reused }
        }
        Request::Switch { release } => Reply::Switched { before: site.switch(&release)? },
        Request::Unswitch => {
            site.unswitch()?;
            Reply::Done
        }
        Request::RunStep { step } => Reply::Step { result: site.run_step(&step, on_line)? },
        Request::WouldSkip { unless, release, env } => Reply::Bool { value: site.would_skip(&unless, &release, &env)? },
        Request::Record { record } => {
            site.record(&record)?;
            Reply::Done
        }
        Request::Prune { keep, dry_run } => Reply::Pruned { pruning: Box::new(site.prune(keep, dry_run)?) },
        Request::Verify { shared } => Reply::Problems { problems: site.verify(&shared)? },
        Request::Repair { sha256, shared } => {
            site.repair(&sha256, &shared)?;
            Reply::Done
        }
        Request::Journal => Reply::Journal { records: site.journal()? },
    })
}
