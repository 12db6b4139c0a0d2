//! Every on-target operation, in one implementation: layout, lock, receive and verify an
//! artifact, unpack, link shared paths, switch, run steps, journal, prune and verify.
//!
//! Every target reaches these through `ship agent`: a child process for a local target, a
//! process on the host for an SSH one.
//! This layer never knows how it was reached, and never prints.

pub mod journal;
pub mod lock;
pub mod names;
pub mod objects;

pub mod prune;
pub mod unpack;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::artifact::{MANIFEST_NAME, Manifest};
use crate::ids::{CommitId, ReleaseId, ReleaseRef, Sha256};
use crate::process::Ended;
pub use journal::{Event, Ledger, Record, RunKind};
pub use lock::Holder;

/// The release directory name of an artifact: the same artifact reuses its release.
/// Would staging fail for shared `path`, missing from `shared/`, with a release that has
/// (`release_has`) these paths? A directory is made empty; a file (a name with an extension)
/// must come from the release.
pub fn unseedable(path: &str, release_has: impl Fn(&str) -> bool) -> bool {
    Path::new(path).extension().is_some() && !release_has(path)
}

pub fn release_id(sha256: &str) -> String {
    sha256.chars().take(names::RELEASE_ID_LEN).collect()
}

/// A release as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseState {
    pub release: ReleaseId,
    pub version: Option<String>,
    pub commit: Option<CommitId>,
    pub sha256: Option<Sha256>,
    pub deployed_at: Option<String>,
    pub deployed_by: Option<String>,
    pub went_live: bool,
    pub failed_at: Option<String>,
    pub failure: Option<String>,
}

impl ReleaseState {
    /// Which release this is, and what it is.
    pub fn reference(&self) -> ReleaseRef {
        ReleaseRef {
            release: self.release.clone(),
            version: self.version.clone(),
            commit: self.commit.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// What a target has: what is live, what a rollback would go back to, who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// What `current` points at.
    pub current: Option<ReleaseState>,
    /// False when `current` was switched but never confirmed live (a deploy cut off mid-way).
    pub confirmed: bool,
    /// Where a rollback would go.
    pub previous: Option<ReleaseState>,
    /// Every complete release on disk, newest first.
    pub releases: Vec<ReleaseState>,
    pub locked: bool,
    pub holder: Option<Holder>,
    /// The newest release that failed since a deploy last went live (shown by the next plan).
    pub last_failure: Option<ReleaseState>,
    /// The releases on disk that went live and were not rolled back from since, newest
    /// first, in the journal's order (not by clocks): where rollbacks go, one by one.
    #[serde(default)]
    pub lineage: Vec<String>,
    /// The journal's lines (numbered from 1) that are damaged: not records, with more after
    /// them. What they said is not known, so nothing is judged on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journal_damaged: Vec<usize>,
    /// The sha256 of every artifact kept on the target (`.ship/artifacts/`): one of these
    /// need not be sent again, even when its release is not there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
    /// Whether the target holds file contents (`.ship/objects/`): then it is asked which
    /// of a new release's it lacks, and sent only those.
    #[serde(default)]
    pub objects: bool,
}

/// How the files of a release being staged arrive.
pub enum Arrival<'a> {
    /// The artifact is in `.ship/artifacts/` (sent, fetched or kept there).
    Artifact,
    /// A delta (see [`objects`]), read as it arrives, whose manifest (by its sha256) was
    /// offered before it ([`Site::offer`]).
    Delta { stream: &'a mut dyn Read, manifest: &'a str },
}

/// A manifest offered before its delta: an uncompressed tar of it alone, and its sha256.
struct Offered {
    sha256: String,
    tar: Vec<u8>,
}

/// What `ship check ENV` learns of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub writable: bool,
    pub free_bytes: Option<u64>,
    /// The ship version serving the target.
    pub version: String,
    pub locked: bool,
    pub holder: Option<Holder>,
    /// Why a deploy to it would fail, if it would.
    pub error: Option<String>,
    /// The shared paths asked about that `shared/` does not have yet: a deploy seeds them
    /// from the release, and fails for a file the release does not bring.
    #[serde(default)]
    pub shared_missing: Vec<String>,
}

/// A shell command to run on the target, in a release directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub name: String,
    pub run: String,
    pub unless: Option<String>,
    /// The release directory to run in.
    pub release: String,
    pub env: Vec<(String, String)>,
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// `unless` exited 0, so the step did not run.
    pub skipped: bool,
    pub ended: Ended,
    pub duration_ms: u64,
}

/// `ship exec`: a command (an argv, no shell) to run in the live release, with its
/// environment. `release` is the live release the environment was made for: if `current`
/// points elsewhere by the time it arrives, nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub release: ReleaseId,
    pub env: Vec<(String, String)>,
}

