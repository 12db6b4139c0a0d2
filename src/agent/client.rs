//! The deploying side of the protocol: [`Target`], one connection to one target, and its
//! typed calls, so callers never match on replies. Every kind of target carries the same
//! [`Request`]s to the same [`handle`](super::handle).
//!
//! This layer moves requests and bytes; it never decides what to do with a target.

use std::path::Path;

use anyhow::Result;

use super::protocol::{Reply, Request, Source, Staging};
use super::session::AgentTarget;
use crate::artifact::Artifact;
use crate::config::{ReleaseConfig, SshConfig, TargetSpec};
use crate::error::Refusal;
use crate::release::prune::Pruning;
use crate::release::{ExecRequest, ExecResult, Holder, Record, State, StepRequest, StepResult};

/// A connection to one target.
pub trait Target: Send {
    fn spec(&self) -> &TargetSpec;

    /// Carry one request to the target, followed by the bytes of `upload` when given; step
    /// output comes back through `on_line`.
    fn call(&mut self, request: Request, upload: Option<Upload<'_>>, on_line: &mut dyn FnMut(&str)) -> Result<Reply>;

    /// How many requests this connection has carried (each one round trip).
    fn exchanges(&self) -> u32;

    /// End the connection now (the agent exits, and with it any lock it held); dropping a
    /// target does the same. Closing many at once is faster than dropping them in turn.
    fn close(&mut self) {}
}

/// The bytes that follow a request.
#[derive(Clone, Copy)]
pub enum Upload<'a> {
    /// The whole of a file (an artifact).
    File(&'a Path),
    Bytes(&'a [u8]),
}

impl Upload<'_> {
    pub fn size(&self) -> Result<u64> {
        Ok(match self {
            Upload::File(path) => {
                std::fs::metadata(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?.len()
            }
            Upload::Bytes(bytes) => bytes.len() as u64,
        })
    }
}

/// Where a target gets an artifact it lacks from, as the deploying side sees it.
pub enum Supply<'a> {
    /// It has it (its release is on the target).
    Here,
    /// Sent from here, after the request.
    Upload(&'a Artifact),
    /// Only the files whose contents the target lacks, sent from here (see
    /// [`crate::artifact::delta`]).
    Delta(std::sync::Arc<crate::artifact::delta::Delta>),
    /// Pull mode: the target GETs it from this (presigned) URL.
    Fetch(String),
}

impl Supply<'_> {
    fn split(&self) -> Result<(Source, Option<Upload<'_>>)> {
        Ok(match self {
            Supply::Here => (Source::Here, None),
            Supply::Upload(artifact) => {
                let upload = Upload::File(&artifact.path);
                (Source::Upload { size: upload.size()? }, Some(upload))
            }
            Supply::Delta(delta) => (
                Source::Delta { size: delta.bytes.len() as u64, manifest: delta.manifest.as_str().into() },
                Some(Upload::Bytes(&delta.bytes)),
            ),
            Supply::Fetch(url) => (Source::Fetch { url: url.clone() }, None),
        })
    }
}

/// Open a connection to the target.
pub fn connect(spec: &TargetSpec, ssh: &SshConfig) -> Result<Box<dyn Target>> {
    match spec {
        TargetSpec::Local { .. } => Ok(Box::new(AgentTarget::local(spec)?)),
        TargetSpec::Ssh { .. } => Ok(Box::new(AgentTarget::ssh(spec, ssh)?)),
    }
}

fn unexpected(reply: Reply) -> anyhow::Error {
    crate::error::TargetError::new(
        crate::error::ErrorKind::Protocol,
        format!("unexpected reply from the agent: {reply:?}"),
    )
    .into()
}

/// Typed calls, so callers never match on replies.
impl dyn Target + '_ {
    fn ask(&mut self, request: Request) -> Result<Reply> {
        self.call(request, None, &mut |_| {})
    }

    fn locked(&self, holder: Option<Holder>) -> anyhow::Error {
        Refusal::locked(&self.spec().to_string(), holder.as_ref())
            .hint("wait for it with --lock-wait DURATION, or ask its holder")
            .into()
    }

    /// Still locked when `--lock-wait` ran out.
    fn still_locked(&self, holder: Option<Holder>, wait: std::time::Duration) -> anyhow::Error {
        Refusal::locked(&self.spec().to_string(), holder.as_ref())
            .hint(format!(
                "it was still held after waiting {}: ask its holder, or wait longer",
                humantime::format_duration(wait)
            ))
            .into()
    }

