//! The deploying side of the protocol: [`Target`], one connection to one target, and its
//! typed calls, so callers never match on replies. Every kind of target carries the same
//! [`Request`]s to the same [`handle`](super::handle).
//!
//! This layer moves requests and bytes; it never decides what to do with a target.

use anyhow::Result;

use super::protocol::{Reply, Request};
use super::session::AgentTarget;
use crate::artifact::Artifact;
use crate::config::{SshConfig, TargetSpec};
use crate::error::Refusal;
use crate::release::prune::Pruning;
use crate::release::{Holder, Record, State, StepRequest, StepResult};

/// A connection to one target.
pub trait Target: Send {
    fn spec(&self) -> &TargetSpec;

    /// Carry one request to the target; step output comes back through `on_line`.
    fn call(&mut self, request: Request, on_line: &mut dyn FnMut(&str)) -> Result<Reply>;

    /// Send an artifact's bytes; the target keeps them only if their sha256 matches.
    fn send_artifact(&mut self, artifact: &Artifact) -> Result<()>;
}

/// Open a connection to the target.
pub fn connect(spec: &TargetSpec, ssh: &SshConfig) -> Result<Box<dyn Target>> {
    match spec {
        TargetSpec::Local { .. } => Ok(Box::new(AgentTarget::local(spec)?)),
        TargetSpec::Ssh { .. } => Ok(Box::new(AgentTarget::ssh(spec, ssh)?)),
    }
}

fn unexpected(target: &TargetSpec, reply: Reply) -> anyhow::Error {
    anyhow::anyhow!("{target}: unexpected reply from the target: {reply:?}")
}

/// Typed calls, so callers never match on replies.
impl dyn Target + '_ {
    fn ask(&mut self, request: Request) -> Result<Reply> {
        self.call(request, &mut |_| {})
    }

    fn locked(&self, holder: Option<Holder>) -> anyhow::Error {
        Refusal::locked(&self.spec().to_string(), holder.as_ref())
            .hint("wait for it with --lock-wait DURATION, or ask its holder")
            .into()
    }

    /// Take the target's lock for this connection. With `wait`, keep trying that long;
    /// `waiting` hears once who holds it, when it has to wait.
    pub fn lock(
        &mut self,
        holder: &Holder,
        wait: Option<std::time::Duration>,
        waiting: &mut dyn FnMut(Option<&Holder>),
    ) -> Result<()> {
        let deadline = wait.map(|w| std::time::Instant::now() + w);
        let mut told = false;
        loop {
            match self.ask(Request::Lock { holder: holder.clone() })? {
                Reply::Done => return Ok(()),
                Reply::Locked { holder } => match deadline {
                    Some(d) if std::time::Instant::now() < d => {
                        if !told {
                            waiting(holder.as_ref());
                            told = true;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200))
                    }
                    _ => return Err(self.locked(holder)),
                },
                other => return Err(unexpected(self.spec(), other)),
            }
        }
    }

    /// `ship lock`: hold the target beyond this process, until `release_hold`.
    pub fn hold(&mut self, holder: &Holder) -> Result<()> {
        match self.ask(Request::Hold { holder: holder.clone() })? {
            Reply::Done => Ok(()),
            Reply::Locked { holder } => Err(self.locked(holder)),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    /// End a `ship lock`; returns who held it (`None`: nobody did). `breaker`: who lifts a
    /// lock that may be someone else's, for the target's journal.
    pub fn release_hold(&mut self, breaker: Option<&Holder>) -> Result<Option<Holder>> {
        match self.ask(Request::ReleaseHold { breaker: breaker.cloned() })? {
            Reply::Released { holder } => Ok(holder),
            Reply::Locked { holder } => Err(self.locked(holder)),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn check(&mut self, shared: &[String]) -> Result<crate::release::Check> {
        match self.ask(Request::Check { shared: shared.to_vec() })? {
            Reply::Check { check } => Ok(check),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn unlock(&mut self) -> Result<()> {
        self.ask(Request::Unlock).map(|_| ())
    }

    pub fn state(&mut self) -> Result<State> {
        match self.ask(Request::State)? {
            Reply::State { state } => Ok(*state),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    /// Pull mode: the target GETs the artifact from `url` itself and keeps it only if its
    /// sha256 matches.
    pub fn fetch_artifact(&mut self, url: &str, sha256: &str) -> Result<()> {
        match self.ask(Request::Fetch { url: url.to_string(), sha256: sha256.to_string() })? {
            Reply::Done => Ok(()),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn has_artifact(&mut self, sha256: &str) -> Result<bool> {
        match self.ask(Request::HasArtifact { sha256: sha256.to_string() })? {
            Reply::Bool { value } => Ok(value),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn stage(&mut self, sha256: &str, shared: &[String]) -> Result<(String, bool)> {
        match self.ask(Request::Stage { sha256: sha256.to_string(), shared: shared.to_vec() })? {
            Reply::Staged { release, reused } => Ok((release, reused)),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    /// Rebuild the live release of `sha256` from the artifact (which must be on the target).
    pub fn repair(&mut self, sha256: &str, shared: &[String]) -> Result<()> {
        match self.ask(Request::Repair { sha256: sha256.to_string(), shared: shared.to_vec() })? {
            Reply::Done => Ok(()),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn switch(&mut self, release: &str) -> Result<Option<String>> {
        match self.ask(Request::Switch { release: release.to_string() })? {
            Reply::Switched { before } => Ok(before),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn unswitch(&mut self) -> Result<()> {
        self.ask(Request::Unswitch).map(|_| ())
    }

    pub fn run_step(&mut self, step: StepRequest, on_line: &mut dyn FnMut(&str)) -> Result<StepResult> {
        match self.call(Request::RunStep { step }, on_line)? {
            Reply::Step { result } => Ok(result),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn would_skip(&mut self, unless: &str, release: &str, env: &[(String, String)]) -> Result<bool> {
        let request =
            Request::WouldSkip { unless: unless.to_string(), release: release.to_string(), env: env.to_vec() };
        match self.ask(request)? {
            Reply::Bool { value } => Ok(value),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn record(&mut self, record: &Record) -> Result<()> {
        self.ask(Request::Record { record: record.clone() }).map(|_| ())
    }

    /// Remove what the target no longer needs (`dry_run`: only say what would go).
    pub fn prune(&mut self, keep: usize, dry_run: bool) -> Result<Pruning> {
        match self.ask(Request::Prune { keep, dry_run })? {
            Reply::Pruned { pruning } => Ok(*pruning),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn verify(&mut self, shared: &[String]) -> Result<Vec<String>> {
        match self.ask(Request::Verify { shared: shared.to_vec() })? {
            Reply::Problems { problems } => Ok(problems),
            other => Err(unexpected(self.spec(), other)),
        }
    }

    pub fn journal(&mut self) -> Result<Vec<Record>> {
        match self.ask(Request::Journal)? {
            Reply::Journal { records } => Ok(records),
            other => Err(unexpected(self.spec(), other)),
        }
    }
}
