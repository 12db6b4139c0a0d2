//! Unpacking an artifact into a directory, holding every entry to the artifact's manifest.
//!
//! The manifest comes first and is judged before anything is written ([`Manifest::check`]):
//! plain relative paths, nothing below a file or a symlink, and symlinks that stay inside
//! the release once it is in place, with the shared paths linked in. Then every entry must
//! be the one the manifest lists: same path, same type, same size, same sha256 (computed
//! while it is written), same link text; none missing, none twice, nothing else. So the
//! unpacked total is bounded by the manifest, and what `status --verify` later rehashes
//! is exactly what was unpacked. Symlinks are created last, when every file is written,
//! so no write can ever go through one. Hard links, devices and fifos are refused.
//!
//! A target's releases are unpacked through its objects ([`Into`]): each file's content is
//! written once as an object and linked into the release. A delta carries only the files
//! whose content the target lacks: every other file of the manifest is linked from the
//! object it already has, and one it does not have refuses the release.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::artifact::manifest::{FileEntry, MANIFEST_NAME, MAX_MANIFEST_BYTES, Manifest};
use crate::digest::HashingWriter;
use crate::release::objects::{self, Objects};

/// Unpacking through a target's objects.
pub struct Into<'a> {
    pub objects: &'a Objects,
    /// The stream is a delta, and this (an uncompressed tar of the manifest alone) its
    /// manifest, offered before it: the files the stream lacks are linked from objects the
    /// target has.
    pub delta: Option<&'a [u8]>,
    /// Files made private, writable copies instead of links (`[release] writable`).
    pub writable: &'a globset::GlobSet,
    /// A repair: no content on the target is reused unless it was just hashed.
    pub repair: bool,
}

/// Unpack the zstd-compressed artifact (or delta) `reader` into `dest` (an empty
/// directory) through `into`, with `shared` paths to be linked in afterwards. Returns the
/// number of entries written and the manifest's bytes.
pub fn unpack(reader: impl Read, dest: &Path, shared: &[String], into: Into<'_>) -> Result<(usize, Vec<u8>)> {
    let decoder = zstd::stream::read::Decoder::new(reader)?;
    unpack_with(decoder, dest, shared, Some(into))
}

/// [`unpack`] of an uncompressed tar stream, with no shared paths, writing files in place.
pub fn unpack_from(reader: impl Read, dest: &Path) -> Result<usize> {
    unpack_with(reader, dest, &[], None).map(|(count, _)| count)
}

