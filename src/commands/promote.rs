//! `ship promote FROM TO`: deploy to TO the very artifact that is live, confirmed healthy,
//! on every target of FROM. The bytes that passed FROM are the bytes TO gets: the same
//! sha256, from the local cache or the shared store, or rebuilt to the same sha256, never a new
//! build of a ref.

use anyhow::Result;

use super::Ctx;
use crate::cli::{DeployArgs, PromoteArgs};
use crate::error::{Exit, Refusal};

pub fn run(cx: &Ctx, args: &PromoteArgs) -> Result<Exit> {
    let config = cx.config()?;
    let from = config.env(&args.from)?;
    let to = config.env(&args.to)?;
    if from.name == to.name {
        return Err(crate::usage!("promote takes two environments: {} to itself is a no-op", from.name));
    }
    super::read_secrets(to)?;
    if to.confirm && !args.yes && !args.dry_run && !cx.ui.interactive() {
        return Err(crate::usage!(
            "environment `{}` has confirm = true and there is no terminal to ask: pass --yes to promote",
            to.name
        ));
    }
    let live = live_everywhere(&config, from)?;
    let sha256 = live.sha256.clone().unwrap_or_default();
    let commit = live.commit.clone().unwrap_or_default();
    let label = live.version.clone().unwrap_or_else(|| commit.short().to_string());
    cx.ui.status(&format!(
        "Promoting {} (artifact {}) from {}, where every target runs it, to {}",
        crate::ui::render::label(&label, &commit),
        sha256.short(),
        from.name,
        to.name
    ));
    let stores = super::Stores::open(&config)?;
    let picked = super::deploy::picked_for(cx, &config, &stores, &sha256, &commit, &label)?;
    let deploy = DeployArgs {
        env: to.name.clone(),
        reference: "HEAD".to_string(),
        artifact: None,
        plan: None,
        yes: args.yes,
        dry_run: args.dry_run,
        force: false,
        repair: false,
        ignore_requires: false,
        allow_dirty: false,
        lock_wait: args.lock_wait,
    };
    super::deploy::deliver(cx, &config, &stores, to, picked, None, &deploy, Some(&from.name))
}

/// The one release live and confirmed on every target of `env`, with its artifact known;
/// else a refusal (exit 1) naming the targets that differ.
fn live_everywhere(
    config: &crate::config::Config,
    env: &crate::config::Environment,
) -> Result<crate::release::ReleaseState> {
    let mut targets = crate::rollout::reach::connect_all(env, config)?;
    let states = crate::rollout::reach::read_states(&mut targets, env.workers)?;
    let describe = |s: &crate::release::State| match (&s.current, s.confirmed) {
        (None, _) => "nothing live".to_string(),
        (Some(c), confirmed) => format!(
            "{} (release {}){}",
            c.version.as_deref().unwrap_or("?"),
            c.release,
            if confirmed { "" } else { ", NOT confirmed healthy" }
        ),
    };
    let first = states.first().and_then(|s| s.current.as_ref().filter(|_| s.confirmed));
    let one = first.is_some_and(|f| {
        f.sha256.is_some()
            && states.iter().all(|s| s.confirmed && s.current.as_ref().map(|c| &c.release) == Some(&f.release))
    });
    match first {
        Some(live) if one => Ok(live.clone()),
        _ => {
            let lines: Vec<String> =
                env.targets.iter().zip(&states).map(|(t, s)| format!("  {t}: {}", describe(s))).collect();
            let targets: Vec<serde_json::Value> = env
                .targets
                .iter()
                .zip(&states)
                .map(|(t, s)| {
                    serde_json::json!({
                        "target": t.to_string(),
                        "current": s.current.as_ref().map(crate::release::ReleaseState::reference),
                        "confirmed": s.confirmed,
                    })
                })
                .collect();
            Err(Refusal::new(
                Exit::Error,
                "not_promotable",
                format!(
                    "{} is not on one release, live and confirmed healthy on every target, so there is nothing to \
                     promote; nothing was changed:\n{}",
                    env.name,
                    lines.join("\n")
                ),
            )
            .hint(format!("deploy one version to every target of {} first (`ship status {}`)", env.name, env.name))
            .detail("from", serde_json::json!({ "env": env.name, "targets": targets }))
            .into())
        }
    }
}
