//! Running a shell command with its output streamed line by line, a timeout, and its whole
//! process group stopped when it runs too long or the caller gives up.
//!
//! Commands are always `sh -c TEXT` where TEXT is the user's own text from deploy.toml;
//! values (versions, paths, secrets) reach it only as environment, never spliced into it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// It exited with this code (or was killed by a signal: `None`).
    Exited(Option<i32>),
    /// It ran past its timeout and its process group was stopped.
    TimedOut,
    /// The caller cancelled it and its process group was stopped.
    Cancelled,
}

impl Ended {
    pub fn success(&self) -> bool {
        matches!(self, Ended::Exited(Some(0)))
    }

    /// "exit code 3", "timed out after 5s"...
    pub fn describe(&self, timeout: Option<Duration>) -> String {
        match self {
            Ended::Exited(Some(code)) => format!("exit code {code}"),
            Ended::Exited(None) => "killed by a signal".to_string(),
            Ended::TimedOut => match timeout {
                Some(t) => format!("timed out after {}", humantime::format_duration(t)),
                None => "timed out".to_string(),
            },
            Ended::Cancelled => "cancelled".to_string(),
        }
    }
}

/// Process groups of commands running now, so that an abrupt exit can stop them.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Stop every process group still running (ship is about to exit at once): SIGTERM, a
/// moment's grace, then SIGKILL.
pub fn stop_all_groups() {
    let groups = RUNNING.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for signal in [rustix::process::Signal::TERM, rustix::process::Signal::KILL] {
        for pgid in &groups {
            if let Some(pid) = rustix::process::Pid::from_raw(*pgid) {
                let _ = rustix::process::kill_process_group(pid, signal);
            }
        }
        if !groups.is_empty() && signal == rustix::process::Signal::TERM {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Keeps a running command's group in [`RUNNING`] while it lives.
struct Registered(i32);

impl Registered {
    fn new(pgid: i32) -> Registered {
        RUNNING.lock().unwrap_or_else(|p| p.into_inner()).push(pgid);
        Registered(pgid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        RUNNING.lock().unwrap_or_else(|p| p.into_inner()).retain(|g| *g != self.0);
    }
}

/// A `sh -c` command to run.
pub struct Shell<'a> {
    pub script: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub timeout: Option<Duration>,
    pub cancel: Option<&'a AtomicBool>,
}

/// Run it, calling `on_line` with each line of its merged stdout and stderr as it comes.
pub fn run(shell: &Shell<'_>, on_line: &mut dyn FnMut(&str)) -> Result<Ended> {
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(shell.script)
        .current_dir(shell.cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    for (k, v) in shell.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().with_context(|| format!("starting `sh -c` in {}", shell.cwd.display()))?;
    drop(cmd); // closes our copies of the pipe's write end
    let _registered = Registered::new(child.id() as i32);

    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let start = Instant::now();
    let mut exited_at: Option<(Instant, Ended)> = None;
    loop {
        // Every pass checks the clock and the cancel flag, however much the command prints.
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Every writer is gone: the command and anything it started have closed it.
                let status = match exited_at {
                    Some((_, ended)) => ended,
                    None => Ended::Exited(child.wait()?.code()),
                };
                return Ok(status);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some((when, ended)) = &exited_at {
            // The shell is gone but something it left in the background holds the pipe:
            // do not wait for it.
            if when.elapsed() > Duration::from_millis(200) {
                return Ok(ended.clone());
            }
            continue;
        }
        if let Some(status) = child.try_wait()? {
            exited_at = Some((Instant::now(), Ended::Exited(status.code())));
            continue;
        }
        if shell.timeout.is_some_and(|t| start.elapsed() >= t) {
            stop_group(&mut child);
            exited_at = Some((Instant::now(), Ended::TimedOut));
        } else if shell.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            stop_group(&mut child);
            exited_at = Some((Instant::now(), Ended::Cancelled));
        }
    }
}

/// SIGTERM the child's process group, then SIGKILL what is left after a grace period.
pub fn stop_group(child: &mut Child) {
    let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) else { return };
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Option<Duration>) -> (Ended, Vec<String>) {
        let mut lines = Vec::new();
        let env = vec![("GREETING".to_string(), "hi; rm -rf /".to_string())];
        let ended = run(&Shell { script, cwd: Path::new("/tmp"), env: &env, timeout, cancel: None }, &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        (ended, lines)
    }

    #[test]
    fn streams_lines_and_exit_code() {
        let (ended, lines) = sh("echo one; echo two >&2; echo \"$GREETING\"; exit 3", None);
        assert_eq!(ended, Ended::Exited(Some(3)));
        assert_eq!(lines, ["one", "two", "hi; rm -rf /"]);
    }

    #[test]
    fn timeout_stops_the_whole_group() {
        let marker = tempfile::NamedTempFile::new().unwrap();
        let script = format!("(sleep 2; echo late > {}) & sleep 30", marker.path().display());
        let start = Instant::now();
        let (ended, _) = sh(&script, Some(Duration::from_millis(300)));
        assert_eq!(ended, Ended::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(std::fs::read_to_string(marker.path()).unwrap(), "", "the background child was not stopped");
    }

    #[test]
    fn a_chatty_command_still_times_out_and_is_cancelled() {
        let start = Instant::now();
        let (ended, lines) = sh("while :; do echo working; sleep 0.01; done", Some(Duration::from_millis(500)));
        assert_eq!(ended, Ended::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        assert!(lines.len() > 5);
        let cancel = AtomicBool::new(true);
        let start = Instant::now();
        let ended = run(
            &Shell {
                script: "while :; do echo working; done",
                cwd: Path::new("/tmp"),
                env: &[],
                timeout: None,
                cancel: Some(&cancel),
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(ended, Ended::Cancelled);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn background_child_holding_the_pipe_does_not_block() {
        let start = Instant::now();
        let (ended, _) = sh("sleep 5 & echo started", None);
        assert!(ended.success());
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
