//! `ship exec ENV -- CMD ARGS...`: run a command (an argv, no shell) in the live release of
//! each picked target, with the environment a step gets there, its output streamed after the
//! target's name and every secret blanked out; then a table of exit codes.
//!
//! It takes no lock unless `--lock` is given: the command changes nothing of ship's.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::Result;

use super::Ctx;
use crate::agent::Target;
use crate::cli::ExecArgs;
use crate::config::{Config, Environment, TargetSpec};
use crate::error::{Exit, Refusal};
use crate::process::Ended;
use crate::release::{ExecRequest, State};
use crate::ui::report::exec::{Report, TargetRun};

/// The most output lines of a target the JSON document keeps.
const MAX_KEPT_LINES: usize = 100_000;

pub fn run(cx: &Ctx, args: &ExecArgs) -> Result<Exit> {
    if args.command.first().is_none_or(String::is_empty) {
        return Err(crate::usage!("no command to run: give it after `--`, as in `ship exec {} -- uptime`", args.env));
    }
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let picked = select(env, &args.roles, &args.targets)?;
    let secrets = super::read_secrets(env)?;
    let redactor = crate::redact::Redactor::new(secrets.iter().map(|(_, v)| v.as_str()));
    let parallel = args.parallel.map_or(env.workers, usize::from).max(1);

    // A secret the caller's shell put in the command is not shown either.
    let shown: Vec<String> = args.command.iter().map(|a| redactor.redact(a)).collect();
    cx.ui.status(&format!(
        "Running `{}` on {} target(s) of {}{}",
        shown.join(" "),
        picked.len(),
        env.name,
        if args.lock { ", holding their locks" } else { "" }
    ));
    // Each target on its own: one that cannot be reached is its own error, and the others
    // still run.
    let mut runs: Vec<Option<TargetRun>> = picked.iter().map(|_| None).collect();
    let mut reached: Vec<(usize, usize)> = Vec::new();
    let mut targets: Vec<Box<dyn Target>> = Vec::new();
    for (slot, (i, connected)) in connect(env, &config, &picked).into_iter().enumerate() {
        match connected {
            Ok(target) => {
                reached.push((slot, i));
                targets.push(target);
            }
            Err(e) => runs[slot] = Some(failed(env, i, redactor.redact(&format!("{e:#}")), Instant::now())),
        }
    }
    let mut states: Vec<Option<State>> = targets.iter().map(|_| None).collect();
    if args.lock {
        // As a deploy takes them: all at once, then one by one in a fixed order on a
        // conflict; a target held by someone else is exit 3, with nothing run anywhere.
        let command = format!("ship exec {}", env.name);
        let wait = args.lock_wait.map(|w| w.0);
        let locked = crate::rollout::reach::lock_all(&mut targets, &command, wait, parallel, &cx.ui)?;
        states = locked.into_iter().map(Some).collect();
    }
    let mut jobs: Vec<Job> = reached
        .into_iter()
        .zip(targets)
        .zip(states)
        .map(|(((slot, index), target), state)| Job { slot, index, target, state })
        .collect();

    let json = cx.ui.json();
    let done = crate::pool::map(&mut jobs, parallel, |job| {
        let started = Instant::now();
        let name = env.targets[job.index].to_string();
        let mut output = Vec::new();
        let mut dropped = 0usize;
        let mut on_line = |line: &str| {
            let line = redactor.redact(line);
            // Escapes and carriage returns from the target never reach the terminal raw: a
            // line cannot clear the screen or pass for another target's.
            let printable = crate::ui::render::printable(&line);
            if json {
                cx.ui.status(&format!("{name}: {printable}"));
                // Kept for the document, up to a bound: `tail -f` must not eat the memory.
                if output.len() < MAX_KEPT_LINES {
                    output.push(line);
                } else {
                    dropped += 1;
                }
            } else {
                let _ = cx.ui.out(&format!("{}: {printable}", cx.ui.paint_out(&name, crate::ui::Paint::Bold)));
            }
        };
        let ran = run_one(&config, env, job, &args.command, &secrets, &mut on_line);
        if args.lock {
            let _ = job.target.unlock();
        }
        job.target.close();
        let mut run = match ran {
            Ok(run) => run,
            Err(e) => failed(env, job.index, redactor.redact(&format!("{e:#}")), started),
        };
        if dropped > 0 {
            output.push(format!("[{dropped} more lines not kept: the document keeps the first {MAX_KEPT_LINES}]"));
        }
        run.output = output;
        (job.slot, run)
    });
    for (slot, run) in done {
        runs[slot] = Some(run);
    }
    let report = Report { env: env.name.clone(), command: shown, targets: runs.into_iter().flatten().collect() };
    if json {
        cx.ui.out_json(&report)?;
    } else {
        cx.ui.out(&crate::ui::report::exec::render(&cx.ui, &report))?;
    }
    Ok(if report.succeeded() { Exit::Success } else { Exit::Error })
}

