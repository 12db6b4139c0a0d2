//! A hermetic world per test: a fresh HOME, artifact store and git config, a real git
//! repository with pinned commit times, and target directories under one temp dir. Each
//! project carries its test's time limit (`limits`): no test can hang the suite.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use git2::{Repository, Signature, Time};

use super::limits::{self, TimeLimit};

pub struct Project {
    limit: TimeLimit,
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub base: PathBuf,
    repo: Repository,
    commits: std::cell::Cell<i64>,
    /// More environment for every ship this project runs (`set_env`).
    env: std::cell::RefCell<Vec<(String, String)>>,
}

/// A minimal valid deploy.toml with one environment of `targets`.
pub fn config_with(targets: &[&Path], extra: &str) -> String {
    let list: Vec<String> = targets.iter().map(|t| format!("\"local:{}\"", t.display())).collect();
    format!("[app]\nname = \"hello\"\n\n{extra}\n\n[env.staging]\ntargets = [{}]\n", list.join(", "))
}

impl Project {
    /// An empty repository.
    pub fn empty() -> Project {
        let limit = TimeLimit::start();
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("repo");
        let home = base.join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let repo = Repository::init(&root).unwrap();
        Project { limit, _tmp: tmp, root, home, base, repo, commits: std::cell::Cell::new(0), env: Default::default() }
    }

    /// A repository with an index.html, a health script, and deploy.toml for `targets`
    /// (created under the project's temp dir), committed and tagged v1.
    pub fn with_targets(names: &[&str], extra: &str) -> Project {
        let p = Project::empty();
        let targets: Vec<PathBuf> = names.iter().map(|n| p.target(n)).collect();
        let refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
        p.write("index.html", "version one\n");
        p.write_exec("bin/healthy", "#!/bin/sh\ntest -f index.html\n");
        p.write("deploy.toml", &config_with(&refs, extra));
        p.commit("first");
        p.tag("v1");
        p
    }

    pub fn target(&self, name: &str) -> PathBuf {
        self.base.join("targets").join(name)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn write_exec(&self, rel: &str, content: &str) {
        use std::os::unix::fs::PermissionsExt;
        self.write(rel, content);
        std::fs::set_permissions(self.root.join(rel), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Commit everything in the working tree; commit times are pinned and increase.
    pub fn commit(&self, message: &str) -> String {
        let n = self.commits.get();
        self.commits.set(n + 1);
        self.commit_at(message, 1_700_000_000 + n * 3600)
    }

    /// Commit everything in the working tree, authored and committed at `time` (seconds
    /// since the epoch).
    pub fn commit_at(&self, message: &str, time: i64) -> String {
        let sig = Signature::new("Tester", "tester@example.com", &Time::new(time, 0)).unwrap();
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap().to_string()
    }

    pub fn tag(&self, name: &str) {
        let head = self.repo.head().unwrap().peel_to_commit().unwrap();
        self.repo.tag_lightweight(name, head.as_object(), false).unwrap();
    }

    pub fn head(&self) -> String {
        self.repo.head().unwrap().peel_to_commit().unwrap().id().to_string()
    }

    /// `ship` with a hermetic environment and default signal dispositions, run in the
    /// repository, as a std Command.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ship"));
        cmd.current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("USER", "tester")
            .env("SHIP_CACHE_DIR", self.base.join("cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1");
        cmd.envs(self.env.borrow().iter().map(|(k, v)| (k.as_str(), v.as_str())));
        limits::default_signals(&mut cmd);
        cmd
    }

    /// Set `name` to `value` in the environment of every ship this project runs from now on.
    pub fn set_env(&self, name: &str, value: &str) {
        let mut env = self.env.borrow_mut();
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value.to_string()));
    }

    /// `ship` with a hermetic environment, run in the repository, killed if it runs past
    /// its time limit.
    pub fn ship(&self) -> Command {
        let mut cmd = Command::from_std(self.std_command());
        cmd.timeout(limits::ship_limit());
        cmd
    }

    /// Start `ship ARGS` in the background, its output captured; it is killed if the test
    /// runs past its time limit.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let child = self
            .std_command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        self.limit.watch(child.id());
        child
    }