    /// One try at the lock, and the state read under it in the same exchange:
    /// `Ok(Err(holder))` when another has it.
    pub fn try_lock_reading(&mut self, holder: &Holder) -> Result<Result<State, Option<Holder>>> {
        match self.ask(Request::Lock { holder: holder.clone(), state: true })? {
            Reply::State { state } => Ok(Ok(*state)),
            Reply::Locked { holder } => Ok(Err(holder)),
            other => Err(unexpected(other)),
        }
    }

    /// Take the target's lock for this connection and read the state under it. With
    /// `wait`, keep trying that long; `waiting` hears once who holds it, when it has to wait.
    pub fn lock_reading(
        &mut self,
        holder: &Holder,
        wait: Option<std::time::Duration>,
        waiting: &mut dyn FnMut(Option<&Holder>),
    ) -> Result<State> {
        let deadline = wait.map(|w| std::time::Instant::now() + w);
        let mut told = false;
        loop {
            match self.try_lock_reading(holder)? {
                Ok(state) => return Ok(state),
                Err(holder) => match deadline {
                    Some(d) if std::time::Instant::now() < d => {
                        if !told {
                            waiting(holder.as_ref());
                            told = true;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200))
                    }
                    Some(_) => return Err(self.still_locked(holder, wait.unwrap_or_default())),
                    None => return Err(self.locked(holder)),
                },
            }
        }
    }

    /// `ship lock`: hold the target beyond this process, until `release_hold`.
    pub fn hold(&mut self, holder: &Holder) -> Result<()> {
        match self.ask(Request::Hold { holder: holder.clone() })? {
            Reply::Done => Ok(()),
            Reply::Locked { holder } => Err(self.locked(holder)),
            other => Err(unexpected(other)),
        }
    }

    /// End a `ship lock`; returns who held it (`None`: nobody did). `breaker`: who lifts a
    /// lock that may be someone else's, for the target's journal.
    pub fn release_hold(&mut self, breaker: Option<&Holder>) -> Result<Option<Holder>> {
        match self.ask(Request::ReleaseHold { breaker: breaker.cloned() })? {
            Reply::Released { holder } => Ok(holder),
            Reply::Locked { holder } => Err(self.locked(holder)),
            other => Err(unexpected(other)),
        }
    }

    pub fn check(&mut self, shared: &[String]) -> Result<crate::release::Check> {
        match self.ask(Request::Check { shared: shared.to_vec() })? {
            Reply::Check { check } => Ok(check),
            other => Err(unexpected(other)),
        }
    }

    pub fn unlock(&mut self) -> Result<()> {
        self.ask(Request::Unlock).map(|_| ())
    }

    pub fn state(&mut self) -> Result<State> {
        match self.ask(Request::State)? {
            Reply::State { state } => Ok(*state),
            other => Err(unexpected(other)),
        }
    }

    /// Journal `before`, get the artifact from `supply`, unpack it as a release (unless it
    /// is there), journal `after`: the release's id, and whether it was there already.
    pub fn stage(
        &mut self,
        sha256: &str,
        release: &ReleaseConfig,
        supply: Supply<'_>,
        before: Vec<Record>,
        after: Vec<Record>,
    ) -> Result<(String, bool)> {
        match self.staging(Request::Stage, sha256, release, supply, before, after)? {
            Reply::Staged { release, reused } => Ok((release.into(), reused)),
            other => Err(unexpected(other)),
        }
    }

    /// Rebuild the live release of `sha256` from the artifact, journaled as `stage` is.
    pub fn repair(
        &mut self,
        sha256: &str,
        release: &ReleaseConfig,
        supply: Supply<'_>,
        before: Vec<Record>,
        after: Vec<Record>,
    ) -> Result<()> {
        match self.staging(Request::Repair, sha256, release, supply, before, after)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Send a `Stage` or `Repair` (`kind`), with the artifact's bytes after it if `supply`
    /// uploads them.
    fn staging(
        &mut self,
        kind: fn(Staging) -> Request,
        sha256: &str,
        release: &ReleaseConfig,
        supply: Supply<'_>,
        before: Vec<Record>,
        after: Vec<Record>,
    ) -> Result<Reply> {
        let (source, upload) = supply.split()?;
        let staging = Staging {
            sha256: sha256.into(),
            shared: release.shared.clone(),
            writable: release.writable.clone(),
            source,
            before,
            after,
        };
        self.call(kind(staging), upload, &mut |_| {})
    }

    /// Offer the manifest of a delta (`offer`: a zstd tar of it alone) and learn which of
    /// its contents the target lacks: their positions in the manifest's order. With
    /// `verify`, the target hashes what it holds as well.
    pub fn lacks(&mut self, offer: &[u8], verify: bool) -> Result<Vec<u32>> {
        let request = Request::Lacks { size: offer.len() as u64, verify };
        match self.call(request, Some(Upload::Bytes(offer)), &mut |_| {})? {
            Reply::Lacks { missing } => Ok(missing),
            other => Err(unexpected(other)),
        }
    }

    /// Journal `before`, point `current` at `release`, journal `after`: what `current`
    /// pointed at before.
    pub fn switch(&mut self, release: &str, before: Vec<Record>, after: Vec<Record>) -> Result<Option<String>> {
        match self.ask(Request::Switch { release: release.into(), before, after })? {
            Reply::Switched { before } => Ok(before.map(String::from)),
            other => Err(unexpected(other)),
        }
    }

    /// Remove `current`, then journal `after`.
    pub fn unswitch(&mut self, after: Vec<Record>) -> Result<()> {
        match self.ask(Request::Unswitch { after })? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub fn run_step(&mut self, step: StepRequest, on_line: &mut dyn FnMut(&str)) -> Result<StepResult> {
        match self.call(Request::RunStep { step }, None, on_line)? {
            Reply::Step { result } => Ok(result),
            other => Err(unexpected(other)),
        }
    }

    /// `ship exec`: run `exec.argv` (no shell) in the live release `exec.release`, its
    /// output coming back through `on_line`. Takes no lock.
    pub fn exec(&mut self, exec: ExecRequest, on_line: &mut dyn FnMut(&str)) -> Result<ExecResult> {
        match self.call(Request::Exec { exec }, None, on_line)? {
            Reply::Exec { result } => Ok(result),
            other => Err(unexpected(other)),
        }
    }

    pub fn would_skip(&mut self, unless: &str, release: &str, env: &[(String, String)]) -> Result<bool> {
        let request =
            Request::WouldSkip { unless: unless.to_string(), release: release.to_string(), env: env.to_vec() };
        match self.ask(request)? {
            Reply::Bool { value } => Ok(value),
            other => Err(unexpected(other)),
        }
    }

    /// Append records to the target's journal.
    pub fn record(&mut self, records: Vec<Record>) -> Result<()> {
        match self.ask(Request::Record { records })? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// The end of a run here: journal `journal`, prune to `prune` releases if given, journal
    /// `end`, unlock. What pruning removed, and what failed (each worth a warning, none
    /// stopping the rest: the lock is released whatever happened).
    pub fn finish(
        &mut self,
        journal: Vec<Record>,
        prune: Option<usize>,
        end: Option<Record>,
    ) -> Result<(Option<Pruning>, Vec<String>)> {
        match self.ask(Request::Finish { journal, prune, end: end.map(Box::new) })? {
            Reply::Finished { pruning, problems } => Ok((pruning.map(|p| *p), problems)),
            other => Err(unexpected(other)),
        }
    }

    /// Remove what the target no longer needs (`dry_run`: only say what would go).
    pub fn prune(&mut self, keep: usize, dry_run: bool) -> Result<Pruning> {
        match self.ask(Request::Prune { keep, dry_run })? {
            Reply::Pruned { pruning } => Ok(*pruning),
            other => Err(unexpected(other)),
        }
    }

    pub fn verify(&mut self, release: &ReleaseConfig) -> Result<Vec<String>> {
        match self.ask(Request::Verify { shared: release.shared.clone(), writable: release.writable.clone() })? {
            Reply::Problems { problems } => Ok(problems),
            other => Err(unexpected(other)),
        }
    }

    pub fn journal(&mut self) -> Result<Vec<Record>> {
        match self.ask(Request::Journal)? {
            Reply::Journal { records } => Ok(records),
            other => Err(unexpected(other)),
        }
    }
}
