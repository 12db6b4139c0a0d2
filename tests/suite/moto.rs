//! A real S3-compatible server on 127.0.0.1 for the tests: moto's server mode, from PyPI,
//! in the venv `.ci/run` makes at `target/moto-venv` (or the one `SHIP_TEST_MOTO_VENV`
//! names), on a random free port, stopped when the test ends.
//!
//! Without moto the store tests are skipped with a notice, except under CI=true, where they
//! must run.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    venv: PathBuf,
    child: Child,
}

fn venv() -> PathBuf {
    std::env::var_os("SHIP_TEST_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv"))
}

impl Moto {
    /// Start a server, or `None` (with a printed notice) when moto is not installed.
    pub fn start() -> Option<Moto> {
        Moto::start_with(&[])
    }

    /// A server that checks credentials: after the first `free` requests (made by the test,
    /// e.g. to create a bucket), only keys of its IAM users are accepted, and it has none.
    pub fn start_checking_credentials(free: usize) -> Option<Moto> {
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &free.to_string())])
    }

    fn start_with(env: &[(&str, &str)]) -> Option<Moto> {
        let venv = venv();
        let server = venv.join("bin/moto_server");
        if !server.exists() {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "CI=true but {} is missing: .ci/run must install moto[server]", server.display());
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "notice: skipping an S3 store test: {} is missing \
                     (python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]')\n",
                    server.display()
                )
                .as_bytes(),
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { port, venv, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on {port} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The standard AWS settings that reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Run Python with boto3 against this server; `script` sees a client as `s3`.
    pub fn boto(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\n",
            self.endpoint()
        );
        let out = Command::new(self.venv.join("bin/python")).arg("-c").arg(prelude + script).output().unwrap();
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.boto(&format!("s3.create_bucket(Bucket='{bucket}')"));
    }

    /// Replace an object's bytes, behind ship's back.
    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        self.boto(&format!("s3.put_object(Bucket='{bucket}', Key='{key}', Body={body:?}.encode())"));
    }

    /// The keys in the bucket, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let out =
            self.boto(&format!("for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', []): print(o['Key'])"));
        let mut keys: Vec<String> = out.lines().map(String::from).collect();
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
