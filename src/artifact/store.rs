//! The local artifact store: artifacts kept by sha256 and verified on every read, and an
//! index from (commit, build config) to the artifact that build produced.
//!
//! Location: `$SHIP_CACHE_DIR`, else `$XDG_CACHE_HOME/ship`, else `~/.cache/ship`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::digest::{is_sha256, sha256_file};

/// ship's cache: `$SHIP_CACHE_DIR`, else `$XDG_CACHE_HOME/ship`, else `~/.cache/ship`.
pub fn cache_root() -> Result<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|d| !d.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("SHIP_CACHE_DIR") {
        Ok(dir)
    } else if let Some(dir) = set("XDG_CACHE_HOME") {
        Ok(dir.join("ship"))
    } else if let Some(home) = set("HOME") {
        Ok(home.join(".cache").join("ship"))
    } else {
        bail!("no place for ship's cache: set SHIP_CACHE_DIR or HOME");
    }
}

pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn open_default() -> Result<Store> {
        Store::open(cache_root()?)
    }

    pub fn open(root: PathBuf) -> Result<Store> {
        for sub in ["artifacts", "builds", "tmp"] {
            fs::create_dir_all(root.join(sub))
                .with_context(|| format!("creating the artifact store in {}", root.display()))?;
        }
        Ok(Store { root })
    }

    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join("artifacts").join(format!("{sha256}.tar.zst"))
    }

    /// A temporary file in the store, on the same file system as the artifacts.
    pub fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        Ok(tempfile::NamedTempFile::new_in(self.root.join("tmp"))?)
    }

    /// A temporary directory for a build.
    pub fn temp_dir(&self) -> Result<tempfile::TempDir> {
        Ok(tempfile::Builder::new().prefix("build-").tempdir_in(self.root.join("tmp"))?)
    }

    /// Move a finished artifact into the store under its sha256.
    pub fn insert(&self, file: tempfile::NamedTempFile, sha256: &str) -> Result<PathBuf> {
        file.as_file().sync_all()?;
        let dest = self.path_of(sha256);
        file.persist(&dest).with_context(|| format!("storing {}", dest.display()))?;
        Ok(dest)
    }

    /// The stored artifact with this sha256, verified; `None` if it is absent or corrupt
    /// (a corrupt one is removed).
    pub fn get(&self, sha256: &str) -> Result<Option<PathBuf>> {
        let path = self.path_of(sha256);
        if !path.exists() {
            return Ok(None);
        }
        if sha256_file(&path)? == sha256 {
            Ok(Some(path))
        } else {
            let _ = fs::remove_file(&path);
            Ok(None)
        }
    }

    /// The stored artifacts whose sha256 starts with `prefix` (lower-case hex).
    pub fn matching(&self, prefix: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(self.root.join("artifacts"))? {
            let name = entry?.file_name();
            if let Some(sha) = name.to_str().and_then(|n| n.strip_suffix(".tar.zst"))
                && is_sha256(sha)
                && sha.starts_with(prefix)
            {
                found.push(sha.to_string());
            }
        }
        Ok(found)
    }

    /// Find a stored artifact by full sha256 or unique prefix.
    pub fn find(&self, prefix: &str) -> Result<String> {
        let prefix = prefix.to_ascii_lowercase();
        if prefix.len() < 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(crate::usage!("`{prefix}` is not an artifact sha256 (give at least 6 hex digits)"));
        }
        let mut found = Vec::new();
        for entry in fs::read_dir(self.root.join("artifacts"))? {
            let name = entry?.file_name();
            if let Some(sha) = name.to_str().and_then(|n| n.strip_suffix(".tar.zst"))
                && is_sha256(sha)
                && sha.starts_with(&prefix)
            {
                found.push(sha.to_string());
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => bail!(crate::usage!(
                "no artifact {prefix} in the local store {}; build it with `ship build --ref REF`",
                self.root.display()
            )),
            n => bail!(crate::usage!("{n} stored artifacts start with {prefix}; give more digits")),
        }
    }

    /// The artifact a build of `commit` with build config `key` made before, if any.
    pub fn lookup(&self, commit: &str, key: &str) -> Result<Option<String>> {
        let index = self.index_path(commit, key);
        match fs::read_to_string(&index) {
            Ok(sha) if is_sha256(sha.trim()) => Ok(Some(sha.trim().to_string())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", index.display())),
        }
    }

    pub fn remember(&self, commit: &str, key: &str, sha256: &str) -> Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        writeln!(tmp, "{sha256}")?;
        tmp.persist(self.index_path(commit, key))?;
        Ok(())
    }

    fn index_path(&self, commit: &str, key: &str) -> PathBuf {
        self.root.join("builds").join(format!("{commit}-{key}"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
