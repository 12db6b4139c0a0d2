//! Deltas: the artifact's manifest and only the files whose contents a target lacks, as a
//! zstd tar the target unpacks through its objects (see [`crate::release::objects`]).
//!
//! A target that holds objects is asked which of the artifact's it lacks (one list of
//! contents and sizes, each content once), and sent a delta of those. Targets that lack the
//! same contents (a fleet on one release) share one delta, made once per run.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow, bail};

use super::manifest::{FileEntry, MANIFEST_NAME, Manifest};
use super::{Artifact, read_manifest};
use crate::release::objects;

/// zstd level of a delta: made once per run and sent over the network.
const ZSTD_LEVEL: i32 = 6;

/// What an artifact's contents are, for asking targets which they lack.
pub struct Contents {
    /// Each content (object) once, with its size, in the manifest's order.
    pub wanted: Vec<(String, u64)>,
    /// The sum of those sizes.
    pub total: u64,
    manifest: Manifest,
}

/// The deltas of one artifact made during one run, by what they carry.
#[derive(Default)]
pub struct Deltas {
    contents: OnceLock<Result<Contents, String>>,
    made: Mutex<HashMap<Vec<u32>, Arc<Vec<u8>>>>,
}

impl Deltas {
    /// The contents of `artifact` (read once per run).
    pub fn contents(&self, artifact: &Artifact) -> Result<&Contents> {
        self.contents
            .get_or_init(|| {
                let manifest = read_manifest(&artifact.path).map_err(|e| format!("{e:#}"))?;
                Ok(contents_of(manifest))
            })
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    }

    /// The delta of `artifact` that carries the contents at `missing` positions of its
    /// [`Contents::wanted`]: made once, whichever targets need it.
    pub fn make(&self, artifact: &Artifact, missing: &[u32]) -> Result<Arc<Vec<u8>>> {
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
        let delta = Arc::new(write(artifact, &contents.manifest, &keys)?);
        made.insert(missing.to_vec(), delta.clone());
        Ok(delta)
    }
}

fn contents_of(manifest: Manifest) -> Contents {
    let mut seen = BTreeSet::new();
    let mut wanted = Vec::new();
    for file in manifest.files.iter().filter(|f| f.link.is_none()) {
        let key = objects::key(file);
        if seen.insert(key.clone()) {
            wanted.push((key, file.size));
        }
    }
    let total = wanted.iter().map(|(_, size)| size).sum();
    Contents { wanted, total, manifest }
}

/// Copy from the artifact the manifest and, once each, the files whose contents are `keys`.
fn write(artifact: &Artifact, manifest: &Manifest, keys: &BTreeSet<&str>) -> Result<Vec<u8>> {
    let by_path: HashMap<&str, &FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let file = std::fs::File::open(&artifact.path).with_context(|| format!("opening {}", artifact.path.display()))?;
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file)?);
    let mut out = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    {
        let mut tar = tar::Builder::new(&mut out);
        let mut sent = BTreeSet::new();
        for (i, entry) in archive.entries()?.enumerate() {
            let mut entry = entry.context("reading the artifact")?;
            let path = entry.path()?.to_str().map(str::to_string).unwrap_or_default();
            let wanted = if i == 0 {
                if path != MANIFEST_NAME {
                    bail!("{} is not a ship artifact", artifact.path.display());
                }
                true
            } else {
                entry.header().entry_type().is_file()
                    && by_path.get(path.as_str()).is_some_and(|f| {
                        let key = objects::key(f);
                        keys.contains(key.as_str()) && sent.insert(key)
                    })
            };
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
