//! Targets reached through `ship agent` in another process: on the host through the system
//! OpenSSH client (`ssh://`), or as a child of this ship (`local:`). Requests travel over
//! that one channel, and the agent's process is the target's lifeline.
//!
//! The user's ~/.ssh/config, agent, ProxyJump and known_hosts apply as usual. Host keys are
//! always checked (`StrictHostKeyChecking=yes`, never an auto-accept) and ssh never prompts
//! (`BatchMode=yes`). Connections are multiplexed through a ControlMaster socket in a private
//! directory, kept for 60 s after use so the next command reuses it.
//!
//! One ssh session carries everything: the bootstrap script (`bootstrap.rs`) starts the
//! agent, uploading this build first when the host lacks it.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::Target;
use super::bootstrap::{
    BOOTSTRAP, LOCK_WAIT_SECS, compressed_binary, forget_own_sha256, local_platform, own_binary, quote, record_upload,
    ssh_command,
};
use super::client::Upload;
use super::protocol::{self, FromAgent, PROTOCOL, ToAgent};
use super::protocol::{Reply, Request};
use crate::config::{SshConfig, TargetSpec};
use crate::error::{ErrorKind, TargetError};

/// How long to wait for the agent's greeting (after ssh itself has connected or failed).
const HELLO_TIMEOUT: Duration = Duration::from_secs(60);

/// What the reader thread passes on: a line from the agent, or the end of the stream.
type Incoming = Result<String, String>;

pub struct AgentTarget {
    spec: TargetSpec,
    child: Child,
    input: Option<BufWriter<ChildStdin>>,
    lines: mpsc::Receiver<Incoming>,
    stderr: Arc<Mutex<String>>,
    /// Set once the session failed: every later call fails at once with this.
    broken: Option<TargetError>,
    /// Requests sent so far.
    exchanges: u32,
    /// Set once the run ended here (`finish` answered): the agent holds no lock any more,
    /// and closing need not wait while it deletes what the prune took out.
    finished: bool,
}

impl AgentTarget {
    /// Reach an `ssh://` target: one ssh session that bootstraps and runs the agent.
    pub fn ssh(spec: &TargetSpec, cfg: &SshConfig) -> Result<AgentTarget> {
        let (_, hash, _) = own_binary()?;
        let path = spec.path().to_str().ok_or_else(|| anyhow!("{spec}: the path is not UTF-8"))?;
        let remote = format!(
            "sh -c {} ship-bootstrap {} {} {} {} {}",
            quote(BOOTSTRAP),
            quote(path),
            quote(env!("CARGO_PKG_VERSION")),
            quote(hash),
            quote(cfg.agent_path.as_deref().unwrap_or("")),
            LOCK_WAIT_SECS
        );
        let mut cmd = ssh_command(spec, cfg)?;
        cmd.arg(remote);
        let child = Self::spawn(cmd).context("starting ssh (is the OpenSSH client installed?)")?;
        Self::start(spec, child, cfg)
    }

    /// Reach a `local:` target: this very binary, run as `ship agent` in a child process.
    /// The child is the target's lifeline: if ship dies however it dies, the agent sees its
    /// stdin close, stops the steps it started, and exits, which releases the lock.
    pub fn local(spec: &TargetSpec) -> Result<AgentTarget> {
        let exe = std::env::current_exe().context("finding ship's own binary")?;
        let mut cmd = Command::new(exe);
        cmd.arg("agent").arg("--path").arg(spec.path());
        let child = Self::spawn(cmd).with_context(|| format!("starting ship's agent for {spec}"))?;
        Self::start(spec, child, &SshConfig::default())
    }

