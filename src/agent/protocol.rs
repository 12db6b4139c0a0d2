//! The agent protocol: line-delimited JSON over the SSH channel, like git and rsync speak.
//!
//! The agent greets first with its protocol number. Then the client sends one message at a
//! time and reads until its answer: any number of `line`s (step output, as it happens), then
//! one `reply` or `error`. A request whose `source` is an `upload` is followed by exactly
//! `size` raw bytes. Anything else on either side ends the session with an error; nothing is
//! guessed.
//!
//! Round trips are what a fleet deploy waits on, so the requests that change a target carry
//! the journal records that go with them (`before` and `after` the change), and a lock can
//! answer with the state: a new version is lock+state, stage (with the artifact's bytes),
//! switch, finish (journal, prune, unlock) — four exchanges, plus one per step. A target
//! that already holds file contents is first asked which of the new release's it lacks
//! (`lacks`), and sent only those (`source: delta`): one exchange more, most bytes fewer.

use serde::{Deserialize, Serialize};

use crate::ids::{ReleaseId, Sha256};
use crate::release::prune::Pruning;
use crate::release::{Check, ExecRequest, ExecResult, Holder, Record, State, StepRequest, StepResult};

/// Bumped whenever a message changes shape. Peers with different numbers refuse each other.
pub const PROTOCOL: u32 = 6;

/// The longest line either side accepts (a journal can be long; a step line cannot).
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// The largest artifact an agent accepts (64 GiB).
pub const MAX_ARTIFACT: u64 = 64 << 30;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToAgent {
    Call { request: Box<Request> },
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
    /// Take the target's lock for this connection; with `state`, answer with the target's
    /// state read under it (one exchange instead of two).
    Lock {
        holder: Holder,
        #[serde(default)]
        state: bool,
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
    /// Which contents of this manifest does the target lack, or hold damaged? `size` bytes
    /// follow: a zstd tar of the manifest alone, which the delta that follows uses. With
    /// `verify`, what the target holds is hashed too (for a repair). Answered by `Lacks`.
    Lacks {
        size: u64,
        #[serde(default)]
        verify: bool,
    },
    /// Unpack the artifact as a release (unless it is there).
    Stage(Staging),
    /// `deploy --repair`: rebuild the live release of this artifact from it.
    Repair(Staging),
    /// Journal `before`, point `current` at `release`, journal `after`.
    Switch {
        release: ReleaseId,
        #[serde(default)]
        before: Vec<Record>,
        #[serde(default)]
        after: Vec<Record>,
    },
    /// Remove `current`: undo the first deploy of a target that had nothing live before;
    /// then journal `after`.
    Unswitch {
        #[serde(default)]
        after: Vec<Record>,
    },
    RunStep {
        step: StepRequest,
    },
    /// `ship exec`: run an argv (no shell) in the live release, streaming its output as
    /// `line`s; answered by `Exec`. Neither takes nor needs the lock.
    Exec {
        exec: ExecRequest,
    },
    WouldSkip {
        unless: String,
        release: String,
        env: Vec<(String, String)>,
    },
    Record {
        records: Vec<Record>,
    },
    Prune {
        keep: usize,
        dry_run: bool,
    },
    /// The end of a run on this target: journal `journal`, prune to `prune` releases if
    /// given, journal `end`, and unlock, whatever failed before. Answered by `Finished`.
    Finish {
        #[serde(default)]
        journal: Vec<Record>,
        #[serde(default)]
        prune: Option<usize>,
        #[serde(default)]
        end: Option<Box<Record>>,
    },
    /// Rehash the live release; files matching `writable` are only checked to be there.
    Verify {
        shared: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        writable: Vec<String>,
    },
    Journal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Done,
    Locked {
        holder: Option<Holder>,
    },
    Released {
        holder: Option<Holder>,
    },
    Check {
        check: Check,
    },
    State {
        state: Box<State>,
    },
    Bool {
        value: bool,
    },
    Staged {
        release: ReleaseId,
        reused: bool,
    },
    /// The positions of the contents the target lacks, in the manifest's order (each
    /// content once, a symlink none).
    Lacks {
        missing: Vec<u32>,
    },
    Switched {
        before: Option<ReleaseId>,
    },
    Step {
        result: StepResult,
    },
    /// The answer to `Exec`: how the command ended.
    Exec {
        result: ExecResult,
    },
    Pruned {
        pruning: Box<Pruning>,
    },
    Problems {
        problems: Vec<String>,
    },
    Journal {
        records: Vec<Record>,
    },
    /// The answer to `Finish`: what pruning removed, and what went wrong (each a warning).
    Finished {
        pruning: Option<Box<Pruning>>,
        problems: Vec<String>,
    },
}

/// What `Stage` and `Repair` carry: journal `before`, get the artifact from `source`, do
/// the work, journal `after`. On the wire its fields stand beside `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staging {
    pub sha256: Sha256,
    pub shared: Vec<String>,
    #[serde(default)]
    pub source: Source,
    /// `[release] writable`: files made private, writable copies instead of links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable: Vec<String>,
    #[serde(default)]
    pub before: Vec<Record>,
    #[serde(default)]
    pub after: Vec<Record>,
}

/// Where the artifact of a `Stage` or `Repair` comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// It is on the target already (its release, or the artifact file).
    #[default]
    Here,
    /// Its `size` bytes follow the request's line.
    Upload { size: u64 },
    /// `size` bytes follow the request's line: a zstd tar of only the files whose contents
    /// the target lacks (it has the rest as objects); the artifact's manifest, whose sha256
    /// is `manifest`, came with the `lacks` before.
    Delta { size: u64, manifest: Sha256 },
    /// Pull mode: the target GETs it from a (presigned) URL.
    Fetch { url: String },
}

