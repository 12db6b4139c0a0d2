//! `ship deploy`: pick the version, build or reuse the artifact, lock every target, plan,
//! confirm, and roll out.

use anyhow::Result;

use super::Ctx;
use crate::cli::DeployArgs;
use crate::error::{Exit, Refusal};
use crate::rollout;
use crate::rollout::plan::Drift;

pub fn run(cx: &Ctx, args: &DeployArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    super::read_secrets(env)?;
    if env.confirm && !args.yes && !args.dry_run && !cx.ui.interactive() {
        return Err(crate::usage!(
            "environment `{}` has confirm = true and there is no terminal to ask: pass --yes to deploy",
            env.name
        ));
    }
    let saved = match &args.plan {
        // Read where `plan --out` wrote it: relative to `-C DIR` when given.
        Some(file) => Some(load_saved(&cx.cwd.join(file), &config, &env.name)?),
        None => None,
    };
    let stores = super::Stores::open(&config)?;
    let picked = match &saved {
        Some(plan) => picked_for(cx, &config, &stores, &plan.artifact.sha256, &plan.commit, &plan.version)?,
        None => super::pick(cx, &config, &stores, &args.reference, args.artifact.as_deref(), args.allow_dirty)?,
    };
    deliver(cx, &config, &stores, env, picked, saved, args, None)
}

/// Deploy `picked` to `env`, as `args` ask (a saved plan applied exactly when `saved`):
/// lock, plan, the gate, confirm, roll out. `promoted_from`: this is `ship promote` of what
/// that environment runs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn deliver(
    cx: &Ctx,
    config: &crate::config::Config,
    stores: &super::Stores<'_>,
    env: &crate::config::Environment,
    picked: super::Picked,
    saved: Option<rollout::Plan>,
    args: &DeployArgs,
    promoted_from: Option<&str>,
) -> Result<Exit> {
    let secrets = super::read_secrets(env)?;
    let must_confirm = env.confirm && !args.yes && !args.dry_run;
    // Pull mode: the targets fetch the artifact from the shared store themselves, so it is
    // put there first, before any target is reached: a store that fails changes nothing.
    let pull = match (env.pull, args.dry_run) {
        (true, false) => {
            // Recorded for other machines only when built here, with this config.
            stores.push(cx, &picked.artifact, (!picked.artifact.reused).then_some(&config.build))?;
            stores.shared()?
        }
        _ => None,
    };
    let mut targets = rollout::reach::connect_all(env, config)?;
    // A dry run reads the states without locking; a deploy reads them under its locks.
    let states = if args.dry_run {
        rollout::reach::read_states(&mut targets, env.workers)?
    } else {
        let command = match promoted_from {
            Some(from) => format!("ship promote {from} {}", env.name),
            None => format!("ship deploy {}", env.name),
        };
        rollout::reach::lock_all(&mut targets, &command, args.lock_wait.map(|w| w.0), env.workers, &cx.ui)?
    };
    let mut plan = super::plan::compute(config, env, &picked, &mut targets, states, args.force)?;
    if args.repair {
        mark_repairs(config, env, &mut targets, &mut plan)?;
    }
    if args.dry_run {
        if args.ignore_requires && env.requires.is_some() {
            cx.ui.warn("--ignore-requires: the `requires` gate would be skipped (and recorded)");
        }
        super::plan::mark_refusals(config, env, &picked, &mut targets, &mut plan, args.ignore_requires);
        super::plan::show(cx, &plan)?;
        return Ok(Exit::Success);
    }
    if let Some(saved) = &saved {
        if saved.changes && !plan.changes {
            // Every target already runs the plan's release, confirmed: a retry of a plan
            // that took effect is not an error, and there is nothing to do.
            cx.ui.status(&format!(
                "The saved plan was already applied: every target of {} runs {} (release {})",
                env.name, plan.version, plan.release
            ));
        } else {
            let mut drift = saved.drift(&plan);
            let actions = |p: &rollout::Plan| p.targets.iter().map(|t| t.action).collect::<Vec<_>>();
            if drift.is_empty() && actions(saved) != actions(&plan) {
                let what = "the actions computed now differ from the plan's".to_string();
                drift.push(Drift { target: None, what });
            }
            if !drift.is_empty() {
                return Err(stale(&env.name, drift));
            }
        }
    }
    // The gate guards what would change: `--force` never skips it; `--ignore-requires`
    // does, said aloud and journaled. Nothing changing (an up-to-date environment, a plan
    // applied before) passes whatever the required environment runs now.
    let mut gate_skipped = None;
    if plan.changes
        && let Some(required) = &env.requires
        && let Err(refusal) = check_requires(config, required, &picked.artifact.sha256)
    {
        if !args.ignore_requires {
            return Err(refusal);
        }
        let why = format!("the `requires = \"{required}\"` gate was skipped with --ignore-requires: {refusal:#}");
        cx.ui.warn(&why);
        gate_skipped = Some(why);
    }
    // A shared file that a target lacks and the release does not bring fails the deploy:
    // found before anything is written anywhere.
    super::plan::mark_shared_refusals(config, &picked, &mut targets, &mut plan);
    if let Some(t) = plan.targets.iter().find(|t| t.refused.is_some()) {
        let why = t.refused.as_deref().unwrap_or_default();
        return Err(Refusal::new(Exit::Error, "shared_missing", format!("{}: {why}; nothing was changed", t.target))
            .hint("`ship check ENV` lists what each target lacks")
            .detail("target", &t.target)
            .into());
    }
    if plan.changes && !cx.ui.json() {
        cx.ui.status(crate::ui::render::plan(&cx.ui, &plan).trim_end());
    }
    let question = match promoted_from {
        Some(from) => format!("Promote {} from {from} to {}?", plan.version, env.name),
        None => format!("Deploy {} to {}?", plan.version, env.name),
    };
    if plan.changes && must_confirm && !cx.ui.confirm(&question)? {
        return Err(anyhow::anyhow!(
            "{} cancelled: nothing was changed",
            promoted_from.map_or("deploy", |_| "promotion")
        ));
    }
    let kind = if promoted_from.is_some() { "promote" } else { "deploy" };
    let run = crate::rollout::Run { kind, gate_skipped, promoted_from: promoted_from.map(str::to_string), pull };
    super::execute(cx, config, env, secrets, run, |rcx| rollout::deploy(rcx, &plan, &picked.artifact, targets))
}

