//! The append-only, fsync'd journal at `<path>/.ship/journal.jsonl`, and its replay into a
//! [`Ledger`]: which releases went live, in what order, and what failed.
//!
//! The journal, not directory order or mtimes, decides what "previous" means.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::ids::{CommitId, ReleaseId, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Deploy,
    Rollback,
    /// `ship unlock --force`: not a run of its own; only ever `LockBroken`.
    Unlock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A deploy or rollback started on this target.
    Begin,
    /// The release is complete on disk and its before_switch steps passed.
    Staged,
    /// `current` now points at the release.
    Switched,
    /// The release passed its after_switch steps and health check: it went live.
    Live,
    /// Something failed on this target; `message` says what.
    Failed,
    /// A rollback switched `current` back to this release.
    Restored,
    /// The deploy or rollback ended; `outcome` is this target's, `fleet_outcome` everyone's.
    End,
    /// `ship unlock --force` lifted someone else's `ship lock`; `message` says whose, `user` who.
    LockBroken,
    /// `deploy --repair` rebuilt the live release from its artifact; `message` says what
    /// had changed.
    Repaired,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub at: String,
    pub run: String,
    pub kind: RunKind,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ReleaseId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet_outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A deploy by `ship promote`: the environment the artifact was promoted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}

impl Record {
    pub fn new(run: &str, kind: RunKind, event: Event) -> Record {
        Record {
            at: crate::clock::now_rfc3339(),
            run: run.to_string(),
            kind,
            event,
            release: None,
            version: None,
            commit: None,
            sha256: None,
            user: None,
            from: None,
            outcome: None,
            fleet_outcome: None,
            duration_ms: None,
            message: None,
            promoted_from: None,
        }
    }
}

/// Append one record and fsync it before returning.
pub fn append(path: &Path, record: &Record) -> Result<()> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the journal {}", path.display()))?;
    // A line torn by a crash must not swallow this one: end it first.
    let len = file.metadata()?.len();
    if len > 0 {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    file.write_all(&line)?;
    file.sync_data()?;
    Ok(())
}

/// Every record, oldest first. A torn last line (a crash mid-write) is ignored.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    Ok(read_checked(path)?.0)
}

/// Every record, oldest first, and the numbers (from 1) of the lines that are not records
/// although more follow them: damage, not a write cut short, and worth saying.
pub fn read_checked(path: &Path) -> Result<(Vec<Record>, Vec<usize>)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("reading the journal {}", path.display())),
    };
    parse_checked(BufReader::new(file)).with_context(|| format!("reading the journal {}", path.display()))
}

/// Every record of a journal's text, oldest first. Lines that are not records (a torn last
/// line, a line that is not UTF-8) are skipped; only an I/O error fails.
pub fn parse(input: impl BufRead) -> std::io::Result<Vec<Record>> {
    Ok(parse_checked(input)?.0)
}

/// [`parse`], and the numbers of the skipped lines that are not the last one.
pub fn parse_checked(mut input: impl BufRead) -> std::io::Result<(Vec<Record>, Vec<usize>)> {
    let mut records = Vec::new();
    let mut damaged = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            // The last line may be a write cut short by a crash: that is not damage.
            if damaged.last() == Some(&number) {
                damaged.pop();
            }
            return Ok((records, damaged));
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => records.push(record),
            Err(_) => damaged.push(number),
        }
    }
}

/// What the journal says about one release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub version: Option<String>,
    pub commit: Option<CommitId>,
    pub sha256: Option<Sha256>,
    /// It went live and healthy at least once.
    pub went_live: bool,
    /// When it last became live, and who did it.
    pub live_at: Option<String>,
    pub live_by: Option<String>,
    /// When it last failed, and why.
    pub failed_at: Option<String>,
    pub failure: Option<String>,
    /// The last time the journal mentioned it.
    pub last_seen: String,
}

/// The journal replayed.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub releases: BTreeMap<String, ReleaseInfo>,
    /// Releases that went live, oldest first; the top is what should be live now. A deploy
    /// pushes; a rollback to a release truncates the stack back to it.
    pub stack: Vec<String>,
    /// The release of the newest failure since a deploy last went live, if any.
    pub last_failure: Option<String>,
}

