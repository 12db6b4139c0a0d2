//! `ship metrics`: DORA's four keys from real deploys and rollbacks, against commits made at
//! chosen times. The deploys really run; only when they happened is set afterwards, by
//! rewriting the `at` of their records in each target's journal. Every figure is checked
//! against one worked out by hand, and the HTML page is rendered by headless Chromium.

use std::path::{Path, PathBuf};

use super::harness::{Gate, Project, text};

const H: i64 = 3600;
const DAY: i64 = 24 * H;

/// The deploy.toml addition of every project here: a release that has a file `broken` fails
/// its smoke step after the switch, and the deploy is rolled back.
pub(super) const SMOKE: &str = "[[step]]\nname = \"smoke\"\nwhen = \"after_switch\"\nrun = \"test ! -f broken\"\n";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Set when each run happened, on every target: the `k`th run in journal order ends at
/// `ends[k]` (its `end` records), its other records two minutes before.
fn retime(p: &Project, targets: &[&str], ends: &[i64]) {
    for target in targets {
        let path = p.target(target).join(".ship/journal.jsonl");
        let mut runs: Vec<String> = Vec::new();
        let mut lines = String::new();
        for mut record in p.journal(target) {
            let run = record["run"].as_str().unwrap().to_string();
            if !runs.contains(&run) {
                runs.push(run.clone());
            }
            let k = runs.iter().position(|r| *r == run).unwrap();
            let end = ends[k];
            let at = if record["event"] == "end" { end } else { end - 120 };
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at as u64);
            record["at"] = humantime::format_rfc3339_millis(time).to_string().into();
            lines.push_str(&format!("{record}\n"));
        }
        assert_eq!(runs.len(), ends.len(), "{target} has {} runs", runs.len());
        std::fs::write(path, lines).unwrap();
    }
}

/// Two targets, and this history (times before now; h = hours):
///
/// | run | what                                        | commits brought (made at)         | ends at  |
/// |-----|---------------------------------------------|-----------------------------------|----------|
/// | D0  | deploy v1, the first                        | c1 (2023)                         | 40 days  |
/// | D1  | deploy v2                                   | c2 (100 h), c3 (90 h)             | 80 h     |
/// | D2  | deploy v3                                   | c4 (70 h)                         | 60 h     |
/// | R1  | `ship rollback`, v3 back to v2              |                                   | 58 h     |
/// | D3  | deploy `<script>alert(1)</script>` (c5, 50 h): its smoke step fails, rolled back | | 40 h |
/// | D4  | deploy v4                                   | c4, c5, c6 (30 h): from v2 again  | 20 h     |
/// | D5  | deploy v5                                   | c7 (12 h)                         | 6 h      |
///
/// Over the last 28 days (4 weeks; D0 is before them):
/// - deploys: D1..D5 = 5; failed: D2 (undone by R1) and D3 (rolled back) = 2; successful:
///   D1, D4, D5 = 3.
/// - deployment frequency: 3 / 4 weeks = 0.75 a week (medium: at least monthly, not weekly).
/// - lead times: D1: c2 100-80 = 20 h, c3 90-80 = 10 h; D4: c4 70-20 = 50 h, c5 50-20 = 30 h,
///   c6 30-20 = 10 h; D5: c7 12-6 = 6 h. Sorted 6, 10, 10, 20, 30, 50: median (10+20)/2 =
///   15 h (elite: under a day).
/// - change failure rate: 2 / 5 = 0.4 (low: over 15%).
/// - time to restore: D2 60 h -> R1 58 h = 2 h; D3 40 h -> D4 20 h = 20 h; median 11 h (high:
///   under a day).
/// - overall: low, the lowest of medium, elite, low, high.
fn history() -> (Project, i64) {
    history_on(Project::with_targets(&["a", "b"], SMOKE), &["a", "b"])
}

/// [`history`] on `p`, a project made with [`SMOKE`] whose `staging` has these two targets.
pub(super) fn history_on(p: Project, targets: &[&str]) -> (Project, i64) {
    let now = now();
    let ago = |hours: i64| now - hours * H;
    let deploy = |code: i32| {
        p.expect(&["deploy", "staging"], code);
    };
    deploy(0);
    p.write("index.html", "two\n");
    p.commit_at("two", ago(100));
    p.write("index.html", "three\n");
    p.commit_at("three", ago(90));
    p.tag("v2");
    deploy(0);
    p.write("index.html", "four\n");
    p.commit_at("four", ago(70));
    p.tag("v3");
    deploy(0);
    p.expect(&["rollback", "staging"], 0);
    p.write("index.html", "five\n");
    p.write("broken", "");
    p.commit_at("five", ago(50));
    p.tag("<script>alert(1)</script>");
    deploy(4);
    std::fs::remove_file(p.root.join("broken")).unwrap();
    p.write("index.html", "six\n");
    p.commit_at("six", ago(30));
    p.tag("v4");
    deploy(0);
    p.write("index.html", "seven\n");
    p.commit_at("seven", ago(12));
    p.tag("v5");
    deploy(0);
    retime(&p, targets, &[now - 40 * DAY, ago(80), ago(60), ago(58), ago(40), ago(20), ago(6)]);
    (p, now)
}

