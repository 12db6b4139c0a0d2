//! The agent protocol: line-delimited JSON over the SSH channel, like git and rsync speak.
//!
//! The agent greets first with its protocol number. Then the client sends one message at a
//! time and reads until its answer: any number of `line`s (step output, as it happens), then
//! one `reply` or `error`. An `artifact` message is followed by exactly `size` raw bytes.
//! Anything else on either side ends the session with an error; nothing is guessed.

use serde::{Deserialize, Serialize};

use crate::release::prune::Pruning;
use crate::release::{Check, Holder, Record, State, StepRequest, StepResult};

/// Bumped whenever a message changes shape. Peers with different numbers refuse each other.
pub const PROTOCOL: u32 = 3;

/// The longest line either side accepts (a journal can be long; a step line cannot).
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// The largest artifact an agent accepts (64 GiB).
pub const MAX_ARTIFACT: u64 = 64 << 30;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToAgent {
    Call { request: Box<Request> },
    Artifact { sha256: String, size: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromAgent {
    Hello { protocol: u32, version: String },
    Line { line: String },
    Reply { reply: Reply },
    Error { message: String },
}

/// Read one `\n`-terminated line, refusing lines longer than [`MAX_LINE`]. `Ok(None)` at EOF.
pub fn read_line(reader: &mut impl std::io::BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = std::io::BufRead::read_until(&mut std::io::Read::take(&mut *reader, MAX_LINE as u64 + 1), b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        let why = if buf.len() > MAX_LINE { "a line longer than the protocol allows" } else { "a truncated line" };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    }
    buf.pop();
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "a line that is not UTF-8"))
}

/// Decode one line from the deploying ship: a message of this protocol whose every field
/// is valid. Anything else is a protocol error, never a panic.
pub fn decode_to_agent(line: &str) -> Result<ToAgent, String> {
    let message: ToAgent =
        serde_json::from_str(line).map_err(|e| format!("not a message of protocol {PROTOCOL}: {e}"))?;
    message.validate().map_err(|e| format!("protocol error: {e}"))?;
    Ok(message)
}

impl ToAgent {
    /// Check every field a peer could get wrong (or forge) before anything acts on it.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ToAgent::Call { request } => request.validate(),
            ToAgent::Artifact { sha256, size } => {
                crate::release::names::check_sha256(sha256)?;
                if *size > MAX_ARTIFACT {
                    return Err(format!("an artifact of {size} bytes is larger than the {MAX_ARTIFACT} bytes allowed"));
                }
                Ok(())
            }
        }
    }
}

/// Write one message as a line and flush it.
pub fn send<T: Serialize>(out: &mut impl std::io::Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

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
        use crate::release::names::{check_env, check_release_id, check_sha256, check_shared_paths, check_text};
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
