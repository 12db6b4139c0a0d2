//! `ship::process::run` and `ship guard`, the way every step, `unless` and health command
//! runs: output streamed, timeouts and cancels that stop everything the command started
//! (even what left its process group), and nothing that outlives its caller.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use ship::process::{Ended, Inherit, Shell, run};

use super::limits::{TimeLimit, default_signals};

fn guarded() {
    ship::process::set_guard_program(assert_cmd::cargo::cargo_bin("ship"));
}

fn sh(script: &str, timeout: Option<Duration>) -> (Ended, Vec<String>) {
    let _limit = TimeLimit::start();
    guarded();
    let mut lines = Vec::new();
    let env = vec![("GREETING".to_string(), "hi; rm -rf /".to_string())];
    let shell = Shell { script, cwd: Path::new("/tmp"), env: &env, inherit: Inherit::Login, timeout, cancel: None };
    let ended = run(&shell, &mut |l| lines.push(l.to_string())).unwrap();
    (ended, lines)
}

fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).unwrap_or_default();
    stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z') && !rest.trim().is_empty())
}

#[test]
fn streams_lines_and_exit_code() {
    let (ended, lines) = sh("echo one; echo two >&2; echo \"$GREETING\"; exit 3", None);
    assert_eq!(ended, Ended::Exited(Some(3)));
    assert_eq!(lines, ["one", "two", "hi; rm -rf /"]);
    let (ended, _) = sh("kill -KILL $$", None);
    assert_eq!(ended, Ended::Exited(None), "a command killed by a signal is reported as such");
}

/// What a timed-out command started is stopped too, even when it left the process group:
/// in the background, under GNU `timeout` (which makes its own group), or after `setsid`.
#[test]
fn a_timeout_stops_everything_the_command_started() {
    let dir = tempfile::tempdir().unwrap();
    let marker = |n: &str| dir.path().join(n).display().to_string();
    let script = format!(
        "(sleep 2; echo late > {a}) & timeout 60 sh -c 'sleep 2; touch {b}' & setsid sh -c 'sleep 2; touch {c}' & sleep 30",
        a = marker("a"),
        b = marker("b"),
        c = marker("c")
    );
    let start = Instant::now();
    let (ended, _) = sh(&script, Some(Duration::from_millis(500)));
    assert_eq!(ended, Ended::TimedOut);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    std::thread::sleep(Duration::from_millis(2500));
    for name in ["a", "b", "c"] {
        assert!(!dir.path().join(name).exists(), "what the command started ({name}) ran on after its timeout");
    }
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
    let shell = Shell {
        script: "while :; do echo working; done",
        cwd: Path::new("/tmp"),
        env: &[],
        inherit: Inherit::Login,
        timeout: None,
        cancel: Some(&cancel),
    };
    assert_eq!(run(&shell, &mut |_| {}).unwrap(), Ended::Cancelled);
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// The guard as `run` starts it; closing its stdin is what the kernel does when the caller
/// is killed. Within a second nothing of the command is left, even what left its group.
#[test]
fn the_command_and_all_it_started_die_with_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (pids, side) = (dir.path().join("pids"), dir.path().join("side"));
    let script = format!(
        "sleep 30 & a=$!; setsid sleep 30 & b=$!; echo $$ $a $b > {pids}.tmp; mv {pids}.tmp {pids}; sleep 2; touch {side}",
        pids = pids.display(),
        side = side.display()
    );
    let limit = TimeLimit::start();
    let mut guard = Command::new(assert_cmd::cargo::cargo_bin("ship"));
    guard.args(["guard", "--", "sh", "-c", &script]).stdin(Stdio::piped()).process_group(0);
    default_signals(&mut guard);
    let mut guard = guard.spawn().unwrap();
    limit.watch(guard.id());
    while !pids.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = std::fs::read_to_string(&pids).unwrap();
    drop(guard.stdin.take());
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
    assert!(alive(&pid), "the daemon was killed when its step ended");
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid.parse().unwrap()).unwrap(),
        rustix::process::Signal::KILL,
    );
}

#[test]
fn steps_see_the_login_variables_and_nothing_else_of_the_callers() {
    // The test process's environment is full of CARGO_* and the like: none may show.
    let (ended, lines) = sh("env | cut -s -d= -f1 | sort", None);
    assert!(ended.success());
    for line in &lines {
        assert!(
            ship::process::LOGIN_VARS.contains(&line.as_str())
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

/// A command that signals its own process group (`kill 0`, `trap 'kill 0' EXIT`) reaches
/// what it started, never its guard: the timeout still holds and nothing is left behind.
#[test]
fn a_command_signalling_its_own_group_never_hits_its_guard() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!(
        "trap '' INT HUP; kill -INT 0; kill -HUP 0; echo $$ > {}; echo still running; sleep 30",
        pid_file.display()
    );
    let (ended, lines) = sh(&script, Some(Duration::from_millis(800)));
    assert_eq!(ended, Ended::TimedOut, "{lines:?}");
    assert!(lines.contains(&"still running".to_string()), "{lines:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    assert!(!alive(&pid), "the command outlived its timeout");
    // The shell's own `kill 0` ends the shell itself by SIGTERM, as it would without ship.
    let (ended, _) = sh("trap 'kill 0' EXIT; exit 0", None);
    assert_eq!(ended, Ended::Exited(None));
}

/// A command that leaves something holding its output does not cost a thread and a file
/// descriptor for as long as that something runs.
#[test]
fn nothing_is_kept_for_what_a_finished_command_left_holding_its_output() {
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let (ended, _) = sh("sleep 10 & echo warm", None);
    assert!(ended.success());
    std::thread::sleep(Duration::from_millis(300));
    let before = count();
    for _ in 0..10 {
        let (ended, _) = sh("sleep 10 & echo started", None);
        assert!(ended.success());
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = count();
    assert!(after < before + 5, "{before} descriptors before, {after} after ten such commands");
}
