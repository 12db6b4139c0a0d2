//! The manifest every artifact carries as its first entry: each file's path, mode, size and
//! sha256. Targets keep it with the release so `status --verify` can rehash what is live,
//! and the unpacker holds every entry to it.
//!
//! [`Manifest::check`] is the one judge of whether a tree is safe to become a release: plain
//! relative paths, no entry below a file or a symlink, and every symlink resolved the way
//! the kernel will resolve it once the release is in place, following every link the
//! artifact itself creates, in any order, whether or not its target exists.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::release::names::MAX_PATH;

/// The manifest's name inside the artifact and in each release directory.
pub const MANIFEST_NAME: &str = ".ship-manifest.json";

/// Bumped when the artifact's layout changes: part of the build key, so a new format
/// never reuses an artifact of the old one.
pub const FORMAT: u32 = 1;

/// The largest manifest an unpacker reads (64 MiB: about half a million files).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// The most symlinks one resolution follows, as Linux does (`MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// The most path components all of an artifact's links may take to resolve, together:
/// far more than any real tree needs, and a bound on the work a crafted one can cause.
const MAX_RESOLVE_STEPS: usize = 4_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub commit: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    /// 0o644 or 0o755 for files; 0o777 for symlinks.
    pub mode: u32,
    pub size: u64,
    /// sha256 of the content (of the link target's text, for a symlink).
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Manifest {
    /// Parse a manifest and [`check`](Self::check) it with no shared paths.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("its manifest is not valid: {e}"))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "its manifest has format {}, and this ship reads format {FORMAT}: deploy it with the ship that built it",
                manifest.format
            ));
        }
        manifest.check(&[])?;
        Ok(manifest)
    }

    /// Does the artifact hold `path`, as a file or link or as a directory of entries?
    pub fn has_path(&self, path: &str) -> bool {
        let below = format!("{path}/");
        self.files.iter().any(|f| f.path == path || f.path.starts_with(&below))
    }

    /// The sum of the files' sizes: what unpacking may write, at most.
    pub fn total_size(&self) -> Option<u64> {
        self.files.iter().try_fold(0u64, |sum, f| sum.checked_add(f.size))
    }

    /// Is this a tree that can safely become a release at any location, with `shared`
    /// paths linked in? `Err` names the first offending path and why.
    pub fn check(&self, shared: &[String]) -> Result<(), String> {
        let hex = crate::release::names::is_lower_hex(&self.commit);
        if !hex || !(self.commit.len() == 40 || self.commit.len() == 64) {
            return Err(format!("its manifest names {:?}, which is not a git commit id", self.commit));
        }
        let mut kinds: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for f in &self.files {
            crate::release::names::check_plain_path(&f.path).map_err(|why| format!("{:?}: {why}", f.path))?;
            if f.path == MANIFEST_NAME {
                return Err(format!("{MANIFEST_NAME} is listed as one of its files"));
            }
            match &f.link {
                Some(target) => {
                    if f.size != 0 || f.sha256 != crate::digest::sha256_hex(target.as_bytes()) {
                        return Err(format!("{:?}: its manifest entry does not describe its link", f.path));
                    }
                    if target.is_empty() || target.contains('\0') || target.len() >= MAX_PATH {
                        return Err(format!("{:?}: its link target is empty, too long or holds a NUL byte", f.path));
                    }
                }
                None => {
                    crate::release::names::check_sha256(&f.sha256).map_err(|why| format!("{:?}: {why}", f.path))?;
                    if f.mode != 0o644 && f.mode != 0o755 {
                        return Err(format!("{:?}: mode {:o} is not 644 or 755", f.path, f.mode));
                    }
                }
            }
            if kinds.insert(&f.path, f.link.as_deref()).is_some() {
                return Err(format!("{:?} is listed twice", f.path));
            }
        }
        if self.total_size().is_none() {
            return Err("its files' sizes add up to more than any disk holds".into());
        }
        // Nothing may live below a file or a symlink: a symlink would carry it elsewhere.
        for path in kinds.keys() {
            for ancestor in Path::new(path).ancestors().skip(1) {
                let a = ancestor.to_str().expect("built from a str");
                if let Some(link) = kinds.get(a) {
                    let what = if link.is_some() { "symlink" } else { "file" };
                    return Err(format!("{path:?} lies below {a:?}, which is a {what}"));
                }
            }
        }
        let tree = Tree { kinds: &kinds, shared };
        let mut budget = MAX_RESOLVE_STEPS;
        for (path, link) in &kinds {
            if let Some(target) = link {
                tree.resolve(path, target, &mut budget)
                    .map_err(|why| format!("the symlink {path:?} -> {target:?} {why}"))?;
            }
        }
        Ok(())
    }
}

