//! Deltas: only the files whose contents a target lacks, as a zstd tar the target unpacks
//! through its objects (see [`crate::release::objects`]).
//!
//! A target that holds objects is offered the artifact's manifest first (`lacks`: a zstd
//! tar of the manifest alone) and answers which of its contents it lacks; then it is sent a
//! delta of those, and builds the release from the manifest it was offered, the delta, and
//! the contents it has. Targets that lack the same contents (a fleet on one release) share
//! one delta, made once per run.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow, bail};

use super::Artifact;
use super::manifest::{FileEntry, Manifest};
use crate::release::objects;

/// zstd level of what is sent: made once per run.
const ZSTD_LEVEL: i32 = 6;

/// An artifact's manifest as targets are offered it.
pub struct Contents {
    /// The manifest's file contents, each once, with its size: what a target's answer names.
    pub wanted: Vec<(String, u64)>,
    /// The sum of those sizes.
    pub total: u64,
    /// A zstd tar of the manifest alone, as it is in the artifact.
    pub offer: Vec<u8>,
    /// The manifest's sha256.
    pub manifest: String,
    parsed: Manifest,
}

/// A delta: its bytes, and the sha256 of the manifest offered before it.
pub struct Delta {
    pub bytes: Vec<u8>,
    pub manifest: String,
}

/// The deltas of one artifact made during one run, by what they carry.
#[derive(Default)]
pub struct Deltas {
    contents: OnceLock<Result<Contents, String>>,
    made: Mutex<HashMap<Vec<u32>, Arc<Delta>>>,
}

impl Deltas {
    /// The manifest of `artifact` as targets are offered it (read once per run).
    pub fn contents(&self, artifact: &Artifact) -> Result<&Contents> {
        self.contents
            .get_or_init(|| contents_of(artifact).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    }

    /// The delta of `artifact` that carries the contents at `missing` positions of its
    /// [`Contents::wanted`]: made once, whichever targets need it.
    pub fn make(&self, artifact: &Artifact, missing: &[u32]) -> Result<Arc<Delta>> {
        let contents = self.contents(artifact)?;
        // Held while it is made: targets that need the same delta wait for it, not redo it.
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(delta) = made.get(missing) {
            return Ok(delta.clone());
        }
        let mut keys = BTreeSet::new();
        for &i in missing {
            let (key, _) = contents
                .wanted
                .get(i as usize)
                .ok_or_else(|| anyhow!("the target named content {i}, which it was not asked about"))?;
            keys.insert(key.as_str());
        }
        let bytes = write(artifact, &contents.parsed, &keys)?;
        let delta = Arc::new(Delta { bytes, manifest: contents.manifest.clone() });
        made.insert(missing.to_vec(), delta.clone());
        Ok(delta)
    }
}

/// Read the artifact's manifest entry, and compress it alone as targets are offered it.
fn contents_of(artifact: &Artifact) -> Result<Contents> {
    let file = std::fs::File::open(&artifact.path).with_context(|| format!("opening {}", artifact.path.display()))?;
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file)?);
    let mut entries = archive.entries()?;
    let first = entries.next().ok_or_else(|| anyhow!("{} is an empty archive", artifact.path.display()))??;
    let header = first.header().clone();
    let (text, _) = crate::release::unpack::manifest_entry(Some(Ok(first)))?;
    let parsed = Manifest::decode(&text)
        .map_err(|why| anyhow!("{} is not a valid ship artifact: {why}", artifact.path.display()))?;
    let mut offer = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    {
        let mut tar = tar::Builder::new(&mut offer);
        let mut header = header;
        tar.append_data(&mut header, super::MANIFEST_NAME, &text[..])?;
        tar.finish()?;
    }
    let offer = offer.finish()?;
    let wanted = objects::contents(&parsed);
    let total = wanted.iter().map(|(_, size)| size).sum();
    Ok(Contents { wanted, total, offer, manifest: crate::digest::sha256_hex(&text), parsed })
}

/// Copy from the artifact, once each, the files whose contents are `keys`.
fn write(artifact: &Artifact, manifest: &Manifest, keys: &BTreeSet<&str>) -> Result<Vec<u8>> {
    let mut out = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    if keys.is_empty() {
        // Nothing to read the artifact for: an empty archive.
        tar::Builder::new(&mut out).finish()?;
        return Ok(out.finish()?);
    }
    let by_path: HashMap<&str, &FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let file = std::fs::File::open(&artifact.path).with_context(|| format!("opening {}", artifact.path.display()))?;
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file)?);
    {
        let mut tar = tar::Builder::new(&mut out);
        let mut sent = BTreeSet::new();
        for entry in archive.entries()? {
            let mut entry = entry.context("reading the artifact")?;
            let path = entry.path()?.to_str().map(str::to_string).unwrap_or_default();
            let wanted = entry.header().entry_type().is_file()
                && by_path.get(path.as_str()).is_some_and(|f| {
                    let key = objects::key(f);
                    keys.contains(key.as_str()) && sent.insert(key)
                });
            if wanted {
                let mut header = entry.header().clone();
                let mut data = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut data)?;
                tar.append_data(&mut header, &path, &data[..])?;
            }
        }
        if sent.len() != keys.len() {
            bail!("the artifact {} lacks contents its manifest lists", artifact.path.display());
        }
        tar.finish()?;
    }
    let mut bytes = out.finish()?;
    bytes.flush()?;
    Ok(bytes)
}
