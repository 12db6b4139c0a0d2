//! DORA's four keys for one environment: deployment frequency, lead time for changes, change
//! failure rate and time to restore, each with its performance band, from the environment's
//! deploys and rollbacks (its journals, merged across targets) and from git.
//!
//! What counts, decided once here and told in the README ("Metrics"):
//! - A deploy is a journaled deploy run that brought a release to a target that did not run
//!   it. A no-op deploy leaves no record; `--force` or `--repair` of the release every target
//!   already ran is no change, and not a deploy.
//! - A deploy failed when its fleet outcome is anything but `succeeded` (`rolled_back`,
//!   `inconsistent`, `failed`, or cut off with no end), or when `ship rollback` later took its
//!   release off: a rollback undoes the latest successful deploy before it when that deploy's
//!   release is one the rollback left. Every other deploy is successful.
//! - Lead time: for every commit a successful deploy newly brought to the environment (the
//!   commits reachable from the deployed commit and from none that its targets ran before; a
//!   first deploy brings just its own commit), the deploy's end minus the commit's committer
//!   time (0 if the commit is dated later). The median over all those commits.
//! - Time to restore: from a failed deploy's end to the end of the next deploy or rollback
//!   that succeeded. The median over the failures restored; one not restored yet is counted
//!   apart.
//! - The window holds what ended in it: `--since` before now, up to now. Frequency is the
//!   successful deploys in it per week of it.
//!
//! Nothing here reads a target, git or the clock: the command hands in the runs, a way to
//! ask git what a deploy brought, and the window. Figures that cannot be computed are `None`
//! (null in JSON), never NaN.

use crate::ids::{CommitId, ReleaseId};
use std::collections::HashMap;

use serde::Serialize;

use crate::release::RunKind;

/// One deploy or rollback, as the command read it from the journals (times in seconds since
/// the epoch).
#[derive(Debug, Clone)]
pub struct Run {
    pub kind: RunKind,
    pub began: i64,
    pub began_at: String,
    pub ended: i64,
    pub ended_at: String,
    /// The fleet's outcome: `succeeded`, `rolled_back`, `inconsistent`, `failed`,
    /// `interrupted`, ...
    pub outcome: String,
    /// The release deployed, or rolled back to.
    pub release: Option<ReleaseId>,
    /// What the targets ran when it began, each once (`None`: a target with nothing live).
    pub from: Vec<Option<ReleaseId>>,
    pub version: Option<String>,
    pub commit: Option<CommitId>,
    pub user: Option<String>,
    /// Each target it touched and that target's outcome.
    pub targets: Vec<(String, String)>,
}

/// A performance band, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Elite,
    High,
    Medium,
    Low,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Elite => "elite",
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
        }
    }
}

/// How a figure is held against a band's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    AtLeast,
    LessThan,
    AtMost,
}

/// The limits of one key: a figure within `elite`'s is elite, else within `high`'s is high,
/// else within `medium`'s is medium, else low.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub elite: f64,
    pub high: f64,
    pub medium: f64,
    pub rule: Rule,
}

impl Limits {
    pub fn band(&self, value: f64) -> Band {
        let within = |limit: f64| match self.rule {
            Rule::AtLeast => value >= limit,
            Rule::LessThan => value < limit,
            Rule::AtMost => value <= limit,
        };
        if within(self.elite) {
            Band::Elite
        } else if within(self.high) {
            Band::High
        } else if within(self.medium) {
            Band::Medium
        } else {
            Band::Low
        }
    }
}

/// The thresholds of the bands, and where they come from.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub source: &'static str,
    pub year: u16,
    pub deployment_frequency_per_week: Limits,
    pub lead_time_hours: Limits,
    pub change_failure_rate: Limits,
    pub time_to_restore_hours: Limits,
}