fn unpack_with(reader: impl Read, dest: &Path, shared: &[String], into: Option<Into<'_>>) -> Result<(usize, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().context("reading the artifact")?;

    // 1. The manifest, judged before anything else is written.
    let offered = into.as_ref().and_then(|i| i.delta);
    let (text, when) = match offered {
        Some(offered) => manifest_entry(tar::Archive::new(offered).entries()?.next())?,
        None => manifest_entry(entries.next())?,
    };
    let manifest = Manifest::decode(&text).map_err(|why| anyhow::anyhow!("refusing the artifact: {why}"))?;
    manifest.check(shared).map_err(|why| anyhow::anyhow!("refusing the artifact: {why}"))?;
    write_new(&dest.join(MANIFEST_NAME), &text, 0o644, when)?;
    let delta = offered.is_some();
    // A content the target has is used when it was not modified after this commit (see
    // `objects`); a delta's were hashed by the `lacks` before it when repairing.
    let trust = objects::Trust { commit_time: when, deep: false };
    // Objects written by this unpack (a file whose content an earlier entry brought is
    // still held to its sha256, then linked).
    let mut put: BTreeSet<String> = BTreeSet::new();

    let listed: BTreeMap<&str, &FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let dirs: BTreeSet<PathBuf> = manifest
        .files
        .iter()
        .flat_map(|f| Path::new(&f.path).ancestors().skip(1).map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut links: Vec<(PathBuf, &str)> = Vec::new();
    let mut count = 1;

    // 2. Every entry, held to the manifest.
    for entry in entries {
        let mut entry = entry.context("reading the artifact")?;
        let raw = entry.path()?.into_owned();
        let rel = safe_relative(&raw).with_context(|| format!("refusing artifact entry {}", raw.display()))?;
        let refuse = |why: &str| anyhow::anyhow!("refusing artifact entry {}: {why}", raw.display());
        let out = dest.join(&rel);
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::Directory {
            if !dirs.contains(&rel) {
                return Err(refuse("its manifest lists no file below this directory"));
            }
            ensure_dir(dest, &rel)?;
            continue;
        }
        let key = rel.to_str().ok_or_else(|| refuse("its name is not UTF-8"))?;
        let Some(listed) = listed.get(key) else {
            return Err(refuse("its manifest does not list it"));
        };
        if !seen.insert(listed.path.as_str()) {
            return Err(refuse("it comes twice"));
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if listed.link.is_some() {
                    return Err(refuse("its manifest lists a symlink, the artifact has a file"));
                }
                if entry.size() != listed.size {
                    return Err(refuse(&format!("it is {} bytes, its manifest says {}", entry.size(), listed.size)));
                }
                let executable = entry.header().mode()? & 0o111 != 0;
                if executable != (listed.mode == 0o755) {
                    return Err(refuse(&format!("its mode differs from the manifest's {:o}", listed.mode)));
                }
                ensure_dir(dest, rel.parent().unwrap_or(Path::new("")))?;
                let when =
                    mtime(entry.header()).with_context(|| format!("refusing artifact entry {}", raw.display()))?;
                match &into {
                    None => {
                        let mut f = fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .open(&out)
                            .with_context(|| format!("writing {}", out.display()))?;
                        let mut hashing = HashingWriter::new(&mut f);
                        let copied = std::io::copy(&mut (&mut entry).take(listed.size), &mut hashing)
                            .with_context(|| format!("writing {}", out.display()))?;
                        let (_, sha256, _) = hashing.finish();
                        if copied != listed.size || sha256 != listed.sha256 {
                            return Err(refuse("its content does not match its sha256 in the manifest"));
                        }
                        f.set_permissions(fs::Permissions::from_mode(listed.mode))?;
                        f.set_modified(when)?;
                    }
                    Some(into) => {
                        let key = objects::key(listed);
                        let reuse =
                            put.contains(&key) || (!into.repair && into.objects.intact(&key, listed.size, trust));
                        let matches = if reuse {
                            let (sha256, size) = crate::digest::sha256_reader((&mut entry).take(listed.size))?;
                            sha256 == listed.sha256 && size == listed.size
                        } else {
                            into.objects.put(listed, &mut entry, when)?
                        };
                        if !matches {
                            return Err(refuse("its content does not match its sha256 in the manifest"));
                        }
                        put.insert(key);
                        into.objects.place(listed, &out, into.writable.is_match(&listed.path))?;
                    }
                }
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name()?.ok_or_else(|| refuse("a symlink with no target"))?;
                if listed.link.as_deref().map(Path::new) != Some(target.as_ref()) {
                    return Err(refuse("its link differs from the one its manifest lists"));
                }
                links.push((rel, listed.link.as_deref().expect("checked above")));
            }
            other => {
                return Err(refuse(match other {
                    tar::EntryType::Link => "a hard link is not allowed in a release",
                    tar::EntryType::Char | tar::EntryType::Block => "a device file is not allowed in a release",
                    tar::EntryType::Fifo => "a fifo is not allowed in a release",
                    _ => "a special entry is not allowed in a release",
                }));
            }
        }
        count += 1;
    }
    if let Some(into) = into.as_ref().filter(|_| delta) {
        // The files the delta did not bring: linked from the objects the target has.
        let rest: Vec<&FileEntry> = manifest.files.iter().filter(|f| !seen.contains(f.path.as_str())).collect();
        for file in rest {
            if let Some(target) = &file.link {
                // A delta carries no links: every one is made from the manifest.
                links.push((PathBuf::from(&file.path), target.as_str()));
                seen.insert(file.path.as_str());
                count += 1;
                continue;
            }
            let key = objects::key(file);
            if !put.contains(&key) && !into.objects.intact(&key, file.size, trust) {
                return Err(objects::missing(file));
            }
            let rel = Path::new(&file.path);
            ensure_dir(dest, rel.parent().unwrap_or(Path::new("")))?;
            into.objects.place(file, &dest.join(rel), into.writable.is_match(&file.path))?;
            seen.insert(file.path.as_str());
            count += 1;
        }
    }
    if let Some(missing) = listed.keys().find(|p| !seen.contains(*p)) {
        bail!("refusing the artifact: it lacks {missing}, which its manifest lists");
    }

    // 3. The links, now that no more writes will come.
    for (rel, target) in links {
        ensure_dir(dest, rel.parent().unwrap_or(Path::new("")))?;
        let out = dest.join(&rel);
        std::os::unix::fs::symlink(target, &out).with_context(|| format!("linking {}", out.display()))?;
    }
    Ok((count, text))
}

