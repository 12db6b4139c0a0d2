//! `ship check`: validate deploy.toml; with ENV, reach every target and check it can be
//! deployed to: reachable, path writable, free disk, who holds the lock.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::config::TargetSpec;
use crate::error::Exit;

#[derive(Serialize)]
struct Report {
    config: String,
    app: String,
    envs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<String>,
    targets: Vec<TargetCheck>,
    ok: bool,
}

#[derive(Serialize)]
struct TargetCheck {
    target: String,
    reachable: bool,
    writable: bool,
    agent_version: Option<String>,
    free_bytes: Option<u64>,
    locked: bool,
    holder: Option<String>,
    error: Option<String>,
}

pub fn run(cx: &Ctx, env_name: Option<&str>) -> Result<Exit> {
    let config = cx.config()?;
    let mut report = Report {
        config: config.path.display().to_string(),
        app: config.app.clone(),
        envs: config.envs.keys().cloned().collect(),
        env: env_name.map(str::to_string),
        targets: Vec::new(),
        ok: true,
    };
    if let Some(name) = env_name {
        let env = config.env(name)?;
        super::check_supported(env)?;
        for spec in &env.targets {
            let check = check_target(spec);
            report.ok &= check.error.is_none();
            report.targets.push(check);
        }
    }
    if cx.ui.json() {
        cx.ui.out_json(&report)?;
    } else {
        let mut text = format!(
            "{} is valid: app `{}`, environments: {}\n",
            report.config,
            report.app,
            if report.envs.is_empty() { "none".to_string() } else { report.envs.join(", ") }
        );
        for t in &report.targets {
            match &t.error {
                None => text.push_str(&format!(
                    "  ok    {}  (ship {}, {} free{})\n",
                    t.target,
                    t.agent_version.as_deref().unwrap_or("?"),
                    human_bytes(t.free_bytes.unwrap_or(0)),
                    t.holder.as_ref().map_or(String::new(), |h| format!(", locked by {h}"))
                )),
                Some(e) => text.push_str(&format!("  FAIL  {}: {e}\n", t.target)),
            }
        }
        cx.ui.out(&text)?;
    }
    Ok(if report.ok { Exit::Success } else { Exit::Error })
}

fn check_target(spec: &TargetSpec) -> TargetCheck {
    let mut check = TargetCheck {
        target: spec.to_string(),
        reachable: false,
        writable: false,
        agent_version: None,
        free_bytes: None,
        locked: false,
        holder: None,
        error: None,
    };
    match spec {
        TargetSpec::Ssh { .. } => {
            check.error = Some("ssh:// targets are not supported by this build of ship yet".into())
        }
        TargetSpec::Local { path } => {
            check.reachable = true;
            check.agent_version = Some(env!("CARGO_PKG_VERSION").to_string());
            // The deploy creates the path: check the nearest directory that exists.
            let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
            check.writable = existing.is_dir() && rustix::fs::access(existing, rustix::fs::Access::WRITE_OK).is_ok();
            check.free_bytes = rustix::fs::statvfs(existing).ok().map(|s| s.f_bavail * s.f_frsize);
            match crate::release::lock::probe(&path.join(".ship").join("lock")) {
                Ok(Some(holder)) => {
                    check.locked = true;
                    check.holder = Some(holder.map_or_else(|| "another process".into(), |h| h.to_string()));
                }
                Ok(None) => {}
                Err(e) => check.error = Some(format!("{e:#}")),
            }
            if !existing.is_dir() {
                check.error =
                    Some(format!("{} is not a directory, so {} cannot be created", existing.display(), path.display()));
            } else if !check.writable {
                check.error = Some(format!("{} is not writable by this user", existing.display()));
            }
        }
    }
    check
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
