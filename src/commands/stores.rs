//! Where artifacts come from for a command: the local store, and behind it the shared one
//! that deploy.toml's `[store]` names, opened only when it is needed.

use std::cell::OnceCell;
use std::path::PathBuf;

use anyhow::Result;

use super::Ctx;
use crate::artifact::remote::{Pushed, Shared};
use crate::artifact::{self, Artifact, Store};
use crate::config::{Config, StoreConfig};
use crate::ui::render::prefix;

pub(crate) struct Stores<'a> {
    pub local: Store,
    config: Option<&'a StoreConfig>,
    shared: OnceCell<Shared>,
}

impl<'a> Stores<'a> {
    pub fn open(config: &'a Config) -> Result<Stores<'a>> {
        Ok(Stores { local: Store::open_default()?, config: config.store.as_ref(), shared: OnceCell::new() })
    }

    /// The shared store, if deploy.toml has one; opened (credentials checked) on first use.
    pub fn shared(&self) -> Result<Option<&Shared>> {
        let Some(config) = self.config else { return Ok(None) };
        if self.shared.get().is_none() {
            let shared = Shared::open(&config.url)?;
            shared.probe()?;
            let _ = self.shared.set(shared);
        }
        Ok(self.shared.get())
    }

    /// The artifact by sha256: from the local store, else fetched from the shared one (its
    /// sha256 checked, then kept locally). `None` when neither has it.
    pub fn get(&self, cx: &Ctx, sha256: &str) -> Result<Option<PathBuf>> {
        if let Some(path) = self.local.get(sha256)? {
            return Ok(Some(path));
        }
        let Some(shared) = self.shared()? else { return Ok(None) };
        let bar = OnceCell::new();
        let what = format!("Fetching artifact {} from {}", prefix(sha256, 12), shared.url);
        let fetched = shared.fetch(sha256, &self.local, &|done, total| {
            bar.get_or_init(|| cx.ui.transfer(&what, total)).set_position(done);
        });
        if let Some(bar) = bar.get() {
            bar.finish_and_clear();
        }
        if let Some(path) = fetched? {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            cx.ui.status(&format!(
                "Artifact {} fetched from {} ({}), its sha256 checked",
                prefix(sha256, 12),
                shared.url,
                indicatif::HumanBytes(size)
            ));
            return Ok(Some(path));
        }
        Ok(None)
    }

    /// A full sha256 for `prefix`: the local store's, else the shared store's.
    pub fn find(&self, sha_prefix: &str) -> Result<String> {
        let wanted = sha_prefix.to_ascii_lowercase();
        if wanted.len() < 6 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(crate::usage!("`{sha_prefix}` is not an artifact sha256 (give at least 6 hex digits)"));
        }
        let mut found = self.local.matching(&wanted)?;
        let mut place = self.local.root().display().to_string();
        if found.is_empty()
            && let Some(shared) = self.shared()?
        {
            found = shared.find(&wanted)?;
            place = shared.url.clone();
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(crate::usage!(
                "no artifact {wanted} in the local store {}{}; build it with `ship build --ref REF`{}",
                self.local.root().display(),
                self.config.map(|c| format!(" nor in {}", c.url)).unwrap_or_default(),
                if self.config.is_some() { " --push" } else { "" }
            )),
            n => Err(crate::usage!("{n} artifacts in {place} start with {wanted}; give more digits")),
        }
    }

    /// The artifact a build of this commit and build config gave, here or on any machine
    /// that pushed it. A record is only believed when the artifact it names says, in its
    /// manifest, that it is this commit's; a record or object that fails is warned about
    /// and the commit is built here instead.
    pub fn built(&self, cx: &Ctx, commit: &str, build: &crate::config::BuildConfig) -> Result<Option<Artifact>> {
        let key = artifact::build_key(build);
        let (sha, from_store) = match self.local.lookup(commit, &key)? {
            Some(sha) => (sha, false),
            None => match self.shared()? {
                Some(shared) => match shared.lookup(commit, &key)? {
                    Some(sha) => (sha, true),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        let path = match self.get(cx, &sha) {
            Ok(Some(path)) => path,
            Ok(None) => return Ok(None),
            Err(e) if from_store => {
                cx.ui.warn(&format!("{e:#}; building the commit here instead"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let manifest = artifact::read_manifest(&path)?;
        if manifest.commit != commit {
            cx.ui.warn(&format!(
                "the build record of commit {} names artifact {}, which is commit {}'s: ignored, and the commit is \
                 built here",
                prefix(commit, 12),
                prefix(&sha, 12),
                prefix(&manifest.commit, 12)
            ));
            return Ok(None);
        }
        self.local.remember(commit, &key, &sha)?;
        let size = std::fs::metadata(&path)?.len();
        Ok(Some(Artifact { sha256: sha.into(), path, size, commit: commit.into(), reused: true }))
    }

    /// Upload the artifact to the shared store unless it has it. `built_with`: the build
    /// config that made it from its commit here, to record for other machines (a deploy of
    /// an artifact made elsewhere, or with another config, records nothing).
    pub fn push(&self, cx: &Ctx, artifact: &Artifact, built_with: Option<&crate::config::BuildConfig>) -> Result<()> {
        let Some(shared) = self.shared()? else {
            return Err(crate::usage!(
                "there is no artifact store to push to: add [store] url = \"s3://bucket/prefix\" to deploy.toml"
            ));
        };
        let what = format!("Pushing artifact {} to {}", artifact.sha256.short(), shared.url);
        let bar = OnceCell::new();
        let pushed = shared.push(&artifact.sha256, &artifact.path, &|done, total| {
            bar.get_or_init(|| cx.ui.transfer(&what, total)).set_position(done);
        });
        if let Some(bar) = bar.get() {
            bar.finish_and_clear();
        }
        let short = artifact.sha256.short();
        let size = indicatif::HumanBytes(artifact.size);
        match pushed? {
            Pushed::Uploaded => cx.ui.status(&format!("Artifact {short} pushed to {} ({size})", shared.url)),
            Pushed::Replaced => cx.ui.warn(&format!(
                "{} had a damaged object for artifact {short} (its size was wrong): replaced by these bytes ({size})",
                shared.url
            )),
            Pushed::Already => cx.ui.status(&format!("Artifact {short} is in {} already", shared.url)),
        }
        match built_with {
            Some(build) => shared.remember(&artifact.commit, &artifact::build_key(build), &artifact.sha256),
            None => Ok(()),
        }
    }
}
