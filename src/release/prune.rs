//! Pruning a target: which releases, artifacts and uploaded agents go, and why the rest stay.
//!
//! `keep` counts the releases that went live, newest first in the journal's order (never
//! by clocks, which differ between deploying machines), the live one and the one a rollback
//! would go to included; those two are always kept, whatever `keep` says. These are the
//! releases rollbacks walk back through, so targets with one history keep the same ones.
//! A release that failed less than a day ago stays too (evidence), and so does a release
//! the journal does not know at all (a lost journal is no reason to delete). A journal with
//! damaged lines may have lost any record: then nothing but the live and previous releases
//! is judged, and nothing goes.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Holder, Site, State};

/// A failed release is kept this long after it failed, as evidence.
pub const FAILURE_KEPT: Duration = Duration::from_secs(24 * 3600);

/// An uploaded ship in the target's `.ship/bin/` (where ship 0.1 kept them, and where they
/// go when the host user has no cache) that is not the one serving this prune is kept this
/// long after it last served, so that two ship builds on one target (a CI runner's and a
/// laptop's) do not each delete the other's and upload their own again on every run.
pub const AGENT_KEPT: Duration = Duration::from_secs(24 * 3600);

/// An uploaded ship in the host user's cache (`~/.cache/ship/bin/`), which every target
/// path and project of that user on the host shares, is kept this long after it last
/// started: a prune of one project must not take the agent of another that deploys weekly.
pub const CACHED_AGENT_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// A leftover of an upload that was cut off is removed once it has not grown for this long.
const UPLOAD_LEFTOVER: Duration = Duration::from_secs(3600);

/// Why a release stays or goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Kept: `current` points at it.
    Live,
    /// Kept: where a rollback would go.
    Previous,
    /// Kept: among the `keep` newest releases that went live.
    Keep,
    /// Kept: it failed less than a day ago.
    RecentFailure,
    /// Kept: the journal does not know it.
    Unknown,
    /// Removed: it went live, but `keep` newer ones did too.
    BeyondKeep,
    /// Removed: it went live, then a rollback (or a failed deploy's) left it.
    RolledBack,
    /// Removed: it failed more than a day ago.
    Failed,
    /// Removed: it never went live (staged, or cut off before it was confirmed).
    NeverLive,
}

impl Why {
    pub fn removes(self) -> bool {
        matches!(self, Why::BeyondKeep | Why::RolledBack | Why::Failed | Why::NeverLive)
    }
}

/// One release and what prune does with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseVerdict {
    pub release: crate::ids::ReleaseId,
    pub version: Option<String>,
    pub commit: Option<crate::ids::CommitId>,
    /// When it last went live, if it did.
    pub deployed_at: Option<String>,
    pub failed_at: Option<String>,
    /// `"keep"` or `"remove"`.
    pub action: String,
    pub why: Why,
    /// The disk space removing it frees, as du counts it (only for what is removed): its
    /// directories and links, and the files whose content no kept release shares.
    pub bytes: Option<u64>,
    /// Why it could not be removed, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A file prune removes: an artifact, or an uploaded ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileGone {
    pub file: String,
    pub bytes: u64,
}

/// The contents a prune removes from `.ship/objects/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectsGone {
    pub count: usize,
    pub bytes: u64,
}

/// What prune did (or, with `dry_run`, would do) on one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruning {
    /// Every complete release on the target, each with its verdict: the live one, the
    /// previous one, the others that went live newest first, then the rest.
    pub releases: Vec<ReleaseVerdict>,
    /// Artifacts no kept release came from.
    pub artifacts: Vec<FileGone>,
    /// Uploaded ship binaries that are not needed, in the host user's cache or the target's
    /// `.ship/bin/` (see [`AGENT_KEPT`] and [`CACHED_AGENT_KEPT`]).
    pub agents: Vec<FileGone>,
    /// File contents in `.ship/objects/` that no kept release uses: how many, and the disk
    /// space of those no removed release counted already.
    #[serde(default)]
    pub objects: ObjectsGone,
    /// The disk space of what went (or would go), as du counts it.
    pub bytes: u64,
    /// Who holds the target's lock, if someone else does (only a dry run can see one).
    pub holder: Option<Holder>,
}

impl Pruning {
    /// The ids of the releases removed.
    pub fn removed(&self) -> Vec<String> {
        self.releases.iter().filter(|r| r.why.removes() && r.error.is_none()).map(|r| r.release.to_string()).collect()
    }