/// The Accelerate State of DevOps Report 2023 (DORA) gives its four clusters as: deployment
/// frequency on demand / between once a day and once a week / between once a week and once a
/// month / (low) the same as medium; lead time less than a day / a day to a week / a week to a
/// month / (low) the same as medium; change failure rate 5% / 10% / 15% / 64%; failed
/// deployment recovery time less than an hour / less than a day / a day to a week / a month
/// to six months. Read as limits: elite deploys at least daily (7 a week), high at least
/// weekly, medium at least monthly (7/30 a week), low less often; lead time and time to
/// restore below each band's upper end (a month is 30 days); each cluster's failure rate is
/// the most its band allows.
pub const THRESHOLDS: Thresholds = Thresholds {
    source: "Accelerate State of DevOps Report 2023 (DORA)",
    year: 2023,
    deployment_frequency_per_week: Limits { elite: 7.0, high: 1.0, medium: 7.0 / 30.0, rule: Rule::AtLeast },
    lead_time_hours: Limits { elite: 24.0, high: 168.0, medium: 720.0, rule: Rule::LessThan },
    change_failure_rate: Limits { elite: 0.05, high: 0.10, medium: 0.15, rule: Rule::AtMost },
    time_to_restore_hours: Limits { elite: 1.0, high: 24.0, medium: 168.0, rule: Rule::LessThan },
};

