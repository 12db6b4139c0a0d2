//! Everything ship prints: results on stdout (text or one JSON document), progress and logs on
//! stderr. Progress bars only when stderr is a terminal (and not under CI); plain timestamped
//! lines otherwise. `--quiet` silences progress, never results or errors.
//!
//! The UI renders; it never decides.

pub mod dashboard;
pub mod render;
pub mod report;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ColorChoice, Format, GlobalArgs};
use crate::rollout::{Note, Reporter};

pub struct Ui {
    pub format: Format,
    quiet: bool,
    verbose: bool,
    color_out: bool,
    color_err: bool,
    interactive: bool,
    github: bool,
    bars: Option<Bars>,
    /// Under GitHub Actions: each running step's output, printed as one group when it ends
    /// (or, on a hard stop, by `print_board`).
    groups: &'static Mutex<Vec<Group>>,
}

/// A step's output under GitHub Actions: ((target, step), lines).
type Group = ((String, String), Vec<String>);

struct Bars {
    multi: MultiProgress,
    targets: Mutex<HashMap<String, ProgressBar>>,
}

/// Colours for text meant for people.
#[derive(Clone, Copy)]
pub enum Paint {
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl Ui {
    pub fn new(args: &GlobalArgs) -> Ui {
        let ci = env_set("CI");
        let err_tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = |tty: bool| match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color && std::env::var("TERM").map_or(true, |t| t != "dumb"),
        };
        let interactive = err_tty && std::io::stdin().is_terminal() && !ci;
        JSON_OUT.store(args.format == Format::Json, std::sync::atomic::Ordering::SeqCst);
        let bars = (err_tty && !ci && !args.quiet).then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            targets: Mutex::new(HashMap::new()),
        });
        Ui {
            format: args.format,
            quiet: args.quiet,
            verbose: args.verbose,
            color_out: color(std::io::stdout().is_terminal()),
            color_err: color(err_tty),
            interactive,
            github: env_set("GITHUB_ACTIONS"),
            bars,
            groups: &GROUPS,
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// A person is at a terminal who can answer a prompt.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    pub fn paint_out(&self, text: &str, paint: Paint) -> String {
        paint_if(self.color_out, text, paint)
    }

    pub fn paint_err(&self, text: &str, paint: Paint) -> String {
        paint_if(self.color_err, text, paint)
    }

    /// A progress or status line on stderr.
    pub fn status(&self, line: &str) {
        if self.quiet {
            return;
        }
        self.log(line);
    }

    /// A warning on stderr; shown even with --quiet.
    pub fn warn(&self, line: &str) {
        let label = self.paint_err("warning:", Paint::Warn);
        self.log(&format!("{label} {line}"));
    }

    fn log(&self, line: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.multi.println(line);
            }
            None => {
                let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
                let mut err = std::io::stderr().lock();
                for l in line.lines() {
                    let _ = writeln!(err, "{stamp} {l}");
                }
            }
        }
    }

    /// Print a result on stdout. A reader that went away (a closed pipe) is not an error:
    /// what was done stands, and so does its exit code.
    pub fn out(&self, text: &str) -> std::io::Result<()> {
        STDOUT_USED.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut out = std::io::stdout().lock();
        let written = out.write_all(text.as_bytes()).and_then(|()| {
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            out.flush()
        });
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// Print a result on stdout as one JSON document.
    pub fn out_json<T: serde::Serialize>(&self, value: &T) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        self.out(&text)
    }

    /// Ask a yes/no question at the terminal. Only call when [`Ui::interactive`].
    pub fn confirm(&self, question: &str) -> std::io::Result<bool> {
        self.clear();
        let mut err = std::io::stderr().lock();
        write!(err, "{question} [y/N] ")?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// Remove progress bars (before a result is printed or a question asked).
    pub fn clear(&self) {
        self.close_groups(None, None);
        if let Some(bars) = &self.bars {
            let mut targets = bars.targets.lock().unwrap_or_else(|p| p.into_inner());
            for (_, bar) in targets.drain() {
                bar.finish_and_clear();
            }
            let _ = bars.multi.clear();
        }
    }

    /// A bar of bytes for an upload or a download, on a terminal; `what` is also said as a
    /// plain line when the transfer starts without one. Call `finish_and_clear` at the end.
    pub fn transfer(&self, what: &str, total: u64) -> ProgressBar {
        match (&self.bars, self.quiet) {
            (Some(bars), false) => {
                let bar = bars.multi.add(ProgressBar::new(total));
                bar.set_style(
                    ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                        .expect("valid template"),
                );
                bar.set_message(what.to_string());
                bar
            }
            _ => {
                self.status(&format!("{what} ({})", indicatif::HumanBytes(total)));
                ProgressBar::hidden()
            }
        }
    }

    fn target_progress(&self, target: &str, message: String) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let mut targets = bars.targets.lock().unwrap_or_else(|p| p.into_inner());
                let bar = targets.entry(target.to_string()).or_insert_with(|| {
                    let bar = bars.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("valid template"),
                    );
                    bar.set_prefix(target.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(message);
            }
            None => self.log(&format!("{target}: {message}")),
        }
    }

    /// Under GitHub Actions, start collecting a step's output.
    fn open_group(&self, target: &str, step: &str) {
        if self.github {
            let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            groups.push(((target.to_string(), step.to_string()), Vec::new()));
        }
    }

    /// Keep a line for its step's group; false when there is no group to keep it in.
    fn to_group(&self, target: &str, step: &str, line: &str) -> bool {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        match groups.iter_mut().find(|((t, s), _)| t == target && s == step) {
            Some((_, lines)) => {
                lines.push(line.to_string());
                true
            }
            None => false,
        }
    }

    /// Print the collected output of `target`'s steps (all of them when `step` is None),
    /// each folded into a `::group::`.
    fn close_groups(&self, target: Option<&str>, step: Option<&str>) {
        let done: Vec<Group> = {
            let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            let (done, keep) = groups
                .drain(..)
                .partition(|((t, s), _)| target.is_none_or(|target| t == target) && step.is_none_or(|step| s == step));
            *groups = keep;
            done
        };
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        for ((target, step), lines) in done {
            let _ = writeln!(err, "::group::{target} | {step}");
            for line in lines {
                let _ = writeln!(err, "{line}");
            }
            let _ = writeln!(err, "::endgroup::");
        }
    }
}

