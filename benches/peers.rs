//! ship beside Capistrano, in one run, on the same SSH targets on 127.0.0.1. Prints figures
//! and ratios; asserts nothing about time. Run with:
//!
//!     cargo bench --bench peers
//!
//! Needs /usr/sbin/sshd (apt-get install openssh-server). The Capistrano part needs `cap` on
//! PATH (apt-get install capistrano: Debian 12 has 3.17.2); without it, a notice says so and
//! only ship's figures are printed.
//!
//! What is compared
//! ----------------
//! One sshd (the tests' harness, `tests/suite/sshd.rs`) reached through 8 host aliases,
//! `target1`..`target8`, and one app: a git repository of 120 files of 32 KiB of
//! incompressible data (3.9 MB). Each tool has its own 8 target directories.
//!
//! - ship: `CI=true ship -v deploy eight` / `ship -v rollback eight`, `parallel = 8`,
//!   `[release] keep = 5`. Its ControlMaster connections persist between runs (60 s), as
//!   they do for anyone who runs ship twice within a minute; a separate row gives the no-op
//!   with new connections (the sockets closed with `ssh -O exit` before each of those runs).
//! - Capistrano: `cap eight deploy` / `cap eight deploy:rollback`, with the stock git SCM
//!   (`git clone --mirror` of `file://<the repo>` on each target, then `git archive` into a
//!   new release), `keep_releases 5`, default output format and log level. net-ssh reads the
//!   harness's client config (`set :ssh_options, { config: [...], verify_host_key: :always }`):
//!   same key, same known_hosts, same aliases. Capistrano opens new connections on every run.
//!
//! Capistrano's `deploy_to` is one global setting, and all 8 aliases reach the same machine,
//! so a shared `deploy_to` would have the 8 hosts clobber one directory. The Capfile gives
//! each server its own: `server "target3", deploy_to: "<dir>/cap-3"` in the stage file, and
//! `Capistrano::DSL::Paths#deploy_to` redefined to read the `deploy_to` property of the host
//! whose `on` block is running (`SSHKit::Backend.current.host`: SSHKit runs each host's block
//! in its own thread and keeps the backend per thread). Two helpers that cache a path in a
//! global variable are made to derive it each time instead: `repo_path` (`fetch(:repo_path, ->
//! { ... })` stores its first answer) and `release_path` (computed from `:release_timestamp`,
//! which is the same on every host since one `cap` run gives all hosts one timestamp). The
//! bench checks every Capistrano target's `current/REVISION` after each run.
//!
//! The runs
//! --------
//! After one first deploy of commit c0 by each tool (printed, not compared), each of 5 rounds
//! makes a new commit (one file changed) and runs, alternating the tools run by run:
//! new version (ship, cap), rollback to c0 (ship, cap), redeploy of c0, which is live again
//! (ship, cap, then ship with new connections). ship's no-op is `ship deploy eight --ref
//! <c0>`, which finds c0 live and changes nothing; Capistrano's is `cap eight deploy` of the
//! same revision, which (as always) makes a new release. ship's new version includes building
//! its artifact from the commit, as Capistrano's includes fetching and exporting it.
//! Capistrano's rollback is the stock one, which also archives and deletes the release it
//! leaves (`deploy:cleanup_rollback`).
//!
//! With `-v`, a ship that counts them prints `<target>: N exchanges with its agent` per
//! target; the bench prints those counts, or says the ship under test does not report them.
//!
//! Last, ship alone on 50 targets (50 more host aliases, `h1`..`h50`, on the same sshd and
//! with the same key, in a client config written here): median wall time of a no-op and of
//! a new version against the number of targets (10, 25, 50) and the pool size (`workers`:
//! 1, 8, 32, the default), with `parallel` = the number of targets.

#[path = "support/data.rs"]
mod data;
#[path = "../tests/suite/sshd.rs"]
mod sshd;

use data::{commit, content, median};

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 120;
const FILE_SIZE: usize = 32 * 1024;
/// Rounds of the side-by-side comparison.
const RUNS: usize = 5;
/// Runs per figure of the 50-target table.
const SCALE_RUNS: usize = 3;
const FLEET: usize = 50;
/// (targets, workers) of the 50-target table.
const SCALE: [(usize, usize); 5] = [(10, 32), (25, 32), (50, 32), (50, 8), (50, 1)];

const CAPFILE: &str = r#"require "capistrano/setup"
require "capistrano/deploy"
require "capistrano/scm/git"
install_plugin Capistrano::SCM::Git

