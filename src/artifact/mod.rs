//! Artifacts: a clean export of a commit, the build command run there, and the result packed
//! deterministically and kept in the local store by its sha256.
//!
//! Build once, deploy many: an artifact is identified by the sha256 of its bytes, and the
//! same commit and build config always give the same bytes.

pub mod delta;
pub mod manifest;
pub mod pack;
pub mod remote;
pub mod store;

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::config::BuildConfig;
use crate::digest::HashingWriter;
use crate::ids::{CommitId, Sha256};
use crate::version::{Repo, Version};
pub use manifest::{MANIFEST_NAME, Manifest};
pub use store::Store;

/// An artifact in the local store.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub sha256: Sha256,
    pub path: PathBuf,
    pub size: u64,
    pub commit: CommitId,
    /// True when an earlier build of the same commit and config was reused.
    pub reused: bool,
}

/// A build's figures, for people: the bytes of the files packed, and how long it took
/// (the export, the build command and the packing).
#[derive(Debug, Clone, Copy)]
pub struct BuildStats {
    pub bytes: u64,
    pub elapsed: std::time::Duration,
}

/// Identifies a build config: same key, same commit → same artifact.
pub fn build_key(build: &BuildConfig) -> String {
    let text = serde_json::json!({
        "format": manifest::FORMAT,
        "command": build.command,
        "include": build.include,
        "exclude": build.exclude,
    });
    crate::digest::sha256_hex(text.to_string().as_bytes())[..16].to_string()
}

/// The artifact this commit and build config already gave, if the store still has it.
pub fn reusable(store: &Store, version: &Version, build: &BuildConfig) -> Result<Option<Artifact>> {
    if let Some(sha) = store.lookup(&version.commit, &build_key(build))?
        && let Some(path) = store.get(&sha)?
    {
        let size = std::fs::metadata(&path)?.len();
        return Ok(Some(Artifact {
            sha256: sha.into(),
            path,
            size,
            commit: version.commit.as_str().into(),
            reused: true,
        }));
    }
    Ok(None)
}

/// Build the artifact of `version` now (callers look for one to reuse first: see
/// `commands::Stores::built`), refused if its links would leave a release with the `shared`
/// paths linked in, and record it in the store's build index. `log` receives the build
/// command's output and warnings.
pub fn build(
    store: &Store,
    repo: &Repo,
    version: &Version,
    build: &BuildConfig,
    shared: &[String],
    log: &mut dyn FnMut(&str),
) -> Result<(Artifact, BuildStats)> {
    let started = std::time::Instant::now();
    let work = store.temp_dir()?;
    let src = work.path().join("src");
    // Without a build command, the files are read straight from git (within the memory
    // budget): the same contents as a clean export gives, none of it written to disk.
    let selection = pack::Selection::new(build)?;
    let wanted = |path: &str| path == MANIFEST_NAME || selection.selects(path);
    let direct = match &build.command {
        None => repo
            .read_files(&version.commit, &wanted, pack::MEMORY_BUDGET)
            .with_context(|| format!("reading commit {}", crate::ui::render::prefix(&version.commit, 12)))?,
        Some(_) => None,
    };
    let contents = match direct {
        Some(items) => pack::from_items(items, shared, &version.commit)?,
        None => {
            export_and_run(repo, version, build, &src, log)?;
            pack::collect(&src, build, shared, &version.commit)?
        }
    };
    for skipped in &contents.skipped {
        log(&format!("warning: left out of the artifact: {skipped}"));
    }
    if contents.manifest.files.is_empty() {
        bail!(crate::usage!(
            "the artifact would be empty: [build] include matches no file of commit {}",
            crate::ui::render::prefix(&version.commit, 12)
        ));
    }
    let tmp = store.temp_file()?;
    let mut writer = HashingWriter::new(std::io::BufWriter::new(tmp));
    pack::write(&contents, version.time, &mut writer)?;
    let (buf, sha256, size) = writer.finish();
    let tmp = buf.into_inner().map_err(|e| e.into_error())?;
    let path = store.insert(tmp, &sha256)?;
    store.remember(&version.commit, &build_key(build), &sha256)?;
    let stats = BuildStats { bytes: contents.bytes(), elapsed: started.elapsed() };
    let artifact =
        Artifact { sha256: sha256.into(), path, size, commit: version.commit.as_str().into(), reused: false };
    Ok((artifact, stats))
}

/// Export `version` to `src` (a new directory) and run the build command there.
fn export_and_run(
    repo: &Repo,
    version: &Version,
    build: &BuildConfig,
    src: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    std::fs::create_dir(src)?;
    repo.export(&version.commit, src)
        .with_context(|| format!("exporting commit {}", crate::ui::render::prefix(&version.commit, 12)))?;

    if let Some(command) = &build.command {
        let env = vec![
            ("SOURCE_DATE_EPOCH".to_string(), version.time.to_string()),
            ("SHIP_COMMIT".to_string(), version.commit.clone()),
        ];
        let mut tail = std::collections::VecDeque::new();
        let ended = crate::process::run(
            &crate::process::Shell {
                script: command,
                cwd: src,
                env: &env,
                inherit: crate::process::Inherit::All,
                timeout: None,
                cancel: None,
            },
            &mut |line| {
                log(line);
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(line.to_string());
            },
        )?;
        if !ended.success() {
            let lines: Vec<String> = tail.into_iter().collect();
            bail!(
                "the build command `{command}` failed ({}); its last lines:\n{}",
                ended.describe(None),
                lines.join("\n")
            );
        }
    }

    Ok(())
}

/// A stored artifact by sha256 (or unique prefix), verified, with the commit its manifest names.
pub fn from_store(store: &Store, prefix: &str) -> Result<Artifact> {
    let sha256 = store.find(prefix)?;
    let path = store
        .get(&sha256)?
        .ok_or_else(|| crate::usage!("stored artifact {sha256} is corrupt and was removed; build it again"))?;
    let manifest = read_manifest(&path)?;
    let size = std::fs::metadata(&path)?.len();
    Ok(Artifact { sha256: sha256.into(), path, size, commit: manifest.commit.into(), reused: true })
}

/// The manifest of an artifact file: its first entry.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let decoder = zstd::stream::read::Decoder::new(file)?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive.entries()?;
    let mut first = entries.next().ok_or_else(|| anyhow::anyhow!("{} is an empty archive", path.display()))??;
    if first.path()?.to_str() != Some(MANIFEST_NAME) {
        bail!("{} is not a ship artifact: its first entry is not {MANIFEST_NAME}", path.display());
    }
    if first.size() > manifest::MAX_MANIFEST_BYTES {
        bail!("{} is not a ship artifact: its manifest is {} bytes", path.display(), first.size());
    }
    let mut text = Vec::new();
    first.read_to_end(&mut text)?;
    Manifest::decode(&text).map_err(|why| anyhow::anyhow!("{} is not a valid ship artifact: {why}", path.display()))
}