    /// Start `cmd` with piped stdio, in its own process group, so a Ctrl-C at the terminal
    /// reaches ship alone: ship decides how to stop, and running steps may finish.
    fn spawn(mut cmd: Command) -> std::io::Result<Child> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn()
    }

    fn start(spec: &TargetSpec, mut child: Child, cfg: &SshConfig) -> Result<AgentTarget> {
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let input = child.stdin.take().map(BufWriter::new);

        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let item = match protocol::read_line(&mut reader) {
                    Ok(Some(line)) => Ok(line),
                    Ok(None) => Err("the connection closed".to_string()),
                    Err(e) => Err(format!("the agent sent {e}")),
                };
                let end = item.is_err();
                if tx.send(item).is_err() || end {
                    break;
                }
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
                if log.len() > 8192 {
                    let cut = log.len() - 4096;
                    let cut = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(0);
                    log.drain(..cut);
                }
            }
        });

        let mut target = AgentTarget {
            spec: spec.clone(),
            child,
            input,
            lines,
            stderr: log,
            broken: None,
            exchanges: 0,
            finished: false,
        };
        if let Err(e) = target.handshake(cfg) {
            target.close();
            // Whoever reached for the target names it (once).
            let failure = TargetError::of(&e);
            let kind = if failure.kind == ErrorKind::Io { ErrorKind::Connection } else { failure.kind };
            return Err(TargetError { kind, ..failure }.into());
        }
        Ok(target)
    }

    /// Read the agent's greeting, uploading this build first if the host asks for it.
    fn handshake(&mut self, cfg: &SshConfig) -> Result<()> {
        let mut first = self.next_line(Some(HELLO_TIMEOUT))?;
        if let Some(rest) = first.strip_prefix("SHIP-BOOTSTRAP ") {
            let (word, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            match word {
                "need" => {
                    let (encoding, platform) = detail.split_once(' ').unwrap_or(("raw", detail));
                    let encoding = encoding.to_string();
                    let local = local_platform();
                    if platform != local {
                        let _ = self.write_raw(b"stop\n");
                        return Err(TargetError::new(
                            ErrorKind::Connection,
                            format!(
                                "the host runs {platform} and this ship is built for {local}, so it cannot upload itself"
                            ),
                        )
                        .hint(format!(
                            "install ship {} there and set `agent_path` in [ssh] to its path",
                            env!("CARGO_PKG_VERSION")
                        ))
                        .into());
                    }
                    let (path, hash, size) = own_binary()?;
                    let sent = if encoding == "gzip" {
                        let gz = compressed_binary()?;
                        self.write_raw(format!("upload gzip {}\n", gz.len()).as_bytes())?;
                        let input = self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?;
                        input.write_all(gz).context("uploading ship")?;
                        gz.len() as u64
                    } else {
                        self.write_raw(format!("upload raw {size}\n").as_bytes())?;
                        let mut file = std::fs::File::open(path)?;
                        let input = self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?;
                        std::io::copy(&mut file, input).context("uploading ship")?;
                        *size
                    };
                    self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?.flush()?;
                    first = self.next_line(Some(HELLO_TIMEOUT))?;
                    if let Some(got) = first.strip_prefix("SHIP-BOOTSTRAP corrupt ") {
                        // Either the bytes were damaged on the way, or the sha256 ship kept
                        // of itself is wrong: it is forgotten, and hashed afresh next time.
                        forget_own_sha256();
                        bail!(
                            "the uploaded ship arrived with sha256 {got}, not {hash}: nothing was run there; \
                             run again (ship hashes itself afresh)"
                        );
                    }
                    if let Some(place) = first.strip_prefix("SHIP-BOOTSTRAP uploaded ") {
                        let dir = match place {
                            "cache" => "the host user's cache".to_string(),
                            _ => format!("{}/.ship/bin", self.spec.path().display()),
                        };
                        record_upload(&self.spec, sent, &encoding, &dir);
                        first = self.next_line(Some(HELLO_TIMEOUT))?;
                    }
                    if first.starts_with("SHIP-BOOTSTRAP ") {
                        bail!(self.install_failed());
                    }
                }
                "corrupt-cached" => {
                    let (file, got) = detail.rsplit_once(' ').unwrap_or((detail, "?"));
                    return Err(TargetError::new(
                        ErrorKind::Connection,
                        format!(
                            "the ship kept on the host at {file} has sha256 {got}, not {}: it was not run, and was removed",
                            own_binary()?.1
                        ),
                    )
                    .hint("run again: ship uploads itself afresh (a file that changes there again is worth a look)")
                    .into());
                }
                "missing-agent" => {
                    return Err(TargetError::new(
                        ErrorKind::Connection,
                        format!(
                            "agent_path {} is not an executable on the host",
                            cfg.agent_path.as_deref().unwrap_or("")
                        ),
                    )
                    .hint("install ship there, or remove agent_path to let ship upload itself")
                    .into());
                }
                _ => bail!(self.install_failed()),
            }
        }
        match serde_json::from_str::<FromAgent>(&first) {
            Ok(FromAgent::Hello { protocol, version }) if protocol == PROTOCOL => {
                let _ = version;
                Ok(())
            }
            Ok(FromAgent::Hello { protocol, version }) => Err(TargetError::new(
                ErrorKind::Protocol,
                format!(
                    "the agent there is ship {version}, speaking protocol {protocol}; this ship {} speaks protocol {PROTOCOL}",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .hint("install a matching ship there, or remove `agent_path` to let ship upload itself")
            .into()),
            _ => Err(TargetError::new(
                ErrorKind::Protocol,
                format!("expected ship's agent, got unexpected output: {}", clip(&first)),
            )
            .into()),
        }
    }

    /// Why the agent could not be put on the host, as far as ship can tell.
    fn install_failed(&self) -> String {
        format!(
            "installing ship on the host failed (is ~/.cache/ship/bin there, or else {}/.ship/bin, writable?){}",
            self.spec.path().display(),
            self.ssh_said()
        )
    }

    /// What ssh said on stderr, for error messages.
    fn ssh_said(&self) -> String {
        let log = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let text = log.trim();
        if text.is_empty() { String::new() } else { format!(": ssh said: {}", text.replace('\n', " | ")) }
    }

    fn next_line(&mut self, timeout: Option<Duration>) -> Result<String> {
        if let Some(why) = &self.broken {
            return Err(why.clone().into());
        }
        let item = match timeout {
            Some(t) => match self.lines.recv_timeout(t) {
                Ok(item) => item,
                Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("no answer within {}s", t.as_secs())),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err("the connection closed".into()),
            },
            None => self.lines.recv().unwrap_or_else(|_| Err("the connection closed".into())),
        };
        item.map_err(|why| {
            // Give ssh a moment to say why it went away.
            std::thread::sleep(Duration::from_millis(50));
            let mut failure = TargetError::new(ErrorKind::Connection, format!("{why}{}", self.ssh_said()));
            if failure.message.contains("Host key verification failed") {
                failure = failure.hint(format!(
                    "the host's key is not in known_hosts, or has changed: check it, then add it to the known_hosts \
                     file ship's ssh uses (ssh-keyscan {} prints it)",
                    self.spec.host()
                ));
            }
            self.break_with(failure)
        })
    }

    fn next(&mut self) -> Result<FromAgent> {
        let line = self.next_line(None)?;
        serde_json::from_str(&line).map_err(|_| {
            let message = format!("protocol error: unexpected output from the agent: {}", clip(&line));
            self.break_with(TargetError::new(ErrorKind::Protocol, message))
        })
    }

    /// The session is broken: every later call fails at once with `failure`.
    fn break_with(&mut self, failure: TargetError) -> anyhow::Error {
        self.broken = Some(failure.clone());
        failure.into()
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let input = self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?;
        input
            .write_all(bytes)
            .and_then(|()| input.flush())
            .map_err(|e| TargetError::new(ErrorKind::Connection, format!("writing to ssh: {e}")).into())
    }

    fn send(&mut self, message: &ToAgent) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(why.clone().into());
        }
        let input = self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?;
        if let Err(e) = protocol::send(input, message) {
            let message = format!("the connection closed ({e}){}", self.ssh_said());
            return Err(self.break_with(TargetError::new(ErrorKind::Connection, message)));
        }
        Ok(())
    }

    /// Read the answer to the message just sent: step output lines, then a reply.
    fn answer(&mut self, on_line: &mut dyn FnMut(&str)) -> Result<Reply> {
        loop {
            match self.next()? {
                FromAgent::Line { line } => on_line(&line),
                FromAgent::Reply { reply } => return Ok(reply),
                // The operation failed there (a refused request is a protocol error).
                FromAgent::Error { message } => {
                    let protocol = message.starts_with("protocol error") || message.starts_with("not a message of");
                    let kind = if protocol { ErrorKind::Protocol } else { ErrorKind::Io };
                    return Err(TargetError::new(kind, message).into());
                }
                FromAgent::Hello { .. } => {
                    let failure = TargetError::new(ErrorKind::Protocol, "protocol error: a second greeting");
                    return Err(self.break_with(failure));
                }
            }
        }
    }

    /// End the session: the agent sees stdin close and exits, releasing the lock.
    fn close(&mut self) {
        drop(self.input.take());
        if self.finished {
            return;
        }
        // It is gone within a millisecond or two: look early and often, then less often,
        // for up to 2 s (a fixed 20 ms poll cost every target 20 ms, one after another).
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        let mut pause = Duration::from_micros(250);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clip(text: &str) -> String {
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push_str("...");
    }
    s
}

