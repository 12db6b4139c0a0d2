//! `ship init`: write a commented deploy.toml, never over an existing one.

use anyhow::{Context, Result, bail};

use super::Ctx;
use crate::config::FILE_NAME;
use crate::error::Exit;

pub fn run(cx: &Ctx) -> Result<Exit> {
    let path = match &cx.file {
        Some(f) => cx.cwd.join(f),
        None => cx.cwd.join(FILE_NAME),
    };
    if path.exists() {
        bail!("{} already exists; ship init never overwrites it", path.display());
    }
    let app = cx
        .cwd
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
                .collect::<String>()
                .trim_start_matches(['.', '_', '-'])
                .to_string()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "app".to_string());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, crate::config::template(&app).as_bytes())?;
    if cx.ui.json() {
        cx.ui.out_json(&serde_json::json!({ "path": path, "app": app }))?;
    } else {
        cx.ui.out(&format!(
            "Wrote {} for app `{app}`. Edit it, commit it, then run `ship deploy staging`.",
            path.display()
        ))?;
    }
    Ok(Exit::Success)
}
