//! Time limits, so that the suite fails instead of hanging: every ship that
//! [`Project::ship`](super::harness::Project::ship) runs is killed after [`ship_limit`], and
//! every test that holds a [`TimeLimit`] (each [`Project`](super::harness::Project) does) is
//! watched. Past [`test_limit`], the watchdog kills the ship processes the test started (so
//! the test fails where it waits on them, with its own message); if the test still runs
//! [`GRACE`] later, the whole test run ends with exit 101, naming the test.
//!
//! `SHIP_TEST_TIME_LIMIT` (seconds) overrides the limit of a test, e.g. for a slow machine.
//!
//! Every process the harness starts also gets the default disposition of every signal
//! ([`default_signals`]): a suite started under `nohup`, or from a script that runs it in
//! the background (SIGINT ignored), would otherwise pass SIG_IGN on to the ship it signals.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

/// How long one test may run, unless `SHIP_TEST_TIME_LIMIT` says otherwise.
const TEST_LIMIT: Duration = Duration::from_secs(300);
/// How long one ship run may take (never more than the test's own limit).
const SHIP_LIMIT: Duration = Duration::from_secs(120);
/// How long a test that went past its limit gets to fail on its own.
pub const GRACE: Duration = Duration::from_secs(30);

/// The limit of one test.
pub fn test_limit() -> Duration {
    std::env::var("SHIP_TEST_TIME_LIMIT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(TEST_LIMIT, Duration::from_secs)
}

/// The limit of one ship run.
pub fn ship_limit() -> Duration {
    SHIP_LIMIT.min(test_limit())
}

/// A test's clock: what the watchdog knows of it.
struct Clock {
    test: String,
    deadline: Instant,
    pids: Vec<u32>,
    fired: bool,
}

static CLOCKS: Mutex<BTreeMap<u64, Clock>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);
static WATCHDOG: Once = Once::new();

/// The running test's time limit, from its creation until it is dropped.
pub struct TimeLimit {
    id: u64,
}

impl TimeLimit {
    /// Start the clock of the test on this thread (libtest names each test's thread after it).
    pub fn start() -> TimeLimit {
        WATCHDOG.call_once(|| {
            std::thread::Builder::new().name("watchdog".into()).spawn(watchdog).expect("starting the watchdog");
        });
        let id = NEXT.fetch_add(1, Ordering::SeqCst);
        let test = std::thread::current().name().unwrap_or("a test").to_string();
        let clock = Clock { test, deadline: Instant::now() + test_limit(), pids: Vec::new(), fired: false };
        CLOCKS.lock().unwrap_or_else(PoisonError::into_inner).insert(id, clock);
        TimeLimit { id }
    }

    /// Kill `pid`, a child of this process, when the test runs past its limit.
    pub fn watch(&self, pid: u32) {
        if let Some(clock) = CLOCKS.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&self.id) {
            clock.pids.push(pid);
        }
    }
}

impl Drop for TimeLimit {
    fn drop(&mut self) {
        CLOCKS.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
    }
}

fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = Instant::now();
        let mut clocks = CLOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        for clock in clocks.values_mut() {
            if !clock.fired && now >= clock.deadline {
                clock.fired = true;
                say(&format!(
                    "{}: ran past its time limit of {} s; killing the processes it started {:?}",
                    clock.test,
                    test_limit().as_secs(),
                    clock.pids
                ));
                for pid in &clock.pids {
                    kill_child(*pid);
                }
            } else if clock.fired && now >= clock.deadline + GRACE {
                say(&format!(
                    "{}: still running {} s past its time limit; ending the test run",
                    clock.test,
                    GRACE.as_secs()
                ));
                std::process::exit(101);
            }
        }
    }
}

/// Write to the real stderr: libtest captures `eprintln!` for the test whose thread started
/// the watchdog, and would show it only if that test failed.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n{line}");
}