/// The manifest, the first entry of an artifact (`first`): its bytes and modification time.
pub fn manifest_entry<R: Read>(
    first: Option<std::io::Result<tar::Entry<'_, R>>>,
) -> Result<(Vec<u8>, std::time::SystemTime)> {
    let mut first = match first {
        Some(entry) => entry.context("reading the artifact")?,
        None => bail!("the artifact is empty: it has no {MANIFEST_NAME}"),
    };
    let first_path = first.path()?.into_owned();
    if first_path != Path::new(MANIFEST_NAME) || first.header().entry_type() != tar::EntryType::Regular {
        bail!("this is not a ship artifact: its first entry is {}, not {MANIFEST_NAME}", first_path.display());
    }
    if first.size() > MAX_MANIFEST_BYTES {
        bail!(
            "refusing the artifact: its manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} allowed",
            first.size()
        );
    }
    let mut text = Vec::with_capacity(first.size() as usize);
    first.read_to_end(&mut text).context("reading the artifact's manifest")?;
    let when = mtime(first.header()).context("refusing the artifact")?;
    Ok((text, when))
}

/// The modification time of an entry, refused when no file system could hold it.
fn mtime(header: &tar::Header) -> Result<std::time::SystemTime> {
    /// The last second of the year 9999.
    const LATEST: u64 = 253_402_300_799;
    let secs = header.mtime().unwrap_or(0);
    if secs > LATEST {
        bail!("its modification time {secs} is past the year 9999");
    }
    Ok(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32, mtime: std::time::SystemTime) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.set_modified(mtime)?;
    Ok(())
}

/// The entry's path as normal components only.
fn safe_relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => bail!("it contains '..'"),
            Component::RootDir | Component::Prefix(_) => bail!("it is an absolute path"),
        }
    }
    if out.as_os_str().is_empty() {
        bail!("it has an empty path");
    }
    Ok(out)
}

