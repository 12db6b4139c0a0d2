//! ship beside Capistrano and Ansible, in one run, on the same app and the same SSH targets
//! on 127.0.0.1, with the same on-target layout (`<path>/releases/<x>`, `<path>/current`).
//! Prints medians, ratios and bytes sent; asserts nothing about time, but checks what is
//! live on every target after every run of every tool. The one command, which installs
//! what is missing first:
//!
//!     benches/peers.sh                 # BENCH_RUNS=1 for a quick look (default 3 runs)
//!
//! or, with everything installed, `cargo bench --bench peers`. Needs /usr/sbin/sshd; the
//! Capistrano part needs `cap` on PATH (Debian's `capistrano`), the Ansible part
//! `target/ansible-venv/bin/ansible-playbook` (ansible-core from PyPI): without one, a
//! notice says so and that tool is left out. docs/BENCHMARKS.md describes what each tool
//! does and why.
//!
//! Environment: BENCH_RUNS (runs per figure, default 3), BENCH_TOOLS (default
//! `ship,cap,ansible`), BENCH_APPEND=1 (append the results to docs/BENCHMARKS.md; benches/
//! peers.sh sets it unless BENCH_RUNS is below 3).
//!
//! The app (`support/app.rs`): 5,000 files, about 50 MB, code-like text and some binary
//! files in nested directories, in three commits: v1, v2 (15% of the files changed: "a new
//! version") and v3 (1% of the files and about 1% of the bytes changed: "a 1% change").
//!
//! Each run, for 1 target and for 8, each tool in turn (the order rotated run by run) does:
//! first deploy of v1 (cold: fresh target directories, no open SSH connection, no local
//! build cache, and for ship no uploaded agent), new version (v2), 1% change (v3), rollback
//! (to v2), no-op (v2 again, which is live). All SSH goes through a counting relay in front
//! of the sshd (`support/proxy.rs`); Capistrano's targets fetch the app from a git server
//! over SSH through a second relay. "Sent to the targets" is what the SSH clients of the
//! deploying machine sent plus what the git server sent.

#[path = "support/app.rs"]
mod app;
#[path = "support/data.rs"]
mod data;
#[path = "support/proxy.rs"]
mod proxy;
#[path = "../tests/suite/sshd.rs"]
mod sshd;

use data::{commit, median};
use proxy::{Bytes, Proxy};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tool {
    Ship,
    Cap,
    Ansible,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ship => "ship",
            Tool::Cap => "cap",
            Tool::Ansible => "ansible",
        }
    }
}

/// The scenarios, in the order each tool runs them: (name, version deployed or None for a
/// rollback, version live afterwards).
const SCENARIOS: [(&str, Option<u32>, u32); 5] = [
    ("first deploy (cold)", Some(1), 1),
    ("new version (15% of files)", Some(2), 2),
    ("1% change", Some(3), 3),
    ("rollback", None, 2),
    ("no-op (redeploy live version)", Some(2), 2),
];

const TARGET_COUNTS: [usize; 2] = [1, 8];

fn env_name(n: usize) -> &'static str {
    if n == 1 { "one" } else { "eight" }
}

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