#[test]
fn the_four_keys_of_real_deploys_are_the_figures_worked_out_by_hand() {
    let (p, _) = history();
    assert_the_figures_worked_out_by_hand(&p);
}

/// The figures of [`history`] over the last 28 days, as its table works them out.
pub(super) fn assert_the_figures_worked_out_by_hand(p: &Project) {
    let m = p.json(&["metrics", "staging", "--since", "28d"], 0);
    assert_eq!(m["env"], "staging");
    assert_eq!(m["since"], "28d");
    assert_eq!(m["deployment_frequency_per_week"], 0.75);
    assert_eq!(m["lead_time_hours_median"], 15.0);
    assert_eq!(m["change_failure_rate"], 0.4);
    assert_eq!(m["time_to_restore_hours_median"], 11.0);
    assert_eq!(m["band"], "low");
    let bands = &m["bands"];
    assert_eq!(bands["deployment_frequency"], "medium");
    assert_eq!(bands["lead_time"], "elite");
    assert_eq!(bands["change_failure_rate"], "low");
    assert_eq!(bands["time_to_restore"], "high");
    let counts = &m["counts"];
    assert_eq!(counts["deploys"], 5);
    assert_eq!(counts["successful"], 3);
    assert_eq!(counts["failed"], 2);
    assert_eq!(counts["undone_by_rollback"], 1);
    assert_eq!(counts["rollbacks"], 1);
    assert_eq!(counts["commits"], 6);
    assert_eq!((counts["restored"].as_u64(), counts["unrestored"].as_u64()), (Some(2), Some(0)));
    assert_eq!(m["thresholds"]["year"], 2023);
    assert_eq!(m["thresholds"]["lead_time_hours"]["elite"], 24.0);
    assert_eq!(m["window"]["seconds"], 28 * DAY);
    // Every run in the window, oldest first, as the HTML page shows them.
    let events = m["events"].as_array().unwrap();
    let listed: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["version"].as_str().unwrap(), e["counted"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        listed,
        [
            ("deploy", "v2", "successful"),
            ("deploy", "v3", "failed"),
            ("rollback", "v2", "-"),
            ("deploy", "<script>alert(1)</script>", "failed"),
            ("deploy", "v4", "successful"),
            ("deploy", "v5", "successful"),
        ]
    );
    let lead: Vec<f64> = events.iter().filter_map(|e| e["lead_time_hours_median"].as_f64()).collect();
    assert_eq!(lead, [15.0, 30.0, 6.0], "per deploy: median(20, 10), median(50, 30, 10), 6");
    assert_eq!(events[3]["outcome"], "rolled_back");
    assert!(events[1]["undone_at"].is_string(), "{}", events[1]);
    let restores: Vec<f64> = m["restores"].as_array().unwrap().iter().map(|r| r["hours"].as_f64().unwrap()).collect();
    assert_eq!(restores, [2.0, 20.0]);
    // The weeks of the chart: all of it in the last one.
    let weeks: Vec<(u64, u64)> = m["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["succeeded"].as_u64().unwrap(), w["failed"].as_u64().unwrap()))
        .collect();
    assert_eq!(weeks, [(0, 0), (0, 0), (0, 0), (3, 2)]);

    // A window that reaches D0: six deploys, four of them successful; D0, a first deploy,
    // brings its own commit alone.
    let m = p.json(&["metrics", "staging", "--since", "41d"], 0);
    assert_eq!(m["counts"]["deploys"], 6);
    assert_eq!(m["counts"]["commits"], 7);
    // The default window is 90 days.
    let m = p.json(&["metrics", "staging"], 0);
    assert_eq!(m["since"], "90d");
    assert_eq!(m["counts"]["deploys"], 6);
}

#[test]
fn the_table_shows_each_key_its_value_and_its_band() {
    let (p, _) = history();
    let (stdout, stderr) = p.expect(&["metrics", "staging", "--since", "4w"], 0);
    let line = |key: &str| stdout.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key}:\n{stdout}"));
    let words = |key: &str| line(key).split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert!(stdout.starts_with("DORA metrics of staging, the last 28d"), "{stdout}");
    assert!(line("deployment frequency").contains("0.75 per week (3 successful deploys in 28d)"), "{stdout}");
    assert_eq!(words("deployment frequency").last().unwrap(), "medium");
    assert!(line("lead time for changes").contains("15 h (median of 6 commits)"), "{stdout}");
    assert_eq!(words("lead time for changes").last().unwrap(), "elite");
    assert!(line("change failure rate").contains("40% (2 of 5 deploys)"), "{stdout}");
    assert_eq!(words("change failure rate").last().unwrap(), "low");
    assert!(line("time to restore").contains("11 h (median of 2 restores)"), "{stdout}");
    assert_eq!(words("time to restore").last().unwrap(), "high");
    assert_eq!(words("overall"), ["overall", "low"]);
    assert!(stdout.contains("Accelerate State of DevOps Report 2023"), "{stdout}");
    assert!(stderr.contains("Reading the journals of 2 target(s) of staging"), "progress goes to stderr: {stderr}");
    // The README shows this very table (its first line has the dates of the day it ran).
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let shown = readme.split("$ ship metrics staging --since 28d\n").nth(1).unwrap().split("```").next().unwrap();
    let tail = |t: &str| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(tail(shown), tail(&stdout), "the README's example is out of date");
}

