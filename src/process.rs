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
fn passwd_entry(uid: u32) -> Option<[String; 3]> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid)).then(|| [f[0].to_string(), f[5].to_string(), f[6].to_string()])
    })
}

/// The guard every command runs under, as `sh -c GUARD ship-guard SCRIPT`. Its stdin is the
/// lifeline: a pipe whose only writer is the process that started it. The guard starts a
/// watcher in the background that reads the lifeline, then becomes the command itself
/// (`exec`, so the command is still the caller's own child, with the same pid). When the
/// lifeline ends while the command still runs, its caller is gone, however it died (even
/// by SIGKILL): the watcher kills the whole process group, the command and everything it
/// started. When the command ended first, its caller reaped it before letting go of the
/// lifeline, and the watcher leaves alone whatever the command meant to leave running.
/// The command runs with stdin from /dev/null and without the lifeline.
const GUARD: &str = r#"exec 3<&0 0</dev/null
leader=$$
( while read -r _ <&3; do :; done; kill -0 "$leader" 2>/dev/null && kill -KILL 0 ) >/dev/null 2>&1 &
exec sh -c "$1" 3<&-
"#;

/// Run it, calling `on_line` with each line of its merged stdout and stderr as it comes.
///
/// The command runs under [`GUARD`], which leads a new process group holding the command
/// and everything it starts. However this process ends, even by SIGKILL, the guard's
/// lifeline closes and the whole group is killed at once: no command outlives its caller.
pub fn run(shell: &Shell<'_>, on_line: &mut dyn FnMut(&str)) -> Result<Ended> {
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", GUARD, "ship-guard"])
        .arg(shell.script)
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
    let mut child = cmd.spawn().with_context(|| format!("starting `sh -c` in {}", shell.cwd.display()))?;
    drop(cmd); // closes our copies of the pipe's write end
    // The lifeline: held, never written, until the command is over and reaped.
    let _lifeline = child.stdin.take();
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
        let shell = Shell { script, cwd: Path::new("/tmp"), env: &env, inherit: Inherit::Login, timeout, cancel: None };
        let ended = run(&shell, &mut |l| lines.push(l.to_string())).unwrap();
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
                inherit: Inherit::Login,
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
    fn the_command_and_its_children_die_with_the_caller() {
        // The guard as `run` starts it; dropping its stdin is what the kernel does when the
        // caller is killed.
        let dir = tempfile::tempdir().unwrap();
        let (pids, side) = (dir.path().join("pids"), dir.path().join("side"));
        let script = format!(
            "sleep 30 & echo $$ $! > {pids}.tmp; mv {pids}.tmp {pids}; sleep 2; touch {side}",
            pids = pids.display(),
            side = side.display()
        );
        let mut guard = Command::new("sh")
            .args(["-c", GUARD, "ship-guard", &script])
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        while !pids.exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = std::fs::read_to_string(&pids).unwrap();
        drop(guard.stdin.take());
        let alive = |pid: &str| Path::new("/proc").join(pid).join("stat").exists() && !zombie(pid);
        let deadline = Instant::now() + Duration::from_secs(1);
        while text.split_whitespace().any(alive) {
            assert!(Instant::now() < deadline, "a step process outlived its caller by a second: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = guard.wait();
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!side.exists(), "the step's side effect happened after its caller died");
    }

    #[test]
    fn what_a_finished_command_leaves_running_on_purpose_keeps_running() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("daemon");
        let script = format!("sleep 20 >/dev/null 2>&1 & echo $! > {}", pid_file.display());
        let (ended, _) = sh(&script, None);
        assert!(ended.success());
        std::thread::sleep(Duration::from_millis(300));
        let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        assert!(Path::new("/proc").join(&pid).exists() && !zombie(&pid), "the daemon was killed with the lifeline");
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid.parse().unwrap()).unwrap(),
            rustix::process::Signal::KILL,
        );
    }

    fn zombie(pid: &str) -> bool {
        let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).unwrap_or_default();
        stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'))
    }

    #[test]
    fn steps_get_the_login_variables_and_nothing_else_of_ours() {
        let env = login_env(&[("SHIP_APP".into(), "hello".into()), ("PATH".into(), "/opt/bin".into())]);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.iter().all(|n| LOGIN_VARS.contains(n) || *n == "SHIP_APP"), "{names:?}");
        assert_eq!(env.iter().filter(|(k, _)| k == "PATH").count(), 1);
        assert!(env.contains(&("PATH".into(), "/opt/bin".into())), "the step's own value wins");
        let (ended, lines) = sh("env | cut -d= -f1 | sort", None);
        assert!(ended.success());
        for line in &lines {
            assert!(
                LOGIN_VARS.contains(&line.as_str())
                    || ["GREETING", "PWD", "SHLVL", "_", "OLDPWD"].contains(&line.as_str()),
                "a step saw {line} of the caller's environment"
            );
        }
    }

    #[test]
    fn background_child_holding_the_pipe_does_not_block() {
        let start = Instant::now();
        let (ended, _) = sh("sleep 5 & echo started", None);
        assert!(ended.success());
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