/// How a `ship exec` command ended on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecResult {
    pub ended: Ended,
    /// The signal that killed it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub duration_ms: u64,
}

/// One target's directory and the operations on it.
pub struct Site {
    root: PathBuf,
    lock: Option<lock::Lock>,
    /// Set when whoever asked for the work is gone: running steps are stopped.
    cancel: Option<Arc<AtomicBool>>,
    /// Trees already taken out of `releases/` by a prune, to delete once the answer is sent
    /// (`clear_leftovers`).
    leftovers: Vec<PathBuf>,
    /// The manifest the next delta comes with.
    offered: Option<Offered>,
}

impl Site {
    pub fn new(root: impl Into<PathBuf>) -> Site {
        Site { root: root.into(), lock: None, cancel: None, leftovers: Vec::new(), offered: None }
    }

    /// Stop running steps (and everything they started) when `flag` is set.
    pub fn cancel_on(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn meta(&self) -> PathBuf {
        self.root.join(".ship")
    }

    pub fn release_dir(&self, release: &str) -> PathBuf {
        self.root.join("releases").join(release)
    }

    fn artifact_path(&self, sha256: &str) -> PathBuf {
        self.meta().join("artifacts").join(format!("{sha256}.tar.zst"))
    }

    /// The manifest of the artifact `sha256`, kept for as long as its release is.
    fn manifest_path(&self, sha256: &str) -> PathBuf {
        self.meta().join("manifests").join(format!("{sha256}.json"))
    }

    pub fn objects(&self) -> objects::Objects {
        objects::Objects::new(self.meta().join("objects"), self.meta().join("tmp"))
    }

    fn journal_path(&self) -> PathBuf {
        self.meta().join("journal.jsonl")
    }

    fn lock_path(&self) -> PathBuf {
        self.meta().join("lock")
    }

    /// The long-lived lock of `ship lock`: a file that deploys respect until `ship unlock`.
    fn hold_path(&self) -> PathBuf {
        self.meta().join("lock.held")
    }

    fn held_by(&self) -> Option<Holder> {
        let text = fs::read_to_string(self.hold_path()).ok()?;
        Some(serde_json::from_str(&text).unwrap_or_else(|_| Holder {
            user: "?".into(),
            host: "?".into(),
            pid: 0,
            command: "ship lock".into(),
            since: "?".into(),
            reason: Some(text.trim().to_string()),
        }))
    }

    /// Create the layout if it is missing.
    pub fn prepare(&self) -> Result<()> {
        for dir in [
            self.root.join("releases"),
            self.root.join("shared"),
            self.meta().join("artifacts"),
            self.meta().join("objects"),
            self.meta().join("manifests"),
            self.meta().join("tmp"),
        ] {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(())
    }

    /// Take the target's lock for this process, or return who holds it. Leftovers of an
    /// operation that was cut off (half-unpacked releases, temporary links) are cleared.
    pub fn lock(&mut self, holder: &Holder) -> Result<Result<(), Option<Holder>>> {
        if self.lock.is_some() {
            return Ok(Ok(()));
        }
        self.prepare()?;
        match lock::try_lock(&self.lock_path(), holder)? {
            Ok(lock) => {
                if let Some(held) = self.held_by() {
                    return Ok(Err(Some(held)));
                }
                self.lock = Some(lock);
                let tmp = self.meta().join("tmp");
                for entry in fs::read_dir(&tmp)? {
                    let path = entry?.path();
                    let _ = if path.is_dir() && !path.is_symlink() {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                }
                Ok(Ok(()))
            }
            Err(holder) => Ok(Err(holder)),
        }
    }

    pub fn unlock(&mut self) {
        self.lock = None;
    }

    /// `ship lock`: hold the target for `holder` until `release_hold`, beyond this process.
    pub fn hold(&mut self, holder: &Holder) -> Result<Result<(), Option<Holder>>> {
        match self.lock(holder)? {
            Ok(()) => {
                let mut tmp = tempfile::NamedTempFile::new_in(self.meta().join("tmp"))?;
                std::io::Write::write_all(&mut tmp, &serde_json::to_vec(holder)?)?;
                tmp.persist(self.hold_path())?;
                sync_dir(&self.meta())?;
                self.unlock();
                Ok(Ok(()))
            }
            Err(other) => Ok(Err(other)),
        }
    }

    /// `ship unlock`: end a `ship lock`. Returns who held it (`None`: nobody did). Refused
    /// while a deploy holds the target. When `breaker` lifts someone else's lock, the
    /// journal records who broke whose.
    pub fn release_hold(&mut self, breaker: Option<&Holder>) -> Result<Result<Option<Holder>, Option<Holder>>> {
        self.prepare()?;
        match lock::try_lock(&self.lock_path(), &Holder::me("ship unlock"))? {
            Ok(_lock) => {
                let held = self.held_by();
                match fs::remove_file(self.hold_path()) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
                if let (Some(breaker), Some(held)) = (breaker, &held)
                    && !breaker.is_same_person(held)
                {
                    let mut record =
                        Record::new(&format!("unlock-{}", breaker.pid), RunKind::Unlock, Event::LockBroken);
                    record.user = Some(breaker.user.clone());
                    record.message = Some(format!("{breaker} broke the lock of {held}"));
                    journal::append(&self.journal_path(), &record)?;
                }
                Ok(Ok(held))
            }
            Err(holder) => Ok(Err(holder)),
        }
    }

    /// What `ship check ENV` reports of this target, changing nothing.
    pub fn check(&self, shared: &[String]) -> Result<Check> {
        let existing = self.root.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
        let is_dir = existing.is_dir();
        let writable = is_dir && rustix::fs::access(existing, rustix::fs::Access::WRITE_OK).is_ok();
        let free_bytes = rustix::fs::statvfs(existing).ok().map(|s| s.f_bavail * s.f_frsize);
        let state = self.state()?;
        let error = if !is_dir {
            Some(format!("{} is not a directory, so {} cannot be created", existing.display(), self.root.display()))
        } else if !writable {
            Some(format!("{} is not writable by {}", existing.display(), crate::clock::user()))
        } else {
            None
        };
        let base = self.root.join("shared");
        let shared_missing = shared.iter().filter(|p| fs::symlink_metadata(base.join(p)).is_err()).cloned().collect();
        // A file where shared/ needs a directory fails every deploy, as staging would say.
        let blocked = shared.iter().find_map(|path| {
            let parents: Vec<&Path> = Path::new(path).parent()?.ancestors().collect();
            parents.into_iter().rev().skip(1).find_map(|dir| {
                let at = base.join(dir);
                fs::metadata(&at).ok().filter(|m| !m.is_dir()).map(|_| {
                    format!(
                        "{} is not a directory, so {} cannot be made there",
                        at.display(),
                        base.join(path).display()
                    )
                })
            })
        });
        let error = error.or(blocked);
        Ok(Check {
            writable,
            free_bytes,
            version: env!("CARGO_PKG_VERSION").to_string(),
            locked: state.locked,
            holder: state.holder,
            error,
            shared_missing,
        })
    }

    fn require_lock(&self) -> Result<()> {
        if self.lock.is_none() {
            bail!("internal error: {} changed without its lock", self.root.display());
        }
        Ok(())
    }

    /// The journal, oldest first.
    pub fn journal(&self) -> Result<Vec<Record>> {
        journal::read(&self.journal_path())
    }

    pub fn record(&self, record: &Record) -> Result<()> {
        self.require_lock()?;
        journal::append(&self.journal_path(), record)
    }

    /// The release `current` points at, if any.
    fn current_release(&self) -> Result<Option<String>> {
        let link = self.root.join("current");
        match fs::symlink_metadata(&link) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", link.display())),
            Ok(m) if !m.file_type().is_symlink() => {
                bail!("{} is not a symlink: ship manages `current` itself; move it away", link.display())
            }
            Ok(_) => {
                let target = fs::read_link(&link)?;
                let name = target.strip_prefix("releases").ok().and_then(|p| p.to_str()).map(str::to_string);
                match name {
                    Some(name) if names::check_release_id(&name).is_ok() => Ok(Some(name)),
                    _ => bail!("{} points at {}, not at a release of ship's", link.display(), target.display()),
                }
            }
        }
    }

    /// Complete releases on disk.
    fn releases_on_disk(&self) -> Result<Vec<String>> {
        let dir = self.root.join("releases");
        let mut out = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        for entry in entries {
            let entry = entry?;
            // Only directories ship made: anything else in releases/ is never listed, so
            // never switched to or pruned.
            if let Some(name) = entry.file_name().to_str()
                && names::check_release_id(name).is_ok()
                && entry.file_type()?.is_dir()
            {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Read the target's state: what is live, what came before, the lock.
    pub fn state(&self) -> Result<State> {
        let (records, journal_damaged) = journal::read_checked(&self.journal_path())?;
        let ledger = Ledger::replay(&records);
        let on_disk = self.releases_on_disk()?;
        let current = self.current_release()?;
        let describe = |id: &str| {
            let info = ledger.releases.get(id).cloned().unwrap_or_default();
            ReleaseState {
                release: id.into(),
                version: info.version,
                commit: info.commit,
                sha256: info.sha256,
                deployed_at: info.live_at,
                deployed_by: info.live_by,
                went_live: info.went_live,
                failed_at: info.failed_at,
                failure: info.failure,
            }
        };
        let previous = ledger.previous(current.as_deref(), |r| on_disk.iter().any(|d| d == r));
        let mut releases: Vec<(String, ReleaseState)> = on_disk
            .iter()
            .map(|id| (ledger.releases.get(id).map(|i| i.last_seen.clone()).unwrap_or_default(), describe(id)))
            .collect();
        releases.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.release.cmp(&b.1.release)));
        let holder = match self.held_by() {
            Some(held) => Some(Some(held)),
            None if self.lock.is_some() => None,
            None => lock::probe(&self.lock_path())?,
        };
        let lineage = ledger.stack.iter().rev().filter(|r| on_disk.contains(r)).cloned().collect();
        let artifacts = fs::read_dir(self.meta().join("artifacts"))
            .map(|entries| {
                let names = entries.filter_map(|e| e.ok()?.file_name().into_string().ok());
                let shas = names.filter_map(|n| n.strip_suffix(".tar.zst").map(str::to_string));
                shas.filter(|s| names::check_sha256(s).is_ok()).collect()
            })
            .unwrap_or_default();
        Ok(State {
            lineage,
            journal_damaged,
            artifacts,
            confirmed: current.is_some() && ledger.stack.last() == current.as_ref(),
            current: current.as_deref().map(describe),
            previous: previous.as_deref().map(describe),
            releases: releases.into_iter().map(|(_, r)| r).collect(),
            last_failure: ledger.last_failure.as_deref().map(describe),
            locked: self.lock.is_some() || holder.is_some(),
            holder: holder.flatten(),
            objects: self.objects().any(),
        })
    }

    /// Receive an artifact's bytes; they are kept only if their sha256 matches.
    pub fn receive_artifact(&self, sha256: &str, mut data: impl Read) -> Result<()> {
        self.require_lock()?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.meta().join("tmp"))?;
        let mut writer = crate::digest::HashingWriter::new(tmp.as_file_mut());
        std::io::copy(&mut data, &mut writer).context("receiving the artifact")?;
        let (_, got, _) = writer.finish();
        if got != sha256 {
            bail!("the artifact arrived corrupt: its sha256 is {got}, expected {sha256}; nothing was unpacked");
        }
        tmp.as_file().sync_all()?;
        tmp.persist(self.artifact_path(sha256))?;
        Ok(())
    }

    /// Pull mode: GET the artifact from `url` (a presigned URL of the shared store) and keep
    /// it only if its sha256 matches. The URL is a credential for a while: it is never
    /// written into a message, only its scheme and host. A store that goes silent for a
    /// minute is given up, and so is the fetch when whoever asked for it is gone.
    pub fn fetch_artifact(&self, url: &str, sha256: &str) -> Result<()> {
        self.require_lock()?;
        // The artifact file itself: a release unpacked from it is not enough (a repair
        // rebuilds the release from this file).
        if self.artifact_path(sha256).is_file() {
            return Ok(());
        }
        let shown = crate::http::redact_url(url);
        let failed =
            |why: String| anyhow::anyhow!("this target could not fetch the artifact from the store ({shown}): {why}");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.meta().join("tmp"))?;
        let got = runtime.block_on(async {
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("ship/", env!("CARGO_PKG_VERSION"), " (artifact)"))
                .build()
                .map_err(|e| anyhow::anyhow!("setting up the HTTP client: {e}"))?;
            let mut response =
                client.get(url).send().await.map_err(|e| failed(crate::http::chain(&e.without_url())))?;
            let status = response.status();
            if !status.is_success() {
                let why = if status == reqwest::StatusCode::FORBIDDEN {
                    format!("it answered {status} (the URL expires after 30 minutes; check the clocks too)")
                } else {
                    format!("it answered {status}")
                };
                return Err(failed(why));
            }
            let mut writer = crate::digest::HashingWriter::new(tmp.as_file_mut());
            loop {
                if self.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
                    bail!("the fetch of the artifact was stopped: whoever asked for it is gone");
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => std::io::Write::write_all(&mut writer, &chunk)?,
                    Ok(None) => break,
                    Err(e) => return Err(failed(crate::http::chain(&e.without_url()))),
                }
            }
            anyhow::Ok(writer.finish().1)
        })?;
        if got != sha256 {
            bail!(
                "the artifact arrived corrupt from the store: its sha256 is {got}, expected {sha256}; nothing was unpacked"
            );
        }
        tmp.as_file().sync_all()?;
        tmp.persist(self.artifact_path(sha256))?;
        Ok(())
    }

    /// Take the manifest a delta will come with (`compressed`: a zstd tar of it alone) and
    /// say which of its contents this target lacks or holds damaged: positions in
    /// [`objects::contents`] of it. With `verify`, what it holds is hashed too.
    pub fn offer(&mut self, compressed: impl Read, verify: bool) -> Result<Vec<u32>> {
        self.require_lock()?;
        let mut tar = Vec::new();
        let limit = crate::artifact::manifest::MAX_MANIFEST_BYTES + (1 << 20);
        zstd::stream::read::Decoder::new(compressed)?
            .take(limit + 1)
            .read_to_end(&mut tar)
            .context("reading the offered manifest")?;
        if tar.len() as u64 > limit {
            bail!("the offered manifest is larger than the {limit} bytes allowed");
        }
        let (text, commit_time) = unpack::manifest_entry(tar::Archive::new(&tar[..]).entries()?.next())?;
        let manifest = Manifest::decode(&text).map_err(|why| anyhow::anyhow!("refusing the manifest: {why}"))?;
        let trust = objects::Trust { commit_time, deep: verify };
        let missing = self.objects().lacking(&objects::contents(&manifest), trust);
        self.offered = Some(Offered { sha256: crate::digest::sha256_hex(&text), tar });
        Ok(missing)
    }

    /// Make the release of `sha256` complete on disk from `arrival`: unpack it beside the
    /// releases through the target's objects, link the shared paths, then rename it into
    /// place. Returns the release id and whether it was already there.
    pub fn stage(
        &self,
        sha256: &str,
        shared: &[String],
        writable: &[String],
        arrival: Arrival<'_>,
    ) -> Result<(String, bool)> {
        self.require_lock()?;
        let id = release_id(sha256);
        let dest = self.release_dir(&id);
        if dest.is_dir() {
            return Ok((id, true));
        }
        let unpacked = self.build_release(sha256, shared, writable, arrival, false)?;
        fs::rename(&unpacked, &dest).with_context(|| format!("moving release {id} into place"))?;
        sync_dir(&self.root.join("releases"))?;
        Ok((id, false))
    }

    /// Rebuild the live release `release_id(sha256)`, whatever was done to its files:
    /// unpacked and linked beside it, then exchanged with it in one step (`current` never
    /// shows a half-made tree), and the old tree removed.
    pub fn repair(&self, sha256: &str, shared: &[String], writable: &[String], arrival: Arrival<'_>) -> Result<()> {
        self.require_lock()?;
        let id = release_id(sha256);
        let dest = self.release_dir(&id);
        if !dest.is_dir() {
            bail!("release {id} is not on {}: there is nothing to repair", self.root.display());
        }
        let rebuilt = self.build_release(sha256, shared, writable, arrival, true)?;
        rustix::fs::renameat_with(rustix::fs::CWD, &rebuilt, rustix::fs::CWD, &dest, rustix::fs::RenameFlags::EXCHANGE)
            .with_context(|| format!("exchanging release {id} with its rebuilt copy"))?;
        sync_dir(&self.root.join("releases"))?;
        // `rebuilt` now names the old, changed tree, under tmp/: the repair is done whether
        // or not it can all be removed (a changed mode may stand in the way).
        let _ = fs::remove_dir_all(&rebuilt);
        Ok(())
    }

    /// Unpack the artifact (verified again) or delta through the target's objects and link
    /// its shared paths, in a new directory under the target's tmp/, synced to disk; the
    /// caller moves it into place. The manifest is kept in `.ship/manifests/` (what
    /// `status --verify` holds the files to), and the artifact file is not kept: its
    /// contents are the objects now.
    fn build_release(
        &self,
        sha256: &str,
        shared: &[String],
        writable: &[String],
        arrival: Arrival<'_>,
        repair: bool,
    ) -> Result<PathBuf> {
        let id = release_id(sha256);
        let objects = self.objects();
        let writable = names::writable_set(writable).map_err(|e| anyhow::anyhow!("{e}"))?;
        let into = |delta| unpack::Into { objects: &objects, delta, writable: &writable, repair };
        let offered = |manifest: &str| match &self.offered {
            Some(o) if o.sha256 == manifest => Ok(&o.tar[..]),
            _ => {
                Err(anyhow::anyhow!("a delta came without its manifest offered first (`lacks`); nothing was unpacked"))
            }
        };
        let tmp = tempfile::Builder::new().prefix(&format!("{id}-")).tempdir_in(self.meta().join("tmp"))?;
        let archive = self.artifact_path(sha256);
        let (_, manifest) = match arrival {
            Arrival::Artifact => {
                let got =
                    crate::digest::sha256_file(&archive).with_context(|| format!("reading {}", archive.display()))?;
                if got != sha256 {
                    let _ = fs::remove_file(&archive);
                    bail!(
                        "the artifact {} is corrupt (sha256 {got}); it was removed, deploy again to resend it",
                        archive.display()
                    );
                }
                let file = fs::File::open(&archive).with_context(|| format!("opening {}", archive.display()))?;
                unpack::unpack(file, tmp.path(), shared, into(None))
            }
            Arrival::Delta { stream, manifest } => {
                unpack::unpack(stream, tmp.path(), shared, into(Some(offered(manifest)?)))
            }
        }
        .with_context(|| format!("unpacking release {id}"))?;
        // Every shared path is judged before any is seeded or linked: a refused release
        // writes nothing into shared/.
        let mut seeds = Vec::new();
        for path in shared {
            let seed = self
                .plan_shared(tmp.path(), path)
                .with_context(|| format!("linking shared path {path} into release {id}"))?;
            seeds.push((path, seed));
        }
        for (path, seed) in seeds {
            self.link_shared(tmp.path(), path, seed)
                .with_context(|| format!("linking shared path {path} into release {id}"))?;
        }
        let mut kept = tempfile::NamedTempFile::new_in(self.meta().join("tmp"))?;
        std::io::Write::write_all(&mut kept, &manifest)?;
        kept.as_file().set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o444))?;
        kept.persist(self.manifest_path(sha256)).map_err(|e| e.error).context("keeping the manifest")?;
        let unpacked = tmp.keep();
        sync_tree(&unpacked)?;
        let _ = fs::remove_file(&archive);
        Ok(unpacked)
    }

    /// Decide how shared `path` is linked into the unpacked `release`, writing nothing.
    /// Nothing in the release is followed: a symlink of the artifact's on the way to `path`
    /// is refused, never written through, and so is a symlink in what would seed shared/.
    fn plan_shared(&self, release: &Path, path: &str) -> Result<Seed> {
        names::check_shared_path(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let parent = Path::new(path).parent().unwrap_or(Path::new(""));
        let mut dir = release.to_path_buf();
        for c in parent.components() {
            dir.push(c);
            let shown = dir.strip_prefix(release).unwrap_or(&dir).display();
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => bail!(
                    "{shown} is a symlink in the artifact: ship will not write through it; \
                     list a path that is not below a symlink in [release] shared"
                ),
                Ok(m) if !m.is_dir() => bail!("{shown} is a file in the artifact, so nothing can be linked below it"),
                _ => {}
            }
        }
        let shared = self.root.join("shared").join(path);
        // What is in shared/ is the target's (its operator may link a directory elsewhere):
        // followed, but it must be a directory all the way down to `path`.
        let mut dir = self.root.join("shared");
        for c in parent.components() {
            dir.push(c);
            match fs::metadata(&dir) {
                Ok(m) if !m.is_dir() => {
                    bail!("{} is not a directory, so {} cannot be made there", dir.display(), shared.display())
                }
                _ => {}
            }
        }
        match fs::symlink_metadata(&shared) {
            Ok(_) => return Ok(Seed::Nothing),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", shared.display())),
        }
        let inside = release.join(path);
        Ok(match fs::symlink_metadata(&inside) {
            Ok(m) if m.is_dir() => {
                if let Some(link) = first_symlink(&inside)? {
                    bail!(
                        "{} does not exist yet, and the release's {path} that would seed it holds the symlink {}: \
                         shared/ is seeded with files and directories only; create {} on the target first",
                        shared.display(),
                        link.strip_prefix(release).unwrap_or(&link).display(),
                        shared.display()
                    );
                }
                Seed::Tree
            }
            Ok(m) if m.is_file() => Seed::File,
            _ if Path::new(path).extension().is_some() => bail!(
                "{} does not exist and the release has no {path} to start it from: create it on the target first",
                shared.display()
            ),
            _ => Seed::EmptyDir,
        })
    }

    /// Seed `<root>/shared/<path>` as planned (a complete copy, renamed into place), then
    /// replace `path` in the release with a link to it.
    fn link_shared(&self, release: &Path, path: &str, seed: Seed) -> Result<()> {
        let shared = self.root.join("shared").join(path);
        let inside = release.join(path);
        if seed != Seed::Nothing {
            fs::create_dir_all(shared.parent().expect("below shared/"))?;
        }
        match seed {
            Seed::Nothing => {}
            Seed::EmptyDir => fs::create_dir_all(&shared)?,
            Seed::File | Seed::Tree => {
                // Copied beside its place, then renamed: shared/ may be on another file system
                // (a mount, or a link to one), and a half-made copy is never the shared one.
                let parent = shared.parent().expect("below shared/");
                let tmp = tempfile::Builder::new().prefix(".ship-seed-").tempdir_in(parent)?;
                let copy = tmp.path().join("copy");
                if seed == Seed::Tree {
                    copy_tree(&inside, &copy)?;
                } else {
                    copy_writable(&inside, &copy)?;
                }
                fs::rename(&copy, &shared).with_context(|| format!("seeding {}", shared.display()))?;
            }
        }
        match fs::symlink_metadata(&inside) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&inside)?,
            Ok(_) => fs::remove_file(&inside)?,
            Err(_) => unpack::ensure_dir(release, Path::new(path).parent().unwrap_or(Path::new("")))?,
        }
        let depth = Path::new(path).components().count() + 1;
        let target = PathBuf::from("../".repeat(depth)).join("shared").join(path);
        std::os::unix::fs::symlink(&target, &inside)?;
        Ok(())
    }

    /// Point `current` at `release` with one atomic rename. Returns what it pointed at before.
    pub fn switch(&self, release: &str) -> Result<Option<String>> {
        self.require_lock()?;
        if !self.release_dir(release).is_dir() {
            bail!("release {release} is not on {}", self.root.display());
        }
        let before = self.current_release()?;
        let tmp = self.meta().join("tmp").join(format!("current-{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new("releases").join(release), &tmp)?;
        fs::rename(&tmp, self.root.join("current"))
            .with_context(|| format!("switching {}/current", self.root.display()))?;
        sync_dir(&self.root)?;
        Ok(before)
    }

    /// Remove `current`, so that nothing is live (the state before a first deploy).
    pub fn unswitch(&self) -> Result<()> {
        self.require_lock()?;
        match fs::remove_file(self.root.join("current")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        sync_dir(&self.root)
    }

    /// Run a step (or a health command) in a release directory, streaming its output.
    pub fn run_step(&self, req: &StepRequest, on_line: &mut dyn FnMut(&str)) -> Result<StepResult> {
        // A step changes the target: never without its lock, whoever asks.
        self.require_lock()?;
        let cwd = self.release_dir(&req.release);
        if !cwd.is_dir() {
            bail!("release {} is not on {}", req.release, self.root.display());
        }
        let start = Instant::now();
        let timeout = req.timeout_ms.map(Duration::from_millis);
        if let Some(unless) = &req.unless {
            let shell = crate::process::Shell {
                script: unless,
                cwd: &cwd,
                env: &req.env,
                inherit: crate::process::Inherit::Login,
                timeout,
                cancel: self.cancel.as_deref(),
            };
            if crate::process::run(&shell, &mut |_| {})?.success() {
                return Ok(StepResult { skipped: true, ended: Ended::Exited(Some(0)), duration_ms: ms(start) });
            }
        }
        let shell = crate::process::Shell {
            script: &req.run,
            cwd: &cwd,
            env: &req.env,
            inherit: crate::process::Inherit::Login,
            timeout,
            cancel: self.cancel.as_deref(),
        };
        let ended = crate::process::run(&shell, on_line)?;
        Ok(StepResult { skipped: false, ended, duration_ms: ms(start) })
    }

    /// `ship exec`: run an argv (no shell) in the live release, streaming its output. It
    /// changes nothing of ship's, so it neither takes nor needs the lock (whoever wants the
    /// target held takes the lock first). Refused when nothing is live, or when `current`
    /// is no longer `req.release`, the release its environment was made for.
    pub fn exec(&self, req: &ExecRequest, on_line: &mut dyn FnMut(&str)) -> Result<ExecResult> {
        let Some(current) = self.current_release()? else {
            bail!("nothing is live on {}: deploy first", self.root.display());
        };
        if current != req.release.as_str() {
            bail!(
                "the live release on {} changed (to {current}) since it was read; nothing was run: try again",
                self.root.display()
            );
        }
        let cwd = self.release_dir(&current);
        if !cwd.is_dir() {
            bail!("the live release {current} is missing from {}", self.root.display());
        }
        let start = Instant::now();
        let shell = crate::process::Shell {
            script: "",
            cwd: &cwd,
            env: &req.env,
            inherit: crate::process::Inherit::Login,
            timeout: None,
            cancel: self.cancel.as_deref(),
        };
        let (ended, signal) = crate::process::run_argv(&req.argv, &shell, on_line)?;
        Ok(ExecResult { ended, signal, duration_ms: ms(start) })
    }

    /// Would a step's `unless` skip it? Evaluated in `release` (for plans).
    pub fn would_skip(&self, unless: &str, release: &str, env: &[(String, String)]) -> Result<bool> {
        let cwd = self.release_dir(release);
        let shell = crate::process::Shell {
            script: unless,
            cwd: &cwd,
            env,
            inherit: crate::process::Inherit::Login,
            timeout: Some(Duration::from_secs(30)),
            cancel: self.cancel.as_deref(),
        };
        Ok(crate::process::run(&shell, &mut |_| {})?.success())
    }

    /// Rehash the live release against its manifest. Returns what differs (empty: intact).
    /// Paths linked into shared/ are not compared.
    pub fn verify(&self, shared: &[String], writable: &[String]) -> Result<Vec<String>> {
        let writable = names::writable_set(writable).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(current) = self.current_release()? else {
            bail!("nothing is live on {}", self.root.display());
        };
        let dir = self.release_dir(&current);
        let mut problems = Vec::new();
        let on_disk: Option<Manifest> =
            fs::read_to_string(dir.join(MANIFEST_NAME)).ok().and_then(|text| serde_json::from_str(&text).ok());
        // The artifact the release came from, when the target still has it (and it is
        // intact), is what the files are held to: a manifest edited along with a file
        // does not hide the change.
        let manifest = match (self.artifact_manifest(&current), on_disk) {
            (Some(artifact), on_disk) => {
                if on_disk.as_ref() != Some(&artifact) {
                    problems.push(format!("{MANIFEST_NAME}: changed or missing"));
                }
                artifact
            }
            (None, Some(on_disk)) => on_disk,
            (None, None) => {
                problems.push(format!(
                    "{MANIFEST_NAME}: missing or unreadable, and the artifact is no longer here: \
                     the release cannot be checked file by file"
                ));
                return Ok(problems);
            }
        };
        for file in &manifest.files {
            if shared.iter().any(|s| file.path == *s || file.path.starts_with(&format!("{s}/"))) {
                continue;
            }
            let path = dir.join(&file.path);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                problems.push(format!("{}: missing", file.path));
                continue;
            };
            match &file.link {
                Some(target) => {
                    if fs::read_link(&path).ok().as_deref() != Some(Path::new(target)) {
                        problems.push(format!("{}: link changed", file.path));
                    }
                }
                None => {
                    use std::os::unix::fs::PermissionsExt;
                    if !meta.is_file() {
                        problems.push(format!("{}: not a regular file", file.path));
                    } else if writable.is_match(&file.path) {
                        // Its steps may rewrite it: that it is there is all that is asked.
                    } else if crate::digest::sha256_file(&path)? != file.sha256 {
                        problems.push(format!("{}: content changed", file.path));
                    } else if ![file.mode, file.mode & !0o222].contains(&(meta.permissions().mode() & 0o777)) {
                        problems.push(format!(
                            "{}: mode changed to {:o}",
                            file.path,
                            meta.permissions().mode() & 0o777
                        ));
                    }
                }
            }
        }
        // What the artifact does not have, outside the shared paths, was added since.
        let listed: std::collections::HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        let mut stack = vec![String::new()];
        while let Some(rel) = stack.pop() {
            for entry in fs::read_dir(dir.join(&rel))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                if path == MANIFEST_NAME || shared.contains(&path) || listed.contains(path.as_str()) {
                    continue;
                }
                let below = format!("{path}/");
                let holds = manifest.files.iter().any(|f| f.path.starts_with(&below))
                    || shared.iter().any(|s| s.starts_with(&below));
                if entry.file_type()?.is_dir() && holds {
                    stack.push(path);
                } else {
                    problems.push(format!("{path}: added"));
                }
            }
        }
        problems.sort();
        Ok(problems)
    }

    /// The manifest of the artifact release `id` came from: the one kept when it was staged,
    /// or (a release staged by an older ship) the artifact's, if the target still has that
    /// artifact and its bytes are still what its name says.
    fn artifact_manifest(&self, id: &str) -> Option<Manifest> {
        let kept = fs::read_dir(self.meta().join("manifests")).ok().and_then(|entries| {
            let path = entries.flatten().map(|e| e.path()).find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(id) && n.ends_with(".json"))
            })?;
            serde_json::from_slice::<Manifest>(&fs::read(path).ok()?).ok()
        });
        if kept.is_some() {
            return kept;
        }
        let artifacts = fs::read_dir(self.meta().join("artifacts")).ok()?;
        let path = artifacts.flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(id) && n.ends_with(".tar.zst"))
        })?;
        let name = path.file_name()?.to_str()?.trim_end_matches(".tar.zst").to_string();
        if crate::digest::sha256_file(&path).ok()? != name {
            return None;
        }
        crate::artifact::read_manifest(&path).ok()
    }
}

