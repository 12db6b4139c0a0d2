//! `ship prune ENV`: remove from every target what no rollback needs, under the targets'
//! locks; `--dry-run` says what would go, and why the rest stays.

use anyhow::Result;

use super::Ctx;
use crate::agent::Target;
use crate::cli::PruneArgs;
use crate::error::Exit;
use crate::release::prune::Pruning;
use crate::ui::report::prune::{Report, TargetReport};

pub fn run(cx: &Ctx, args: &PruneArgs) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(&args.env)?;
    let keep = args.keep.unwrap_or(config.release.keep);
    // A target that cannot be reached is reported, and the others are pruned.
    let mut connected = crate::rollout::reach::connect_each(env, &config);
    // Whether anything was ever deployed there, read from every target at once.
    let deployed: Vec<Result<bool>> = crate::pool::map(&mut connected, env.workers, |(_, target)| {
        let target = target.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let state = target.state()?;
        Ok(state.current.is_some() || !state.releases.is_empty())
    });
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut targets: Vec<(usize, Box<dyn Target>)> = Vec::new();
    for ((name, target), deployed) in connected.into_iter().zip(deployed) {
        let mut report = TargetReport { target: name, pruning: None, error: None };
        match target.and_then(|t| deployed.map(|d| (t, d))) {
            // Nothing was ever deployed here: nothing to prune, and nothing is created.
            Ok((_, false)) => report.pruning = Some(Pruning::default()),
            Ok((t, _)) => targets.push((reports.len(), t)),
            Err(e) => report.error = Some(format!("{e:#}")),
        }
        reports.push(report);
    }
    let (order, mut locked): (Vec<usize>, Vec<Box<dyn Target>>) = targets.into_iter().unzip();
    if !args.dry_run {
        let command = format!("ship prune {}", env.name);
        crate::rollout::reach::lock_all(&mut locked, &command, args.lock_wait.map(|w| w.0), env.workers, &cx.ui)?;
    }
    // One target failing (a full disk, a permission) does not stop the others: what they
    // no longer need goes, and the failure is reported with exit 1. Pruning again is safe.
    let pruned = crate::pool::map(&mut locked, env.workers, |t| {
        let pruning = t.prune(keep, args.dry_run);
        let _ = t.unlock();
        pruning
    });
    for (i, pruning) in order.iter().zip(pruned) {
        match pruning {
            Ok(pruning) => reports[*i].pruning = Some(pruning),
            Err(e) => reports[*i].error = Some(format!("{e:#}")),
        }
    }
    let bytes = reports.iter().filter_map(|r| r.pruning.as_ref()).map(|p| p.bytes).sum();
    let report = Report { env: env.name.clone(), dry_run: args.dry_run, keep, bytes, targets: reports };
    if cx.ui.json() {
        cx.ui.out_json(&report)?;
    } else {
        cx.ui.out(&crate::ui::report::prune::render(&cx.ui, &report))?;
    }
    let failed = |t: &TargetReport| t.error.is_some() || t.pruning.as_ref().is_some_and(|p| !p.errors().is_empty());
    Ok(if report.targets.iter().any(failed) { Exit::Error } else { Exit::Success })
}
