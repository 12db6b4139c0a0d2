//! Deterministic tar + zstd: the same files give the same bytes on any machine, any day.
//!
//! Entries are sorted, every mtime is the commit time, owners are 0 with no names, modes
//! are 0644/0755, and a commit with a symlink that leaves the artifact is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::manifest::{FORMAT, FileEntry, MANIFEST_NAME, Manifest};
use crate::config::BuildConfig;

/// zstd level: fast enough to build on demand, and fixed, since it shapes the bytes.
const ZSTD_LEVEL: i32 = 6;

/// What goes in the artifact, gathered from a build directory.
pub struct Contents {
    pub root: PathBuf,
    pub manifest: Manifest,
    /// Warnings for the user: entries left out because they are neither files nor symlinks.
    pub skipped: Vec<String>,
}

fn globset(patterns: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(GlobBuilder::new(p).literal_separator(true).build()?);
    }
    Ok(set.build()?)
}

/// Walk `root` and pick the files that `[build] include`/`exclude` select. A symlink that
/// would lead out of a release (with the `shared` paths linked in) refuses the build.
pub fn collect(root: &Path, build: &BuildConfig, shared: &[String], commit: &str) -> Result<Contents> {
    let include = globset(&build.include)?;
    let exclude = globset(&build.exclude)?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                bail!("{} has a name that is not UTF-8", entry.path().display());
            };
            let rel_path = rel.join(name);
            let rel_str = rel_path.to_str().expect("built from UTF-8 parts").to_string();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if rel.as_os_str().is_empty() && name == ".git" {
                    continue;
                }
                stack.push(rel_path);
                continue;
            }
            if rel_str == MANIFEST_NAME {
                bail!("{MANIFEST_NAME} is a name ship reserves for the artifact's manifest; rename that file");
            }
            let selected = (build.include.is_empty() || include.is_match(&rel_str)) && !exclude.is_match(&rel_str);
            if !selected {
                continue;
            }
            let path = entry.path();
            if file_type.is_symlink() {
                let target = std::fs::read_link(&path)?;
                let Some(target_str) = target.to_str() else {
                    bail!("the symlink {rel_str} points at a name that is not UTF-8");
                };
                files.push(FileEntry {
                    path: rel_str,
                    mode: 0o777,
                    size: 0,
                    sha256: crate::digest::sha256_hex(target_str.as_bytes()),
                    link: Some(target_str.to_string()),
                });
            } else if file_type.is_file() {
                use std::os::unix::fs::PermissionsExt;
                let meta = entry.metadata()?;
                let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
                let sha256 =
                    crate::digest::sha256_file(&path).with_context(|| format!("reading {}", path.display()))?;
                files.push(FileEntry { path: rel_str, mode, size: meta.len(), sha256, link: None });
            } else {
                skipped.push(format!("{rel_str} (not a regular file or symlink)"));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest { format: FORMAT, commit: commit.to_string(), files };
    // Judged exactly as a target will judge it, so a commit a target would refuse is refused here.
    if let Err(why) = manifest.check(shared) {
        bail!(crate::usage!(
            "refusing to build commit {}: {why}\n\
             hint: a release must be self-contained; leave such links out with [build] exclude",
            crate::ui::render::prefix(commit, 12)
        ));
    }
    Ok(Contents { root: root.to_path_buf(), manifest, skipped })
}

/// Write the artifact for `contents` to `out`: the manifest first, then parent directories
/// before their children, everything in byte order.
pub fn write(contents: &Contents, mtime: i64, out: impl Write) -> Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
    encoder.include_checksum(true)?;
    {
        let mut tar = tar::Builder::new(&mut encoder);
        let mtime = mtime.max(0) as u64;
        let manifest = serde_json::to_vec(&contents.manifest)?;
        append_file(&mut tar, MANIFEST_NAME, 0o644, mtime, &manifest[..], manifest.len() as u64)?;

        let mut dirs_done = std::collections::BTreeSet::new();
        for file in &contents.manifest.files {
            let path = Path::new(&file.path);
            let parents: Vec<&Path> = path.ancestors().skip(1).filter(|p| !p.as_os_str().is_empty()).collect();
            for dir in parents.into_iter().rev() {
                if dirs_done.insert(dir.to_path_buf()) {
                    let mut h = header(tar::EntryType::Directory, 0o755, mtime, 0);
                    tar.append_data(&mut h, dir, std::io::empty())?;
                }
            }
            match &file.link {
                Some(target) => {
                    let mut h = header(tar::EntryType::Symlink, 0o777, mtime, 0);
                    tar.append_link(&mut h, &file.path, target)?;
                }
                None => {
                    let f = std::fs::File::open(contents.root.join(&file.path))?;
                    append_file(&mut tar, &file.path, file.mode, mtime, f, file.size)?;
                }
            }
        }
        tar.finish()?;
    }
    encoder.finish()?.flush()?;
    Ok(())
}

fn header(kind: tar::EntryType, mode: u32, mtime: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h
}

fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    mtime: u64,
    data: impl std::io::Read,
    size: u64,
) -> Result<()> {
    let mut h = header(tar::EntryType::Regular, mode, mtime, size);
    // A file that changes size while it is packed would corrupt the archive: take exactly `size`.
    tar.append_data(&mut h, path, data.take(size)).with_context(|| format!("packing {path}"))?;
    Ok(())
}