/// The report: `--format json` prints it, the human table and the HTML page render it.
#[derive(Debug, Serialize)]
pub struct Report {
    pub env: String,
    pub app: String,
    /// The window's length as given, e.g. `30d`.
    pub since: String,
    pub window: Window,
    pub deployment_frequency_per_week: f64,
    pub lead_time_hours_median: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub time_to_restore_hours_median: Option<f64>,
    /// The lowest band of the keys that have a figure.
    pub band: Band,
    pub bands: Bands,
    pub thresholds: Thresholds,
    pub counts: Counts,
    /// Deploys per week of the window, oldest first.
    pub weeks: Vec<Week>,
    /// Every deploy and rollback that ended in the window, oldest first.
    pub events: Vec<EventRow>,
    /// Every failed deploy of the window, and what restored it.
    pub restores: Vec<Restore>,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct Bands {
    pub deployment_frequency: Band,
    pub lead_time: Option<Band>,
    pub change_failure_rate: Option<Band>,
    pub time_to_restore: Option<Band>,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub deploys: usize,
    pub successful: usize,
    pub failed: usize,
    /// Failed deploys that had succeeded, then were undone by `ship rollback`.
    pub undone_by_rollback: usize,
    pub rollbacks: usize,
    /// The commits lead time is measured on.
    pub commits: usize,
    /// Successful deploys whose commit is not in the repository: no lead time.
    pub commits_unknown: usize,
    pub restored: usize,
    pub unrestored: usize,
}

#[derive(Debug, Serialize)]
pub struct Week {
    pub start: String,
    pub end: String,
    pub succeeded: usize,
    pub failed: usize,
}

#[derive(Debug, Serialize)]
pub struct EventRow {
    pub kind: RunKind,
    pub at: String,
    pub ended_at: String,
    pub version: Option<String>,
    pub commit: Option<crate::ids::CommitId>,
    pub release: Option<crate::ids::ReleaseId>,
    pub outcome: String,
    pub user: Option<String>,
    /// `successful` or `failed` for a deploy; null for a rollback, or a deploy that changed
    /// nothing.
    pub counted: Option<&'static str>,
    /// When `ship rollback` undid this deploy.
    pub undone_at: Option<String>,
    /// The commits it newly brought (a successful deploy's; null when unknown).
    pub commits: Option<usize>,
    pub lead_time_hours_median: Option<f64>,
    pub targets: Vec<TargetRow>,
}

#[derive(Debug, Serialize)]
pub struct TargetRow {
    pub target: String,
    pub outcome: String,
}

#[derive(Debug, Serialize)]
pub struct Restore {
    pub failed_at: String,
    pub version: Option<String>,
    pub restored_at: Option<String>,
    /// `deploy` or `rollback`.
    pub restored_by: Option<RunKind>,
    pub restored_version: Option<String>,
    pub hours: Option<f64>,
}

/// What git says a deploy brought: `brought(to, from)` gives the commits reachable from `to`
/// and from none of `from`, with committer times (`from` empty: `to` alone); `None` when `to`
/// is unknown.
pub type Brought<'a> = &'a dyn Fn(&str, &[String]) -> Option<Vec<(String, i64)>>;

/// Where each deploy stands once rollbacks are applied.
struct Judged {
    /// Index into the runs.
    run: usize,
    ok: bool,
    /// The index of the rollback that undid it.
    undone_by: Option<usize>,
}

/// Compute the report. `runs` in any order; `window` is (start, end) in seconds since the
/// epoch; `since` is the window's length as the person gave it.
pub fn compute(env: &str, app: &str, since: &str, window: (i64, i64), runs: &[Run], brought: Brought<'_>) -> Report {
    let (start, end) = window;
    let mut runs: Vec<&Run> = runs.iter().collect();
    runs.sort_by_key(|r| r.began);
    // What each release is, as any run tells.
    let commit_of: HashMap<&str, &str> =
        runs.iter().filter_map(|r| Some((r.release.as_deref()?, r.commit.as_deref()?))).collect();

    // Deploys, judged in order. As in the journal's ledger, the successful deploys still
    // standing make a stack: a rollback undoes the top one when it left that release, then
    // goes down to the release it restored.
    let mut judged: Vec<Judged> = Vec::new();
    // (index into judged, index into runs)
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        match run.kind {
            RunKind::Deploy if is_change(run) => {
                let ok = run.outcome == "succeeded";
                if ok {
                    stack.push((judged.len(), i));
                }
                judged.push(Judged { run: i, ok, undone_by: None });
            }
            RunKind::Rollback => {
                let left = stack.last().copied().filter(|&(_, r)| run.from.contains(&runs[r].release));
                if let Some((j, _)) = left {
                    judged[j].undone_by = Some(i);
                }
                match stack.iter().rposition(|&(_, r)| runs[r].release == run.release) {
                    Some(at) => stack.truncate(at + 1),
                    None if left.is_some() => {
                        stack.pop();
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    let inside = |r: &Run| r.ended >= start && r.ended <= end;
    let successful = |d: &Judged| d.ok && d.undone_by.is_none();

    let mut counts = Counts::default();
    let mut rows: Vec<EventRow> = Vec::new();
    let mut lead_times: Vec<i64> = Vec::new();
    let mut restores: Vec<Restore> = Vec::new();
    let mut restore_secs: Vec<i64> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        if !inside(run) {
            continue;
        }
        let judged = judged.iter().find(|d| d.run == i);
        let mut row = EventRow {
            kind: run.kind,
            at: run.began_at.clone(),
            ended_at: run.ended_at.clone(),
            version: run.version.clone(),
            commit: run.commit.clone(),
            release: run.release.clone(),
            outcome: run.outcome.clone(),
            user: run.user.clone(),
            counted: None,
            undone_at: None,
            commits: None,
            lead_time_hours_median: None,
            targets: run.targets.iter().map(|(t, o)| TargetRow { target: t.clone(), outcome: o.clone() }).collect(),
        };
        if run.kind == RunKind::Rollback {
            counts.rollbacks += 1;
        }
        if let Some(d) = judged {
            counts.deploys += 1;
            row.undone_at = d.undone_by.map(|u| runs[u].ended_at.clone());
            if successful(d) {
                counts.successful += 1;
                row.counted = Some("successful");
                let from: Vec<String> = run
                    .from
                    .iter()
                    .flatten()
                    .filter_map(|r| commit_of.get(r.as_str()))
                    .map(|c| c.to_string())
                    .collect();
                match run.commit.as_deref().and_then(|c| brought(c, &from)) {
                    Some(commits) => {
                        let mut mine: Vec<i64> = commits.iter().map(|(_, t)| (run.ended - t).max(0)).collect();
                        counts.commits += mine.len();
                        row.commits = Some(mine.len());
                        row.lead_time_hours_median = median(&mut mine).map(hours);
                        lead_times.extend(mine);
                    }
                    None => counts.commits_unknown += 1,
                }
            } else {
                counts.failed += 1;
                row.counted = Some("failed");
                if d.undone_by.is_some() {
                    counts.undone_by_rollback += 1;
                }
                // Restored by the next deploy or rollback that succeeded: for a deploy a
                // rollback undid, that rollback, or the next one after it.
                let after = d.undone_by.unwrap_or(i + 1);
                let next = runs[after..].iter().find(|r| r.outcome == "succeeded");
                let secs = next.map(|r| (r.ended - run.ended).max(0));
                match secs {
                    Some(s) => {
                        counts.restored += 1;
                        restore_secs.push(s);
                    }
                    None => counts.unrestored += 1,
                }
                restores.push(Restore {
                    failed_at: run.ended_at.clone(),
                    version: run.version.clone(),
                    restored_at: next.map(|r| r.ended_at.clone()),
                    restored_by: next.map(|r| r.kind),
                    restored_version: next.and_then(|r| r.version.clone()),
                    hours: secs.map(hours),
                });
            }
        }
        rows.push(row);
    }

    let seconds = (end - start).max(1);
    let deployment_frequency_per_week = (counts.successful as f64 * WEEK as f64) / seconds as f64;
    let lead_time_hours_median = median(&mut lead_times).map(hours);
    let change_failure_rate = (counts.deploys > 0).then(|| counts.failed as f64 / counts.deploys as f64);
    let time_to_restore_hours_median = median(&mut restore_secs).map(hours);
    let t = &THRESHOLDS;
    let bands = Bands {
        deployment_frequency: t.deployment_frequency_per_week.band(deployment_frequency_per_week),
        lead_time: lead_time_hours_median.map(|v| t.lead_time_hours.band(v)),
        change_failure_rate: change_failure_rate.map(|v| t.change_failure_rate.band(v)),
        time_to_restore: time_to_restore_hours_median.map(|v| t.time_to_restore_hours.band(v)),
    };
    let band = [Some(bands.deployment_frequency), bands.lead_time, bands.change_failure_rate, bands.time_to_restore]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(Band::Low);
    let weeks = weeks(start, end, &runs, &judged);
    Report {
        env: env.to_string(),
        app: app.to_string(),
        since: since.to_string(),
        window: Window { start: rfc3339(start), end: rfc3339(end), seconds },
        deployment_frequency_per_week,
        lead_time_hours_median,
        change_failure_rate,
        time_to_restore_hours_median,
        band,
        bands,
        thresholds: THRESHOLDS,
        counts,
        weeks,
        events: rows,
        restores,
    }
}

const WEEK: i64 = 7 * 86_400;

/// A deploy that changed something: not a `--force` or `--repair` of the release that every
/// target it touched already ran, nor a no-op.
fn is_change(run: &Run) -> bool {
    let same = !run.from.is_empty() && run.from.iter().all(|f| f.is_some() && *f == run.release);
    run.outcome != "noop" && !same
}

/// The window cut into weeks, the last one ending at the window's end (the first may be
/// shorter); past 104 weeks, into 104 equal spans of whole days.
fn weeks(start: i64, end: i64, runs: &[&Run], judged: &[Judged]) -> Vec<Week> {
    let ceil = |a: i64, b: i64| (a + b - 1) / b;
    let span = (end - start).max(1);
    let bucket = if span > 104 * WEEK { ceil(ceil(span, 104), 86_400) * 86_400 } else { WEEK };
    let n = ceil(span, bucket);
    let mut weeks: Vec<Week> = (0..n)
        .map(|k| {
            let to = end - (n - 1 - k) * bucket;
            let from = (to - bucket).max(start);
            Week { start: rfc3339(from), end: rfc3339(to), succeeded: 0, failed: 0 }
        })
        .collect();
    for d in judged {
        let run = runs[d.run];
        if run.ended < start || run.ended > end {
            continue;
        }
        // The week it ended in, counted back from the end.
        let back = ((end - run.ended) / bucket).min(n - 1);
        let week = &mut weeks[(n - 1 - back) as usize];
        if d.ok && d.undone_by.is_none() {
            week.succeeded += 1;
        } else {
            week.failed += 1;
        }
    }
    weeks
}

/// The median of `values` (sorted in place); `None` for none.
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2 })
}

fn hours(secs: i64) -> f64 {
    secs as f64 / 3600.0
}

/// Seconds since the epoch as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(secs: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// RFC 3339 text as seconds since the epoch; `None` when it does not parse (journals are not
/// trusted) or is before 1970.
pub fn parse_time(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(text).ok()?;
    let secs = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    const NOW: i64 = 1_800_000_000;

    fn run(kind: RunKind, ended: i64, outcome: &str, release: &str, from: &[Option<&str>]) -> Run {
        Run {
            kind,
            began: ended - 60,
            began_at: rfc3339(ended - 60),
            ended,
            ended_at: rfc3339(ended),
            outcome: outcome.to_string(),
            release: Some(release.into()),
            from: from.iter().map(|f| f.map(ReleaseId::from)).collect(),
            version: Some(format!("v-{release}")),
            commit: Some(format!("c-{release}").into()),
            user: Some("tester".into()),
            targets: vec![("local:/a".into(), outcome.into())],
        }
    }

    /// Each release's commit is one commit, made `age` hours before NOW; a deploy brings the
    /// commits after the one it came from (releases are named in commit order).
    fn git(to: &str, from: &[String]) -> Option<Vec<(String, i64)>> {
        let order = ["c-r1", "c-r2", "c-r3", "c-r4", "c-r5"];
        let times = [NOW - 200 * H, NOW - 100 * H, NOW - 70 * H, NOW - 50 * H, NOW - 30 * H];
        let to_at = order.iter().position(|c| *c == to)?;
        let from_at = from.iter().filter_map(|f| order.iter().position(|c| c == f)).max();
        let first = from_at.map_or(to_at, |f| f + 1);
        Some((first..=to_at).map(|i| (order[i].to_string(), times[i])).collect())
    }

    fn report(runs: &[Run], since: i64) -> Report {
        compute("prod", "hello", "x", (NOW - since, NOW), runs, &git)
    }

    #[test]
    fn the_four_keys_by_hand() {
        let d = RunKind::Deploy;
        let runs = vec![
            // Before the window: not counted, but what r2's deploy came from.
            run(d, NOW - 40 * 24 * H, "succeeded", "r1", &[None]),
            // r2: brings c-r2, 20 h old at its end.
            run(d, NOW - 80 * H, "succeeded", "r2", &[Some("r1")]),
            // A --force of r2, which every target ran: not a deploy.
            run(d, NOW - 70 * H, "succeeded", "r2", &[Some("r2")]),
            // r3: succeeds, then is undone by a rollback 2 h later: failed, restored in 2 h.
            run(d, NOW - 60 * H, "succeeded", "r3", &[Some("r2")]),
            run(RunKind::Rollback, NOW - 58 * H, "succeeded", "r2", &[Some("r3")]),
            // r4: rolled back by the deploy itself: failed, restored by r5's deploy 20 h later.
            run(d, NOW - 40 * H, "rolled_back", "r4", &[Some("r2")]),
            // r5: brings c-r3, c-r4, c-r5: 50 h, 30 h and 10 h at its end.
            run(d, NOW - 20 * H, "succeeded", "r5", &[Some("r2")]),
        ];
        let r = report(&runs, 28 * 24 * H);
        // 2 successful deploys (r2, r5) in 4 weeks.
        assert_eq!(r.deployment_frequency_per_week, 0.5);
        // Lead times 20, 50, 30, 10 h: the median of 4 is (20 + 30) / 2.
        assert_eq!(r.lead_time_hours_median, Some(25.0));
        // 2 failed (r3 undone, r4 rolled back) of 4 deploys.
        assert_eq!(r.change_failure_rate, Some(0.5));
        // Restores of 2 h and 20 h.
        assert_eq!(r.time_to_restore_hours_median, Some(11.0));
        assert_eq!(r.counts.deploys, 4);
        assert_eq!(r.counts.undone_by_rollback, 1);
        assert_eq!(r.counts.commits, 4);
        assert_eq!(r.bands.deployment_frequency, Band::Medium);
        assert_eq!(r.bands.lead_time, Some(Band::High));
        assert_eq!(r.bands.change_failure_rate, Some(Band::Low));
        assert_eq!(r.bands.time_to_restore, Some(Band::High));
        assert_eq!(r.band, Band::Low);
        let counted: Vec<Option<&str>> = r.events.iter().map(|e| e.counted).collect();
        assert_eq!(
            counted,
            [Some("successful"), None, Some("failed"), None, Some("failed"), Some("successful")],
            "the rollback and the --force are listed, not counted"
        );
        assert_eq!(r.weeks.len(), 4);
        assert_eq!((r.weeks[3].succeeded, r.weeks[3].failed), (2, 2), "{:?}", r.weeks);
    }

    #[test]
    fn nothing_to_measure_is_null_not_nan() {
        let r = report(&[], 30 * 24 * H);
        assert_eq!(r.deployment_frequency_per_week, 0.0);
        assert_eq!(r.lead_time_hours_median, None);
        assert_eq!(r.change_failure_rate, None);
        assert_eq!(r.time_to_restore_hours_median, None);
        assert_eq!(r.band, Band::Low);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["lead_time_hours_median"].is_null());
        assert!(json["change_failure_rate"].is_null());
        assert_eq!(r.weeks.len(), 5, "30 days: four weeks and two days");
    }

