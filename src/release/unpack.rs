//! Unpacking an artifact into a directory, refusing anything that could write outside it:
//! absolute paths, `..`, links that leave the release, hard links, devices and fifos.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::artifact::pack::stays_inside;

/// Unpack the artifact at `archive` into `dest` (an empty directory). Returns the number of
/// files written.
pub fn unpack(archive: &Path, dest: &Path) -> Result<usize> {
    let file = fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let decoder = zstd::stream::read::Decoder::new(file)?;
    unpack_from(decoder, dest)
}

pub fn unpack_from(reader: impl Read, dest: &Path) -> Result<usize> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = tar::Archive::new(reader);
    let mut count = 0;
    let mut links = Vec::new();
    for entry in archive.entries().context("reading the artifact")? {
        let mut entry = entry.context("reading the artifact")?;
        let raw = entry.path()?.into_owned();
        let rel = safe_relative(&raw).with_context(|| format!("refusing artifact entry {}", raw.display()))?;
        let out = dest.join(&rel);
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                ensure_parent(dest, &out)?;
                match fs::symlink_metadata(&out) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => bail!("refusing artifact entry {}: something else is already there", raw.display()),
                    Err(_) => fs::create_dir(&out).with_context(|| format!("creating {}", out.display()))?,
                }
                fs::set_permissions(&out, fs::Permissions::from_mode(0o755))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                ensure_parent(dest, &out)?;
                let mode = if entry.header().mode()? & 0o111 != 0 { 0o755 } else { 0o644 };
                let mtime = entry.header().mtime().unwrap_or(0);
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&out)
                    .with_context(|| format!("writing {}", out.display()))?;
                std::io::copy(&mut entry, &mut f).with_context(|| format!("writing {}", out.display()))?;
                f.set_permissions(fs::Permissions::from_mode(mode))?;
                f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime))?;
                count += 1;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()?
                    .ok_or_else(|| anyhow::anyhow!("symlink {} has no target", raw.display()))?
                    .into_owned();
                if !stays_inside(&rel, &target) {
                    bail!(
                        "refusing artifact entry {}: its link to {} leaves the release",
                        raw.display(),
                        target.display()
                    );
                }
                ensure_parent(dest, &out)?;
                std::os::unix::fs::symlink(&target, &out).with_context(|| format!("linking {}", out.display()))?;
                links.push(rel);
                count += 1;
            }
            other => bail!(
                "refusing artifact entry {}: a {} is not allowed in a release",
                raw.display(),
                match other {
                    tar::EntryType::Link => "hard link",
                    tar::EntryType::Char | tar::EntryType::Block => "device file",
                    tar::EntryType::Fifo => "fifo",
                    _ => "special entry",
                }
            ),
        }
    }
    // Each link is checked on paper as it comes; a chain of links can still lead out.
    // Resolve them for real now that the tree is complete.
    let root = fs::canonicalize(dest)?;
    for rel in links {
        if let Ok(real) = fs::canonicalize(dest.join(&rel))
            && !real.starts_with(&root)
        {
            bail!("refusing artifact entry {}: following its links leads out of the release", rel.display());
        }
    }
    Ok(count)
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

/// Create `out`'s parent directories, refusing to go through a symlink (an earlier entry
/// could have planted one to redirect later writes).
fn ensure_parent(dest: &Path, out: &Path) -> Result<()> {
    let parent = out.parent().expect("entries are below dest");
    let mut dir = dest.to_path_buf();
    for c in parent.strip_prefix(dest).expect("entries are below dest").components() {
        dir.push(c);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => bail!("refusing to write through the symlink {}", dir.display()),
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("{} is a file, not a directory", dir.display()),
            Err(_) => fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(build: impl FnOnce(&mut tar::Builder<&mut Vec<u8>>)) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut b = tar::Builder::new(&mut bytes);
            build(&mut b);
            b.finish().unwrap();
        }
        bytes
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(size);
        h
    }

    /// Write a raw name into a header, bypassing tar's own checks, as an attacker would.
    fn raw_name(h: &mut tar::Header, name: &str) {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name = [0; 100];
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
    }

    fn refuses(bytes: Vec<u8>, why: &str) {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack_from(&bytes[..], dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains(why), "{err:#}");
    }

    #[test]
    fn refuses_parent_dir_entries() {
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Regular, 2);
                raw_name(&mut h, "../evil");
                b.append(&h, &b"hi"[..]).unwrap();
            }),
            "'..'",
        );
    }

    #[test]
    fn refuses_absolute_entries() {
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Regular, 2);
                raw_name(&mut h, "/tmp/evil");
                b.append(&h, &b"hi"[..]).unwrap();
            }),
            "absolute",
        );
    }

    #[test]
    fn refuses_escaping_links_and_writes_through_links() {
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Symlink, 0);
                b.append_link(&mut h, "out", "../../etc").unwrap();
            }),
            "leaves the release",
        );
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Symlink, 0);
                b.append_link(&mut h, "sub", ".").unwrap();
                let mut h = header(tar::EntryType::Regular, 2);
                b.append_data(&mut h, "sub/x", &b"hi"[..]).unwrap();
            }),
            "through the symlink",
        );
    }

    #[test]
    fn refuses_a_chain_of_links_that_leads_out() {
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Symlink, 0);
                b.append_link(&mut h, "a/b/c/d/up", "../../../..").unwrap();
                let mut h = header(tar::EntryType::Symlink, 0);
                b.append_link(&mut h, "esc", "a/b/c/d/up/../../../..").unwrap();
            }),
            "leads out of the release",
        );
    }

    #[test]
    fn refuses_devices_and_hard_links() {
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Char, 0);
                b.append_data(&mut h, "dev", std::io::empty()).unwrap();
            }),
            "device file",
        );
        refuses(
            archive(|b| {
                let mut h = header(tar::EntryType::Link, 0);
                b.append_link(&mut h, "hard", "/etc/passwd").unwrap();
            }),
            "hard link",
        );
    }

    #[test]
    fn unpacks_files_links_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let bytes = archive(|b| {
            let mut h = header(tar::EntryType::Regular, 2);
            h.set_mode(0o775);
            b.append_data(&mut h, "bin/run", &b"hi"[..]).unwrap();
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "run", "bin/run").unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unpack_from(&bytes[..], dir.path()).unwrap(), 2);
        let mode = fs::metadata(dir.path().join("bin/run")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(fs::read_link(dir.path().join("run")).unwrap(), Path::new("bin/run"));
    }
}