    /// The releases that could not be removed, with why.
    pub fn errors(&self) -> Vec<String> {
        self.releases.iter().filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.release))).collect()
    }
}

/// Decide every release of `state`: see the module's documentation. `age` gives the
/// seconds since an RFC 3339 time. The result is in the order releases are shown.
pub fn decide(state: &State, keep: usize, age: impl Fn(&str) -> Option<u64>) -> Vec<(usize, Why)> {
    let index = |id: &str| state.releases.iter().position(|r| r.release == id);
    let live = state.current.as_ref().and_then(|r| index(&r.release));
    let previous = state.previous.as_ref().and_then(|r| index(&r.release));
    let mut out: Vec<(usize, Why)> = Vec::new();
    out.extend(live.map(|i| (i, Why::Live)));
    out.extend(previous.filter(|p| Some(*p) != live).map(|i| (i, Why::Previous)));
    let mut counted = out.len();
    for id in &state.lineage {
        let Some(i) = index(id) else { continue };
        if out.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let why = if !state.journal_damaged.is_empty() {
            // A damaged journal may have lost any record: nothing goes on its word.
            Why::Unknown
        } else if counted < keep {
            Why::Keep
        } else {
            Why::BeyondKeep
        };
        counted += 1;
        out.push((i, why));
    }
    for (i, r) in state.releases.iter().enumerate() {
        if out.iter().any(|(j, _)| *j == i) {
            continue;
        }
        // A damaged journal may have lost any record: no release it cannot vouch for goes.
        let why = if !state.journal_damaged.is_empty() {
            Why::Unknown
        } else if let Some(failed) = &r.failed_at {
            // A failure whose time cannot be read is kept: evidence is not guessed away.
            match age(failed) {
                Some(secs) if secs >= FAILURE_KEPT.as_secs() => Why::Failed,
                _ => Why::RecentFailure,
            }
        } else if r.went_live {
            Why::RolledBack
        } else if r.version.is_none() && r.commit.is_none() && r.sha256.is_none() {
            Why::Unknown
        } else {
            Why::NeverLive
        };
        out.push((i, why));
    }
    out
}

impl Site {
    /// Remove what no longer needs to be on the target; with `dry_run`, only say what would
    /// go. A real prune needs the target's lock, so that no deploy is using what it removes.
    pub fn prune(&self, keep: usize, dry_run: bool) -> Result<Pruning> {
        self.prune_with(keep, dry_run, None)
    }

    /// A prune whose removed releases are only taken out of `releases/` (a rename), and
    /// deleted by [`Site::clear_leftovers`] once the deploy that asked has its answer: a
    /// deploy does not wait for the disk. Whatever is left goes with the next lock.
    pub fn prune_leaving(&mut self, keep: usize) -> Result<Pruning> {
        let mut later = Vec::new();
        let pruning = self.prune_with(keep, false, Some(&mut later));
        self.leftovers.extend(later);
        pruning
    }

    /// Delete what [`Site::prune_leaving`] took out of `releases/`.
    pub fn clear_leftovers(&mut self) {
        for dir in std::mem::take(&mut self.leftovers) {
            let _ = fs::remove_dir_all(dir);
        }
    }

