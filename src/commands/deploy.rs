//! `ship deploy`: pick the version, build or reuse the artifact, lock every target, plan,
//! confirm, and roll out.

use anyhow::Result;

use super::Ctx;
use crate::cli::DeployArgs;
use crate::error::Exit;
use crate::rollout::{self, Context};

pub fn run(cx: &Ctx, args: &DeployArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let secrets = super::read_secrets(env)?;
    let must_confirm = env.confirm && !args.yes && !args.dry_run;
    if must_confirm && !cx.ui.interactive() {
        return Err(crate::usage!(
            "environment `{}` has confirm = true and there is no terminal to ask: pass --yes to deploy",
            env.name
        ));
    }
    let reference = &args.reference;
    let picked = super::pick(cx, &config, reference, args.artifact.as_deref(), args.allow_dirty)?;
    if let (Some(required), false) = (&env.requires, args.force) {
        check_requires(&config, required, &picked.artifact.sha256)?;
    }

    let mut targets = super::connect_all(env, &config)?;
    if args.dry_run {
        let plan = super::plan::compute(&config, env, &picked, &mut targets, args.force)?;
        super::plan::show(cx, &plan)?;
        return Ok(Exit::Success);
    }
    super::lock_all(&mut targets, &format!("ship deploy {}", env.name), args.lock_wait.map(|w| w.0))?;
    let plan = super::plan::compute(&config, env, &picked, &mut targets, args.force)?;
    if plan.changes && !cx.ui.json() {
        cx.ui.status(crate::ui::render::plan(&cx.ui, &plan).trim_end());
    }
    if plan.changes && must_confirm && !cx.ui.confirm(&format!("Deploy {} to {}?", plan.version, env.name))? {
        return Err(anyhow::anyhow!("deploy cancelled: nothing was changed"));
    }
    let rcx = Context {
        config: &config,
        env,
        run: super::run_id(),
        user: crate::clock::user(),
        secrets,
        reporter: &cx.ui,
        http: Default::default(),
    };
    super::watch_interrupts();
    let outcome = rollout::deploy(&rcx, &plan, &picked.artifact, targets);
    cx.ui.clear();
    super::notify(cx, &config, env, "deploy", &outcome);
    if cx.ui.json() {
        cx.ui.out_json(&outcome)?;
    } else {
        cx.ui.out(&crate::ui::render::outcome(&cx.ui, "deploy", &outcome))?;
    }
    Ok(outcome.outcome.exit())
}

/// `requires = "staging"`: the artifact must be live, confirmed, on every staging target.
fn check_requires(config: &crate::config::Config, required: &str, sha256: &str) -> Result<()> {
    let env = config.env(required)?;
    let mut targets = super::connect_all(env, config)?;
    let states = super::read_states(&mut targets)?;
    for (spec, state) in env.targets.iter().zip(states) {
        let live = state.current.as_ref().filter(|_| state.confirmed);
        if live.and_then(|c| c.sha256.as_deref()) != Some(sha256) {
            let runs = live.map_or("nothing confirmed live".to_string(), |c| {
                format!("{} ({})", c.version.as_deref().unwrap_or("?"), c.release)
            });
            anyhow::bail!(
                "this environment requires `{required}` first, and artifact {} is not live there: {spec} runs {runs}; \
                 deploy it to {required} first, or pass --force",
                &sha256[..12]
            );
        }
    }
    Ok(())
}