/// `--repair`: every target on which this artifact is live is rehashed against it; one
/// whose files changed is to be rebuilt from the artifact.
fn mark_repairs(
    config: &crate::config::Config,
    env: &crate::config::Environment,
    targets: &mut [Box<dyn crate::agent::Target>],
    plan: &mut rollout::Plan,
) -> Result<()> {
    use crate::config::{On, When};
    for (target, tp) in targets.iter_mut().zip(plan.targets.iter_mut()) {
        if tp.action == rollout::Action::Noop && tp.current.as_ref().is_some_and(|c| c.release == plan.release) {
            let changed = target
                .verify(&config.release)
                .map_err(|e| e.context(format!("checking the live files of {}", tp.target)))?;
            if !changed.is_empty() {
                tp.action = rollout::Action::Repair;
                tp.changed = changed;
            }
        }
    }
    // The steps of every target that changes, in the order they run, by its roles; `on =
    // "first"` ones on the first of them with the step's roles, as the rollout runs them
    // (what `unless` skips is kept).
    let active: Vec<usize> =
        (0..plan.targets.len()).filter(|i| plan.targets[*i].action != rollout::Action::Noop).collect();
    for (i, tp) in plan.targets.iter_mut().enumerate().filter(|(_, t)| t.action != rollout::Action::Noop) {
        let before = std::mem::take(&mut tp.steps);
        tp.steps = [When::BeforeSwitch, When::AfterSwitch]
            .into_iter()
            .flat_map(|w| config.steps_at(w))
            .filter(|s| env.runs_step(s, i, &active))
            .map(|s| rollout::PlannedStep {
                name: s.name.clone(),
                when: s.when,
                skip: before.iter().any(|b| b.name == s.name && b.skip),
            })
            .collect();
    }
    plan.changes = plan.targets.iter().any(|t| t.action != rollout::Action::Noop);
    if plan.changes && plan.local_steps.is_empty() {
        plan.local_steps = [When::BeforeSwitch, When::AfterSwitch]
            .into_iter()
            .flat_map(|w| config.steps_at(w))
            .filter(|s| s.on == On::Local)
            .map(|s| rollout::PlannedStep { name: s.name.clone(), when: s.when, skip: false })
            .collect();
    }
    Ok(())
}

/// A saved plan that no longer holds: exit 6, with each change.
fn stale(env: &str, drift: Vec<Drift>) -> anyhow::Error {
    let lines: Vec<String> = drift.iter().map(ToString::to_string).collect();
    Refusal::new(
        Exit::StalePlan,
        "stale_plan",
        format!("the saved plan is stale, nothing was changed:\n  {}", lines.join("\n  ")),
    )
    .hint(format!("make a new plan with `ship plan {env} --out FILE`"))
    .detail("stale", drift)
    .into()
}