#[test]
fn an_environment_never_deployed_has_null_figures_and_a_low_band() {
    let p = Project::with_targets(&["a"], "");
    let m = p.json(&["metrics", "staging"], 0);
    assert_eq!(m["deployment_frequency_per_week"], 0.0);
    for key in ["lead_time_hours_median", "change_failure_rate", "time_to_restore_hours_median"] {
        assert!(m[key].is_null(), "{key}: {m}");
    }
    assert_eq!(m["band"], "low");
    assert!(m["bands"]["lead_time"].is_null());
    let (stdout, _) = p.expect(&["metrics", "staging"], 0);
    let lead = stdout.lines().find(|l| l.starts_with("lead time")).unwrap();
    assert_eq!(lead.split_whitespace().collect::<Vec<_>>(), ["lead", "time", "for", "changes", "-", "-"]);
}

#[test]
fn a_failure_not_yet_restored_has_no_time_to_restore() {
    let p = Project::with_targets(&["a"], SMOKE);
    let now = now();
    p.expect(&["deploy", "staging"], 0);
    p.write("broken", "");
    p.commit_at("broken", now - 10 * H);
    p.expect(&["deploy", "staging"], 4);
    retime(&p, &["a"], &[now - 5 * DAY, now - 2 * H]);
    let m = p.json(&["metrics", "staging", "--since", "30d"], 0);
    // One success in 30/7 weeks: 7/30 a week, exactly the least a medium band has (serde_json
    // reads floats back to within a unit in the last place).
    let frequency = m["deployment_frequency_per_week"].as_f64().unwrap();
    assert!((frequency - 7.0 / 30.0).abs() < 1e-15, "{frequency}");
    assert_eq!(m["bands"]["deployment_frequency"], "medium");
    assert_eq!(m["change_failure_rate"], 0.5);
    assert!(m["time_to_restore_hours_median"].is_null(), "{m}");
    assert_eq!((m["counts"]["restored"].as_u64(), m["counts"]["unrestored"].as_u64()), (Some(0), Some(1)));
    let (stdout, _) = p.expect(&["metrics", "staging", "--since", "30d"], 0);
    assert!(stdout.contains("- (1 not restored)"), "{stdout}");
}

#[test]
fn a_deploy_under_way_is_not_counted_until_it_ends() {
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let gate = Gate::new(&p);
    p.new_version(&gate.step(), "two\n");
    let deploy = p.spawn(&["deploy", "staging"]);
    gate.wait_started();
    // Its journal has a begin and no end yet: not a failure, just not over.
    let (stdout, stderr) = p.expect(&["--format", "json", "metrics", "staging"], 0);
    let m: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((m["counts"]["deploys"].as_u64(), m["counts"]["failed"].as_u64()), (Some(1), Some(0)), "{m}");
    assert!(stderr.contains("under way"), "{stderr}");
    gate.open();
    assert!(deploy.wait_with_output().unwrap().status.success());
    let m = p.json(&["metrics", "staging"], 0);
    assert_eq!((m["counts"]["deploys"].as_u64(), m["counts"]["successful"].as_u64()), (Some(2), Some(2)), "{m}");
}

