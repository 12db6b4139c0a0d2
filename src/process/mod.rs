//! Running a shell command with its output streamed line by line, a timeout, and all it
//! started stopped when it runs too long, when the caller gives up, or when the caller dies.
//!
//! Commands are `sh -c TEXT` where TEXT is the user's own text from deploy.toml, or (`ship
//! exec`) the user's own argv run as it is, no shell between; values (versions, paths,
//! secrets) reach them only as environment, never spliced into them.

pub mod guard;

use std::io::{BufRead, BufReader};

/// The longest piece of a command's output passed on as one line (a longer line is split).
pub const MAX_OUTPUT_LINE: u64 = 64 * 1024;
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
    /// It ran past its timeout and it was stopped, with everything it started.
    TimedOut,
    /// The caller cancelled it and it was stopped, with everything it started.
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

/// The guards (each the leader of its command's process group) running now, so that an
/// abrupt exit can stop them.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Tell every running command to stop (ship is about to exit at once): SIGTERM to each
/// guard, and a moment's grace. When ship then exits, every lifeline closes, and each guard
/// kills what is left of its command at once.
pub fn stop_all_groups() {
    let guards = RUNNING.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for pid in guards.iter().filter_map(|p| rustix::process::Pid::from_raw(*p)) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    if !guards.is_empty() {
        std::thread::sleep(Duration::from_millis(300));
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

/// The variables a step takes from the environment of the process that runs it (the agent,
/// whose environment is a login's over SSH, and the deploying user's for a local target):
/// the same few names on both, so a step sees the same kind of environment wherever it runs.
pub const LOGIN_VARS: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TZ"];

/// PATH for a step when the agent itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Which environment a command starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// Everything of this process's (the build command: it needs the deployer's tools).
    All,
    /// Only [`LOGIN_VARS`] (steps and health commands): never the deployer's other
    /// variables, which may hold another environment's secrets.
    Login,
}

/// A `sh -c` command to run.
pub struct Shell<'a> {
    pub script: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub inherit: Inherit,
    pub timeout: Option<Duration>,
    pub cancel: Option<&'a AtomicBool>,
}

/// The environment a step gets: [`LOGIN_VARS`] from this process, what a login would set
/// where this process has none (PATH, and USER, LOGNAME, HOME and SHELL from the password
/// database, LANG=C.UTF-8), then `extra` on top.
pub fn login_env(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> =
        LOGIN_VARS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
    let account = passwd_entry(rustix::process::getuid().as_raw());
    let mut fill = |name: &str, value: Option<&str>| {
        if let Some(value) = value
            && !env.iter().any(|(k, _)| k == name)
        {
            env.push((name.to_string(), value.to_string()));
        }
    };
    fill("PATH", Some(DEFAULT_PATH));
    if let Some([user, home, shell]) = &account {
        fill("USER", Some(user));
        fill("LOGNAME", Some(user));
        fill("HOME", Some(home));
        fill("SHELL", Some(shell));
    }
    fill("LANG", Some("C.UTF-8"));
    env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    env.extend(extra.iter().cloned());
    env
}

/// The name, home and shell of `uid` in /etc/passwd, if it is there.
pub(crate) fn passwd_entry(uid: u32) -> Option<[String; 3]> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid)).then(|| [f[0].to_string(), f[5].to_string(), f[6].to_string()])
    })
}