/// `requires = "staging"`: the artifact must be live, confirmed, on every staging target.
/// A refusal (exit 1) names the first target that does not run it.
pub(crate) fn check_requires(config: &crate::config::Config, required: &str, sha256: &str) -> Result<()> {
    let env = config.env(required)?;
    let mut targets = rollout::reach::connect_all(env, config)?;
    let states = rollout::reach::read_states(&mut targets, env.workers)?;
    for (spec, state) in env.targets.iter().zip(states) {
        let live = state.current.as_ref().filter(|_| state.confirmed);
        if live.and_then(|c| c.sha256.as_deref()) != Some(sha256) {
            let runs = live.map_or("nothing confirmed live".to_string(), |c| {
                format!("{} ({})", c.version.as_deref().unwrap_or("?"), c.release)
            });
            let gate = serde_json::json!({
                "requires": required,
                "artifact": sha256,
                "target": spec.to_string(),
                "runs": live.map(crate::release::ReleaseState::reference),
            });
            return Err(Refusal::new(
                Exit::Error,
                "gate",
                format!(
                    "this environment requires `{required}` first, and artifact {} is not live there: {spec} runs {runs}",
                    crate::ui::render::prefix(sha256, 12)
                ),
            )
            .hint(format!("deploy it to {required} first, or skip this gate with --ignore-requires (it is recorded)"))
            .detail("gate", gate)
            .into());
        }
    }
    Ok(())
}

/// Read a plan saved by `ship plan --out`, refusing one that is corrupt, of an unknown
/// format, for another app or environment (exit 2), or made from another deploy.toml (exit 6).
fn load_saved(file: &std::path::Path, config: &crate::config::Config, env: &str) -> Result<rollout::Plan> {
    let text =
        std::fs::read_to_string(file).map_err(|e| crate::usage!("cannot read the plan {}: {e}", file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| crate::usage!("{} is not a ship plan: it is not JSON ({e})", file.display()))?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(rollout::plan::FORMAT) => {}
        Some(f) => {
            return Err(crate::usage!(
                "{} is a plan of format {f}; this ship reads format {}: make the plan with this ship",
                file.display(),
                rollout::plan::FORMAT
            ));
        }
        None => return Err(crate::usage!("{} is not a ship plan: it has no format", file.display())),
    }
    let plan: rollout::Plan =
        serde_json::from_value(value).map_err(|e| crate::usage!("{} is a corrupt ship plan: {e}", file.display()))?;
    if !crate::digest::is_sha256(&plan.artifact.sha256) {
        return Err(crate::usage!("{} is a corrupt ship plan: its artifact sha256 is not one", file.display()));
    }
    if plan.app != config.app {
        return Err(crate::usage!(
            "{} is a plan for app `{}`, and this deploy.toml is for `{}`",
            file.display(),
            plan.app,
            config.app
        ));
    }
    if plan.env != env {
        return Err(crate::usage!("{} is a plan for environment `{}`, not `{env}`", file.display(), plan.env));
    }
    if plan.config_sha256 != config.fingerprint {
        let what = format!("{} changed since the plan was made", config.path.display());
        return Err(stale(env, vec![Drift { target: None, what }]));
    }
    Ok(plan)
}

/// The artifact `sha256` (of `commit`, labelled `label`): from the store, or rebuilt from
/// its commit, which must give the very same sha256 (builds are reproducible).
pub(crate) fn picked_for(
    cx: &Ctx,
    config: &crate::config::Config,
    stores: &super::Stores<'_>,
    sha256: &str,
    commit: &str,
    label: &str,
) -> Result<super::Picked> {
    if let Some(path) = stores.get(cx, sha256)? {
        let size = std::fs::metadata(&path)?.len();
        let artifact =
            crate::artifact::Artifact { sha256: sha256.into(), path, size, commit: commit.into(), reused: true };
        return Ok(super::Picked { label: label.to_string(), commit: commit.to_string(), artifact, built: None });
    }
    cx.ui.status(&format!(
        "Artifact {} is in no store: rebuilding commit {}",
        crate::ui::render::prefix(sha256, 12),
        crate::ui::render::prefix(commit, 12)
    ));
    let picked = super::pick(cx, config, stores, commit, None, true)?;
    if picked.artifact.sha256 != sha256 {
        anyhow::bail!(
            "rebuilding commit {commit} gave artifact {}, not {sha256}: the build is not reproducible here; \
             deploy from the machine that built it",
            picked.artifact.sha256,
        );
    }
    Ok(super::Picked { label: label.to_string(), ..picked })
}
