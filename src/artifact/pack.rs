//! Deterministic tar + zstd: the same files give the same bytes on any machine, any day.
//!
//! Entries are sorted, every mtime is the commit time, owners are 0 with no names, modes
//! are 0644/0755, and a commit with a symlink that leaves the artifact is refused.
//!
//! Each file is read once: [`collect`] hashes the files on every core (the manifest, which
//! holds every sha256, must be the archive's first entry) and keeps their bytes in memory,
//! up to [`MEMORY_BUDGET`] in all, for [`write`] to pack; only a file past the budget is
//! read again. zstd compresses on every core too, in its multithreaded mode, whose bytes
//! are the same for any number of workers from 1 up (but not for 0, the single-threaded
//! mode): ship always uses at least one, so the same commit gives the same sha256 on any
//! machine, whatever its core count.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::manifest::{FORMAT, FileEntry, MANIFEST_NAME, Manifest};
use crate::config::BuildConfig;

/// zstd level: fast enough to build on demand, and fixed, since it shapes the bytes.
const ZSTD_LEVEL: i32 = 6;

/// The files' bytes kept in memory between hashing and packing, at most.
pub const MEMORY_BUDGET: u64 = 512 << 20;

/// zstd's workers at most (one per core up to this).
const MAX_WORKERS: u32 = 8;

/// What goes in the artifact, gathered from a build directory.
pub struct Contents {
    pub root: PathBuf,
    pub manifest: Manifest,
    /// Warnings for the user: entries left out because they are neither files nor symlinks.
    pub skipped: Vec<String>,
    /// The bytes of each of `manifest.files`, in its order, as they were hashed: `None`
    /// for a symlink and for a file past [`MEMORY_BUDGET`] (read again to be packed).
    data: Vec<Option<Vec<u8>>>,
}

impl Contents {
    /// The bytes of the files, as the manifest counts them.
    pub fn bytes(&self) -> u64 {
        self.manifest.files.iter().map(|f| f.size).sum()
    }
}

/// A file's manifest entry, and its bytes when they are kept in memory.
type Hashed = (FileEntry, Option<Vec<u8>>);

/// A regular file found by the walk, to be hashed.
struct Found {
    path: String,
    mode: u32,
    len: u64,
}

fn globset(patterns: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(GlobBuilder::new(p).literal_separator(true).build()?);
    }
    Ok(set.build()?)
}

/// What `[build] include`/`exclude` select.
pub struct Selection {
    all: bool,
    include: GlobSet,
    exclude: GlobSet,
}

impl Selection {
    pub fn new(build: &BuildConfig) -> Result<Selection> {
        Ok(Selection {
            all: build.include.is_empty(),
            include: globset(&build.include)?,
            exclude: globset(&build.exclude)?,
        })
    }

    pub fn selects(&self, path: &str) -> bool {
        (self.all || self.include.is_match(path)) && !self.exclude.is_match(path)
    }
}

/// The contents of a commit read straight from git (see [`crate::version::Repo::read_files`]),
/// when no build command has to run: the same manifest and bytes [`collect`] gives for its
/// clean export, without writing and reading back every file. `items` are those the
/// selection picked (and any file named like the manifest, which is refused).
pub fn from_items(items: Vec<crate::version::TreeItem>, shared: &[String], commit: &str) -> Result<Contents> {
    use crate::version::TreeItem;
    let mut links = Vec::new();
    let mut blobs = Vec::new();
    for item in items {
        match item {
            TreeItem::File { path, .. } | TreeItem::Link { path, .. } if path == MANIFEST_NAME => {
                bail!("{MANIFEST_NAME} is a name ship reserves for the artifact's manifest; rename that file");
            }
            TreeItem::Link { path, target } => {
                let sha256 = crate::digest::sha256_hex(target.as_bytes());
                links.push((FileEntry { path, mode: 0o777, size: 0, sha256, link: Some(target) }, None));
            }
            TreeItem::File { path, executable, bytes } => blobs.push((path, executable, bytes)),
        }
    }
    let hashes = hash_in_memory(&blobs);
    let mut files: Vec<Hashed> = blobs
        .into_iter()
        .zip(hashes)
        .map(|((path, executable, bytes), sha256)| {
            let mode = if executable { 0o755 } else { 0o644 };
            (FileEntry { path, mode, size: bytes.len() as u64, sha256, link: None }, Some(bytes))
        })
        .collect();
    files.extend(links);
    finish(PathBuf::new(), files, Vec::new(), shared, commit)
}

/// The sha256 of each of `blobs`' bytes, hashed on every core, in their order.
fn hash_in_memory(blobs: &[(String, bool, Vec<u8>)]) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let next = AtomicUsize::new(0);
    let mut hashes = vec![String::new(); blobs.len()];
    let parts: Vec<Vec<(usize, String)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(blobs.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, _, bytes)) = blobs.get(i) else { return out };
                        out.push((i, crate::digest::sha256_hex(bytes)));
                    }
                })
            })
            .collect();
        // A hashing thread cannot panic short of running out of memory, which aborts.
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    for (i, sha) in parts.into_iter().flatten() {
        hashes[i] = sha;
    }
    hashes
}