/// What a typical user writes for releases/current with ansible-core alone: a tarball of
/// the commit built once on the controller, unpacked into `releases/<sha>` unless there,
/// `current` pointed at it, the releases beyond `keep_releases` removed.
const DEPLOY_YML: &str = r#"- name: deploy
  hosts: "{{ target_group }}"
  gather_facts: false
  vars:
    release: "{{ deploy_to }}/releases/{{ sha }}"
    tarball: "{{ build_dir }}/{{ sha }}.tar.gz"
    keep_releases: 5
  tasks:
    - name: build the release tarball from git, once, on the controller
      ansible.builtin.command:
        cmd: "git -C {{ repo }} archive --format=tar.gz -o {{ tarball }} {{ sha }}"
        creates: "{{ tarball }}"
      delegate_to: localhost
      run_once: true

    - name: is this release there already
      ansible.builtin.stat:
        path: "{{ release }}"
      register: release_dir

    - name: make the release directory
      ansible.builtin.file:
        path: "{{ release }}"
        state: directory
      when: not release_dir.stat.exists

    - name: unpack the release
      ansible.builtin.unarchive:
        src: "{{ tarball }}"
        dest: "{{ release }}"
      when: not release_dir.stat.exists

    - name: point current at it
      ansible.builtin.file:
        src: "{{ release }}"
        dest: "{{ deploy_to }}/current"
        state: link

    - name: list the releases
      ansible.builtin.find:
        paths: "{{ deploy_to }}/releases"
        file_type: directory
      register: releases

    - name: remove the releases beyond keep_releases
      ansible.builtin.file:
        path: "{{ item }}"
        state: absent
      loop: "{{ (releases.files | sort(attribute='mtime') | map(attribute='path') | reject('equalto', release) | list)[:-(keep_releases - 1)] }}"
"#;

/// Back to the release made before the live one.
const ROLLBACK_YML: &str = r#"- name: rollback
  hosts: "{{ target_group }}"
  gather_facts: false
  tasks:
    - name: what is live
      ansible.builtin.stat:
        path: "{{ deploy_to }}/current"
      register: current

    - name: list the releases
      ansible.builtin.find:
        paths: "{{ deploy_to }}/releases"
        file_type: directory
      register: releases

    - name: find the one before the live one
      ansible.builtin.set_fact:
        ordered: "{{ releases.files | sort(attribute='mtime') | map(attribute='path') | list }}"

    - name: there is one
      ansible.builtin.assert:
        that: ordered.index(current.stat.lnk_target) > 0

    - name: point current at it
      ansible.builtin.file:
        src: "{{ ordered[ordered.index(current.stat.lnk_target) - 1] }}"
        dest: "{{ deploy_to }}/current"
        state: link
"#;

struct Bench {
    base: PathBuf,
    repo_dir: PathBuf,
    /// The bare repository Capistrano's targets fetch from, its branch moved to the version
    /// being deployed (so that a fetch brings what a git server would have then, no more).
    served: git2::Repository,
    served_branch: String,
    cap_dir: PathBuf,
    ans_dir: PathBuf,
    targets: PathBuf,
    sshd_home: PathBuf,
    playbook: PathBuf,
    shas: [String; 3],
    ssh: Proxy,
    git: Proxy,
}

impl Bench {
    fn dir(&self, tool: Tool, n: usize, i: usize) -> PathBuf {
        self.targets.join(format!("{}-{n}-{i}", tool.name()))
    }

    fn sha(&self, v: u32) -> &str {
        &self.shas[v as usize - 1]
    }

    fn bytes(&self) -> (Bytes, Bytes) {
        (self.ssh.bytes(), self.git.bytes())
    }
}