    #[test]
    fn a_failure_not_yet_restored_is_counted_apart() {
        let d = RunKind::Deploy;
        let runs = vec![
            run(d, NOW - 10 * H, "succeeded", "r1", &[None]),
            run(d, NOW - 5 * H, "inconsistent", "r2", &[Some("r1")]),
        ];
        let r = report(&runs, 7 * 24 * H);
        assert_eq!(r.change_failure_rate, Some(0.5));
        assert_eq!(r.time_to_restore_hours_median, None);
        assert_eq!((r.counts.restored, r.counts.unrestored), (0, 1));
        // A first deploy brings its own commit alone: 200 h - 10 h.
        assert_eq!(r.lead_time_hours_median, Some(190.0));
        assert_eq!(r.bands.lead_time, Some(Band::Medium));
    }

    #[test]
    fn a_rollback_undoes_only_the_deploy_it_left() {
        let d = RunKind::Deploy;
        let runs = vec![
            run(d, NOW - 10 * H, "succeeded", "r1", &[None]),
            run(d, NOW - 8 * H, "succeeded", "r2", &[Some("r1")]),
            run(d, NOW - 6 * H, "succeeded", "r3", &[Some("r2")]),
            // Straight back to r1 from r3: r3 failed; r2 was fine when it was replaced.
            run(RunKind::Rollback, NOW - 5 * H, "succeeded", "r1", &[Some("r3")]),
            // A second rollback leaves r1: r1's deploy is the one standing now.
            run(RunKind::Rollback, NOW - 4 * H, "failed", "r0", &[Some("r1")]),
        ];
        let r = report(&runs, 7 * 24 * H);
        let undone: Vec<bool> = r.events.iter().filter(|e| e.kind == d).map(|e| e.undone_at.is_some()).collect();
        assert_eq!(undone, [true, false, true]);
        assert_eq!(r.counts.failed, 2);
    }

