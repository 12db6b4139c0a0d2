//! `ship plan` (and `deploy --dry-run`): what a deploy would do, touching nothing.

use anyhow::Result;

use super::{Ctx, Picked};
use crate::agent::Target;
use crate::cli::PlanArgs;
use crate::config::{Config, Environment};
use crate::error::Exit;
use crate::rollout::plan::{self, Plan};

pub fn run(cx: &Ctx, args: &PlanArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let stores = super::Stores::open(&config)?;
    let picked = super::pick(cx, &config, &stores, &args.reference, None, args.allow_dirty)?;
    let mut targets = crate::rollout::reach::connect_all(env, &config)?;
    let states = crate::rollout::reach::read_states(&mut targets, env.workers)?;
    let mut plan = compute(&config, env, &picked, &mut targets, states, false)?;
    mark_refusals(&config, env, &picked, &mut targets, &mut plan, false);
    if let Some(file) = &args.out {
        save(&plan, &cx.cwd.join(file))?;
        cx.ui.status(&format!("Saved the plan to {}; apply it with: {}", file.display(), apply_command(cx, env, file)));
    }
    show(cx, &plan)?;
    Ok(if args.exit_code && plan.changes { Exit::ChangesPending } else { Exit::Success })
}

/// The command that applies a plan saved to `file`, as this one was run: the same `-C` and
/// `-f`, and `--yes` where the environment asks for a confirmation.
fn apply_command(cx: &Ctx, env: &Environment, file: &std::path::Path) -> String {
    let mut words = vec!["ship".to_string()];
    if let Some(dir) = &cx.directory {
        words.extend(["-C".to_string(), quote(&dir.to_string_lossy())]);
    }
    if let Some(config) = &cx.file {
        words.extend(["-f".to_string(), quote(&config.to_string_lossy())]);
    }
    // A file name that starts with `-` would read as an option: `./-p.json` reads as a path.
    let file = file.to_string_lossy();
    let file = if file.starts_with('-') { format!("./{file}") } else { file.into_owned() };
    words.extend(["deploy".to_string(), quote(&env.name), "--plan".to_string(), quote(&file)]);
    if env.confirm {
        words.push("--yes".to_string());
    }
    words.join(" ")
}

/// `word` as a POSIX shell reads it back: as is when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+-,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Mark what a deploy of this plan would be refused for, before anything is done: the
/// `requires` gate, and on each target a shared file that does not exist and that the
/// release does not bring.
/// (`ignore_gate`: `--ignore-requires` was given).
pub(crate) fn mark_refusals(
    config: &Config,
    env: &Environment,
    picked: &Picked,
    targets: &mut [Box<dyn Target>],
    plan: &mut Plan,
    ignore_gate: bool,
) {
    if !plan.changes {
        return;
    }
    mark_shared_refusals(config, picked, targets, plan);
    let gate = env.requires.as_ref().filter(|_| !ignore_gate).and_then(|required| {
        super::deploy::check_requires(config, required, &picked.artifact.sha256).err().map(|e| format!("{e:#}"))
    });
    let target = plan.targets.iter().find_map(|t| t.refused.as_ref().map(|why| format!("{}: {why}", t.target)));
    plan.refused = gate.or(target);
}

/// Mark each target to which the deploy would send the release where a shared file does
/// not exist and the release does not bring one.
pub(crate) fn mark_shared_refusals(config: &Config, picked: &Picked, targets: &mut [Box<dyn Target>], plan: &mut Plan) {
    if config.release.shared.is_empty() {
        return;
    }
    let manifest = crate::artifact::read_manifest(&picked.artifact.path).ok();
    let has = |p: &str| manifest.as_ref().is_some_and(|m| m.has_path(p));
    for (target, tp) in targets.iter_mut().zip(plan.targets.iter_mut()) {
        if tp.action != plan::Action::Deploy {
            continue;
        }
        let Ok(check) = target.check(&config.release.shared) else { continue };
        if let Some(error) = check.error {
            tp.refused = Some(error);
        } else if let Some(path) = check.shared_missing.iter().find(|p| crate::release::unseedable(p, has)) {
            tp.refused = Some(format!(
                "shared/{path} does not exist there and the release has no {path} to start it from: \
                 create it on the target first"
            ));
        }
    }
}

/// The plan of a deploy of `picked`, from the targets' `states` (in the targets' order).
pub(crate) fn compute(
    config: &Config,
    env: &Environment,
    picked: &Picked,
    targets: &mut [Box<dyn Target>],
    states: Vec<crate::release::State>,
    force: bool,
) -> Result<Plan> {
    let release = crate::release::release_id(&picked.artifact.sha256);
    let subject = || plan::Subject { version: &picked.label, commit: &picked.commit, sha256: &picked.artifact.sha256 };
    // `unless` sees what it will see during the deploy (secrets that are set, too).
    let secrets: Vec<(String, String)> =
        env.secrets.iter().filter_map(|name| std::env::var(name).ok().map(|v| (name.clone(), v))).collect();
    Ok(plan::compute(config, env, subject(), &states, force, |i, unless| {
        let previous = states[i].current.as_ref().map(|c| c.release.as_str());
        let vars = crate::rollout::step_env(config, env, &env.targets[i], &subject(), &release, previous, &secrets);
        targets[i].would_skip(unless, &release, &vars).unwrap_or(false)
    }))
}

pub(crate) fn show(cx: &Ctx, plan: &Plan) -> Result<()> {
    cx.ui.clear();
    if cx.ui.json() {
        cx.ui.out_json(plan)?;
    } else {
        cx.ui.out(&crate::ui::render::plan(&cx.ui, plan))?;
    }
    Ok(())
}

/// Write the plan as JSON, atomically (a temporary file renamed into place).
fn save(plan: &Plan, path: &std::path::Path) -> Result<()> {
    use anyhow::Context as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing the plan into {}", dir.display()))?;
    serde_json::to_writer_pretty(&mut tmp, plan)?;
    std::io::Write::write_all(&mut tmp, b"\n")?;
    tmp.persist(path).with_context(|| format!("saving the plan to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn quote_reads_back_as_one_word() {
        assert_eq!(super::quote("plan.json"), "plan.json");
        assert_eq!(super::quote("my plan.json"), "'my plan.json'");
        assert_eq!(super::quote("it's"), "'it'\\''s'");
        assert_eq!(super::quote(""), "''");
        assert_eq!(super::quote("$HOME"), "'$HOME'");
    }
}