/// Set once a result went to stdout: an error after it must not add a second document.
static STDOUT_USED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Has a result been printed on stdout?
pub fn stdout_used() -> bool {
    STDOUT_USED.load(std::sync::atomic::Ordering::SeqCst)
}

impl Ui {
    /// Keep the board of where each target is up to date.
    fn mark(&self, note: &Note<'_>) {
        match *note {
            Note::Target { target, live } => on_board(target, |p| {
                p.live = live.map(str::to_string);
                p.doing = "not touched".into();
            }),
            Note::Sending { target, .. } => on_board(target, |p| p.doing = "the artifact was being sent".into()),
            Note::Fetching { target } => {
                on_board(target, |p| p.doing = "the artifact was being fetched from the store".into())
            }
            Note::Staged { target, release, .. } => {
                on_board(target, |p| p.doing = format!("release {release} staged, not switched to"))
            }
            Note::StepStarted { target, step } => {
                on_board(target, |p| p.doing = format!("{}; step `{step}` was running", stage(&p.doing)))
            }
            Note::Repaired { target, release } => {
                on_board(target, |p| p.doing = format!("release {release} rebuilt from the artifact, not confirmed"))
            }
            Note::Switched { target, release } => on_board(target, |p| {
                p.live = Some(release.to_string());
                p.doing = "switched, NOT confirmed healthy".into();
            }),
            Note::Healthy { target } => on_board(target, |p| p.doing = "healthy".into()),
            Note::Live { target } => on_board(target, |p| p.doing = "live, confirmed".into()),
            Note::StepDone { target, .. } | Note::StepSkipped { target, .. } => {
                on_board(target, |p| p.doing = stage(&p.doing).to_string())
            }
            Note::Failed { target, error, .. } => on_board(target, |p| p.doing = format!("failed: {error}")),
            Note::RollingBack { target, to } => on_board(target, |p| {
                p.doing = format!("was rolling back to {}", to.unwrap_or("nothing"));
            }),
            Note::RolledBack { target, to } => on_board(target, |p| {
                p.live = to.map(str::to_string);
                p.doing = "rolled back".into();
            }),
            _ => {}
        }
    }
}

/// What a target's board line says before a running step is added to it.
fn stage(doing: &str) -> &str {
    doing.split("; step `").next().unwrap_or(doing)
}