#[test]
fn bad_windows_and_environments_are_usage_errors() {
    let p = Project::with_targets(&["a"], "");
    for since in ["0s", "soon", "3 fortnights"] {
        let (stdout, stderr) = p.expect(&["metrics", "staging", "--since", since], 2);
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("--since"), "{since}: {stderr}");
    }
    let out = p.json(&["metrics", "nowhere"], 2);
    assert_eq!(out["error"]["kind"], "unknown_env");
}

#[test]
fn the_dashboard_is_written_whole_and_readable_or_not_at_all() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::with_targets(&["a"], "");
    p.expect(&["deploy", "staging"], 0);
    let m = p.json(&["metrics", "staging", "--html", "site/dora.html"], 1);
    assert_eq!(m["error"]["message"], "writing the dashboard to site/dora.html: no such directory");
    std::fs::create_dir(p.root.join("site")).unwrap();
    let m = p.json(&["metrics", "staging", "--html", "site/dora.html"], 0);
    assert_eq!(m["counts"]["deploys"], 1, "stdout still has the JSON document");
    let page = p.root.join("site/dora.html");
    assert_eq!(std::fs::metadata(&page).unwrap().permissions().mode() & 0o777, 0o644, "a web server can read it");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert_eq!(std::fs::read_dir(p.root.join("site")).unwrap().count(), 1, "no temporary file is left");
}

/// Debian's Chromium, or `None` (with a notice) when it is not installed; under CI=true it
/// must be, as .ci/run installs it.
fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "CI=true but {} is missing: .ci/run must install chromium", path.display());
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"notice: skipping a dashboard test: /usr/bin/chromium is not installed (apt-get install chromium)\n",
    );
    None
}

/// Run headless Chromium on `page` with `args`; its stdout.
fn headless(p: &Project, chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir_in(&p.base).unwrap();
    let mut cmd = std::process::Command::new(chromium);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", &p.home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    p.watch(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_dashboard_renders_every_figure_and_shows_journal_values_as_text() {
    let Some(chromium) = chromium() else { return };
    let (p, _) = history();
    let (_, stderr) = p.expect(&["metrics", "staging", "--since", "28d", "--html", "dash.html"], 0);
    assert!(stderr.contains("Wrote the dashboard of staging to dash.html"), "{stderr}");
    let page = p.root.join("dash.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, nothing fetched, and the version from git is text.
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    for fetched in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!html.contains(fetched), "{fetched} in the page");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let dom = headless(&p, &chromium, &page, &["--dump-dom"]);
    assert!(!dom.to_lowercase().contains("<script"), "the DOM has a script element:\n{dom}");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; ("), "the version is shown as text");
    // The four keys, their bands, the overall band, and the thresholds' year.
    let cards: Vec<&str> = dom.split("<article class=\"key ").skip(1).collect();
    assert_eq!(cards.len(), 4, "{dom}");
    let expect = [
        ("medium", "Deployment frequency", "0.75"),
        ("elite", "Lead time for changes", "15<span class=\"unit\">h</span>"),
        ("low", "Change failure rate", "40%"),
        ("high", "Time to restore", "11<span class=\"unit\">h</span>"),
    ];
    for (card, (band, name, value)) in cards.iter().zip(expect) {
        assert!(card.starts_with(band), "{name}: {card}");
        assert!(card.contains(name) && card.contains(value), "{name} {value}: {card}");
        assert!(card.contains(&format!("<span class=\"pill\">{band}</span>")), "{card}");
    }
    assert!(dom.contains("<span class=\"value\">low</span>"), "the overall band");
    assert!(dom.contains("Accelerate State of DevOps Report 2023"));
    // The table of what went where: one row per run, newest first.
    let rows = dom.matches("<tr><td class=\"when\">").count();
    assert_eq!(rows, 6, "{dom}");

    let shot = p.base.join("dash.png");
    headless(&p, &chromium, &page, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,900"]);
    let (width, height, colours) = colours(&shot);
    assert_eq!((width, height), (1280, 900));
    assert!(colours > 200, "a blank or near-blank screenshot: {colours} colours");
}

/// The size of a PNG and how many distinct colours its pixels have.
fn colours(path: &Path) -> (u32, u32, usize) {
    let mut decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let step = frame.color_type.samples();
    let distinct: std::collections::HashSet<&[u8]> =
        pixels[..frame.buffer_size()].chunks(step).map(|px| &px[..3.min(step)]).collect();
    (frame.width, frame.height, distinct.len())
}