impl Ledger {
    pub fn replay(records: &[Record]) -> Ledger {
        let mut ledger = Ledger::default();
        for r in records {
            let Some(release) = r.release.as_deref() else { continue };
            let info = ledger.releases.entry(release.to_string()).or_default();
            info.last_seen = r.at.clone();
            // Only events about this very release name its version; an end or a failure may
            // carry another run's.
            let describes =
                matches!(r.event, Event::Begin | Event::Staged | Event::Switched | Event::Live | Event::Restored);
            if describes && r.version.is_some() {
                info.version = r.version.clone();
            }
            if describes && r.commit.is_some() {
                info.commit = r.commit.clone();
            }
            if describes && r.sha256.is_some() {
                info.sha256 = r.sha256.clone();
            }
            match r.event {
                Event::Live => {
                    ledger.last_failure = None;
                    info.went_live = true;
                    info.live_at = Some(r.at.clone());
                    info.live_by = r.user.clone();
                    info.failed_at = None;
                    info.failure = None;
                    if ledger.stack.last().map(String::as_str) != Some(release) {
                        ledger.stack.push(release.to_string());
                    }
                }
                Event::Restored => {
                    info.live_at = Some(r.at.clone());
                    info.live_by = r.user.clone();
                    match ledger.stack.iter().rposition(|x| x == release) {
                        Some(i) => ledger.stack.truncate(i + 1),
                        None => ledger.stack.push(release.to_string()),
                    }
                }
                Event::Failed => {
                    ledger.last_failure = Some(release.to_string());
                    info.failed_at = Some(r.at.clone());
                    info.failure = r.message.clone();
                }
                _ => {}
            }
        }
        ledger
    }

    /// The release a rollback goes back to, given what `current` points at: the one that
    /// was live before it, skipping releases no longer on disk.
    pub fn previous(&self, current: Option<&str>, exists: impl Fn(&str) -> bool) -> Option<String> {
        let mut stack: &[String] = &self.stack;
        // When current is the top, it is what we go back from; when it is not (a deploy was
        // cut off after its switch), the top is the last release that went live.
        if let (Some(top), Some(cur)) = (stack.last(), current)
            && top == cur
        {
            stack = &stack[..stack.len() - 1];
        }
        stack.iter().rev().find(|r| Some(r.as_str()) != current && exists(r)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_is_told_apart_from_a_torn_last_line() {
        let good = serde_json::to_string(&rec(Event::Live, "a")).unwrap();
        let text = format!("{good}\nnot json\n{good}\n{{\"torn");
        let (records, damaged) = parse_checked(text.as_bytes()).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(damaged, [2], "line 2 is damage; the torn last line is not");
    }

    fn rec(event: Event, release: &str) -> Record {
        let mut r = Record::new("run", RunKind::Deploy, event);
        r.release = Some(release.into());
        r
    }

    #[test]
    fn rollback_walks_back_through_what_went_live() {
        let mut records = vec![rec(Event::Live, "a"), rec(Event::Live, "b"), rec(Event::Live, "c")];
        let ledger = Ledger::replay(&records);
        assert_eq!(ledger.previous(Some("c"), |_| true).as_deref(), Some("b"));
        records.push(rec(Event::Restored, "b"));
        let ledger = Ledger::replay(&records);
        assert_eq!(ledger.stack, ["a", "b"]);
        assert_eq!(ledger.previous(Some("b"), |_| true).as_deref(), Some("a"));
    }

    #[test]
    fn a_release_that_never_went_live_is_never_a_rollback_target() {
        let records =
            vec![rec(Event::Live, "a"), rec(Event::Staged, "b"), rec(Event::Switched, "b"), rec(Event::Failed, "b")];
        let ledger = Ledger::replay(&records);
        // current still points at the half-made b: go back to a.
        assert_eq!(ledger.previous(Some("b"), |_| true).as_deref(), Some("a"));
        // current is a: there is nothing before it.
        assert_eq!(ledger.previous(Some("a"), |_| true), None);
    }

    #[test]
    fn releases_gone_from_disk_are_skipped() {
        let records = vec![rec(Event::Live, "a"), rec(Event::Live, "b"), rec(Event::Live, "c")];
        let ledger = Ledger::replay(&records);
        assert_eq!(ledger.previous(Some("c"), |r| r != "b").as_deref(), Some("a"));
    }
}