/// Run `cmd`, panicking with its output when it fails; its wall time and stdout.
fn run(cmd: &mut Command) -> (Duration, String) {
    let start = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ship_cmd(b: &Bench) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ship"));
    cmd.current_dir(&b.repo_dir)
        .env("HOME", b.base.join("home"))
        .env("SHIP_CACHE_DIR", b.base.join("cache"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("USER", "bench")
        .env("CI", "true");
    cmd
}

/// Close the ControlMaster connections whose sockets are in `dir`.
fn close_masters(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for socket in entries.flatten() {
        let _ = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", socket.path().display()))
            .args(["-O", "exit", "bench"])
            .output();
    }
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

/// Closes every tool's persistent SSH connections when the bench ends, even by a panic (the
/// sshd and the relays end with the bench's own process and `Sshd`'s drop).
struct Masters(PathBuf);

impl Drop for Masters {
    fn drop(&mut self) {
        close_masters(&self.0.join("cache/ssh"));
        close_masters(&self.0.join("ansible/cp"));
    }
}

/// Make `tool`'s next deploy to `n` targets a cold one.
fn cold(b: &Bench, tool: Tool, n: usize) {
    for i in 1..=n {
        remove(&b.dir(tool, n, i));
    }
    match tool {
        Tool::Ship => {
            close_masters(&b.base.join("cache/ssh"));
            remove(&b.base.join("cache"));
            // Where the agent lives after the lean-bootstrap change ($HOME of the sessions);
            // today it is `<path>/.ship/bin/`, removed with the target directory.
            remove(&b.sshd_home.join(".cache/ship"));
        }
        Tool::Ansible => {
            close_masters(&b.ans_dir.join("cp"));
            remove(&b.ans_dir.join("build"));
            std::fs::create_dir_all(b.ans_dir.join("build")).unwrap();
        }
        Tool::Cap => {}
    }
}

/// One scenario by one tool: its wall time and the bytes sent to the targets.
fn step(b: &Bench, tool: Tool, n: usize, deploy: Option<u32>) -> (Duration, u64) {
    let env = env_name(n);
    let (ssh0, git0) = b.bytes();
    let took = match (tool, deploy) {
        (Tool::Ship, Some(v)) => run(ship_cmd(b).args(["deploy", env, "--yes", "--ref", b.sha(v)])).0,
        (Tool::Ship, None) => run(ship_cmd(b).args(["rollback", env, "--yes"])).0,
        (Tool::Cap, v) => {
            let live = v.map_or(b.sha(3), |v| b.sha(v)).to_string();
            if v.is_some() {
                let oid = git2::Oid::from_str(&live).unwrap();
                b.served.reference(&b.served_branch, oid, true, "bench").unwrap();
            }
            let task = if v.is_some() { "deploy" } else { "deploy:rollback" };
            run(Command::new("cap")
                .args([env, task])
                .current_dir(&b.cap_dir)
                .env("HOME", b.base.join("home"))
                .env("BENCH_REVISION", &live))
            .0
        }
        (Tool::Ansible, v) => {
            let mut cmd = Command::new(&b.playbook);
            cmd.current_dir(&b.ans_dir)
                .env("HOME", b.base.join("home"))
                .env("ANSIBLE_CONFIG", b.ans_dir.join("ansible.cfg"))
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .args(["-e", &format!("target_group={env}")]);
            match v {
                Some(v) => cmd.args(["deploy.yml", "-e", &format!("sha={}", b.sha(v))]),
                None => cmd.arg("rollback.yml"),
            };
            run(&mut cmd).0
        }
    };
    let (ssh1, git1) = b.bytes();
    (took, (ssh1 - ssh0).up + (git1 - git0).down)
}

/// Every target of `tool` serves version `v`.
fn check(b: &Bench, tool: Tool, n: usize, v: u32) {
    let probe = app::probe(v);
    for i in 1..=n {
        let current = b.dir(tool, n, i).join("current");
        let version = std::fs::read_to_string(current.join("VERSION"))
            .unwrap_or_else(|e| panic!("{}: {e}", current.join("VERSION").display()));
        assert_eq!(version.trim(), format!("v{v}"), "{} after its run", current.display());
        let file = current.join(app::path(app::PROBE));
        assert!(std::fs::read(&file).unwrap() == probe, "{} is not v{v}'s", file.display());
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or("?".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap().trim().into())
        })
        .unwrap_or_else(|| "?".to_string());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0));
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|o| o.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu}), {mem}, {os}")
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn median_u64(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let load_before = loadavg();
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3).max(1);
    let wanted = std::env::var("BENCH_TOOLS").unwrap_or("ship,cap,ansible".into());
    let playbook = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ansible-venv/bin/ansible-playbook");
    let mut tools = vec![Tool::Ship];
    if wanted.contains("cap") {
        if on_path("cap") {
            tools.push(Tool::Cap);
        } else {
            println!("notice: `cap` is not on PATH: leaving Capistrano out (benches/peers.sh installs it)");
        }
    }
    if wanted.contains("ansible") {
        if playbook.is_file() {
            tools.push(Tool::Ansible);
        } else {
            println!("notice: no {}: leaving Ansible out (benches/peers.sh installs it)", playbook.display());
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    let Some(sshd) = sshd::Sshd::start(&base.join("sshd")) else {
        eprintln!("the peers benchmark needs /usr/sbin/sshd: apt-get install openssh-server");
        return;
    };
    let masters = Masters(base.clone());
    std::fs::create_dir_all(base.join("home")).unwrap();
    let (ssh, git) = (Proxy::start(sshd.port), Proxy::start(sshd.port));

    // Client configs: the aliases target1..target8 reach the sshd through the first relay,
    // `gitserver` (used by Capistrano's targets) through the second.
    let host_pub = std::fs::read_to_string(sshd.dir.join("host_key.pub")).unwrap();
    let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
    let client_config = |name: &str, aliases: &str, port: u16| -> PathBuf {
        let known = base.join(format!("{name}_known_hosts"));
        std::fs::write(&known, format!("[127.0.0.1]:{port} {}\n", host_pub.join(" "))).unwrap();
        let config = base.join(format!("{name}_ssh_config"));
        std::fs::write(
            &config,
            format!(
                "Host {aliases}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {}\n  \
                 IdentitiesOnly yes\n  LogLevel ERROR\n  UserKnownHostsFile {}\n",
                sshd.dir.join("client_key").display(),
                known.display()
            ),
        )
        .unwrap();
        config
    };
    let aliases: Vec<String> = (1..=8).map(|i| format!("target{i}")).collect();
    let ssh_config = client_config("targets", &aliases.join(" "), ssh.port);
    let git_config = client_config("git", "gitserver", git.port);

    // The app, in three commits.
    let generating = Instant::now();
    let repo_dir = base.join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    std::fs::write(repo_dir.join(".git/info/exclude"), "deploy.toml\n").unwrap();
    let app_bytes = app::write(&repo_dir, 1);
    let v1 = commit(&repo, "v1", 0);
    let v2_bytes = app::write(&repo_dir, 2);
    let v2 = commit(&repo, "v2: a new version", 60);
    let v3_bytes = app::write(&repo_dir, 3);
    let v3 = commit(&repo, "v3: a 1% change", 120);
    let shas = [v1, v2, v3];
    let served_dir = base.join("served.git");
    run(Command::new("git").args(["clone", "-q", "--bare"]).arg(&repo_dir).arg(&served_dir));
    let served = git2::Repository::open_bare(&served_dir).unwrap();
    let served_branch = served.find_reference("HEAD").unwrap().symbolic_target().unwrap().unwrap().to_string();
    let generated = generating.elapsed();

    let targets = base.join("targets");
    let list = |tool: Tool, n: usize| -> String {
        (1..=n)
            .map(|i| format!("\"ssh://target{i}{}/{}-{n}-{i}\"", targets.display(), tool.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        repo_dir.join("deploy.toml"),
        format!(
            "[app]\nname = \"bench\"\n\n[release]\nkeep = 5\n\n[ssh]\nconfig = \"{}\"\n\n\
             [env.one]\ntargets = [{}]\n\n[env.eight]\ntargets = [{}]\nparallel = 8\n",
            ssh_config.display(),
            list(Tool::Ship, 1),
            list(Tool::Ship, 8)
        ),
    )
    .unwrap();

    // The Capistrano project: stages `one` and `eight`.
    let cap_dir = base.join("cap");
    std::fs::create_dir_all(cap_dir.join("config/deploy")).unwrap();
    std::fs::write(cap_dir.join("Capfile"), CAPFILE).unwrap();
    std::fs::write(
        cap_dir.join("config/deploy.rb"),
        format!(
            "set :application, \"bench\"\nset :repo_url, \"gitserver:{}\"\nset :branch, ENV.fetch(\"BENCH_REVISION\")\n\
             set :deploy_to, \"/nonexistent/each-server-has-its-own\"\nset :keep_releases, 5\n\
             set :ssh_options, {{ config: [\"{}\"], verify_host_key: :always }}\n\
             set :git_environmental_variables, {{ git_askpass: \"/bin/echo\", git_ssh_command: \"ssh -F {}\" }}\n",
            served_dir.display(),
            ssh_config.display(),
            git_config.display()
        ),
    )
    .unwrap();
    for n in TARGET_COUNTS {
        std::fs::write(
            cap_dir.join(format!("config/deploy/{}.rb", env_name(n))),
            (1..=n)
                .map(|i| {
                    format!(
                        "server \"target{i}\", roles: %w[app], deploy_to: \"{}\"\n",
                        targets.join(format!("cap-{n}-{i}")).display()
                    )
                })
                .collect::<String>(),
        )
        .unwrap();
    }

    // The Ansible project.
    let ans_dir = base.join("ansible");
    std::fs::create_dir_all(ans_dir.join("build")).unwrap();
    std::fs::write(ans_dir.join("deploy.yml"), DEPLOY_YML).unwrap();
    std::fs::write(ans_dir.join("rollback.yml"), ROLLBACK_YML).unwrap();
    let mut inventory = String::new();
    for n in TARGET_COUNTS {
        let env = env_name(n);
        writeln!(inventory, "[{env}]").unwrap();
        for i in 1..=n {
            writeln!(inventory, "{env}-{i} ansible_host=target{i} deploy_to={}/ansible-{n}-{i}", targets.display())
                .unwrap();
        }
    }
    write!(
        inventory,
        "\n[all:vars]\nansible_ssh_common_args='-F {}'\nrepo={}\nbuild_dir={}\n",
        ssh_config.display(),
        repo_dir.display(),
        ans_dir.join("build").display()
    )
    .unwrap();
    std::fs::write(ans_dir.join("inventory.ini"), inventory).unwrap();
    std::fs::write(
        ans_dir.join("ansible.cfg"),
        format!(
            "[defaults]\ninventory = {dir}/inventory.ini\nforks = 8\ngathering = explicit\nhost_key_checking = True\n\
             retry_files_enabled = False\ninterpreter_python = /usr/bin/python3\nlocal_tmp = {dir}/tmp\n\n\
             [ssh_connection]\npipelining = True\nssh_args = -C -o ControlMaster=auto -o ControlPersist=60s\n\
             control_path_dir = {dir}/cp\n",
            dir = ans_dir.display()
        ),
    )
    .unwrap();

    let b = Bench {
        base: base.clone(),
        repo_dir: repo_dir.clone(),
        served,
        served_branch,
        cap_dir,
        ans_dir,
        targets,
        sshd_home: sshd.dir.join("home"),
        playbook: playbook.clone(),
        shas,
        ssh,
        git,
    };

    let mut versions = vec![first_line(Command::new(env!("CARGO_BIN_EXE_ship")).arg("--version"))];
    if tools.contains(&Tool::Cap) {
        versions.push(first_line(Command::new("cap").arg("--version")));
    }
    if tools.contains(&Tool::Ansible) {
        versions.push(first_line(Command::new(playbook.with_file_name("ansible")).arg("--version")));
    }
    let ssh_version = first_line(Command::new("ssh").arg("-V"));
    // The commit checked out, and the last one that changed ship's own sources (what is measured).
    let git = |args: &[&str]| first_line(Command::new("git").args(["-C", env!("CARGO_MANIFEST_DIR")]).args(args));
    let src_dirty = !git(&["status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"]).is_empty();
    let commit_measured = format!(
        "{} (src/ as of {}{})",
        git(&["describe", "--always", "--dirty", "--abbrev=7"]),
        git(&["log", "-1", "--format=%h", "--", "src", "Cargo.toml", "Cargo.lock"]),
        if src_dirty { ", with uncommitted changes" } else { "" }
    );
    let mut out = String::new();
    writeln!(out, "tools: {} at {commit_measured}; {}; {ssh_version}", versions[0], versions[1..].join("; ")).unwrap();
    writeln!(out, "machine: {}; load average {load_before} (1, 5, 15 min) before the bench", machine()).unwrap();
    writeln!(
        out,
        "app: {} files, {} ({} of them changed in v2, {} in v3), generated and committed in {:.1} s",
        app::FILES + 1,
        mb(app_bytes),
        mb(v2_bytes),
        mb(v3_bytes),
        generated.as_secs_f64()
    )
    .unwrap();
    print!("{out}");

    // `ship build` of the app, the cache emptied before each build; then the artifacts'
    // sizes.
    let mut builds = Vec::new();
    for _ in 0..runs {
        remove(&b.base.join("cache/artifacts"));
        builds.push(run(ship_cmd(&b).args(["build", "--ref", b.sha(1)])).0);
    }
    let artifact_size = |v: u32| -> u64 {
        let sha = run(ship_cmd(&b).args(["build", "-q", "--ref", b.sha(v)])).1;
        let sha = sha.split_whitespace().find(|w| w.len() == 64).expect("ship build prints the sha256").to_string();
        std::fs::metadata(b.base.join(format!("cache/artifacts/{sha}.tar.zst"))).unwrap().len()
    };
    let artifacts = [artifact_size(1), artifact_size(2), artifact_size(3)];
    let build = median(&builds);
    writeln!(
        out,
        "ship build of v1: median {} of {} builds, {:.0} MB/s of app; artifacts (tar+zstd) v1 {}, v2 {}, v3 {}",
        secs(build),
        builds.len(),
        app_bytes as f64 / 1e6 / build.as_secs_f64(),
        mb(artifacts[0]),
        mb(artifacts[1]),
        mb(artifacts[2])
    )
    .unwrap();
    println!("{}", out.lines().last().unwrap());

    // The runs.
    type Key = (usize, usize, Tool); // scenario, targets, tool
    let mut times: BTreeMap<Key, Vec<Duration>> = BTreeMap::new();
    let mut sent: BTreeMap<Key, Vec<u64>> = BTreeMap::new();
    let mut loads = Vec::new();
    let measuring = Instant::now();
    for r in 0..runs {
        loads.push(loadavg());
        println!("run {}/{runs}, load average {}", r + 1, loads.last().unwrap());
        for n in TARGET_COUNTS {
            for k in 0..tools.len() {
                let tool = tools[(r + k) % tools.len()];
                cold(&b, tool, n);
                let mut line = format!("  {:<8} {n} target{} ", tool.name(), if n == 1 { " " } else { "s" });
                for (s, (_, deploy, live)) in SCENARIOS.iter().enumerate() {
                    let (t, bytes) = step(&b, tool, n, *deploy);
                    check(&b, tool, n, *live);
                    times.entry((s, n, tool)).or_default().push(t);
                    sent.entry((s, n, tool)).or_default().push(bytes);
                    write!(line, " {:>7}", secs(t)).unwrap();
                }
                println!("{line}");
                for i in 1..=n {
                    remove(&b.dir(tool, n, i)); // disk space; not measured
                }
            }
        }
    }
    let measured = measuring.elapsed();
    let load_after = loadavg();

    // The tables.
    let has = |t: Tool| tools.contains(&t);
    let mut table = String::new();
    write!(table, "\n| scenario | targets | ship |").unwrap();
    for (t, name) in [(Tool::Cap, "Capistrano"), (Tool::Ansible, "Ansible")] {
        if has(t) {
            write!(table, " {name} | {name} / ship |").unwrap();
        }
    }
    write!(table, "\n|---|---:|---:|").unwrap();
    for t in [Tool::Cap, Tool::Ansible] {
        if has(t) {
            write!(table, "---:|---:|").unwrap();
        }
    }
    table.push('\n');
    for n in TARGET_COUNTS {
        for (s, (name, ..)) in SCENARIOS.iter().enumerate() {
            let ship = median(&times[&(s, n, Tool::Ship)]);
            write!(table, "| {name} | {n} | {} |", secs(ship)).unwrap();
            for t in [Tool::Cap, Tool::Ansible] {
                if has(t) {
                    let peer = median(&times[&(s, n, t)]);
                    write!(table, " {} | {:.1}x |", secs(peer), peer.as_secs_f64() / ship.as_secs_f64()).unwrap();
                }
            }
            table.push('\n');
        }
    }
    writeln!(
        out,
        "\nWall time, median of {runs} run{} (peer / ship > 1: ship is faster):",
        if runs == 1 { "" } else { "s" }
    )
    .unwrap();
    out.push_str(&table);

    let mut table = String::new();
    write!(table, "\n| scenario | targets | ship |").unwrap();
    for (t, name) in [(Tool::Cap, "Capistrano"), (Tool::Ansible, "Ansible")] {
        if has(t) {
            write!(table, " {name} |").unwrap();
        }
    }
    write!(table, "\n|---|---:|---:|").unwrap();
    for t in [Tool::Cap, Tool::Ansible] {
        if has(t) {
            write!(table, "---:|").unwrap();
        }
    }
    table.push('\n');
    for n in TARGET_COUNTS {
        for (s, (name, ..)) in SCENARIOS.iter().enumerate() {
            write!(table, "| {name} | {n} |").unwrap();
            for t in [Tool::Ship, Tool::Cap, Tool::Ansible] {
                if has(t) {
                    write!(table, " {} |", mb(median_u64(&sent[&(s, n, t)]))).unwrap();
                }
            }
            table.push('\n');
        }
    }
    writeln!(
        out,
        "\nSent to the targets (median; SSH client to server, plus the git server's replies for Capistrano):"
    )
    .unwrap();
    out.push_str(&table);
    writeln!(out).unwrap();
    for n in TARGET_COUNTS {
        let per_target = |t: Tool| median_u64(&sent[&(2, n, t)]) as f64 / n as f64;
        let mut line = format!(
            "- 1% change, {n} target{}: per target, ship sent {} = {:.1}% of the v3 artifact ({})",
            if n == 1 { "" } else { "s" },
            mb(per_target(Tool::Ship) as u64),
            100.0 * per_target(Tool::Ship) / artifacts[2] as f64,
            mb(artifacts[2])
        );
        for (t, name) in [(Tool::Cap, "Capistrano"), (Tool::Ansible, "Ansible")] {
            if has(t) {
                write!(
                    line,
                    "; {name} {} = {:.1}%",
                    mb(per_target(t) as u64),
                    100.0 * per_target(t) / artifacts[2] as f64
                )
                .unwrap();
            }
        }
        writeln!(out, "{line}").unwrap();
    }
    writeln!(
        out,
        "- load average at the start of each run: {}; after: {load_after}; measuring took {:.0} s",
        loads.join(" / "),
        measured.as_secs_f64()
    )
    .unwrap();
    let tail = out.lines().skip(4).collect::<Vec<_>>().join("\n");
    println!("{tail}");

    if std::env::var("BENCH_APPEND").is_ok_and(|v| v == "1") {
        let date = first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
        let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/BENCHMARKS.md");
        let (head, rest) = out.split_once("\nWall time").unwrap();
        let section = format!(
            "\n### Run of {date}, ship at {commit_measured}\n\nCommand: `BENCH_RUNS={runs} benches/peers.sh`\n\n\
             ```text\n{}\n```\n\nWall time{rest}",
            head.trim_end()
        );
        let mut text = std::fs::read_to_string(&doc).unwrap();
        text.push_str(&section);
        std::fs::write(&doc, text).unwrap();
        println!("appended to {}", doc.display());
    }
    drop(masters);
    drop(b);
    drop(sshd);
}
