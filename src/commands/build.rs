//! `ship build`: build (or reuse) the artifact of a commit and print its sha256.

use anyhow::Result;

use super::Ctx;
use crate::error::Exit;

pub fn run(cx: &Ctx, reference: &str, allow_dirty: bool) -> Result<Exit> {
    let config = cx.config()?;
    let picked = super::pick(cx, &config, reference, None, allow_dirty)?;
    let a = &picked.artifact;
    if cx.ui.json() {
        cx.ui.out_json(&serde_json::json!({
            "sha256": a.sha256,
            "version": picked.label,
            "commit": picked.commit,
            "path": a.path,
            "size": a.size,
            "reused": a.reused,
        }))?;
    } else {
        cx.ui.out(&a.sha256)?;
    }
    Ok(Exit::Success)
}
