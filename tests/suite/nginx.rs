//! A real nginx (Debian's) on 127.0.0.1 serving a target's `current`, for health checks and
//! the zero-downtime proof. Without nginx the tests that need it are skipped with a notice,
//! except under CI=true, where they must run.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";

pub struct Nginx {
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Serve `root` (e.g. `<target>/current`), or `None` with a notice when nginx is missing.
    pub fn serve(dir: &Path, root: &Path) -> Option<Nginx> {
        if !Path::new(NGINX).exists() {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "CI=true but {NGINX} is missing: .ci/run must install nginx");
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("notice: skipping an nginx test: {NGINX} is not installed (apt-get install nginx)\n")
                    .as_bytes(),
            );
            return None;
        }
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let root_user = rustix::process::geteuid().is_root();
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let d = dir.display();
            let conf = format!(
                "daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 512; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n\
                   fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n\
                   server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
                     location = /moved {{ return 301 /index.html; }}\n  }}\n}}\n",
                user = if root_user { "user root;\n" } else { "" },
                root = root.display(),
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            let mut child = Command::new(NGINX)
                .arg("-p")
                .arg(dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting nginx");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Nginx { port, child, dir: dir.to_path_buf() });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("nginx did not start: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: nginx's master stops its workers too.
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.child.wait();
    }
}