fn paint_if(on: bool, text: &str, paint: Paint) -> String {
    if !on {
        return text.to_string();
    }
    let code = match paint {
        Paint::Good => "32",
        Paint::Bad => "31",
        Paint::Warn => "33",
        Paint::Dim => "2",
        Paint::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Where each target of the running deploy or rollback is, as its notes tell: printed when
/// a second Ctrl-C stops ship at once, so the person knows what state the fleet is left in.
static BOARD: Mutex<Vec<(String, Place)>> = Mutex::new(Vec::new());

#[derive(Clone, Default)]
struct Place {
    live: Option<String>,
    doing: String,
}

fn on_board(target: &str, update: impl FnOnce(&mut Place)) {
    let mut board = BOARD.lock().unwrap_or_else(|p| p.into_inner());
    let at = match board.iter().position(|(t, _)| t == target) {
        Some(i) => i,
        None => {
            board.push((target.to_string(), Place::default()));
            board.len() - 1
        }
    };
    update(&mut board[at].1);
}

/// Print, on stderr, where each target of the run was left: what `current` points at and
/// what was under way.
/// The open step-output groups of GitHub Actions (see `Ui::groups`).
static GROUPS: Mutex<Vec<Group>> = Mutex::new(Vec::new());

pub fn print_board(exit: i32) {
    // What the steps still running have printed so far is not lost with them.
    {
        let mut groups = GROUPS.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        for ((target, step), lines) in groups.drain(..) {
            let _ = writeln!(err, "::group::{target} | {step} (cut off)");
            for line in lines {
                let _ = writeln!(err, "{line}");
            }
            let _ = writeln!(err, "::endgroup::");
        }
    }
    let board = BOARD.lock().unwrap_or_else(|p| p.into_inner());
    if board.is_empty() {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nstopped at once; where each target was left:");
    for (target, place) in board.iter() {
        let live = place.live.as_deref().map_or("nothing live".to_string(), |r| format!("runs release {r}"));
        let _ = writeln!(err, "  {target}: {live}; {}", place.doing);
    }
    let _ = writeln!(
        err,
        "`ship status ENV` shows each target; `ship rollback ENV` undoes a cut-off deploy, a new deploy completes it"
    );
    drop(err);
    if JSON_OUT.load(std::sync::atomic::Ordering::SeqCst) && !stdout_used() {
        let targets: Vec<serde_json::Value> = board
            .iter()
            .map(|(t, p)| serde_json::json!({ "target": t, "release": p.live, "state": p.doing }))
            .collect();
        let doc = serde_json::json!({
            "error": {
                "kind": "interrupted",
                "message": "stopped at once by a second interrupt",
                "hint": "`ship rollback ENV` undoes a cut-off deploy, a new deploy completes it",
                "exit": exit,
            },
            "targets": targets,
        });
        if let Ok(text) = serde_json::to_string_pretty(&doc) {
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }
}

/// Set when stdout is to carry JSON, for [`print_board`].
static JSON_OUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Reporter for Ui {
    fn note(&self, note: Note<'_>) {
        self.mark(&note);
        match note {
            Note::Target { .. } => {}
            Note::Sending { target, bytes, files } => {
                let size = indicatif::HumanBytes(bytes);
                self.target_progress(
                    target,
                    match files {
                        None => format!("sending the artifact ({size})"),
                        Some((sent, of)) => format!("sending the contents it lacks: {sent} of {of} files ({size})"),
                    },
                );
            }
            Note::Fetching { target } => self.target_progress(target, "fetching the artifact from the store".into()),
            Note::Staged { target, release, reused } => {
                let how = if reused { "already on the target" } else { "unpacked" };
                self.target_progress(target, format!("release {release} staged ({how})"));
            }
            Note::StepStarted { target, step } => {
                self.target_progress(target, format!("running step `{step}`"));
                self.open_group(target, step);
            }
            Note::StepSkipped { target, step } => {
                self.close_groups(Some(target), Some(step));
                self.target_progress(target, format!("step `{step}` skipped (unless)"));
            }
            Note::StepDone { target, step, ms } => {
                self.close_groups(Some(target), Some(step));
                self.target_progress(target, format!("step `{step}` done in {ms} ms"));
            }
            Note::Output { target, step, line } => {
                if !self.quiet && !self.to_group(target, step, line) {
                    let prefix = self.paint_err(&format!("{target} | {step} |"), Paint::Dim);
                    self.log(&format!("{prefix} {line}"));
                }
            }
            Note::Switched { target, release } => self.target_progress(target, format!("switched to {release}")),
            Note::Repaired { target, release } => {
                self.target_progress(target, format!("release {release} rebuilt from the artifact"))
            }
            Note::Healthy { target } => self.target_progress(target, "healthy".into()),
            Note::Live { target } => self.target_progress(target, "live".into()),
            Note::Failed { target, error, hint } => {
                self.close_groups(Some(target), None);
                let label = self.paint_err("failed:", Paint::Bad);
                self.log(&format!("{target}: {label} {error}"));
                if let Some(hint) = hint {
                    self.log(&format!("{target}: hint: {hint}"));
                }
            }
            Note::RollingBack { target, to } => {
                let to = to.map_or("nothing (no release was live before)".to_string(), |r| format!("release {r}"));
                self.target_progress(target, format!("rolling back to {to}"));
            }
            Note::RolledBack { target, to } => {
                let to = to.map_or("nothing live".to_string(), |r| format!("release {r}"));
                self.target_progress(target, format!("rolled back: {to}"));
            }
            Note::Pruned { target, releases } => {
                if self.verbose {
                    self.log(&format!("{target}: pruned {}", releases.join(", ")));
                }
            }
            Note::Waiting { target, holder, limit } => {
                let who = holder.map_or_else(|| "another process".to_string(), |h| h.to_string());
                let limit = humantime::format_duration(limit);
                self.status(&format!("{target} is locked by {who}: waiting for it (--lock-wait {limit})"));
            }
            Note::Exchanges { target, count } => {
                if self.verbose {
                    self.log(&format!("{target}: {count} exchanges with its agent"));
                }
            }
            Note::AgentUploaded { target, upload } => {
                if self.verbose {
                    let what = if upload.encoding == "gzip" { "gzip-compressed" } else { "uncompressed" };
                    self.log(&format!(
                        "{target}: uploaded ship ({} {what}) to {}",
                        render::bytes(upload.bytes),
                        upload.dir
                    ));
                }
            }
            Note::Warning { message } => self.warn(message),
        }
    }
}