    fn prune_with(&self, keep: usize, dry_run: bool, mut later: Option<&mut Vec<PathBuf>>) -> Result<Pruning> {
        if !dry_run {
            self.require_lock()?;
        }
        let state = self.state()?;
        let verdicts = decide(&state, keep, crate::clock::age_secs);
        let objects = self.objects();
        // Which files go with the removed releases: an inode is freed when every link to it
        // is in a removed release, or in .ship/objects/ (whose link then goes too).
        let removed: Vec<PathBuf> = verdicts
            .iter()
            .filter(|(_, why)| why.removes())
            .map(|(i, _)| self.release_dir(&state.releases[*i].release))
            .collect();
        let stored = if removed.is_empty() && later.is_some() { Vec::new() } else { objects.list()? };
        let in_store: std::collections::HashSet<(u64, u64)> = stored.iter().map(|o| o.ino).collect();
        let mut links_in_removed: std::collections::HashMap<(u64, u64), u64> = Default::default();
        for dir in &removed {
            walk(dir, &mut |meta| {
                if meta.is_file() {
                    *links_in_removed.entry((meta.dev(), meta.ino())).or_default() += 1;
                }
            })?;
        }
        let freed = |ino: (u64, u64), links: u64| {
            links <= links_in_removed.get(&ino).copied().unwrap_or(0) + u64::from(in_store.contains(&ino))
        };
        let mut counted = std::collections::HashSet::new();
        let mut releases = Vec::new();
        let mut bytes = 0;
        for (i, why) in verdicts {
            let r = &state.releases[i];
            let dir = self.release_dir(&r.release);
            let size = if why.removes() {
                let mut size = 0;
                walk(&dir, &mut |meta| {
                    let ino = (meta.dev(), meta.ino());
                    if !meta.is_file() || (freed(ino, meta.nlink()) && counted.insert(ino)) {
                        size += meta.blocks() * 512;
                    }
                })?;
                Some(size)
            } else {
                None
            };
            let mut error = None;
            if why.removes() && !dry_run {
                // Take it out of releases/ first, so a half-removed tree is never a release;
                // what cannot be removed now is cleared from tmp/ by the next lock.
                // Named for this agent: another may still be deleting an earlier prune's tree.
                let doomed = self.meta().join("tmp").join(format!("prune-{}-{}", r.release, std::process::id()));
                if let Err(e) = fs::rename(&dir, &doomed) {
                    error = Some(format!("not removed: moving it out of releases/ failed: {e}"));
                } else if let Some(later) = later.as_deref_mut() {
                    later.push(doomed);
                } else if let Err(e) = fs::remove_dir_all(&doomed) {
                    error = Some(format!(
                        "taken out of releases/, but not all of it could be deleted ({e}): the rest goes \
                         with the next deploy or prune"
                    ));
                }
            }
            if error.is_none() {
                bytes += size.unwrap_or(0);
            }
            releases.push(ReleaseVerdict {
                release: r.release.clone(),
                version: r.version.clone(),
                commit: r.commit.clone(),
                deployed_at: r.deployed_at.clone(),
                failed_at: r.failed_at.clone(),
                action: if why.removes() { "remove" } else { "keep" }.to_string(),
                why,
                bytes: size,
                error,
            });
        }

        let kept: Vec<&str> = releases.iter().filter(|r| !r.why.removes()).map(|r| r.release.as_str()).collect();
        let artifacts =
            self.sweep(&self.meta().join("artifacts"), dry_run, |name, _| !kept.iter().any(|id| name.starts_with(id)))?;
        let agents = self.prune_agents(dry_run)?;
        bytes += artifacts.iter().chain(&agents).map(|f| f.bytes).sum::<u64>();
        // The manifests kept beside the releases go with them.
        self.sweep(&self.meta().join("manifests"), dry_run, |name, _| !kept.iter().any(|id| name.starts_with(id)))?;
        // Contents no release links any more: those of the removed releases, and any a cut
        // off staging left.
        let mut gone = ObjectsGone::default();
        for object in stored.iter().filter(|o| {
            let in_removed = links_in_removed.get(&o.ino).copied().unwrap_or(0);
            o.links <= in_removed + 1
        }) {
            // One that cannot be removed (made immutable, say) stays, and is not counted.
            if !dry_run && objects.remove(&object.name).is_err() {
                continue;
            }
            gone.count += 1;
            if !counted.contains(&object.ino) {
                gone.bytes += object.bytes;
            }
        }
        bytes += gone.bytes;
        Ok(Pruning { releases, artifacts, agents, objects: gone, bytes, holder: state.holder })
    }