/// The artifact's tree on paper: what each path is. Directories are implied by their files.
struct Tree<'a> {
    /// Path -> `Some(target)` for a symlink, `None` for a file.
    kinds: &'a BTreeMap<&'a str, Option<&'a str>>,
    shared: &'a [String],
}

impl Tree<'_> {
    /// Resolve the symlink at `path` as the kernel will, from the release's root, and refuse
    /// it if it leaves the release at any point. Components that do not exist are taken as
    /// directories, so a link that dangles now is judged by what it could reach later.
    ///
    /// A shared path is ship's own link to `<path>/shared/`, whatever the artifact has
    /// there, and what lies below it lives on the target, unseen here: the walk may go down
    /// into a shared path but never back up (`..`) at or below one, and the artifact's own
    /// links below a shared path are not what the target will follow, so they are not followed.
    fn resolve(&self, path: &str, target: &str, budget: &mut usize) -> Result<(), String> {
        let mut here = String::with_capacity(path.len() + target.len());
        here.push_str(path.rsplit_once('/').map_or("", |(dir, _)| dir));
        let mut pending: VecDeque<Component<'_>> = VecDeque::new();
        push_front(&mut pending, target)?;
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            *budget = budget
                .checked_sub(1)
                .ok_or("is one link too many to resolve: the artifact has too many or too long chains of links")?;
            match part {
                Component::CurDir => {}
                Component::ParentDir => {
                    if let Some(s) = self.shared_around(&here) {
                        return Err(format!(
                            "goes back up (`..`) through the shared path {s:?}, whose contents live on the target"
                        ));
                    }
                    if here.is_empty() {
                        return Err("leads out of the release".into());
                    }
                    here.truncate(here.rfind('/').unwrap_or(0));
                }
                Component::Normal(name) => {
                    let name = name.to_str().ok_or("has a name that is not UTF-8")?;
                    let inside_shared = self.shared_around(&here).is_some();
                    if !here.is_empty() {
                        here.push('/');
                    }
                    here.push_str(name);
                    if here.len() > MAX_PATH {
                        return Err("resolves to a path longer than a file system allows".into());
                    }
                    let followed = !inside_shared && !self.shared.contains(&here);
                    if followed && let Some(Some(next)) = self.kinds.get(here.as_str()) {
                        hops += 1;
                        if hops > MAX_HOPS {
                            return Err("is a loop of links".into());
                        }
                        here.truncate(here.rfind('/').unwrap_or(0));
                        push_front(&mut pending, next)?;
                    }
                }
                Component::RootDir | Component::Prefix(_) => return Err("points at an absolute path".into()),
            }
        }
        Ok(())
    }

    /// The shared path that `here` is, or lies below, if any.
    fn shared_around(&self, here: &str) -> Option<&String> {
        self.shared
            .iter()
            .find(|s| here.strip_prefix(s.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
    }
}

/// Queue `target`'s components ahead of what is left to resolve.
fn push_front<'a>(pending: &mut VecDeque<Component<'a>>, target: &'a str) -> Result<(), String> {
    let path = Path::new(target);
    if path.is_absolute() {
        return Err("points at an absolute path".into());
    }
    for c in path.components().rev() {
        pending.push_front(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileEntry {
        FileEntry { path: path.into(), mode: 0o644, size: 1, sha256: "0".repeat(64), link: None }
    }

    fn link(path: &str, target: &str) -> FileEntry {
        let sha256 = crate::digest::sha256_hex(target.as_bytes());
        FileEntry { path: path.into(), mode: 0o777, size: 0, sha256, link: Some(target.into()) }
    }

    fn check(files: Vec<FileEntry>, shared: &[&str]) -> Result<(), String> {
        let shared: Vec<String> = shared.iter().map(|s| s.to_string()).collect();
        Manifest { format: FORMAT, commit: "c".repeat(40), files }.check(&shared)
    }

    #[test]
    fn a_chain_through_a_deep_link_is_judged_where_it_really_leads() {
        // `up` counts as one level on paper but climbs four; `esc` climbs out through it.
        let chain = || vec![link("a/b/c/d/up", "../../../.."), link("esc", "a/b/c/d/up/../../../../outside")];
        let err = check(chain(), &[]).unwrap_err();
        assert!(err.contains("\"esc\"") && err.contains("leads out of the release"), "{err}");
        // Whatever the order of the entries.
        let mut reversed = chain();
        reversed.reverse();
        assert!(check(reversed, &[]).is_err());
        // `up` alone stays inside: it reaches the root.
        assert!(check(vec![link("a/b/c/d/up", "../../../..")], &[]).is_ok());
    }

    #[test]
    fn links_inside_the_release_pass_even_when_they_dangle() {
        assert!(check(vec![file("bin/run"), link("run", "bin/run"), link("later", "not/yet/there")], &[]).is_ok());
        assert!(check(vec![link("a/self", "."), link("a/x", "self/self/../y")], &[]).is_ok());
    }

    #[test]
    fn absolute_loops_and_dangling_escapes_are_refused() {
        assert!(check(vec![link("etc", "/etc")], &[]).unwrap_err().contains("absolute"));
        assert!(check(vec![link("a", "b"), link("b", "a")], &[]).unwrap_err().contains("loop"));
        assert!(check(vec![link("x", "nothing/../..")], &[]).unwrap_err().contains("leads out"));
    }

    #[test]
    fn nothing_lies_below_a_link_or_a_file() {
        assert!(check(vec![link("sub", "."), file("sub/x")], &[]).unwrap_err().contains("which is a symlink"));
        assert!(check(vec![file("a"), file("a/b")], &[]).unwrap_err().contains("which is a file"));
        assert!(check(vec![file("a"), file("a")], &[]).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_link_may_point_into_a_shared_path_but_not_back_up_in_it() {
        assert!(check(vec![link("latest.log", "log/app.log")], &["log"]).is_ok());
        let err = check(vec![link("esc", "log/../x")], &["log"]).unwrap_err();
        assert!(err.contains("through the shared path \"log\""), "{err}");
        // The artifact's own link at a shared path is replaced by ship's: it is not followed.
        assert!(check(vec![link("log", "."), link("esc", "log/..")], &["log"]).is_err());
        // Below a shared path lies the target's shared/, which may hold links of its own
        // (seeded by an earlier release): no `..` is judged there, and the artifact's own
        // links there are not what the target follows.
        let err = check(vec![link("esc", "log/a/b/up/../../../../etc/passwd")], &["log"]).unwrap_err();
        assert!(err.contains("goes back up"), "{err}");
        assert!(check(vec![link("log/a/up", "../../.."), link("esc", "log/a/up/x")], &["log"]).is_err());
        assert!(check(vec![link("esc", "log/a/b/file")], &["log"]).is_ok());
    }

    #[test]
    fn resolving_is_bounded_however_long_the_links() {
        let long = "a/".repeat(3000);
        let err = check(vec![link("l", &long)], &[]).unwrap_err();
        assert!(err.contains("too long"), "{err}");
        // Forty-level chains of 1000-component links: refused, and quickly.
        let deep = "./".repeat(1000);
        let mut files: Vec<FileEntry> = (0..40).map(|i| link(&format!("l{i}"), &format!("{deep}l{}", i + 1))).collect();
        files.push(link("l40", "."));
        let start = std::time::Instant::now();
        let _ = check(files, &[]);
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    }

    #[test]
    fn paths_must_be_plain_and_relative() {
        for bad in ["", "/abs", "a/../b", "./a", "a//b", "a/", "a\0b"] {
            assert!(check(vec![file(bad)], &[]).is_err(), "{bad:?}");
        }
        assert!(check(vec![file(MANIFEST_NAME)], &[]).is_err());
        let mut wrong = link("l", "x");
        wrong.sha256 = "0".repeat(64);
        assert!(check(vec![wrong], &[]).unwrap_err().contains("does not describe its link"));
    }
}