    /// Kill `child`, started by the test, if the test runs past its time limit.
    pub fn watch(&self, child: &std::process::Child) {
        self.limit.watch(child.id());
    }

    /// Run ship with these arguments; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        let started = std::time::Instant::now();
        let out = self.ship().args(args).output().unwrap();
        assert!(
            out.status.code().is_some() || started.elapsed() < limits::ship_limit(),
            "ship {args:?} ran past its time limit of {} s and was killed\nstdout:\n{}\nstderr:\n{}",
            limits::ship_limit().as_secs(),
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    /// `ship --format json ARGS`, asserting the exit code, parsed.
    pub fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let args: Vec<&str> = ["--format", "json"].iter().chain(args).copied().collect();
        let out = self.run(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "ship {args:?}\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(&out.stdout)))
    }

    /// Run and assert the exit code; returns (stdout, stderr).
    pub fn expect(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "ship {args:?}\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        (text(&out.stdout), text(&out.stderr))
    }

    /// The release `current` points at on a target, if any.
    pub fn live(&self, target: &str) -> Option<String> {
        let link = std::fs::read_link(self.target(target).join("current")).ok()?;
        Some(link.strip_prefix("releases").unwrap().to_str().unwrap().to_string())
    }

    /// A file of the live release on a target.
    pub fn live_file(&self, target: &str, rel: &str) -> String {
        std::fs::read_to_string(self.target(target).join("current").join(rel)).unwrap()
    }

    pub fn journal(&self, target: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.target(target).join(".ship/journal.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn releases(&self, target: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.target(target).join("releases"))
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// The sha256 of `bytes`, in hex: the name of their content on a target.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A step that signals it has started and then waits until the test opens the gate, so a
/// test can act while a deploy is under way without guessing at timings.
pub struct Gate {
    started: PathBuf,
    open: PathBuf,
}

impl Gate {
    pub fn new(p: &Project) -> Gate {
        Gate { started: p.base.join("gate-started"), open: p.base.join("gate-open") }
    }

    /// The `[[step]]` table for deploy.toml.
    pub fn step(&self) -> String {
        format!(
            "[[step]]\nname = \"gate\"\nrun = \"touch {}; while [ ! -f {} ]; do sleep 0.05; done\"\n",
            self.started.display(),
            self.open.display()
        )
    }

    /// Wait (up to a minute) until the step is running.
    pub fn wait_started(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.started.exists() {
            assert!(std::time::Instant::now() < deadline, "the gated step never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn open(&self) {
        std::fs::write(&self.open, "").unwrap();
    }
}

impl Project {
    /// `sh -c COMMAND` in the repository with ship's hermetic environment.
    pub fn ship_shell(&self, command: &str) -> std::process::Command {
        self.shell("sh", command)
    }

    /// `SHELL -c COMMAND` in the repository with ship's hermetic environment.
    pub fn shell(&self, shell: &str, command: &str) -> std::process::Command {
        let cmd = self.std_command();
        let mut sh = std::process::Command::new(shell);
        sh.arg("-c").arg(command).current_dir(&self.root).env_clear();
        limits::default_signals(&mut sh);
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                sh.env(k, v);
            }
        }
        sh
    }
}

impl Project {
    /// Add `extra` (steps, tables) to deploy.toml, before `[env.staging]`; not committed.
    pub fn add_to_config(&self, extra: &str) {
        let config = std::fs::read_to_string(self.root.join("deploy.toml")).unwrap();
        self.write("deploy.toml", &config.replace("[env.staging]", &format!("{extra}\n[env.staging]")));
    }

    /// Add `extra` to deploy.toml, write `content` to index.html, and commit: a new version.
    pub fn new_version(&self, extra: &str, content: &str) {
        self.add_to_config(extra);
        self.write("index.html", content);
        self.commit(content);
    }

    /// Wait (up to 30 s) until nobody holds `target`'s lock.
    pub fn wait_lock_free(&self, target: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let free = std::fs::OpenOptions::new()
                .write(true)
                .open(self.target(target).join(".ship/lock"))
                .map_or(true, |file| file.try_lock().is_ok());
            if free {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the lock of {target} was never released");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