fn ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// How a shared path's copy in `<root>/shared/` comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seed {
    /// It is there already.
    Nothing,
    /// Copied from the release's directory.
    Tree,
    /// Copied from the release's file.
    File,
    /// Neither is there: an empty directory.
    EmptyDir,
}

/// The first symlink in the tree at `dir`, if any.
fn first_symlink(dir: &Path) -> Result<Option<PathBuf>> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            return Ok(Some(entry.path()));
        }
        if kind.is_dir()
            && let Some(found) = first_symlink(&entry.path())?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Copy the tree at `from` (directories and regular files only: symlinks were refused
/// before) to `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            copy_writable(&src, &dst)?;
        } else {
            bail!("{} is not a file or a directory; shared/ is seeded with those only", src.display());
        }
    }
    Ok(())
}

/// Copy the file `from` (a release's: read-only) to `to` as the owner's to write: what is
/// in shared/ is the app's (0644, or 0755 for an executable).
fn copy_writable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::copy(from, to)?;
    let mode = fs::metadata(to)?.permissions().mode() & 0o777;
    fs::set_permissions(to, fs::Permissions::from_mode(mode | 0o200))?;
    Ok(())
}

/// Flush a freshly written tree to disk before it is renamed into place.
fn sync_tree(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir)?;
    rustix::fs::syncfs(&f)?;
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}
