//! git2: a revision becomes a commit with a describe-style label; the dirty check; the clean
//! export of a commit's tree that artifacts are built from; the commits a deploy brought.
//!
//! Nothing here reads the working copy's files: the artifact is always the commit's.

use std::path::{Path, PathBuf};

use crate::error::{Exit, Refusal};
use anyhow::{Context, Result, bail};
use git2::{
    DescribeFormatOptions, DescribeOptions, ObjectType, Oid, Repository, StatusOptions, TreeWalkMode, TreeWalkResult,
};

/// A commit picked for deploying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Full hex commit id.
    pub commit: String,
    /// Like `git describe --tags --always`: `v1.2.0`, `v1.2.0-3-gabc1234` or `abc1234`.
    pub label: String,
    /// Commit time, seconds since the epoch: the artifact's SOURCE_DATE_EPOCH and mtimes.
    pub time: i64,
}

pub struct Repo {
    repo: Repository,
}

impl Repo {
    /// The repository that contains `dir`.
    pub fn discover(dir: &Path) -> Result<Repo> {
        let repo = Repository::discover(dir).map_err(|_| {
            crate::usage!(
                "{} is not in a git repository: ship deploys commits, so deploy.toml must live in one (run `git init` and commit)",
                dir.display()
            )
        })?;
        Ok(Repo { repo })
    }

