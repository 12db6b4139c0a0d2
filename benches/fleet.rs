//! Wall time of whole `ship` runs against a real sshd on 127.0.0.1: the first deploy and a
//! no-op redeploy of a ~20 MB, ~2,000-file artifact, to 1 and to 8 targets, and a rollback.
//! Prints figures; asserts nothing about time. Run with:
//!
//!     cargo bench --bench fleet
//!
//! Needs /usr/sbin/sshd (apt-get install openssh-server).

#[path = "support/data.rs"]
mod data;
#[path = "../tests/suite/sshd.rs"]
mod sshd;

use data::{commit, content, median};

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 2000;
const FILE_SIZE: usize = 10 * 1024;
const RUNS: usize = 5;

fn ship(repo: &Path, base: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ship"))
        .args(args)
        .current_dir(repo)
        .env("HOME", base.join("home"))
        .env("SHIP_CACHE_DIR", base.join("cache"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("USER", "bench")
        .env("CI", "true")
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "ship {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn main() {
    if !Path::new("/usr/sbin/sshd").exists() {
        eprintln!("the fleet benchmark needs /usr/sbin/sshd: apt-get install openssh-server");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let sshd = sshd::Sshd::start(&base.join("sshd")).unwrap();
    std::fs::create_dir_all(base.join("home")).unwrap();
    let repo_dir = base.join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    for i in 0..FILES {
        let path = repo_dir.join(format!("assets/{:02}/file{i:04}.bin", i % 40));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(i as u64, FILE_SIZE)).unwrap();
    }
    let targets = |env: &str, n: usize| -> String {
        (1..=n)
            .map(|i| format!("\"ssh://target{i}{}/{env}-{i}\"", base.join("targets").display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        repo_dir.join("deploy.toml"),
        format!(
            "[app]\nname = \"bench\"\n\n{}\n[env.one]\ntargets = [{}]\n\n[env.eight]\ntargets = [{}]\nparallel = 8\n",
            sshd.ssh_table(),
            targets("one", 1),
            targets("eight", 8)
        ),
    )
    .unwrap();
    commit(&repo, "first", 0);

    let build = ship(&repo_dir, base, &["build"]);
    let artifact = std::fs::read_dir(base.join("cache/artifacts")).unwrap().next().unwrap().unwrap().path();
    let size = std::fs::metadata(&artifact).unwrap().len();
    println!(
        "artifact: {FILES} files, {:.1} MB compressed; first build {:.2} s",
        size as f64 / 1e6,
        build.as_secs_f64()
    );
    println!("{:<34} {:>10} {:>10}", "work (median of 5 unless noted)", "1 target", "8 targets");

    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();
    let by_env = |env: &str| {
        // First deploy: once (it is only ever first once), with a fresh control socket.
        let _ = std::fs::remove_dir_all(base.join("cache/ssh"));
        let first = ship(&repo_dir, base, &["deploy", env]);
        let noop = median(&(0..RUNS).map(|_| ship(&repo_dir, base, &["deploy", env])).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(base.join("cache/ssh"));
        let noop_cold = ship(&repo_dir, base, &["deploy", env]);
        (first, noop, noop_cold)
    };
    let one = by_env("one");
    let eight = by_env("eight");
    rows.push(("first deploy (once)".into(), one.0, eight.0));
    rows.push(("no-op redeploy, connection reused".into(), one.1, eight.1));
    rows.push(("no-op redeploy, new connection".into(), one.2, eight.2));

    // A second version, then rollback and forward again: the switch path.
    std::fs::write(repo_dir.join("assets/00/file0000.bin"), content(99_999, FILE_SIZE)).unwrap();
    commit(&repo, "second", 60);
    let second_one = ship(&repo_dir, base, &["deploy", "one"]);
    let second_eight = ship(&repo_dir, base, &["deploy", "eight"]);
    rows.push(("deploy of a new version (once)".into(), second_one, second_eight));
    let rb_one = ship(&repo_dir, base, &["rollback", "one"]);
    let rb_eight = ship(&repo_dir, base, &["rollback", "eight"]);
    rows.push(("rollback (once)".into(), rb_one, rb_eight));
    for (name, a, b) in rows {
        println!("{name:<34} {:>8.2} s {:>8.2} s", a.as_secs_f64(), b.as_secs_f64());
    }
}