/// SIGKILL `pid` if it is still a child of this process (a pid that was reaped may have
/// been reused by someone else's process).
fn kill_child(pid: u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ppid = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)).and_then(|p| p.parse().ok());
    if ppid == Some(std::process::id())
        && let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Start `cmd` with the default disposition of every signal, whatever this process
/// inherited (`nohup` ignores SIGHUP, a background job SIGINT and SIGQUIT), as a process
/// started from an interactive shell has. ship itself keeps an inherited SIG_IGN, as it
/// should: `nohup ship deploy` means "survive the hang-up".
pub fn default_signals(cmd: &mut std::process::Command) {
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the child between fork and exec, and only calls signal(2),
    // which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            for signal in 1..32 {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    // Numbers this kernel does not know are refused; nothing to undo then.
                    libc::signal(signal, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
}

/// Run tests of this very binary by exact name, through `sh -c "PRELUDE; exec ..."`, with
/// `limit` seconds per test: (exit code, stdout and stderr, how long it took).
fn rerun(prelude: &str, tests: &[&str], ignored: bool, limit: u64) -> (Option<i32>, String, Duration) {
    let watch = TimeLimit::start();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{prelude}; exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "--test-threads", "2"])
        .args(ignored.then_some("--ignored"))
        .args(tests)
        .env("SHIP_TEST_TIME_LIMIT", limit.to_string())
        .stdin(std::process::Stdio::null());
    default_signals(&mut cmd);
    let started = Instant::now();
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    watch.watch(child.id());
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text, started.elapsed())
}

/// A suite started with SIGHUP, SIGINT, SIGTERM and SIGQUIT ignored (under `nohup`, or as a
/// background job of a script) still signals ship the way its tests expect. Before the
/// harness reset the dispositions, the hang-up test waited forever on a ship that
/// inherited SIG_IGN for SIGHUP.
#[test]
fn signal_tests_pass_in_a_suite_started_with_signals_ignored() {
    let tests = [
        "suite::failures::a_killed_or_hung_up_ship_leaves_no_local_step_running",
        "suite::safety::the_first_ctrl_c_lets_the_running_step_finish_then_rolls_back",
        "suite::safety::a_second_ctrl_c_exits_at_once_leaving_complete_releases",
    ];
    let (code, text, _) = rerun("trap '' HUP INT TERM QUIT", &tests, false, 30);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("3 passed"), "{text}");
    assert!(!text.contains("time limit"), "{text}");
}

/// A test that waits on a ship that never finishes fails once past its time limit, with
/// its own message, and the run goes on: nothing hangs.
#[test]
fn a_test_past_its_time_limit_fails_instead_of_hanging() {
    let tests = ["suite::limits::waits_on_a_spawned_ship_forever", "suite::limits::runs_a_ship_that_never_ends"];
    let (code, text, took) = rerun(":", &tests, true, 3);
    assert_eq!(code, Some(101), "{text}");
    assert!(text.contains("0 passed; 2 failed"), "each fails on its own:\n{text}");
    assert!(text.contains("waits_on_a_spawned_ship_forever: ran past its time limit of 3 s"), "{text}");
    assert!(text.contains("ran past its time limit of 3 s and was killed"), "{text}");
    assert!(took < GRACE, "the tests failed where they waited, not when the run was ended: {took:?}\n{text}");
}

/// A project whose deploy runs a step that never ends.
fn never_ending() -> super::harness::Project {
    let p = super::harness::Project::with_targets(&["a"], "");
    p.new_version(&super::harness::Gate::new(&p).step(), "two\n");
    p
}

#[test]
#[ignore = "hangs on purpose until the watchdog acts: run by a_test_past_its_time_limit_fails_instead_of_hanging"]
fn waits_on_a_spawned_ship_forever() {
    let p = never_ending();
    let out = p.spawn(&["deploy", "staging"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
#[ignore = "hangs on purpose until its ship is killed: run by a_test_past_its_time_limit_fails_instead_of_hanging"]
fn runs_a_ship_that_never_ends() {
    never_ending().expect(&["deploy", "staging"], 0);
}