    /// The working tree's root, if the repository has one.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.repo.workdir().map(Path::to_path_buf)
    }

    /// Resolve any revspec (branch, tag, sha, `HEAD~2`) to a commit.
    pub fn resolve(&self, reference: &str) -> Result<Version> {
        if reference.starts_with('-') {
            bail!(crate::usage!("invalid revision `{reference}`"));
        }
        let object = self.repo.revparse_single(reference).map_err(|e| {
            if self.repo.head().is_err() && reference == "HEAD" {
                crate::usage!("the repository has no commits yet: commit something to deploy it")
            } else {
                let message =
                    format!("unknown revision `{reference}`: not a branch, tag or commit here ({})", e.message());
                Refusal::new(Exit::Usage, "unknown_ref", message)
                    .hint("`git tag` and `git log --oneline` list what there is; fetch first if it is on a remote")
                    .into()
            }
        })?;
        let commit =
            object.peel_to_commit().map_err(|_| crate::usage!("revision `{reference}` does not name a commit"))?;
        self.version_of(&commit)
    }

    /// The version of a commit given by its full id, if the repository has it.
    pub fn find(&self, commit: &str) -> Option<Version> {
        let oid = Oid::from_str(commit).ok()?;
        let commit = self.repo.find_commit(oid).ok()?;
        self.version_of(&commit).ok()
    }

    fn version_of(&self, commit: &git2::Commit<'_>) -> Result<Version> {
        let mut opts = DescribeOptions::new();
        opts.describe_tags().show_commit_oid_as_fallback(true);
        let label = commit
            .as_object()
            .describe(&opts)
            .and_then(|d| d.format(Some(DescribeFormatOptions::new().abbreviated_size(7))))
            .unwrap_or_else(|_| crate::ids::CommitId::new(commit.id().to_string()).short().to_string());
        Ok(Version { commit: commit.id().to_string(), label, time: commit.time().seconds() })
    }

    /// The commits that deploying `to` brings where `from` ran (full ids), each with its
    /// committer time: those reachable from `to` and from none of `from`, newest first. With
    /// no `from` found in the repository (a first deploy, or what ran before is unknown or
    /// was rewritten away), just `to` itself: its ancestors are not taken to be new. `None`
    /// when `to` is not a commit of this repository.
    pub fn brought(&self, to: &str, from: &[String]) -> Option<Vec<(String, i64)>> {
        let to = self.repo.find_commit(Oid::from_str(to).ok()?).ok()?;
        let from: Vec<Oid> = from
            .iter()
            .filter_map(|c| Oid::from_str(c).ok())
            .filter(|oid| self.repo.find_commit(*oid).is_ok())
            .collect();
        if from.is_empty() {
            return Some(vec![(to.id().to_string(), to.time().seconds())]);
        }
        let mut walk = self.repo.revwalk().ok()?;
        walk.push(to.id()).ok()?;
        for oid in from {
            walk.hide(oid).ok()?;
        }
        let commits = walk
            .filter_map(Result::ok)
            .filter_map(|oid| self.repo.find_commit(oid).ok())
            .map(|c| (c.id().to_string(), c.time().seconds()))
            .collect();
        Some(commits)
    }

    /// Tracked files with uncommitted changes (untracked and ignored files do not count,
    /// as with `git describe --dirty`). At most `limit` paths are returned.
    pub fn dirty_paths(&self, limit: usize) -> Result<Vec<String>> {
        if self.repo.is_bare() {
            return Ok(Vec::new());
        }
        let mut opts = StatusOptions::new();
        opts.include_untracked(false).include_ignored(false).exclude_submodules(true);
        let statuses = self.repo.statuses(Some(&mut opts)).context("reading git status")?;
        Ok(statuses.iter().filter_map(|s| s.path().ok().map(str::to_string)).take(limit).collect())
    }

    /// Does the commit's tree have `path` (a file or a directory)?
    pub fn has_path(&self, commit: &str, path: &str) -> bool {
        let tree = Oid::from_str(commit).and_then(|oid| self.repo.find_commit(oid)).and_then(|c| c.tree());
        tree.is_ok_and(|tree| tree.get_path(Path::new(path)).is_ok())
    }

    /// Write the commit's tree into `dest` (which must exist and be empty): regular files
    /// with mode 0644 or 0755, symlinks as symlinks; submodules are left out.
    pub fn export(&self, commit: &str, dest: &Path) -> Result<()> {
        let commit = self.repo.find_commit(Oid::from_str(commit)?)?;
        let tree = commit.tree()?;
        let mut failure: Option<anyhow::Error> = None;
        tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
            let Ok(name) = entry.name() else {
                failure = Some(anyhow::anyhow!("a path in the commit is not UTF-8 under {parent}"));
                return TreeWalkResult::Abort;
            };
            let path = dest.join(parent).join(name);
            let result = match entry.kind() {
                Some(ObjectType::Tree) => std::fs::create_dir_all(&path).map_err(anyhow::Error::from),
                Some(ObjectType::Blob) => write_blob(&self.repo, entry.id(), entry.filemode(), &path),
                _ => Ok(()), // a submodule's commit: not part of this repository's tree
            };
            match result {
                Ok(()) => TreeWalkResult::Ok,
                Err(e) => {
                    failure = Some(e.context(format!("exporting {parent}{name}")));
                    TreeWalkResult::Abort
                }
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A file of a commit, read from git's object store instead of a clean export.
pub enum TreeItem {
    File { path: String, executable: bool, bytes: Vec<u8> },
    Link { path: String, target: String },
}

impl Repo {
    /// The files of `commit` that `wanted` picks, read into memory: what [`Repo::export`]
    /// would write, without writing it. `None` once their bytes would pass `budget`.
    pub fn read_files(
        &self,
        commit: &str,
        wanted: &dyn Fn(&str) -> bool,
        budget: u64,
    ) -> Result<Option<Vec<TreeItem>>> {
        let commit = self.repo.find_commit(Oid::from_str(commit)?)?;
        let tree = commit.tree()?;
        let mut items = Vec::new();
        let mut total = 0u64;
        let mut over = false;
        let mut failure: Option<anyhow::Error> = None;
        let walked = tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
            let Ok(name) = entry.name() else {
                failure = Some(anyhow::anyhow!("a path in the commit is not UTF-8 under {parent}"));
                return TreeWalkResult::Abort;
            };
            if entry.kind() != Some(ObjectType::Blob) {
                return TreeWalkResult::Ok; // a tree (walked into), or a submodule's commit
            }
            let path = format!("{parent}{name}");
            if !wanted(&path) {
                return TreeWalkResult::Ok;
            }
            let blob = match self.repo.find_blob(entry.id()) {
                Ok(blob) => blob,
                Err(e) => {
                    failure = Some(anyhow::Error::from(e).context(format!("reading {path}")));
                    return TreeWalkResult::Abort;
                }
            };
            let mode = entry.filemode();
            if mode == 0o120000 {
                match std::str::from_utf8(blob.content()) {
                    Ok(target) => items.push(TreeItem::Link { path, target: target.to_string() }),
                    Err(_) => {
                        failure = Some(anyhow::anyhow!("exporting {path}: a symlink target is not UTF-8"));
                        return TreeWalkResult::Abort;
                    }
                }
            } else {
                total += blob.size() as u64;
                if total > budget {
                    over = true;
                    return TreeWalkResult::Abort;
                }
                items.push(TreeItem::File { path, executable: mode & 0o111 != 0, bytes: blob.content().to_vec() });
            }
            TreeWalkResult::Ok
        });
        // An abort (the budget, or a failure) makes the walk itself an error: theirs first.
        if let Some(e) = failure {
            return Err(e);
        }
        if over {
            return Ok(None);
        }
        walked?;
        Ok(Some(items))
    }
}

fn write_blob(repo: &Repository, id: Oid, mode: i32, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let blob = repo.find_blob(id)?;
    if mode == 0o120000 {
        let target = std::str::from_utf8(blob.content()).context("a symlink target is not UTF-8")?;
        std::os::unix::fs::symlink(target, path)?;
    } else {
        std::fs::write(path, blob.content())?;
        let perm = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(())
}
