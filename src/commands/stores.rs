//! Where artifacts come from for a command: the local store, and behind it the shared one
//! that deploy.toml's `[store]` names, opened only when it is needed.

use std::cell::OnceCell;
use std::path::PathBuf;

use anyhow::Result;

use super::Ctx;
use crate::artifact::remote::Shared;
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
            let _ = self.shared.set(Shared::open(&config.url)?);
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
        let local = self.local.find(sha_prefix);
        let Some(shared) = (if local.is_err() { self.shared()? } else { None }) else { return local };
        let wanted = sha_prefix.to_ascii_lowercase();
        let mut found = shared.find(&wanted)?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(crate::usage!(
                "no artifact {wanted} in the local store {} nor in {}; build and push it with `ship build --push`",
                self.local.root().display(),
                shared.url
            )),
            n => Err(crate::usage!("{n} artifacts in {} start with {wanted}; give more digits", shared.url)),
        }
    }

    /// The artifact a build of this commit and build config gave, here or on any machine
    /// that pushed it.
    pub fn built(&self, cx: &Ctx, commit: &str, build: &crate::config::BuildConfig) -> Result<Option<Artifact>> {
        let key = artifact::build_key(build);
        let sha = match self.local.lookup(commit, &key)? {
            Some(sha) => Some(sha),
            None => match self.shared()? {
                Some(shared) => shared.lookup(commit, &key)?,
                None => None,
            },
        };
        let Some(sha) = sha else { return Ok(None) };
        let Some(path) = self.get(cx, &sha)? else { return Ok(None) };
        self.local.remember(commit, &key, &sha)?;
        let size = std::fs::metadata(&path)?.len();
        Ok(Some(Artifact { sha256: sha, path, size, commit: commit.to_string(), reused: true }))
    }

    /// Upload the artifact to the shared store unless it has it, and record its build.
    pub fn push(&self, cx: &Ctx, artifact: &Artifact, build: &crate::config::BuildConfig) -> Result<()> {
        let Some(shared) = self.shared()? else {
            return Err(crate::usage!(
                "there is no artifact store to push to: add [store] url = \"s3://bucket/prefix\" to deploy.toml"
            ));
        };
        let what = format!("Pushing artifact {} to {}", prefix(&artifact.sha256, 12), shared.url);
        let bar = OnceCell::new();
        let pushed = shared.push(&artifact.sha256, &artifact.path, &|done, total| {
            bar.get_or_init(|| cx.ui.transfer(&what, total)).set_position(done);
        });
        if let Some(bar) = bar.get() {
            bar.finish_and_clear();
        }
        let short = prefix(&artifact.sha256, 12);
        if pushed? {
            cx.ui.status(&format!(
                "Artifact {short} pushed to {} ({})",
                shared.url,
                indicatif::HumanBytes(artifact.size)
            ));
        } else {
            cx.ui.status(&format!("Artifact {short} is in {} already", shared.url));
        }
        shared.remember(&artifact.commit, &artifact::build_key(build), &artifact.sha256)
    }
}
