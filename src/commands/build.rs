//! `ship build`: build (or reuse) the artifact of a commit and print its sha256.

use anyhow::Result;

use super::Ctx;
use crate::error::Exit;

pub fn run(cx: &Ctx, reference: &str, allow_dirty: bool, push: bool) -> Result<Exit> {
    let config = cx.config()?;
    let stores = super::Stores::open(&config)?;
    if push {
        // Before any build: no credentials, no store, no work.
        stores.shared()?.ok_or_else(|| {
            crate::usage!(
                "--push: there is no artifact store to push to: add [store] url = \"s3://bucket/prefix\" to deploy.toml"
            )
        })?;
    }
    let picked = super::pick(cx, &config, &stores, reference, None, allow_dirty)?;
    let a = &picked.artifact;
    if push {
        stores.push(cx, a, Some(&config.build))?;
    }
    if cx.ui.json() {
        cx.ui.out_json(&serde_json::json!({
            "sha256": a.sha256,
            "version": picked.label,
            "commit": picked.commit,
            "path": a.path,
            "size": a.size,
            "reused": a.reused,
            "duration_ms": picked.built.map(|b| b.elapsed.as_millis() as u64),
            "pushed": push.then(|| config.store.as_ref().map(|s| s.url.clone())).flatten(),
        }))?;
    } else {
        cx.ui.out(&a.sha256)?;
    }
    Ok(Exit::Success)
}