impl Target for AgentTarget {
    fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    fn call(&mut self, request: Request, upload: Option<Upload<'_>>, on_line: &mut dyn FnMut(&str)) -> Result<Reply> {
        let size = request.upload_size();
        self.send(&ToAgent::Call { request: Box::new(request) })?;
        self.exchanges += 1;
        if size > 0 {
            let upload = upload.ok_or_else(|| anyhow!("an upload without its bytes"))?;
            let input = self.input.as_mut().ok_or_else(|| anyhow!("the connection is closed"))?;
            let copied = match upload {
                Upload::File(path) => std::fs::File::open(path)
                    .and_then(|mut file| std::io::copy(&mut std::io::Read::take(&mut file, size), input)),
                Upload::Bytes(bytes) => {
                    let bytes = &bytes[..bytes.len().min(size as usize)];
                    input.write_all(bytes).map(|()| bytes.len() as u64)
                }
            }
            .and_then(|n| input.flush().map(|()| n));
            match copied {
                Ok(n) if n == size => {}
                Ok(n) => {
                    // The file shrank since it was measured: the stream is out of step now.
                    let message = format!("the artifact changed while it was sent ({n} of {size} bytes)");
                    return Err(self.break_with(TargetError::new(ErrorKind::Io, message)));
                }
                Err(e) => {
                    let message = format!("sending the artifact failed: {e}{}", self.ssh_said());
                    return Err(self.break_with(TargetError::new(ErrorKind::Connection, message)));
                }
            }
        }
        let reply = self.answer(on_line)?;
        self.finished = matches!(reply, Reply::Finished { .. });
        Ok(reply)
    }

    fn exchanges(&self) -> u32 {
        self.exchanges
    }

    fn close(&mut self) {
        AgentTarget::close(self);
    }
}

impl Drop for AgentTarget {
    fn drop(&mut self) {
        self.close();
    }
}
