//! The symlink judge (`Manifest::check`) against the kernel: whatever tree of files and
//! links it accepts, laid out on disk as a release with its shared paths linked in, every
//! link that resolves must resolve inside the release or inside a shared path's directory.
//!
//! The input is text: the first line lists shared paths (comma-separated), each further
//! line is a file (`path`) or a symlink (`path -> target`). The manifest is made from it
//! with correct digests, so the fuzzer spends its time on the shapes of trees, not on
//! sha256 sums.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use ship::artifact::manifest::{FORMAT, FileEntry, Manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines();
    let shared: Vec<String> =
        lines.next().unwrap_or("").split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let mut files = Vec::new();
    for line in lines.take(64) {
        files.push(match line.split_once(" -> ") {
            Some((path, target)) => FileEntry {
                path: path.to_string(),
                mode: 0o777,
                size: 0,
                sha256: ship::digest::sha256_hex(target.as_bytes()),
                link: Some(target.to_string()),
            },
            None => FileEntry {
                path: line.to_string(),
                mode: 0o644,
                size: 0,
                sha256: ship::digest::sha256_hex(b""),
                link: None,
            },
        });
    }
    let manifest = Manifest { format: FORMAT, commit: "0".repeat(40), files };
    if manifest.check(&shared).is_err() {
        return;
    }
    // Shared paths must be plain and not overlap (deploy.toml's rule), and ship refuses to
    // link one below a symlink of the release's: lay out only what staging would.
    if shared.iter().any(|s| ship::release::names::check_shared_path(s).is_err()) {
        return;
    }

    let jail = tempfile::Builder::new().prefix("ship-fuzz-links").tempdir().expect("a temp dir");
    let target = jail.path().join("target");
    let release = target.join("releases").join("0123456789ab");
    fs::create_dir_all(&release).unwrap();
    for f in &manifest.files {
        let at = release.join(&f.path);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        match &f.link {
            Some(link) => std::os::unix::fs::symlink(link, &at).unwrap(),
            None => fs::write(&at, b"").unwrap(),
        }
    }
    let mut shared_roots: Vec<PathBuf> = Vec::new();
    for s in &shared {
        let inside = release.join(s);
        if below_a_link_or_file(&release, Path::new(s)) {
            return; // staging refuses this: "is a symlink in the artifact"
        }
        let dir = target.join("shared").join(s);
        fs::create_dir_all(&dir).unwrap();
        shared_roots.push(fs::canonicalize(&dir).unwrap());
        match fs::symlink_metadata(&inside) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&inside).unwrap(),
            Ok(_) => fs::remove_file(&inside).unwrap(),
            Err(_) => fs::create_dir_all(inside.parent().unwrap()).unwrap(),
        }
        let up = "../".repeat(Path::new(s).components().count() + 1);
        std::os::unix::fs::symlink(format!("{up}shared/{s}"), &inside).unwrap();
    }

    let root = fs::canonicalize(&release).unwrap();
    for f in manifest.files.iter().filter(|f| f.link.is_some()) {
        let at = release.join(&f.path);
        // A link replaced by a shared path, or below one, is not the artifact's any more.
        if fs::symlink_metadata(&at).is_err() || shared.iter().any(|s| Path::new(&f.path).starts_with(s)) {
            continue;
        }
        if let Ok(real) = fs::canonicalize(&at) {
            assert!(
                real.starts_with(&root) || shared_roots.iter().any(|s| real.starts_with(s)),
                "Manifest::check accepted {} -> {:?}, which resolves to {}, outside the release",
                f.path,
                f.link,
                real.display()
            );
        }
    }
});

/// Is a proper ancestor of `rel` in `root` a symlink or a file?
fn below_a_link_or_file(root: &Path, rel: &Path) -> bool {
    let mut dir = root.to_path_buf();
    for c in rel.parent().unwrap_or(Path::new("")).components() {
        dir.push(c);
        match fs::symlink_metadata(&dir) {
            Ok(m) if !m.is_dir() => return true,
            _ => {}
        }
    }
    false
}