/// One picked target, once reached: where its result goes, and its state when it was read
/// under its lock.
struct Job {
    slot: usize,
    index: usize,
    target: Box<dyn Target>,
    state: Option<State>,
}

/// The positions of the targets that `roles` and `targets` pick (every target when neither
/// is given). An unknown role or target is exit 2, naming the ones there are.
fn select(env: &Environment, roles: &[String], targets: &[String]) -> Result<Vec<usize>> {
    let known_roles: BTreeSet<&str> = env.roles.iter().flatten().map(String::as_str).collect();
    for role in roles {
        if !known_roles.contains(role.as_str()) {
            let known: Vec<&str> = known_roles.iter().copied().collect();
            return Err(Refusal::new(
                Exit::Usage,
                "unknown_role",
                format!("no target of `{}` has the role \"{role}\"", env.name),
            )
            .hint(format!("its targets' roles: {}", known.join(", ")))
            .detail("roles", &known)
            .into());
        }
    }
    let mut wanted = BTreeSet::new();
    for url in targets {
        let by_spec = url.parse::<TargetSpec>().ok().and_then(|spec| env.index_of(&spec));
        match by_spec.or_else(|| env.targets.iter().position(|t| t.to_string() == *url)) {
            Some(i) => {
                wanted.insert(i);
            }
            None => {
                let known: Vec<String> = env.targets.iter().map(ToString::to_string).collect();
                return Err(Refusal::new(Exit::Usage, "unknown_target", format!("`{}` has no target {url}", env.name))
                    .hint(format!("its targets: {}", known.join(", ")))
                    .detail("targets", &known)
                    .into());
            }
        }
    }
    let picked: Vec<usize> = (0..env.targets.len())
        .filter(|i| env.has_any_role(*i, roles) && (targets.is_empty() || wanted.contains(i)))
        .collect();
    if picked.is_empty() {
        return Err(crate::usage!(
            "none of the targets given with --target has any of the roles given with --role ({}); nothing was run",
            roles.join(", ")
        ));
    }
    Ok(picked)
}

/// Reach the picked targets at once, each on its own; in the order of `picked`.
fn connect(env: &Environment, config: &Config, picked: &[usize]) -> Vec<(usize, Result<Box<dyn Target>>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            picked.iter().map(|i| (*i, scope.spawn(|| crate::agent::connect(&env.targets[*i], &config.ssh)))).collect();
        handles
            .into_iter()
            .map(|(i, h)| (i, h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a connection thread panicked")))))
            .collect()
    })
}

/// Run the command on one reached target: read its state (unless read under its lock),
/// make the step environment of its live release, and run it there.
fn run_one(
    config: &Config,
    env: &Environment,
    job: &mut Job,
    argv: &[String],
    secrets: &[(String, String)],
    on_line: &mut dyn FnMut(&str),
) -> Result<TargetRun> {
    let state = match job.state.take() {
        Some(state) => state,
        None => job.target.state()?,
    };
    let Some(current) = &state.current else {
        anyhow::bail!("nothing is live on this target: deploy first");
    };
    let live = current.reference();
    let subject = crate::rollout::plan::Subject::of(&live);
    let previous = state.previous.as_ref().map(|p| p.release.as_str());
    let spec = &env.targets[job.index];
    let vars = crate::rollout::step_env(config, env, spec, &subject, current.release.as_str(), previous, secrets);
    let request = ExecRequest { argv: argv.to_vec(), release: current.release.clone(), env: vars };
    let result = job.target.exec(request, on_line)?;
    let (exit, error) = match result.ended {
        Ended::Exited(code) => (code, None),
        Ended::TimedOut => (None, Some("timed out".to_string())),
        Ended::Cancelled => (None, Some("cancelled".to_string())),
    };
    Ok(TargetRun {
        target: spec.to_string(),
        roles: env.roles_of(job.index).to_vec(),
        exit,
        signal: result.signal,
        output: Vec::new(),
        duration_ms: result.duration_ms,
        error,
    })
}

/// A target where the command did not run, and why.
fn failed(env: &Environment, index: usize, error: String, started: Instant) -> TargetRun {
    TargetRun {
        target: env.targets[index].to_string(),
        roles: env.roles_of(index).to_vec(),
        exit: None,
        signal: None,
        output: Vec::new(),
        duration_ms: started.elapsed().as_millis() as u64,
        error: Some(error),
    }
}