    #[test]
    fn bands_hold_each_figure_against_its_limits() {
        let t = THRESHOLDS;
        assert_eq!(t.deployment_frequency_per_week.band(7.0), Band::Elite);
        assert_eq!(t.deployment_frequency_per_week.band(6.9), Band::High);
        assert_eq!(t.deployment_frequency_per_week.band(0.25), Band::Medium);
        assert_eq!(t.deployment_frequency_per_week.band(0.2), Band::Low);
        assert_eq!(t.lead_time_hours.band(23.9), Band::Elite);
        assert_eq!(t.lead_time_hours.band(24.0), Band::High);
        assert_eq!(t.lead_time_hours.band(720.0), Band::Low);
        assert_eq!(t.change_failure_rate.band(0.05), Band::Elite);
        assert_eq!(t.change_failure_rate.band(0.15), Band::Medium);
        assert_eq!(t.change_failure_rate.band(0.16), Band::Low);
        assert_eq!(t.time_to_restore_hours.band(0.5), Band::Elite);
        assert_eq!(t.time_to_restore_hours.band(167.0), Band::Medium);
        assert_eq!(t.time_to_restore_hours.band(168.0), Band::Low);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [10, 1, 4, 2]), Some(3));
    }

    #[test]
    fn times_from_journals_are_not_trusted() {
        assert_eq!(parse_time("2024-01-01T00:00:00.000Z"), Some(1_704_067_200));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("1960-01-01T00:00:00Z"), None);
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn long_windows_are_cut_into_at_most_104_spans() {
        let r = report(&[], 5 * 365 * 24 * H);
        // 1825 days in spans of 18 (17.5 rounded up to whole days): 102 of them.
        assert_eq!(r.weeks.len(), 102);
        assert_eq!(r.weeks.last().unwrap().end, rfc3339(NOW));
    }
}
