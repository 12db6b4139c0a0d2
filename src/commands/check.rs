//! `ship check`: validate deploy.toml; with ENV, reach every target and check it can be
//! deployed to: reachable, path writable, free disk, who holds the lock, shared files a
//! deploy could not create, and the `requires` gate.

use anyhow::Result;

use super::Ctx;
use crate::config::TargetSpec;
use crate::error::Exit;
use crate::ui::report::check::{GateCheck, Report, StoreCheck, TargetCheck};

pub fn run(cx: &Ctx, env_name: Option<&str>) -> Result<Exit> {
    let config = cx.config()?;
    let mut report = Report {
        config: config.path.display().to_string(),
        app: config.app.clone(),
        envs: config.envs.keys().cloned().collect(),
        env: env_name.map(str::to_string),
        targets: Vec::new(),
        gate: None,
        store: None,
        ok: true,
    };
    if let Some(name) = env_name {
        let env = config.env(name)?;
        let shared = &config.release.shared;
        let mut checks: Vec<TargetCheck> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                env.targets.iter().map(|spec| scope.spawn(|| check_target(spec, &config.ssh, shared))).collect();
            handles.into_iter().map(|h| h.join().expect("a check thread panicked")).collect()
        });
        let head = head_release(&config);
        for check in &mut checks {
            if check.error.is_none()
                && let Some(path) = check.shared_missing.iter().find(|p| crate::release::unseedable(p, |p| head.has(p)))
            {
                check.error = Some(format!(
                    "shared/{path} does not exist there and {} has no {path} to start it from: \
                     a deploy would fail; create it on the target first",
                    head.name
                ));
            }
        }
        for check in checks {
            report.ok &= check.error.is_none();
            report.targets.push(check);
        }
        if let Some(required) = &env.requires {
            let gate = check_gate(&config, required, &head);
            report.ok &= gate.error.is_none();
            report.gate = Some(gate);
        }
        if let Some(store) = &config.store {
            let error = super::Stores::open(&config).and_then(|s| s.shared().map(|_| ())).err().map(|e| {
                let hint = crate::error::refusal_of(&e).and_then(|r| r.hint.clone());
                format!("{e:#}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())
            });
            report.ok &= error.is_none();
            report.store = Some(StoreCheck { url: store.url.clone(), error });
        }
    }
    if cx.ui.json() {
        cx.ui.out_json(&report)?;
    } else {
        cx.ui.out(&crate::ui::report::check::render(&report))?;
    }
    Ok(if report.ok { Exit::Success } else { Exit::Error })
}

/// What HEAD's release would hold: its artifact's manifest when the store has it, else its
/// commit's tree (a build command's own outputs are then not seen).
struct HeadRelease {
    name: String,
    commit: Option<String>,
    manifest: Option<crate::artifact::manifest::Manifest>,
    repo: Option<crate::version::Repo>,
}

impl HeadRelease {
    fn has(&self, path: &str) -> bool {
        match (&self.manifest, &self.repo, &self.commit) {
            (Some(m), _, _) => m.has_path(path),
            (None, Some(repo), Some(commit)) => repo.has_path(commit, path),
            _ => false,
        }
    }
}

fn head_release(config: &crate::config::Config) -> HeadRelease {
    let repo = crate::version::Repo::discover(&config.dir).ok();
    let version = repo.as_ref().and_then(|r| r.resolve("HEAD").ok());
    let manifest = version.as_ref().and_then(|v| {
        let store = crate::artifact::Store::open_default().ok()?;
        let artifact = crate::artifact::reusable(&store, v, &config.build).ok()??;
        crate::artifact::read_manifest(&artifact.path).ok()
    });
    HeadRelease {
        name: version.as_ref().map_or("HEAD".to_string(), |v| format!("HEAD ({})", v.label)),
        commit: version.map(|v| v.commit),
        manifest,
        repo,
    }
}

/// `requires`: the required environment must run one confirmed release everywhere, and it
/// must be HEAD's (the release a `ship deploy ENV` would build), or the deploy is refused.
fn check_gate(config: &crate::config::Config, required: &str, head: &HeadRelease) -> GateCheck {
    let mut gate = GateCheck { requires: required.to_string(), admits: None, error: None };
    let states = config.env(required).and_then(|env| {
        let mut targets = crate::rollout::reach::connect_all(env, config)?;
        crate::rollout::reach::read_states(&mut targets, env.workers)
    });
    let states = match states {
        Ok(states) => states,
        Err(e) => {
            gate.error = Some(format!("cannot read `{required}`: {e:#}"));
            return gate;
        }
    };
    let live: Vec<Option<&crate::release::ReleaseState>> =
        states.iter().map(|s| s.current.as_ref().filter(|_| s.confirmed)).collect();
    let first = live.first().copied().flatten();
    if first.is_none() || live.iter().any(|l| l.map(|r| &r.release) != first.map(|r| &r.release)) {
        gate.error = Some(format!(
            "`{required}` is not on one confirmed release on every target, so every deploy here is refused \
             until it is (`ship status {required}`)"
        ));
        return gate;
    }
    let admits = first.expect("checked above");
    gate.admits = Some(admits.reference());
    if let Some(commit) = &head.commit
        && admits.commit.as_deref() != Some(commit.as_str())
    {
        gate.error = Some(format!(
            "a deploy of {} would be refused: `{required}` runs {} ({}); deploy HEAD to {required} first",
            head.name,
            admits.version.as_deref().unwrap_or("?"),
            admits.release
        ));
    }
    gate
}

/// Reach the target and ask it; a target that cannot be reached is reported, not fatal.
fn check_target(spec: &TargetSpec, ssh: &crate::config::SshConfig, shared: &[String]) -> TargetCheck {
    let mut check = TargetCheck {
        target: spec.to_string(),
        reachable: false,
        writable: false,
        agent_version: None,
        free_bytes: None,
        locked: false,
        holder: None,
        error: None,
        shared_missing: Vec::new(),
    };
    let result = crate::agent::connect(spec, ssh).and_then(|mut target| {
        check.reachable = true;
        target.check(shared)
    });
    match result {
        Ok(c) => {
            check.writable = c.writable;
            check.agent_version = Some(c.version);
            check.free_bytes = c.free_bytes;
            check.locked = c.locked;
            check.holder = c.holder.map(|h| h.to_string());
            check.error = c.error;
            check.shared_missing = c.shared_missing;
        }
        Err(e) => check.error = Some(format!("{e:#}")),
    }
    check
}