/// The program run as the guard of each command: set by tests (whose own binary is not
/// ship); otherwise this very binary.
static GUARD_PROGRAM: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Run commands under `ship guard` of this binary (for tests of this library, whose own
/// executable is a test harness).
pub fn set_guard_program(ship: impl Into<std::path::PathBuf>) {
    let _ = GUARD_PROGRAM.set(ship.into());
}

/// The ship binary to run as the guard: `/proc/self/exe` where there is one (it works even
/// if the file was replaced since), else the path this process was started from.
fn guard_program() -> Result<std::path::PathBuf> {
    if let Some(set) = GUARD_PROGRAM.get() {
        return Ok(set.clone());
    }
    let proc = Path::new("/proc/self/exe");
    if proc.exists() {
        return Ok(proc.to_path_buf());
    }
    std::env::current_exe().context("finding ship's own binary to guard a step")
}

/// Run it, calling `on_line` with each line of its merged stdout and stderr as it comes.
///
/// The command runs under [`guard::guard`] (`ship guard -- sh -c TEXT`), the leader of a
/// new process group whose stdin is a lifeline that only this process holds. However this
/// process ends, even by SIGKILL, the lifeline closes and the guard kills the command and
/// everything it started, even what left the process group: no command outlives its caller.
pub fn run(shell: &Shell<'_>, on_line: &mut dyn FnMut(&str)) -> Result<Ended> {
    let args = [std::ffi::OsStr::new("sh"), std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(shell.script)];
    run_guarded(&args, shell, on_line).map(|(ended, _)| ended)
}

/// Run `argv` as it is, no shell between (its first element is the program, looked up in
/// the command's PATH), with `shell`'s directory, environment, timeout and cancellation
/// (`shell.script` is not used). How it ended, and the signal that killed it, if one did.
pub fn run_argv(argv: &[String], shell: &Shell<'_>, on_line: &mut dyn FnMut(&str)) -> Result<(Ended, Option<i32>)> {
    if argv.is_empty() {
        anyhow::bail!("no command to run");
    }
    let args: Vec<&std::ffi::OsStr> = argv.iter().map(std::ffi::OsStr::new).collect();
    run_guarded(&args, shell, on_line)
}

/// Run `args` under the guard (see [`run`]): how it ended, and the signal that killed it.
fn run_guarded(
    args: &[&std::ffi::OsStr],
    shell: &Shell<'_>,
    on_line: &mut dyn FnMut(&str),
) -> Result<(Ended, Option<i32>)> {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut cmd = Command::new(guard_program()?);
    cmd.args(["guard", "--"])
        .args(args)
        .current_dir(shell.cwd)
        .stdin(Stdio::piped())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    if shell.inherit == Inherit::Login {
        cmd.env_clear();
        cmd.envs(login_env(shell.env));
    } else {
        cmd.envs(shell.env.iter().map(|(k, v)| (k, v)));
    }
    let program = args.first().map_or_else(String::new, |a| a.to_string_lossy().into_owned());
    let child = cmd.spawn().with_context(|| format!("starting `{program}` in {}", shell.cwd.display()))?;
    drop(cmd); // closes our copies of the pipe's write end
    let mut guarded = Guarded::new(child);

    let (tx, rx) = mpsc::channel::<String>();
    // Set when the command is over but something it left running still holds the pipe:
    // the reader then lets go of it (its thread and descriptor end with it).
    let abandon = std::sync::Arc::new(AtomicBool::new(false));
    let abandoned = abandon.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            if reader.buffer().is_empty() && !readable_within(reader.get_ref(), Duration::from_millis(100)) {
                if abandoned.load(Ordering::SeqCst) {
                    break;
                }
                continue;
            }
            buf.clear();
            // A line longer than this comes as several: what a command prints is never
            // held whole in memory, and never exceeds what the protocol carries in a line.
            match std::io::Read::take(&mut reader, MAX_OUTPUT_LINE).read_until(b'\n', &mut buf) {
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
    let _abandon_on_return = SetOnDrop(abandon);

    let start = Instant::now();
    let mut exited_at: Option<(Instant, Ended, Option<i32>)> = None;
    loop {
        // Every pass checks the clock and the cancel flag, however much the command prints.
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Every writer is gone: the command and anything it started have closed it.
                let status = match exited_at {
                    Some((_, ended, signal)) => (ended, signal),
                    None => {
                        let status = guarded.child.wait()?;
                        (Ended::Exited(status.code()), status.signal())
                    }
                };
                return Ok(status);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some((when, ended, signal)) = &exited_at {
            // The command is gone but something it left in the background holds the pipe:
            // do not wait for it.
            if when.elapsed() > Duration::from_millis(200) {
                return Ok((ended.clone(), *signal));
            }
            continue;
        }
        if let Some(status) = guarded.child.try_wait()? {
            exited_at = Some((Instant::now(), Ended::Exited(status.code()), status.signal()));
            continue;
        }
        if shell.timeout.is_some_and(|t| start.elapsed() >= t) {
            guarded.stop();
            exited_at = Some((Instant::now(), Ended::TimedOut, None));
        } else if shell.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            guarded.stop();
            exited_at = Some((Instant::now(), Ended::Cancelled, None));
        }
    }
}

/// Sets its flag when dropped.
struct SetOnDrop(std::sync::Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Can `pipe` be read (data, or its end) within `limit`? Errors count as yes, so the read
/// that follows reports them.
fn readable_within(pipe: &std::io::PipeReader, limit: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(pipe, PollFlags::IN | PollFlags::HUP)];
    let timeout = Timespec { tv_sec: 0, tv_nsec: limit.as_nanos().min(999_999_999) as i64 };
    !matches!(rustix::event::poll(&mut fds, Some(&timeout)), Ok(0))
}

/// A running guard: its process, its lifeline, and its place in [`RUNNING`].
struct Guarded {
    child: Child,
    /// Held, never written, until the command is over and reaped.
    lifeline: Option<std::process::ChildStdin>,
    _registered: Registered,
}

impl Guarded {
    fn new(mut child: Child) -> Guarded {
        let lifeline = child.stdin.take();
        let registered = Registered::new(child.id() as i32);
        Guarded { child, lifeline, _registered: registered }
    }

    /// Stop the command and everything it started: SIGTERM to the guard, which passes it
    /// on and follows with SIGKILL after its grace period. Should the guard not be done by
    /// then, the lifeline is cut (it kills everything at once), and last, its group is killed.
    fn stop(&mut self) {
        let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) else { return };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if self.wait_for(guard::GRACE + Duration::from_secs(2)) {
            return;
        }
        self.lifeline = None;
        if self.wait_for(Duration::from_secs(1)) {
            return;
        }
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }

    /// Wait up to `limit` for the guard to exit; true if it did.
    fn wait_for(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_get_the_login_variables_and_nothing_else_of_ours() {
        let env = login_env(&[("SHIP_APP".into(), "hello".into()), ("PATH".into(), "/opt/bin".into())]);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.iter().all(|n| LOGIN_VARS.contains(n) || *n == "SHIP_APP"), "{names:?}");
        assert_eq!(env.iter().filter(|(k, _)| k == "PATH").count(), 1);
        assert!(env.contains(&("PATH".into(), "/opt/bin".into())), "the step's own value wins");
    }
}
