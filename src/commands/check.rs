//! `ship check`: validate deploy.toml; with ENV, reach every target and check it can be
//! deployed to: reachable, path writable, free disk, who holds the lock.

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
        let checks: Vec<TargetCheck> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                env.targets.iter().map(|spec| scope.spawn(|| check_target(spec, &config.ssh))).collect();
            handles.into_iter().map(|h| h.join().expect("a check thread panicked")).collect()
        });
        for check in checks {
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

/// Reach the target and ask it; a target that cannot be reached is reported, not fatal.
fn check_target(spec: &TargetSpec, ssh: &crate::config::SshConfig) -> TargetCheck {
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
    let result = crate::target::connect(spec, ssh).and_then(|mut target| {
        check.reachable = true;
        target.check()
    });
    match result {
        Ok(c) => {
            check.writable = c.writable;
            check.agent_version = Some(c.version);
            check.free_bytes = c.free_bytes;
            check.locked = c.locked;
            check.holder = c.holder.map(|h| h.to_string());
            check.error = c.error;
        }
        Err(e) => check.error = Some(format!("{e:#}")),
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