/// Walk `root` and pick the files that `[build] include`/`exclude` select. A symlink that
/// would lead out of a release (with the `shared` paths linked in) refuses the build.
pub fn collect(root: &Path, build: &BuildConfig, shared: &[String], commit: &str) -> Result<Contents> {
    let selection = Selection::new(build)?;
    let mut files = Vec::new();
    let mut regular = Vec::new();
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
            if !selection.selects(&rel_str) {
                continue;
            }
            let path = entry.path();
            if file_type.is_symlink() {
                let target = std::fs::read_link(&path)?;
                let Some(target_str) = target.to_str() else {
                    bail!("the symlink {rel_str} points at a name that is not UTF-8");
                };
                let sha256 = crate::digest::sha256_hex(target_str.as_bytes());
                let link = Some(target_str.to_string());
                files.push((FileEntry { path: rel_str, mode: 0o777, size: 0, sha256, link }, None));
            } else if file_type.is_file() {
                use std::os::unix::fs::PermissionsExt;
                let meta = entry.metadata()?;
                let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
                regular.push(Found { path: rel_str, mode, len: meta.len() });
            } else {
                skipped.push(format!("{rel_str} (not a regular file or symlink)"));
            }
        }
    }
    files.extend(hash_all(root, regular)?);
    finish(root.to_path_buf(), files, skipped, shared, commit)
}

/// Sort the files, judge the manifest as a target will, and make the contents.
fn finish(
    root: PathBuf,
    mut files: Vec<Hashed>,
    skipped: Vec<String>,
    shared: &[String],
    commit: &str,
) -> Result<Contents> {
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let (files, data): (Vec<FileEntry>, Vec<Option<Vec<u8>>>) = files.into_iter().unzip();
    let manifest = Manifest { format: FORMAT, commit: commit.to_string(), files };
    // Judged exactly as a target will judge it, so a commit a target would refuse is refused here.
    if let Err(why) = manifest.check(shared) {
        bail!(crate::usage!(
            "refusing to build commit {}: {why}\n\
             hint: a release must be self-contained; leave such links out with [build] exclude",
            crate::ui::render::prefix(commit, 12)
        ));
    }
    Ok(Contents { root, manifest, skipped, data })
}

/// Hash the files `found` under `root` on every core, keeping their bytes while the
/// memory budget lasts. In no particular order.
fn hash_all(root: &Path, found: Vec<Found>) -> Result<Vec<Hashed>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let budget = AtomicU64::new(MEMORY_BUDGET);
    let next = AtomicUsize::new(0);
    let found = &found;
    let parts: Vec<Result<Vec<Hashed>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(found.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = found.get(i) else { return Ok(out) };
                        let path = root.join(&file.path);
                        let keep =
                            budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(file.len));
                        let (sha256, size, data) = read_and_hash(&path, file.len, keep.is_ok())
                            .with_context(|| format!("reading {}", path.display()))?;
                        let entry = FileEntry { path: file.path.clone(), mode: file.mode, size, sha256, link: None };
                        out.push((entry, data));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a hashing thread panicked"))))
            .collect()
    });
    let mut all = Vec::with_capacity(found.len());
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// The sha256 and size of the file at `path`, and its bytes if `keep`.
fn read_and_hash(path: &Path, len: u64, keep: bool) -> std::io::Result<(String, u64, Option<Vec<u8>>)> {
    let mut file = std::fs::File::open(path)?;
    if keep {
        let mut data = Vec::with_capacity(len as usize);
        std::io::Read::read_to_end(&mut file, &mut data)?;
        let sha256 = crate::digest::sha256_hex(&data);
        Ok((sha256, data.len() as u64, Some(data)))
    } else {
        let (sha256, size) = crate::digest::sha256_reader(file)?;
        Ok((sha256, size, None))
    }
}

/// zstd's workers on this machine: one per core, at least one (never 0, the
/// single-threaded mode, whose bytes differ), at most [`MAX_WORKERS`].
fn workers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores).unwrap_or(MAX_WORKERS).clamp(1, MAX_WORKERS)
}

/// Write the artifact for `contents` to `out`: the manifest first, then parent directories
/// before their children, everything in byte order.
pub fn write(contents: &Contents, mtime: i64, out: impl Write) -> Result<()> {
    write_with(contents, mtime, out, workers())
}

