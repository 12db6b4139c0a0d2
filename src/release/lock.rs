//! The target's lock: `flock` on `<path>/.ship/lock`, so it vanishes with the process or
//! connection that held it. The holder writes who it is into the file for others to read.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    pub since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Holder {
    /// This process, running `command`.
    pub fn me(command: &str) -> Holder {
        Holder {
            user: crate::clock::user(),
            host: crate::clock::hostname(),
            pid: std::process::id(),
            command: command.to_string(),
            since: crate::clock::now_rfc3339(),
            reason: None,
        }
    }
}

impl Holder {
    /// The same person: the same user on the same host (another process of theirs counts).
    pub fn is_same_person(&self, other: &Holder) -> bool {
        self.user == other.user && self.host == other.host
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} (pid {}, `{}`, since {}", self.user, self.host, self.pid, self.command, self.since)?;
        if let Some(reason) = &self.reason {
            write!(f, ", reason: {reason}")?;
        }
        f.write_str(")")
    }
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening the lock {}", path.display()))
}

/// Take the lock, or say who holds it (`Err(holder)`; the holder is `None` if it wrote nothing).
pub fn try_lock(path: &Path, holder: &Holder) -> Result<Result<Lock, Option<Holder>>> {
    let mut file = open(path)?;
    // `status` and `check` probe with a shared lock for an instant: a few quick retries keep
    // such a probe from passing for a holder.
    let mut tries = 0;
    let taken = loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if tries < 10 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other,
        }
    };
    match taken {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(&serde_json::to_vec(holder)?)?;
            Ok(Ok(Lock { _file: file }))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(Err(read_holder(&mut file))),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Who holds the lock now, without keeping it: `None` when it is free.
pub fn probe(path: &Path) -> Result<Option<Option<Holder>>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut file = std::fs::File::open(path).with_context(|| format!("opening the lock {}", path.display()))?;
    // Shared: it conflicts only with a holder's exclusive lock, never with another probe.
    match file.try_lock_shared() {
        Ok(()) => {
            file.unlock()?;
            Ok(None)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file))),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("checking the lock {}", path.display())),
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}
