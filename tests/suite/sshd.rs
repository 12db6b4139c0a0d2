//! A real OpenSSH server on 127.0.0.1 for the tests: its own host key, client key,
//! authorized_keys, known_hosts, pid file and a clean HOME for sessions, on a random free
//! port. Host aliases `target1`..`target8` (and `nokey`, whose key is not known) all reach it.
//!
//! Without sshd installed the SSH tests are skipped with a notice, except under CI=true,
//! where they must run.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub dir: PathBuf,
    pub port: u16,
    /// The client config to pass as `[ssh] config`.
    pub ssh_config: PathBuf,
    child: Child,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Sshd {
    /// Start a server, or `None` (with a printed notice) when sshd is not installed here.
    pub fn start(dir: &Path) -> Option<Sshd> {
        Sshd::start_with_env(dir, "")
    }

    /// A server whose sessions also get `env` (`NAME=value ...`), e.g. another PATH.
    pub fn start_with_env(dir: &Path, env: &str) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "CI=true but {SSHD} is missing: .ci/run must install openssh-server");
            // Straight to the stderr handle: the test harness captures eprintln!, and this
            // notice must be seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("notice: skipping an SSH test: {SSHD} is not installed (apt-get install openssh-server)\n")
                    .as_bytes(),
            );
            return None;
        }
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap(); // sshd's privilege separation directory
        let key = |name: &str| {
            let path = dir.join(name);
            if !path.exists() {
                run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"]).arg(&path));
            }
            path
        };
        let host_key = key("host_key");
        let client_key = key("client_key");
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();

        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\nPidFile {pid}\n\
                     StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nSetEnv HOME={home} {env}\n\
                     LogLevel ERROR\nMaxSessions 64\nMaxStartups 64:30:128\nSubsystem sftp internal-sftp\n",
                    host = host_key.display(),
                    auth = dir.join("authorized_keys").display(),
                    pid = dir.join("sshd.pid").display(),
                    home = dir.join("home").display(),
                ),
            )
            .unwrap();
            let child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting sshd");
            let mut sshd = Sshd { dir: dir.to_path_buf(), port, ssh_config: dir.join("ssh_config"), child };
            if sshd.wait_listening() {
                sshd.write_client_config(&client_key);
                return Some(sshd);
            }
            let _ = sshd.child.kill();
            let _ = sshd.child.wait();
        }
        panic!("sshd did not start on a free port after 5 attempts");
    }

    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // the port was taken meanwhile, or sshd refused its config
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn write_client_config(&self, client_key: &Path) {
        let host_pub = std::fs::read_to_string(self.dir.join("host_key.pub")).unwrap();
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let known = format!("[127.0.0.1]:{} {}\n", self.port, host_pub.join(" "));
        std::fs::write(self.dir.join("known_hosts"), known).unwrap();
        std::fs::write(self.dir.join("empty_known_hosts"), "").unwrap();
        let common = format!(
            "  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  LogLevel ERROR\n",
            self.port,
            client_key.display()
        );
        let aliases: Vec<String> = (1..=8).map(|n| format!("target{n}")).collect();
        let config = format!(
            "Host {}\n{common}  UserKnownHostsFile {}\n\nHost nokey\n{common}  UserKnownHostsFile {}\n",
            aliases.join(" "),
            self.dir.join("known_hosts").display(),
            self.dir.join("empty_known_hosts").display(),
        );
        std::fs::write(&self.ssh_config, config).unwrap();
    }

    /// `[ssh]` for deploy.toml, using this server's client config.
    pub fn ssh_table(&self) -> String {
        format!("[ssh]\nconfig = \"{}\"\n", self.ssh_config.display())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