impl Source {
    fn validate(&self) -> Result<(), String> {
        use crate::release::names::check_text;
        match self {
            Source::Here => Ok(()),
            Source::Upload { size } if *size > MAX_ARTIFACT => {
                Err(format!("an artifact of {size} bytes is larger than the {MAX_ARTIFACT} bytes allowed"))
            }
            Source::Delta { size, .. } if *size > MAX_ARTIFACT => {
                Err(format!("an upload of {size} bytes is larger than the {MAX_ARTIFACT} bytes allowed"))
            }
            Source::Delta { manifest, .. } => crate::release::names::check_sha256(manifest),
            Source::Upload { .. } => Ok(()),
            Source::Fetch { url } => {
                check_text("artifact URL", url)?;
                if url.len() > 16 * 1024 || !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("the artifact URL must be an http:// or https:// URL of at most 16 KiB".into());
                }
                Ok(())
            }
        }
    }
}

/// A journal record's release ids and digest, in their formats.
fn check_records(records: &[Record]) -> Result<(), String> {
    use crate::release::names::{check_release_id, check_sha256};
    for record in records {
        for release in [&record.release, &record.from].into_iter().flatten() {
            check_release_id(release)?;
        }
        record.sha256.as_deref().map_or(Ok(()), check_sha256)?;
    }
    Ok(())
}

impl Request {
    /// How many raw bytes follow this request's line.
    pub fn upload_size(&self) -> u64 {
        match self {
            Request::Stage(Staging { source: Source::Upload { size } | Source::Delta { size, .. }, .. })
            | Request::Repair(Staging { source: Source::Upload { size } | Source::Delta { size, .. }, .. })
            | Request::Lacks { size, .. } => *size,
            _ => 0,
        }
    }

    /// Check every field a peer sends before anything acts on it: digests and release ids
    /// in their formats, shared paths below the target, environment a process can carry.
    pub fn validate(&self) -> Result<(), String> {
        use crate::release::names::{check_env, check_release_id, check_sha256, check_shared_paths, check_text};
        match self {
            Request::Stage(Staging { sha256, shared, source, writable, before, after })
            | Request::Repair(Staging { sha256, shared, source, writable, before, after }) => {
                check_sha256(sha256)?;
                check_shared_paths(shared)?;
                crate::release::names::check_writable(writable)?;
                source.validate()?;
                check_records(before)?;
                check_records(after)
            }
            Request::Verify { shared, writable } => {
                check_shared_paths(shared)?;
                crate::release::names::check_writable(writable)
            }
            Request::Check { shared } => check_shared_paths(shared),
            Request::Switch { release, before, after } => {
                check_release_id(release)?;
                check_records(before)?;
                check_records(after)
            }
            Request::Unswitch { after } => check_records(after),
            Request::RunStep { step } => {
                check_release_id(&step.release)?;
                check_text("step name", &step.name)?;
                check_text("step command", &step.run)?;
                step.unless.as_deref().map_or(Ok(()), |u| check_text("step's unless", u))?;
                check_env(&step.env)
            }
            Request::Exec { exec } => {
                check_release_id(&exec.release)?;
                if exec.argv.is_empty() {
                    return Err("an exec needs a command to run".into());
                }
                if exec.argv.len() > 4096 {
                    return Err(format!("{} arguments are more than a command may have", exec.argv.len()));
                }
                if exec.argv[0].is_empty() {
                    return Err("an exec's program is empty".into());
                }
                exec.argv.iter().try_for_each(|arg| check_text("command's argument", arg))?;
                check_env(&exec.env)
            }
            Request::WouldSkip { unless, release, env } => {
                check_release_id(release)?;
                check_text("step's unless", unless)?;
                check_env(env)
            }
            Request::Record { records } => check_records(records),
            Request::Lacks { size, verify: _ } => {
                let limit = crate::artifact::manifest::MAX_MANIFEST_BYTES;
                if *size > limit {
                    return Err(format!("an offered manifest of {size} bytes is larger than the {limit} allowed"));
                }
                Ok(())
            }
            Request::Finish { journal, prune: _, end } => {
                check_records(journal)?;
                end.as_deref().map_or(Ok(()), |r| check_records(std::slice::from_ref(r)))
            }
            Request::Lock { .. }
            | Request::Unlock
            | Request::Hold { .. }
            | Request::ReleaseHold { .. }
            | Request::State
            | Request::Prune { .. }
            | Request::Journal => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzzer's seeds speak this protocol: every request line of a recorded session
    /// decodes (the bytes of an upload are not a line of their own, and are skipped).
    #[test]
    fn the_seeded_sessions_are_messages_of_this_protocol() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/protocol");
        for file in ["session-deploy.jsonl", "session-admin.jsonl"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines().filter(|l| l.starts_with('{')) {
                decode_to_agent(line).unwrap_or_else(|e| panic!("{file}: {line}: {e}"));
            }
        }
        let replies = std::fs::read_to_string(dir.join("agent-replies.jsonl")).unwrap();
        for line in replies.lines() {
            serde_json::from_str::<FromAgent>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
        let hostile = std::fs::read_to_string(dir.join("hostile.jsonl")).unwrap();
        for line in hostile.lines().filter(|l| l.starts_with("{\"call\"") && l.ends_with('}')) {
            assert!(decode_to_agent(line).is_err(), "a hostile seed is accepted: {line}");
        }
    }
}