    /// Remove (or, with `dry_run`, list) the plain files of `dir` that `doomed` picks.
    fn sweep(&self, dir: &Path, dry_run: bool, doomed: impl Fn(&str, &Path) -> bool) -> Result<Vec<FileGone>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        let mut gone = Vec::new();
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_file() || !doomed(&name, &path) {
                continue;
            }
            let bytes = entry.metadata()?.blocks() * 512;
            if !dry_run {
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("removing {}", path.display()));
                    }
                    _ => {}
                }
            }
            gone.push(FileGone { file: relative(self.root(), &path), bytes });
        }
        gone.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(gone)
    }

    /// The uploaded ships no longer needed: in the host user's cache, those that have not
    /// started for [`CACHED_AGENT_KEPT`]; in the target's `.ship/bin/`, those that have not
    /// for [`AGENT_KEPT`]; in both, uploads cut off an hour ago or more. Only files named
    /// `ship-<sha256>` (with the CRC record beside each) and `.upload-*` are looked at, and
    /// the ship serving this prune is never one of them.
    fn prune_agents(&self, dry_run: bool) -> Result<Vec<FileGone>> {
        let own = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok());
        let mut gone = Vec::new();
        let mut places = vec![(self.meta().join("bin"), AGENT_KEPT)];
        if let Some(cache) = agent_cache_dir() {
            places.push((cache, CACHED_AGENT_KEPT));
        }
        for (dir, kept) in places {
            let found = self.sweep(&dir, dry_run, |name, path| {
                let idle = |limit: Duration| {
                    let modified = fs::symlink_metadata(path).and_then(|m| m.modified()).ok();
                    modified.and_then(|t| SystemTime::now().duration_since(t).ok()).is_some_and(|d| d >= limit)
                };
                if name.starts_with(".upload-") {
                    idle(UPLOAD_LEFTOVER)
                } else if let Some(sha) = name.strip_prefix("ship-") {
                    crate::digest::is_sha256(sha) && own.as_deref() != path.canonicalize().ok().as_deref() && idle(kept)
                } else {
                    false
                }
            })?;
            if !dry_run {
                // The CRC record of each ship removed, and locks left by uploads cut off.
                for file in &found {
                    if let Some(name) = Path::new(&file.file).file_name().and_then(|n| n.to_str())
                        && name.starts_with("ship-")
                    {
                        let _ = fs::remove_file(dir.join(format!(".{name}.cksum")));
                    }
                }
                if let Ok(entries) = fs::read_dir(&dir) {
                    for entry in entries.flatten() {
                        let old = entry.metadata().and_then(|m| m.modified()).ok();
                        let old = old.and_then(|t| SystemTime::now().duration_since(t).ok());
                        if entry.file_name().to_string_lossy().starts_with(".lock-")
                            && old.is_some_and(|d| d >= UPLOAD_LEFTOVER)
                        {
                            let _ = fs::remove_dir_all(entry.path());
                        }
                    }
                }
            }
            gone.extend(found);
        }
        Ok(gone)
    }

    /// Mark the uploaded ship serving this target as in use, so that another build's prune
    /// keeps it (see [`AGENT_KEPT`] and [`CACHED_AGENT_KEPT`]). Nothing happens for a ship
    /// that was not uploaded.
    pub fn mark_agent_used(&self) {
        let Ok(own) = std::env::current_exe() else { return };
        let parent = own.parent().and_then(|p| p.canonicalize().ok());
        let uploaded = [Some(self.meta().join("bin")), agent_cache_dir()]
            .into_iter()
            .flatten()
            .any(|dir| parent.is_some() && parent == dir.canonicalize().ok());
        if uploaded {
            let now = rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW };
            let times = rustix::fs::Timestamps { last_access: now, last_modification: now };
            let _ = rustix::fs::utimensat(rustix::fs::CWD, &own, &times, rustix::fs::AtFlags::empty());
        }
    }
}

/// Where the bootstrap keeps uploaded ships for this user on this host:
/// `$XDG_CACHE_HOME/ship/bin` (when absolute), else `$HOME/.cache/ship/bin`; none without HOME.
pub fn agent_cache_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(xdg) if xdg.is_absolute() => Some(xdg.join("ship/bin")),
        _ => Some(PathBuf::from(home).join(".cache/ship/bin")),
    }
}

