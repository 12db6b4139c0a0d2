//! `ship guard -- PROGRAM ARGS...`: the process every step, `unless` and health command
//! runs under, so that none outlives whoever started it.
//!
//! The guard is started by [`super::run`] as the leader of a new process group (the command
//! gets one of its own below it, so a signal it sends its group never hits the guard), with a pipe
//! on its stdin (the lifeline) whose only writer is its caller. It makes itself a child
//! subreaper, so everything the command starts stays below it even when it leaves the
//! process group (`setsid`, GNU `timeout`, a shell with job control) or is orphaned. Then:
//! - the command ends: the guard exits as the command did. What the command left running
//!   on purpose (`nohup ./server >/dev/null 2>&1 &`) is left alone.
//! - SIGTERM (a timeout, or the caller stopping the step): every descendant gets SIGTERM, and
//!   SIGKILL after a grace period; the guard exits once none is left.
//! - the lifeline ends (the caller is gone, however it died, even by SIGKILL): every
//!   descendant gets SIGKILL at once, until none is left.
//!
//! It never prints: stdout and stderr belong to the command.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::process::{Pid, Signal, WaitOptions};

/// How long the command and what it started get to stop after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);

/// How often the guard looks again while it stops the command.
const TICK: Duration = Duration::from_millis(10);

/// The command's process group, once it is started.
static COMMAND_GROUP: std::sync::OnceLock<Pid> = std::sync::OnceLock::new();

/// Run `program` with `args` under the guard; never returns.
pub fn guard(program: &std::ffi::OsStr, args: &[std::ffi::OsString]) -> Result<std::convert::Infallible> {
    let me = rustix::process::getpid();
    // Orphans below us are re-parented to us, not to init: we can always find them.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_child_subreaper(Some(me));
    // Set once the command is being stopped: from then on the stopping thread decides
    // when the guard exits (once nothing of the command is left).
    let stopping = Arc::new(AtomicBool::new(false));

    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM]).context("watching for SIGTERM")?;
    let on_term = stopping.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            on_term.store(true, Ordering::SeqCst);
            signal_descendants(me, Signal::TERM);
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline && !descendants(me).is_empty() {
                std::thread::sleep(TICK);
            }
            kill_all(me, Signal::KILL);
            std::process::exit(128 + signal_hook::consts::SIGTERM);
        }
    });

    let on_lost = stopping.clone();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 64];
        // Nothing is ever written: any return but data is the end of the lifeline.
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        on_lost.store(true, Ordering::SeqCst);
        kill_all(me, Signal::KILL);
        std::process::exit(137);
    });

    // The command leads a process group of its own: a signal it sends to its group
    // (`kill 0`, `trap 'kill 0' EXIT`) reaches what it started, never the guard.
    let child = match Command::new(program).args(args).stdin(Stdio::null()).process_group(0).spawn() {
        Ok(child) => child,
        // As a shell says it, with its codes: 127 not found, 126 found but not runnable.
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
            let _ = writeln!(std::io::stderr(), "ship: {}: {e}", program.to_string_lossy());
            std::process::exit(code);
        }
    };
    let child = Pid::from_child(&child);
    let _ = COMMAND_GROUP.set(child);

    // Reap everything that ends (the command, and orphans re-parented to us) until the
    // command itself has ended.
    let status = loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((pid, status))) if pid == child => break status,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => std::thread::sleep(TICK),
        }
    };
    if stopping.load(Ordering::SeqCst) {
        // The stopping thread exits once everything is gone; keep reaping until then.
        loop {
            if !matches!(rustix::process::wait(WaitOptions::empty()), Ok(Some(_))) {
                std::thread::sleep(TICK);
            }
        }
    }
    if let Some(signal) = status.terminating_signal() {
        // End the way the command ended, so the caller sees a signal, not an exit code.
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        std::process::exit(128 + signal);
    }
    std::process::exit(status.exit_status().unwrap_or(1));
}

/// Send `signal` to every descendant of `me` until none is left (a command still forking
/// is caught by the next pass).
fn kill_all(me: Pid, signal: Signal) {
    for _ in 0..100 {
        if signal_descendants(me, signal) == 0 {
            return;
        }
        std::thread::sleep(TICK);
    }
}

/// Send `signal` to every live descendant of `me`; returns how many there were.
fn signal_descendants(me: Pid, signal: Signal) -> usize {
    let pids = descendants(me);
    for pid in &pids {
        let _ = rustix::process::kill_process(*pid, signal);
    }
    if !std::path::Path::new("/proc").is_dir() {
        // No process table to read: the command's process group is what we can reach.
        if let Some(group) = COMMAND_GROUP.get() {
            let _ = rustix::process::kill_process_group(*group, signal);
        }
    }
    pids.len()
}

/// The live (not yet exited) descendants of `me`, from the process table.
pub fn descendants(me: Pid) -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut parent_of: Vec<(i32, i32)> = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let Some(ppid) = fields.next().and_then(|p| p.parse::<i32>().ok()) else { continue };
        if state != "Z" && state != "X" {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![me.as_raw_nonzero().get()];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parent_of.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.into_iter().skip(1).filter_map(Pid::from_raw).collect()
}