/// [`write`] with `workers` zstd workers (at least 1): the bytes are the same for any.
fn write_with(contents: &Contents, mtime: i64, out: impl Write, workers: u32) -> Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
    encoder.include_checksum(true)?;
    encoder.multithread(workers.max(1))?;
    {
        let mut tar = tar::Builder::new(&mut encoder);
        let mtime = mtime.max(0) as u64;
        let manifest = serde_json::to_vec(&contents.manifest)?;
        append_file(&mut tar, MANIFEST_NAME, 0o644, mtime, &manifest[..], manifest.len() as u64)?;

        let mut dirs_done = std::collections::BTreeSet::new();
        for (file, data) in contents.manifest.files.iter().zip(&contents.data) {
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
                None => match data {
                    Some(bytes) => append_file(&mut tar, &file.path, file.mode, mtime, &bytes[..], file.size)?,
                    None => {
                        let f = std::fs::File::open(contents.root.join(&file.path))?;
                        append_file(&mut tar, &file.path, file.mode, mtime, f, file.size)?;
                    }
                },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of every kind of content, more than zstd's job size in all, so that several
    /// workers each get some.
    fn sample(root: &Path) {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..120 {
            let dir = root.join(format!("d{}", i % 7));
            std::fs::create_dir_all(&dir).unwrap();
            let len = 100_000 + (random() % 200_000) as usize;
            let bytes: Vec<u8> = match i % 3 {
                0 => (0..len).map(|_| random() as u8).collect(),
                1 => format!("line {i} of some text\n").into_bytes().into_iter().cycle().take(len).collect(),
                _ => (0..len).map(|j| if j % 64 < 32 { random() as u8 } else { b'x' }).collect(),
            };
            std::fs::write(dir.join(format!("f{i}")), bytes).unwrap();
        }
        std::os::unix::fs::symlink("d0/f0", root.join("link")).unwrap();
    }

    #[test]
    fn the_bytes_are_the_same_for_one_worker_or_four_and_every_file_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let contents = collect(dir.path(), &BuildConfig::default(), &[], &"c".repeat(40)).unwrap();
        assert!(contents.bytes() > 20_000_000, "{}", contents.bytes());
        let pack = |workers: u32| {
            let mut out = Vec::new();
            write_with(&contents, 1_700_000_000, &mut out, workers).unwrap();
            out
        };
        let one = pack(1);
        assert!(pack(4) == one, "4 workers gave other bytes than 1");
        assert!(pack(2) == one, "2 workers gave other bytes than 1");
        // Unpacked, it is the files, the manifest first.
        let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(&one[..]).unwrap());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if entry.header().entry_type().is_file() && name != MANIFEST_NAME {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
                assert!(bytes == std::fs::read(dir.path().join(&name)).unwrap(), "{name}");
            }
            names.push(name);
        }
        assert_eq!(names[0], MANIFEST_NAME);
        assert_eq!(names.iter().filter(|n| n.contains("/f")).count(), 120);
    }

    #[test]
    fn files_past_the_memory_budget_are_read_again_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let mut contents = collect(dir.path(), &BuildConfig::default(), &[], &"c".repeat(40)).unwrap();
        let mut in_memory = Vec::new();
        write_with(&contents, 1, &mut in_memory, 1).unwrap();
        for data in contents.data.iter_mut() {
            *data = None;
        }
        let mut from_disk = Vec::new();
        write_with(&contents, 1, &mut from_disk, 1).unwrap();
        assert!(in_memory == from_disk);
    }

    #[test]
    fn a_commit_read_from_git_packs_to_the_bytes_of_its_clean_export() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git").arg("-C").arg(root).args(args).output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(root.join("site/css")).unwrap();
        std::fs::create_dir_all(root.join("notes")).unwrap();
        std::fs::write(root.join("site/index.html"), "hello\n").unwrap();
        std::fs::write(root.join("site/css/a.css"), vec![b'a'; 300_000]).unwrap();
        std::fs::write(root.join("notes/draft.md"), "left out\n").unwrap();
        std::fs::write(root.join("site/run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("site/run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("index.html", root.join("site/home.html")).unwrap();
        std::fs::write(root.join("empty"), "").unwrap();
        git(&["add", "-A"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c"]);
        let commit = git(&["rev-parse", "HEAD"]).trim().to_string();
        let repo = crate::version::Repo::discover(root).unwrap();
        let build = BuildConfig { exclude: vec!["notes/**".into()], ..Default::default() };

        let export = tempfile::tempdir().unwrap();
        let src = export.path().join("src");
        std::fs::create_dir(&src).unwrap();
        repo.export(&commit, &src).unwrap();
        let from_disk = collect(&src, &build, &[], &commit).unwrap();
        let selection = Selection::new(&build).unwrap();
        let items = repo.read_files(&commit, &|p| p == MANIFEST_NAME || selection.selects(p), MEMORY_BUDGET).unwrap();
        let from_git = from_items(items.unwrap(), &[], &commit).unwrap();
        assert_eq!(from_git.manifest, from_disk.manifest);
        assert_eq!(from_git.manifest.files.len(), 5, "{:?}", from_git.manifest.files);
        let pack = |c: &Contents| {
            let mut out = Vec::new();
            write_with(c, 1_700_000_000, &mut out, 2).unwrap();
            out
        };
        assert!(pack(&from_git) == pack(&from_disk), "other bytes from git than from the export");
        // Past the budget, the caller falls back to the export.
        assert!(repo.read_files(&commit, &|_| true, 1000).unwrap().is_none());
    }
}
