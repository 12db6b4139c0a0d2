//! A target's file contents by sha256, in `.ship/objects/`: what makes sending only what a
//! target lacks possible.
//!
//! Every regular file of a release is a hard link to its object, named for its content and
//! whether it is executable (`<sha256>` or `<sha256>.x`). Objects are read-only (0444 or
//! 0555), so a release made of them holds its files as the artifact had them, minus the
//! write bit. A deploy asks the target which objects it lacks ([`Objects::lacking`]) and
//! sends only those; the release is then made of links to what the target had plus what
//! came. Each object is hashed as it is written and renamed into place only when its
//! sha256 is its name, so an object that is there is complete.
//!
//! A shared inode is why objects are read-only: a step that opens a release file to write
//! it in place would change that file in every release that shares it. Without root, the
//! mode stops that write; root ignores modes, so paths a step rewrites in place belong in
//! `[release] writable`, whose files are private copies. An object is given the commit time
//! of the release that brought it as its modification time; one whose mode or size is not
//! what ship gave it, or that was modified after the commit being deployed (a write in
//! place sets the time to now), is not used again (it is sent anew and replaced), and
//! `status --verify` finds what an in-place write changed.
//!
//! An object no release links any more (its link count is 1: only its name here) is
//! removed by the prune that removes its last release.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::artifact::manifest::FileEntry;
use crate::digest::HashingWriter;

/// The name of the object of a regular file of the manifest: its sha256, and `.x` when it
/// is executable (a hard link shares its mode).
pub fn key(entry: &FileEntry) -> String {
    if entry.mode == 0o755 { format!("{}.x", entry.sha256) } else { entry.sha256.clone() }
}

/// The contents of a manifest's files, each once, with its size, in the manifest's order:
/// what a target is asked about, and the positions its answer names.
pub fn contents(manifest: &crate::artifact::Manifest) -> Vec<(String, u64)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for file in manifest.files.iter().filter(|f| f.link.is_none()) {
        let key = key(file);
        if seen.insert(key.clone()) {
            out.push((key, file.size));
        }
    }
    out
}

/// Is `key` the name of an object: 64 lowercase hex digits, with `.x` or not?
pub fn check_key(key: &str) -> Result<(), String> {
    let sha = key.strip_suffix(".x").unwrap_or(key);
    if crate::digest::is_sha256(sha) {
        Ok(())
    } else {
        Err(format!("{} is not the name of an object (a sha256, with .x or not)", super::names::shown(key)))
    }
}

/// The mode an object has: read-only, executable when its key says so.
fn mode_of(key: &str) -> u32 {
    if key.ends_with(".x") { 0o555 } else { 0o444 }
}

/// One target's objects.
pub struct Objects {
    dir: PathBuf,
    /// Where objects are written before they are renamed into place (cleared by each lock).
    tmp: PathBuf,
}