# All servers are one machine here (one sshd, 8 host aliases), so each has its own deploy_to,
# a server property read for the host whose `on` block runs (SSHKit keeps the backend per
# thread). Paths that Capistrano would cache globally are derived each time.
module Capistrano
  module DSL
    module Paths
      def deploy_to
        backend = SSHKit::Backend.current
        (backend && backend.host.properties.fetch(:deploy_to)) || fetch(:deploy_to)
      end

      def repo_path
        deploy_path.join("repo")
      end

      def release_path
        timestamp = fetch(:release_timestamp)
        timestamp ? releases_path.join(timestamp) : current_path
      end
    end
  end
end
"#;

struct Bench {
    base: PathBuf,
    repo_dir: PathBuf,
    cap_dir: PathBuf,
}

/// One ship run: its wall time and its stderr.
fn ship(b: &Bench, args: &[&str]) -> (Duration, String) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ship"))
        .args(args)
        .current_dir(&b.repo_dir)
        .env("HOME", b.base.join("home"))
        .env("SHIP_CACHE_DIR", b.base.join("cache"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("USER", "bench")
        .env("CI", "true")
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ship {args:?}: {stderr}");
    (took, stderr)
}

/// One cap run in the Capistrano project, deploying `revision` (a commit sha).
fn cap(b: &Bench, task: &str, revision: &str) -> Duration {
    let start = Instant::now();
    let out = Command::new("cap")
        .args(["eight", task])
        .current_dir(&b.cap_dir)
        .env("HOME", b.base.join("home"))
        .env("BENCH_REVISION", revision)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "cap eight {task}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// Every Capistrano target serves `sha`.
fn check_cap(b: &Bench, sha: &str) {
    for i in 1..=8 {
        let file = b.base.join(format!("targets/cap-{i}/current/REVISION"));
        let got = std::fs::read_to_string(&file).unwrap();
        assert_eq!(got.trim(), sha, "{}", file.display());
    }
}

/// Close ship's ControlMaster connections, so that the next run opens new ones.
fn close_connections(b: &Bench) {
    let Ok(dir) = std::fs::read_dir(b.base.join("cache/ssh")) else { return };
    for socket in dir.flatten() {
        let _ = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", socket.path().display()))
            .args(["-O", "exit", "bench"])
            .output();
    }
}

/// The `<target>: N exchanges with its agent` lines of a `ship -v` run.
fn exchanges(stderr: &str) -> Vec<(String, u64)> {
    const TAIL: &str = " exchanges with its agent";
    stderr
        .lines()
        .filter_map(|line| {
            let head = &line[..line.find(TAIL)?];
            let (target, n) = head.rsplit_once(": ")?;
            // Without what may stand before the target on the line (a timestamp, under CI).
            let target = target.rsplit(' ').next().unwrap_or(target);
            Some((target.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

fn describe_exchanges(found: &[(String, u64)]) -> String {
    if found.is_empty() {
        return "n/a (this ship does not report exchanges)".into();
    }
    let first = found[0].1;
    if found.iter().all(|(_, n)| *n == first) {
        format!("{first} per target ({} targets)", found.len())
    } else {
        found.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ")
    }
}

fn min(v: &[Duration]) -> Duration {
    *v.iter().min().unwrap()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn version_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// The 1-minute load average before the bench starts (afterwards it counts the bench's own
/// processes): other work on the machine skews every figure.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or("?".into())
}

fn main() {
    let load_before = load();
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    let Some(sshd) = sshd::Sshd::start(&base.join("sshd")) else {
        eprintln!("the peers benchmark needs /usr/sbin/sshd: apt-get install openssh-server");
        return;
    };
    std::fs::create_dir_all(base.join("home")).unwrap();
    let with_cap = on_path("cap");

    // The app: a git repository of FILES files of incompressible data.
    let repo_dir = base.join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    for i in 0..FILES {
        let path = repo_dir.join(format!("app/{:02}/file{i:03}.bin", i % 12));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(i as u64, FILE_SIZE)).unwrap();
    }

    // 50 more host aliases on the same sshd, same key and known_hosts, for the 50 targets.
    let client = std::fs::read_to_string(&sshd.ssh_config).unwrap();
    let fleet_aliases: Vec<String> = (1..=FLEET).map(|n| format!("h{n}")).collect();
    let ssh_config = base.join("ssh_config");
    std::fs::write(
        &ssh_config,
        format!(
            "{client}\nHost {}\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             LogLevel ERROR\n  UserKnownHostsFile {}\n",
            fleet_aliases.join(" "),
            sshd.port,
            sshd.dir.join("client_key").display(),
            sshd.dir.join("known_hosts").display(),
        ),
    )
    .unwrap();
    let targets = base.join("targets");
    let list = |hosts: &mut dyn Iterator<Item = (String, String)>| -> String {
        hosts.map(|(host, dir)| format!("\"ssh://{host}{}/{dir}\"", targets.display())).collect::<Vec<_>>().join(", ")
    };
    let mut toml = format!(
        "[app]\nname = \"bench\"\n\n[release]\nkeep = 5\n\n[ssh]\nconfig = \"{}\"\n\n[env.eight]\ntargets = [{}]\nparallel = 8\n",
        ssh_config.display(),
        list(&mut (1..=8).map(|i| (format!("target{i}"), format!("ship-{i}"))))
    );
    // One environment per (targets, workers), over the same target directories.
    for (n, workers) in SCALE {
        toml.push_str(&format!(
            "\n[env.n{n}w{workers}]\ntargets = [{}]\nparallel = {n}\nworkers = {workers}\n",
            list(&mut (1..=n).map(|i| (format!("h{i}"), format!("fleet-{i}"))))
        ));
    }
    std::fs::write(repo_dir.join("deploy.toml"), toml).unwrap();
    let c0 = commit(&repo, "first", 0);

    // The Capistrano project.
    let cap_dir = base.join("cap");
    std::fs::create_dir_all(cap_dir.join("config/deploy")).unwrap();
    std::fs::write(cap_dir.join("Capfile"), CAPFILE).unwrap();
    std::fs::write(
        cap_dir.join("config/deploy.rb"),
        format!(
            "set :application, \"bench\"\nset :repo_url, \"file://{}\"\nset :branch, ENV.fetch(\"BENCH_REVISION\")\n\
             set :deploy_to, \"/nonexistent/each-server-has-its-own\"\nset :keep_releases, 5\n\
             set :ssh_options, {{ config: [\"{}\"], verify_host_key: :always }}\n",
            repo_dir.display(),
            sshd.ssh_config.display()
        ),
    )
    .unwrap();
    std::fs::write(
        cap_dir.join("config/deploy/eight.rb"),
        (1..=8)
            .map(|i| format!("server \"target{i}\", roles: %w[app], deploy_to: \"{}/cap-{i}\"\n", targets.display()))
            .collect::<String>(),
    )
    .unwrap();
    let b = Bench { base: base.clone(), repo_dir: repo_dir.clone(), cap_dir };

    let ship_version = version_line(Command::new(env!("CARGO_BIN_EXE_ship")).arg("--version"));
    let ssh_version = version_line(Command::new("ssh").arg("-V"));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let app_bytes = FILES * FILE_SIZE;
    println!(
        "{ship_version} beside {}, {cores} cores, {ssh_version}",
        if with_cap { version_line(Command::new("cap").arg("--version")) } else { "no Capistrano".into() }
    );
    println!(
        "app: a git repository of {FILES} files, {:.1} MB of incompressible data; 8 SSH targets on 127.0.0.1 \
         (one sshd, host aliases target1..target8)",
        app_bytes as f64 / 1e6
    );
    if !with_cap {
        println!("notice: `cap` is not on PATH: skipping Capistrano (apt-get install capistrano); ship's figures only");
    }

    // First deploys, once each (connections are new for both).
    let (ship_first, _) = ship(&b, &["-v", "deploy", "eight"]);
    let cap_first = with_cap.then(|| {
        let t = cap(&b, "deploy", &c0);
        check_cap(&b, &c0);
        t
    });
    println!(
        "first deploy (once, includes uploading ship's binary): ship {}{}",
        secs(ship_first),
        cap_first.map_or(String::new(), |t| format!(", Capistrano {}", secs(t)))
    );

    #[derive(Default)]
    struct Series {
        ship: Vec<Duration>,
        cap: Vec<Duration>,
        exchanges: Vec<(String, u64)>,
    }
    let (mut new, mut back, mut noop, mut noop_cold) =
        (Series::default(), Series::default(), Series::default(), Series::default());
    let measuring = Instant::now();
    for run in 0..RUNS {
        std::fs::write(repo_dir.join("app/00/file000.bin"), content(10_000 + run as u64, FILE_SIZE)).unwrap();
        let sha = commit(&repo, &format!("change {run}"), 60 * (run as i64 + 1));

        let (t, err) = ship(&b, &["-v", "deploy", "eight"]);
        new.ship.push(t);
        new.exchanges = exchanges(&err);
        if with_cap {
            new.cap.push(cap(&b, "deploy", &sha));
            check_cap(&b, &sha);
        }

        let (t, err) = ship(&b, &["-v", "rollback", "eight"]);
        back.ship.push(t);
        back.exchanges = exchanges(&err);
        if with_cap {
            back.cap.push(cap(&b, "deploy:rollback", &c0));
            check_cap(&b, &c0);
        }

        let (t, err) = ship(&b, &["-v", "deploy", "eight", "--ref", &c0]);
        noop.ship.push(t);
        noop.exchanges = exchanges(&err);
        if with_cap {
            noop.cap.push(cap(&b, "deploy", &c0));
            check_cap(&b, &c0);
        }
        close_connections(&b);
        let (t, err) = ship(&b, &["-v", "deploy", "eight", "--ref", &c0]);
        noop_cold.ship.push(t);
        noop_cold.exchanges = exchanges(&err);
    }
    noop_cold.cap = noop.cap.clone();
    let side_by_side = measuring.elapsed();

    println!();
    println!("8 targets, {RUNS} runs each, the tools alternated run by run:");
    println!("{:<46} {:>9} {:>9} {:>9} {:>9} {:>10}", "work", "ship min", "ship med", "cap min", "cap med", "cap/ship");
    let rows = [
        ("no-op (redeploy of the live version)", &noop),
        ("deploy of a new version (new commit)", &new),
        ("rollback", &back),
        ("no-op, ship with new SSH connections", &noop_cold),
    ];
    for (name, s) in &rows {
        let (cap_min, cap_med, ratio) = if s.cap.is_empty() {
            ("-".into(), "-".into(), "-".into())
        } else {
            (
                secs(min(&s.cap)),
                secs(median(&s.cap)),
                format!("{:.1}x", median(&s.cap).as_secs_f64() / median(&s.ship).as_secs_f64()),
            )
        };
        println!(
            "{name:<46} {:>9} {:>9} {cap_min:>9} {cap_med:>9} {ratio:>10}",
            secs(min(&s.ship)),
            secs(median(&s.ship))
        );
    }
    println!("(cap/ship: Capistrano's median over ship's; Capistrano opens new connections on every run)");
    println!("exchanges with its agent per target (ship -v, last run):");
    for (name, s) in [("no-op", &noop), ("new version", &new), ("rollback", &back)] {
        println!("  {name:<12} {}", describe_exchanges(&s.exchanges));
    }

    // ship alone: 50 targets.
    let measuring_fleet = Instant::now();
    let (first_fleet, _) = ship(&b, &["deploy", &format!("n{FLEET}w32")]);
    println!();
    println!(
        "ship alone, targets on 50 more host aliases (h1..h50) of the same sshd, parallel = targets; \
         median of {SCALE_RUNS} runs (first deploy to {FLEET} targets, once: {})",
        secs(first_fleet)
    );
    println!("{:>7} {:>8} {:>9} {:>12}", "targets", "workers", "no-op", "new version");
    let mut n_commit = 1000;
    for (n, workers) in SCALE {
        let env = format!("n{n}w{workers}");
        ship(&b, &["deploy", &env]); // brings these targets up to date, opens connections: not measured
        let mut new = Vec::new();
        for _ in 0..SCALE_RUNS {
            n_commit += 1;
            std::fs::write(repo_dir.join("app/00/file000.bin"), content(n_commit, FILE_SIZE)).unwrap();
            commit(&repo, &format!("change {n_commit}"), n_commit as i64 * 60);
            new.push(ship(&b, &["deploy", &env]).0);
        }
        let noop: Vec<Duration> = (0..SCALE_RUNS).map(|_| ship(&b, &["deploy", &env]).0).collect();
        println!("{n:>7} {workers:>8} {:>9} {:>12}", secs(median(&noop)), secs(median(&new)));
    }
    println!();
    println!(
        "measuring took {:.0} s side by side and {:.0} s for the 50-target table; the 1-minute load average was \
         {load_before} before the bench started",
        side_by_side.as_secs_f64(),
        measuring_fleet.elapsed().as_secs_f64(),
    );
    close_connections(&b);
    drop(sshd);
}
