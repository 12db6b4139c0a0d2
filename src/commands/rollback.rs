//! `ship rollback`: every target of an environment back to the release that was live before
//! (per the journal), or to `--to` a release id, version label or commit.

use anyhow::Result;

use super::Ctx;
use crate::cli::RollbackArgs;
use crate::error::Exit;
use crate::rollout;

pub fn run(cx: &Ctx, args: &RollbackArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let secrets = super::read_secrets(env)?;
    let must_confirm = env.confirm && !args.yes && !args.dry_run;
    if must_confirm && !cx.ui.interactive() {
        return Err(crate::usage!(
            "environment `{}` has confirm = true and there is no terminal to ask: pass --yes to roll back",
            env.name
        ));
    }
    let mut targets = rollout::reach::connect_all(env, &config)?;
    // A dry run reads the states without locking; a rollback reads them under its locks.
    let states = if args.dry_run {
        rollout::reach::read_states(&mut targets, env.workers)?
    } else {
        let command = format!("ship rollback {}", env.name);
        rollout::reach::lock_all(&mut targets, &command, args.lock_wait.map(|w| w.0), env.workers, &cx.ui)?
    };
    let plan = rollout::rollback_plan::plan(&config, env, &states, args.to.as_deref())?;

    if args.dry_run {
        if cx.ui.json() {
            cx.ui.out_json(&plan)?;
        } else {
            cx.ui.out(&crate::ui::render::rollback_plan(&plan))?;
        }
        return Ok(Exit::Success);
    }
    if plan.changes && !cx.ui.json() {
        cx.ui.status(crate::ui::render::rollback_plan(&plan).trim_end());
    }
    if plan.changes && must_confirm && !cx.ui.confirm(&format!("Roll {} back to {}?", env.name, plan.version))? {
        return Err(anyhow::anyhow!("rollback cancelled: nothing was changed"));
    }
    let run = crate::rollout::Run { kind: "rollback", gate_skipped: None, promoted_from: None, pull: None };
    super::execute(cx, &config, env, secrets, run, |rcx| rollout::rollback(rcx, &plan, targets))
}