impl Objects {
    pub fn new(dir: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> Objects {
        Objects { dir: dir.into(), tmp: tmp.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// Does the target hold any object at all? (A target that has none is sent whole
    /// artifacts, with no question first.)
    pub fn any(&self) -> bool {
        fs::read_dir(&self.dir).is_ok_and(|mut entries| entries.next().is_some())
    }

    /// Is the object `key` here as ship made it: a regular file of `size` bytes with its
    /// read-only mode, not modified after `commit_time` (the commit being deployed: an
    /// object bears the commit time of the release that brought it)? With `trust.deep`, its
    /// content is hashed as well (a repair trusts nothing).
    pub fn intact(&self, key: &str, size: u64, trust: Trust) -> bool {
        let path = self.path(key);
        let Ok(meta) = fs::symlink_metadata(&path) else { return false };
        if !meta.is_file() || meta.len() != size || meta.permissions().mode() & 0o7777 != mode_of(key) {
            return false;
        }
        if !meta.modified().is_ok_and(|t| t <= trust.commit_time) {
            return false;
        }
        !trust.deep || crate::digest::sha256_file(&path).is_ok_and(|got| key.starts_with(&got))
    }

    /// The positions in `wanted` (object, size) of the objects this target lacks.
    pub fn lacking(&self, wanted: &[(String, u64)], trust: Trust) -> Vec<u32> {
        let mut seen = std::collections::HashMap::new();
        let mut missing = Vec::new();
        for (i, (key, size)) in wanted.iter().enumerate() {
            let have = *seen.entry((key.as_str(), *size)).or_insert_with(|| self.intact(key, *size, trust));
            if !have {
                missing.push(i as u32);
            }
        }
        missing
    }

    /// Write the object of `entry` from `data` (exactly `entry.size` bytes), hashed as it is
    /// written and renamed into place only if its sha256 is the manifest's, over whatever
    /// has that name (callers write only what is not intact). `Ok(false)`: the bytes were
    /// not the manifest's, and nothing was kept.
    pub fn put(&self, entry: &FileEntry, data: impl Read, mtime: std::time::SystemTime) -> Result<bool> {
        let key = key(entry);
        let mut tmp = tempfile::Builder::new()
            .prefix("object-")
            .tempfile_in(&self.tmp)
            .with_context(|| format!("writing into {}", self.tmp.display()))?;
        let mut hashing = HashingWriter::new(tmp.as_file_mut());
        let copied = std::io::copy(&mut data.take(entry.size), &mut hashing)?;
        let (_, sha256, _) = hashing.finish();
        if copied != entry.size || sha256 != entry.sha256 {
            return Ok(false);
        }
        let file = tmp.as_file();
        file.set_permissions(fs::Permissions::from_mode(mode_of(&key)))?;
        file.set_modified(mtime)?;
        // Not a file there (a directory, say): it goes, or nothing could ever replace it.
        let path = self.path(&key);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        tmp.persist(self.path(&key)).map_err(|e| e.error).with_context(|| format!("keeping object {key}"))?;
        Ok(true)
    }

    /// Make `dest` the file of `entry`: a hard link to its object, or with `copy` a private,
    /// writable copy of it (mode 0644 or 0755). A release on another file system than
    /// `.ship/`, or a content linked as often as the file system allows (thousands of
    /// empty files), gets read-only copies instead.
    pub fn place(&self, entry: &FileEntry, dest: &Path, copy: bool) -> Result<()> {
        let object = self.path(&key(entry));
        if !copy {
            let cannot = [rustix::io::Errno::XDEV, rustix::io::Errno::MLINK].map(|e| Some(e.raw_os_error()));
            match fs::hard_link(&object, dest) {
                Ok(()) => return Ok(()),
                Err(e) if cannot.contains(&e.raw_os_error()) => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("linking {} to its content", dest.display()));
                }
            }
        }
        let mut from = fs::File::open(&object).with_context(|| format!("reading object {}", object.display()))?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .with_context(|| format!("writing {}", dest.display()))?;
        std::io::copy(&mut from, &mut to).with_context(|| format!("writing {}", dest.display()))?;
        to.flush()?;
        to.set_permissions(fs::Permissions::from_mode(if copy { entry.mode } else { mode_of(&key(entry)) }))?;
        to.set_modified(from.metadata()?.modified()?)?;
        Ok(())
    }

    /// Every object's name with its inode, link count and disk space (blocks).
    pub fn list(&self) -> Result<Vec<ObjectFile>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.dir.display())),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            if !meta.is_file() {
                continue;
            }
            out.push(ObjectFile {
                name,
                ino: (meta.dev(), meta.ino()),
                links: meta.nlink(),
                bytes: meta.blocks() * 512,
            });
        }
        Ok(out)
    }

    /// Remove the object `name`; gone already is fine.
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// How far an object that is there is trusted: see [`Objects::intact`].
#[derive(Debug, Clone, Copy)]
pub struct Trust {
    pub commit_time: std::time::SystemTime,
    pub deep: bool,
}