/// Call `each` with the metadata of the tree at `dir` and of everything in it (symlinks
/// as links, never followed).
fn walk(dir: &Path, each: &mut dyn FnMut(&fs::Metadata)) -> Result<()> {
    each(&fs::symlink_metadata(dir)?);
    let mut todo: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            each(&entry.metadata()?);
            if entry.file_type()?.is_dir() {
                todo.push(entry.path());
            }
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::ReleaseState;

    fn release(id: &str, went_live: bool, failed_at: Option<&str>) -> ReleaseState {
        ReleaseState {
            release: id.into(),
            version: Some(format!("v-{id}")),
            commit: None,
            sha256: None,
            deployed_at: None,
            deployed_by: None,
            went_live,
            failed_at: failed_at.map(String::from),
            failure: None,
        }
    }

    /// A target's state: `releases` as the disk has them (in any order), `lineage` newest
    /// first, current its first and previous its second.
    fn state(releases: Vec<ReleaseState>, lineage: &[&str]) -> State {
        let find = |id: &str| releases.iter().find(|r| r.release == id).cloned();
        State {
            current: lineage.first().and_then(|id| find(id)),
            confirmed: true,
            previous: lineage.get(1).and_then(|id| find(id)),
            releases,
            locked: false,
            holder: None,
            last_failure: None,
            lineage: lineage.iter().map(|s| s.to_string()).collect(),
            journal_damaged: Vec::new(),
            artifacts: Vec::new(),
            objects: false,
        }
    }

    /// Ages in seconds, by the failure time's text.
    fn age(text: &str) -> Option<u64> {
        text.parse().ok()
    }

    fn verdicts(s: &State, keep: usize) -> Vec<(String, Why)> {
        decide(s, keep, age).into_iter().map(|(i, why)| (s.releases[i].release.to_string(), why)).collect()
    }

    #[test]
    fn keep_counts_the_lineage_newest_first_the_live_and_previous_ones_included() {
        // On disk in an order that says nothing (clocks differ between deploying machines).
        let releases = ["r2", "r6", "r1", "r4", "r3", "r5"].map(|id| release(id, true, None)).to_vec();
        let s = state(releases, &["r6", "r5", "r4", "r3", "r2", "r1"]);
        assert_eq!(
            verdicts(&s, 4),
            [
                ("r6".into(), Why::Live),
                ("r5".into(), Why::Previous),
                ("r4".into(), Why::Keep),
                ("r3".into(), Why::Keep),
                ("r2".into(), Why::BeyondKeep),
                ("r1".into(), Why::BeyondKeep),
            ]
        );
        // keep below 2 still keeps the live release and the one a rollback goes to.
        let got = verdicts(&s, 0);
        assert_eq!(got.iter().filter(|(_, w)| !w.removes()).count(), 2);
    }

    #[test]
    fn failures_are_kept_a_day_and_never_count() {
        let day = FAILURE_KEPT.as_secs();
        let s = state(
            vec![
                release("live", true, None),
                release("fresh-failure", true, Some(&(day - 1).to_string())),
                release("old-failure", true, Some(&day.to_string())),
                release("unreadable", false, Some("yesterday-ish")),
                release("staged", false, None),
                release("prev", true, None),
                release("older", true, None),
                release("left-by-a-rollback", true, None),
            ],
            &["live", "prev", "older"],
        );
        assert_eq!(
            verdicts(&s, 3),
            [
                ("live".into(), Why::Live),
                ("prev".into(), Why::Previous),
                ("older".into(), Why::Keep),
                ("fresh-failure".into(), Why::RecentFailure),
                ("old-failure".into(), Why::Failed),
                ("unreadable".into(), Why::RecentFailure),
                ("staged".into(), Why::NeverLive),
                ("left-by-a-rollback".into(), Why::RolledBack),
            ]
        );
    }

    #[test]
    fn a_release_the_journal_does_not_know_is_kept() {
        let mut unknown = release("lost", false, None);
        unknown.version = None;
        let s = state(vec![unknown, release("live", true, None)], &["live"]);
        assert_eq!(verdicts(&s, 1), [("live".into(), Why::Live), ("lost".into(), Why::Unknown)]);
    }

    #[test]
    fn with_a_damaged_journal_nothing_goes() {
        let mut s = state(
            vec![release("live", true, None), release("staged", false, None), release("old", true, None)],
            &["live", "prev-gone", "old"],
        );
        s.journal_damaged = vec![3];
        let whys: Vec<Why> = verdicts(&s, 1).into_iter().map(|(_, w)| w).collect();
        assert_eq!(whys, [Why::Live, Why::Unknown, Why::Unknown]);
    }

    #[test]
    fn an_unconfirmed_live_release_and_its_previous_are_kept() {
        // A deploy cut off after its switch: `current` is not in the lineage yet, and the
        // previous release is the lineage's newest, where a rollback goes.
        let mut s = state(vec![release("new", false, None), release("old", true, None)], &["old"]);
        s.current = Some(release("new", false, None));
        s.previous = Some(release("old", true, None));
        s.confirmed = false;
        assert_eq!(verdicts(&s, 1), [("new".into(), Why::Live), ("old".into(), Why::Previous)]);
    }
}
