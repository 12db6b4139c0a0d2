//! Push versus pull: the first deploy of a ~50 MB artifact to 32 SSH targets on 127.0.0.1,
//! once sent by the deploying machine over SSH to each target (push, the default), once
//! fetched by each target from a real S3-compatible server (`[store] pull = true`). Prints
//! the wall time of each and the bytes the deploying machine sent, counted by relays that
//! carry its connections to sshd and to the store. Asserts nothing about time. Run with:
//!
//!     cargo bench --bench store
//!
//! Needs /usr/sbin/sshd and moto's server in target/moto-venv (see .ci/run).

#[path = "support/data.rs"]
mod data;
#[path = "../tests/suite/moto.rs"]
mod moto;
#[path = "../tests/suite/sshd.rs"]
mod sshd;

use data::content;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TARGETS: usize = 32;
const FILES: usize = 50;
const FILE_SIZE: usize = 1 << 20;

/// A TCP relay from a free port on 127.0.0.1 to `to`, counting the bytes that go towards
/// `to` (what the connecting side sends).
fn relay(to: u16) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else { continue };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_in, mut c_out) = (server, client);
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, sent)
}

fn ship(repo: &Path, base: &Path, env: &[(&str, String)], args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ship"))
        .args(args)
        .current_dir(repo)
        .env("HOME", base.join("home"))
        .env("SHIP_CACHE_DIR", base.join("cache"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("USER", "bench")
        .env("CI", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "ship {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn main() {
    if !Path::new("/usr/sbin/sshd").exists() {
        eprintln!("the store benchmark needs /usr/sbin/sshd: apt-get install openssh-server");
        return;
    }
    let Some(moto) = moto::Moto::start() else { return };
    moto.create_bucket("bench");
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    std::fs::create_dir_all(base.join("home")).unwrap();
    let sshd = sshd::Sshd::start(&base.join("sshd")).unwrap();
    let (ssh_port, ssh_sent) = relay(sshd.port);
    let (s3_port, s3_sent) = relay(moto.port);

    // 32 host aliases, every one through the counting relay to the one sshd.
    let host_key = std::fs::read_to_string(sshd.dir.join("host_key.pub")).unwrap();
    let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
    std::fs::write(base.join("known_hosts"), format!("[127.0.0.1]:{ssh_port} {}\n", host_key.join(" "))).unwrap();
    let aliases: Vec<String> = (1..=TARGETS).map(|n| format!("h{n}")).collect();
    std::fs::write(
        base.join("ssh_config"),
        format!(
            "Host {}\n  HostName 127.0.0.1\n  Port {ssh_port}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  LogLevel ERROR\n",
            aliases.join(" "),
            sshd.dir.join("client_key").display(),
            base.join("known_hosts").display()
        ),
    )
    .unwrap();

    let repo_dir = base.join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    for i in 0..FILES {
        std::fs::create_dir_all(repo_dir.join("assets")).unwrap();
        std::fs::write(repo_dir.join(format!("assets/blob{i:02}.bin")), content(i as u64, FILE_SIZE)).unwrap();
    }
    let targets = |env: &str| -> String {
        aliases
            .iter()
            .enumerate()
            .map(|(i, a)| format!("\"ssh://{a}{}/{env}-{i}\"", base.join("targets").display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        repo_dir.join("deploy.toml"),
        format!(
            "[app]\nname = \"bench\"\n\n[ssh]\nconfig = \"{}\"\n\n[store]\nurl = \"s3://bench/app\"\n\n\
             [env.push]\ntargets = [{}]\nparallel = {TARGETS}\n\n\
             [env.pull]\ntargets = [{}]\nparallel = {TARGETS}\npull = true\n",
            base.join("ssh_config").display(),
            targets("push"),
            targets("pull"),
        ),
    )
    .unwrap();
    let sig = git2::Signature::new("Bench", "bench@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "first", &tree, &[]).unwrap();

    let aws: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| if k == "AWS_ENDPOINT_URL" { (k, format!("http://127.0.0.1:{s3_port}")) } else { (k, v) })
        .collect();
    ship(&repo_dir, base, &aws, &["build"]);
    let artifact = std::fs::read_dir(base.join("cache/artifacts")).unwrap().next().unwrap().unwrap().path();
    let size = std::fs::metadata(&artifact).unwrap().len();
    // Every target gets ship's own binary first (uploaded once per target directory), so
    // that the figures below are the artifact's alone.
    ship(&repo_dir, base, &aws, &["status", "push"]);
    ship(&repo_dir, base, &aws, &["status", "pull"]);
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_ship")).unwrap().len();

    let mut rows = Vec::new();
    for env in ["push", "pull"] {
        ssh_sent.store(0, Ordering::Relaxed);
        s3_sent.store(0, Ordering::Relaxed);
        let took = ship(&repo_dir, base, &aws, &["deploy", env]);
        rows.push((env, took, ssh_sent.load(Ordering::Relaxed), s3_sent.load(Ordering::Relaxed)));
    }
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "first deploy of a {:.1} MB artifact to {TARGETS} SSH targets on 127.0.0.1 (ship binary {:.1} MB, uploaded beforehand)",
        mb(size),
        mb(binary)
    );
    println!("{:<6} {:>10} {:>22} {:>22}", "mode", "wall", "sent over SSH", "sent to the store");
    for (env, took, ssh, s3) in &rows {
        println!("{env:<6} {:>8.2} s {:>19.1} MB {:>19.1} MB", took.as_secs_f64(), mb(*ssh), mb(*s3));
    }
    let (push, pull) = (&rows[0], &rows[1]);
    println!(
        "pull/push: wall {:.2}x, bytes the deploying machine sent {:.3}x",
        pull.1.as_secs_f64() / push.1.as_secs_f64(),
        (pull.2 + pull.3) as f64 / (push.2 + push.3) as f64
    );
}