/// An object as [`Objects::list`] finds it.
pub struct ObjectFile {
    pub name: String,
    pub ino: (u64, u64),
    pub links: u64,
    pub bytes: u64,
}

/// Where a release being made takes a file it has no entry for (`bail`s name the path).
pub fn missing(entry: &FileEntry) -> anyhow::Error {
    anyhow::anyhow!(
        "this target lacks the content of {} (object {}), and the upload did not bring it: deploy again",
        entry.path,
        key(entry)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, content: &[u8], mode: u32) -> FileEntry {
        FileEntry {
            path: path.into(),
            mode,
            size: content.len() as u64,
            sha256: crate::digest::sha256_hex(content),
            link: None,
        }
    }

    #[test]
    fn an_object_is_kept_only_when_its_bytes_are_its_name_and_used_only_while_intact() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::new(dir.path().join("objects"), dir.path());
        fs::create_dir(objects.dir()).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let (cheap, deep) = (Trust { commit_time: t, deep: false }, Trust { commit_time: t, deep: true });
        let e = entry("a.txt", b"hello", 0o644);
        assert!(!objects.put(&e, &b"hellx"[..], t).unwrap(), "wrong bytes are refused");
        assert!(!objects.put(&e, &b"hell"[..], t).unwrap(), "too few bytes are refused");
        assert!(objects.list().unwrap().is_empty(), "nothing is kept");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing is left behind");
        assert!(objects.put(&e, &b"hello, and more"[..], t).unwrap(), "only `size` bytes are taken");
        let path = objects.path(&key(&e));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o444);
        assert!(objects.intact(&key(&e), 5, deep));
        assert_eq!(objects.lacking(&[(key(&e), 5), ("ab".repeat(32), 1), (key(&e), 6)], cheap), vec![1, 2]);
        let earlier = Trust { commit_time: t - std::time::Duration::from_secs(1), deep: false };
        assert!(!objects.intact(&key(&e), 5, earlier), "modified after the commit deployed: not trusted");
        // Made writable, or changed in place: no longer used, whatever its name says.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!objects.intact(&key(&e), 5, cheap));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        fs::write(&path, b"HELLO").unwrap();
        let now = Trust { commit_time: std::time::SystemTime::now() + std::time::Duration::from_secs(60), deep: false };
        assert!(!objects.intact(&key(&e), 5, cheap), "a write in place is found by its time...");
        assert!(objects.intact(&key(&e), 5, now), "...only its time: a same-size rewrite passes the rest...");
        assert!(!objects.intact(&key(&e), 5, Trust { deep: true, ..now }), "...and not the deep check");
        // A directory in an object's place is replaced.
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(objects.put(&e, &b"hello"[..], t).unwrap());
        assert!(objects.intact(&key(&e), 5, deep));
        // An executable is its own object, with its own mode.
        let x = entry("run.sh", b"hello", 0o755);
        assert!(objects.put(&x, &b"hello"[..], t).unwrap());
        assert_eq!(fs::metadata(objects.path(&key(&x))).unwrap().permissions().mode() & 0o7777, 0o555);
        // Placed as a link (read-only) or as a private copy with the manifest's mode.
        let (linked, copied) = (dir.path().join("linked"), dir.path().join("copied"));
        objects.place(&x, &linked, false).unwrap();
        objects.place(&x, &copied, true).unwrap();
        assert_eq!(fs::metadata(&linked).unwrap().ino(), fs::metadata(objects.path(&key(&x))).unwrap().ino());
        assert_eq!(fs::metadata(&copied).unwrap().permissions().mode() & 0o7777, 0o755);
        assert_eq!(fs::read(&copied).unwrap(), b"hello");
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key(&"a".repeat(64)).is_ok());
        assert!(check_key(&format!("{}.x", "a".repeat(64))).is_ok());
        assert!(check_key("../../etc/passwd").is_err());
        assert!(check_key(&format!("{}.y", "a".repeat(64))).is_err());
        assert!(check_key(&"A".repeat(64)).is_err());
    }
}