/// Make `dest/rel` a directory, with its parents, refusing to go through anything that is
/// not a directory ship made (a symlink could redirect later writes).
pub fn ensure_dir(dest: &Path, rel: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut dir = dest.to_path_buf();
    for c in rel.components() {
        dir.push(c);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => bail!("refusing to write through the symlink {}", dir.display()),
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("{} is a file, not a directory", dir.display()),
            Err(_) => {
                fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::manifest::FORMAT;

    /// What an attacker writes: a manifest (listing `files`) then any raw entries.
    struct Forge {
        files: Vec<FileEntry>,
        bytes: Vec<u8>,
    }

    impl Forge {
        fn new() -> Forge {
            Forge { files: Vec::new(), bytes: Vec::new() }
        }

        /// List a file in the manifest (and, with `entry`, put it in the archive).
        fn file(mut self, path: &str, content: &[u8], entry: bool) -> Forge {
            let sha256 = crate::digest::sha256_hex(content);
            self.files.push(FileEntry {
                path: path.into(),
                mode: 0o644,
                size: content.len() as u64,
                sha256,
                link: None,
            });
            if entry {
                self.bytes.extend(raw(tar::EntryType::Regular, path, content, None));
            }
            self
        }

        fn link(mut self, path: &str, target: &str, entry: bool) -> Forge {
            let sha256 = crate::digest::sha256_hex(target.as_bytes());
            self.files.push(FileEntry { path: path.into(), mode: 0o777, size: 0, sha256, link: Some(target.into()) });
            if entry {
                self.bytes.extend(raw(tar::EntryType::Symlink, path, b"", Some(target)));
            }
            self
        }

        /// An entry the manifest does not describe.
        fn extra(mut self, kind: tar::EntryType, path: &str, content: &[u8], link: Option<&str>) -> Forge {
            self.bytes.extend(raw(kind, path, content, link));
            self
        }

        fn build(self) -> Vec<u8> {
            let manifest = Manifest { format: FORMAT, commit: "c".repeat(40), files: self.files };
            let text = serde_json::to_vec(&manifest).unwrap();
            let mut out = raw(tar::EntryType::Regular, MANIFEST_NAME, &text, None);
            out.extend(self.bytes);
            out.extend([0u8; 1024]);
            out
        }
    }

    /// One tar entry with a raw name, bypassing tar's own checks, as an attacker would.
    fn raw(kind: tar::EntryType, name: &str, content: &[u8], link: Option<&str>) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name = [0; 100];
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            gnu.linkname = [0; 100];
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    /// Unpack into `jail/dest`; refused with `why`, and nothing written beside `dest`.
    fn refuses(bytes: Vec<u8>, why: &str) {
        let jail = tempfile::tempdir().unwrap();
        let dest = jail.path().join("dest");
        fs::create_dir(&dest).unwrap();
        let err = unpack_from(&bytes[..], &dest).unwrap_err();
        assert!(format!("{err:#}").contains(why), "{err:#}");
        let beside: Vec<_> = fs::read_dir(jail.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(beside, ["dest"], "something was written outside the release");
    }

    #[test]
    fn refuses_parent_dir_and_absolute_entries() {
        refuses(Forge::new().extra(tar::EntryType::Regular, "../evil", b"hi", None).build(), "'..'");
        refuses(Forge::new().extra(tar::EntryType::Regular, "/tmp/evil", b"hi", None).build(), "absolute");
    }

    #[test]
    fn refuses_a_chain_of_links_that_leads_out_in_any_order() {
        let chain = Forge::new()
            .link("a/b/c/d/up", "../../../..", true)
            .link("esc", "a/b/c/d/up/../../../../outside", true)
            .build();
        refuses(chain, "leads out of the release");
        // The manifest lists them in the other order, the entries come in yet another.
        let reordered = Forge::new()
            .link("esc", "a/b/c/d/up/../../../../outside", false)
            .link("a/b/c/d/up", "../../../..", false)
            .extra(tar::EntryType::Symlink, "esc", b"", Some("a/b/c/d/up/../../../../outside"))
            .extra(tar::EntryType::Symlink, "a/b/c/d/up", b"", Some("../../../.."))
            .build();
        refuses(reordered, "leads out of the release");
    }

    #[test]
    fn refuses_entries_the_manifest_does_not_describe() {
        refuses(Forge::new().extra(tar::EntryType::Regular, "x", b"hi", None).build(), "does not list it");
        // A 2-byte file that claims to be 1 byte in the manifest.
        let mut f = Forge::new().file("x", b"h", false);
        f = f.extra(tar::EntryType::Regular, "x", b"hi", None);
        refuses(f.build(), "its manifest says 1");
        // Same size, other bytes.
        let f = Forge::new().file("x", b"hi", false).extra(tar::EntryType::Regular, "x", b"ho", None);
        refuses(f.build(), "does not match its sha256");
        refuses(Forge::new().file("x", b"hi", false).build(), "it lacks x");
        let twice = Forge::new().file("x", b"hi", true).extra(tar::EntryType::Regular, "x", b"hi", None);
        refuses(twice.build(), "comes twice");
        let swapped = Forge::new().link("l", "x", false).extra(tar::EntryType::Symlink, "l", b"", Some("y"));
        refuses(swapped.build(), "its link differs");
        refuses(Forge::new().extra(tar::EntryType::Directory, "d", b"", None).build(), "lists no file below");
    }

    #[test]
    fn refuses_an_archive_without_a_manifest_first() {
        refuses(raw(tar::EntryType::Regular, "index.html", b"hi", None), "not a ship artifact");
        refuses(raw(tar::EntryType::Regular, MANIFEST_NAME, b"{", None), "manifest is not valid");
    }

    #[test]
    fn refuses_devices_and_hard_links() {
        refuses(Forge::new().file("dev", b"", false).extra(tar::EntryType::Char, "dev", b"", None).build(), "device");
        let hard = Forge::new().file("hard", b"", false).extra(tar::EntryType::Link, "hard", b"", Some("/etc/passwd"));
        refuses(hard.build(), "hard link");
    }

    #[test]
    fn refuses_an_mtime_no_clock_can_hold() {
        // Found by the fuzzer: a base-256 mtime overflowed SystemTime and panicked.
        let mut bytes = Forge::new().build();
        let mut h = tar::Header::from_byte_slice(&bytes[..512]).clone();
        h.set_mtime(u64::MAX >> 1);
        h.set_cksum();
        bytes[..512].copy_from_slice(h.as_bytes());
        refuses(bytes, "past the year 9999");
    }

    #[test]
    fn refuses_writes_below_a_link() {
        let f = Forge::new().link("sub", ".", true).file("sub/x", b"hi", true);
        refuses(f.build(), "which is a symlink");
    }

    #[test]
    fn unpacks_files_links_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let mut f = Forge::new().file("bin/run", b"hi", false).link("run", "bin/run", true);
        f.files[0].mode = 0o755;
        let mut entry = raw(tar::EntryType::Regular, "bin/run", b"hi", None);
        let mut h = tar::Header::from_byte_slice(&entry[..512]).clone();
        h.set_mode(0o775);
        h.set_cksum();
        entry[..512].copy_from_slice(h.as_bytes());
        f.bytes.extend(entry);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unpack_from(&f.build()[..], dir.path()).unwrap(), 3);
        let mode = fs::metadata(dir.path().join("bin/run")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(fs::read_link(dir.path().join("run")).unwrap(), Path::new("bin/run"));
        assert!(dir.path().join(MANIFEST_NAME).is_file());
    }
}
