//! `ship agent`: serves on-target operations over stdin/stdout for the ship that started it.
//!
//! It is started by ship itself: through OpenSSH for an `ssh://` target, as a child process
//! over pipes for a `local:` one. Both speak the same protocol to this one server, so there
//! is one implementation of every operation ([`handle`]). When the
//! connection drops, stdin ends: the agent notices at once, stops the steps it started
//! (and everything they started), and exits, which releases the target's lock.

use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use anyhow::{Result, bail};

use super::protocol::{self, FromAgent, PROTOCOL, Reply, Request, Source, Staging, ToAgent};
use crate::error::Exit;
use crate::release::{Arrival, Site};

/// What the reader thread passes on.
enum Incoming {
    Message(ToAgent),
    Bytes(Vec<u8>),
    /// The connection ended or spoke garbage: stop.
    End(Option<String>),
}

pub fn serve(path: &Path) -> Result<Exit> {
    if !path.is_absolute() {
        bail!(crate::usage!("agent: --path must be absolute"));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let mut site = Site::new(path);
    site.cancel_on(cancel.clone());
    site.mark_agent_used();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    protocol::send(&mut out, &FromAgent::Hello { protocol: PROTOCOL, version: env!("CARGO_PKG_VERSION").to_string() })?;

    let (tx, rx) = mpsc::sync_channel::<Incoming>(16);
    let reader_cancel = cancel.clone();
    std::thread::spawn(move || read_loop(tx, &reader_cancel));

    let mut exit = Exit::Success;
    loop {
        let message = match rx.recv() {
            Ok(Incoming::Message(m)) => m,
            Ok(Incoming::End(Some(why))) => {
                // The peer gets the reason as an answer, and stderr reaches a person through ssh.
                let _ = protocol::send(&mut out, &FromAgent::Error { message: why.clone() });
                let _ = writeln!(std::io::stderr(), "ship agent: {why}; stopping");
                exit = Exit::Error;
                break;
            }
            // The connection ended, or bytes came that no message announced.
            _ => break,
        };
        let ToAgent::Call { request } = message;
        // The bytes of an upload follow the request: read as the request reads them, and
        // whatever it leaves (it failed first) swallowed, to keep the stream in step.
        let mut upload =
            ChannelReader { rx: &rx, remaining: request.upload_size(), buf: Vec::new(), pos: 0, ended: None };
        let mut failed_write = false;
        let mut on_line = |line: &str| {
            if protocol::send(&mut out, &FromAgent::Line { line: line.to_string() }).is_err() {
                failed_write = true;
            }
        };
        let answer = handle(&mut site, *request, &mut on_line, &mut upload);
        let _ = std::io::copy(&mut upload, &mut std::io::sink());
        if let Some(why) = upload.ended {
            let _ = writeln!(std::io::stderr(), "ship agent: {why}; nothing was kept");
            exit = Exit::Error;
            break;
        }
        if failed_write {
            break;
        }
        let message = match answer {
            Ok(reply) => FromAgent::Reply { reply },
            Err(e) => FromAgent::Error { message: format!("{e:#}") },
        };
        if protocol::send(&mut out, &message).is_err() {
            break;
        }
        // What a prune took out of releases/ is deleted once the deploy has its answer.
        site.clear_leftovers();
    }
    cancel.store(true, Ordering::SeqCst);
    Ok(exit)
}

/// Read messages (and artifact bytes) from stdin until it ends; then raise `cancel`.
fn read_loop(tx: mpsc::SyncSender<Incoming>, cancel: &AtomicBool) {
    let mut input = BufReader::with_capacity(256 * 1024, std::io::stdin().lock());
    let end = loop {
        let line = match protocol::read_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break None,
            Err(e) => break Some(format!("bad input: {e}")),
        };
        let message = match protocol::decode_to_agent(&line) {
            Ok(m) => m,
            Err(e) => break Some(e),
        };
        let ToAgent::Call { request } = &message;
        let bytes = request.upload_size();
        if tx.send(Incoming::Message(message)).is_err() {
            return;
        }
        let mut left = bytes;
        while left > 0 {
            let mut chunk = vec![0u8; left.min(256 * 1024) as usize];
            match input.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    cancel.store(true, Ordering::SeqCst);
                    let _ = tx.send(Incoming::End(Some("the artifact stream was cut short".into())));
                    return;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    left -= n as u64;
                    if tx.send(Incoming::Bytes(chunk)).is_err() {
                        return;
                    }
                }
            }
        }
    };
    cancel.store(true, Ordering::SeqCst);
    let _ = tx.send(Incoming::End(end));
}

/// The artifact's bytes, as they arrive from the reader thread.
struct ChannelReader<'a> {
    rx: &'a mpsc::Receiver<Incoming>,
    remaining: u64,
    buf: Vec<u8>,
    pos: usize,
    /// Set when the stream ended before the artifact did.
    ended: Option<String>,
}

impl Read for ChannelReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.remaining == 0 {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Incoming::Bytes(bytes)) => {
                    self.remaining -= bytes.len() as u64;
                    self.buf = bytes;
                    self.pos = 0;
                }
                other => {
                    let why = match other {
                        Ok(Incoming::End(Some(why))) => why,
                        _ => "the artifact stream was cut short".to_string(),
                    };
                    self.ended = Some(why.clone());
                    self.remaining = 0;
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, why));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Serve one request on `site`. Its fields were checked when it was decoded
/// ([`protocol::decode_to_agent`], which calls [`Request::validate`]). Step output goes to
/// `on_line` as it comes; an upload's bytes are read from `upload`.
pub fn handle(
    site: &mut Site,
    request: Request,
    on_line: &mut dyn FnMut(&str),
    upload: &mut dyn Read,
) -> anyhow::Result<Reply> {
    let journal = |site: &Site, records: &[crate::release::Record]| -> anyhow::Result<()> {
        records.iter().try_for_each(|r| site.record(r))
    };
    // Journal `before`, get the artifact (or read the delta as it comes), `work`, journal
    // `after`.
    fn staged<T>(
        site: &Site,
        s: Staging,
        upload: &mut dyn Read,
        work: impl FnOnce(&Site, &Staging, Arrival<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        s.before.iter().try_for_each(|r| site.record(r))?;
        let arrival = match &s.source {
            Source::Here => Arrival::Artifact,
            Source::Upload { .. } => {
                site.receive_artifact(&s.sha256, &mut *upload)?;
                Arrival::Artifact
            }
            Source::Fetch { url } => {
                site.fetch_artifact(url, &s.sha256)?;
                Arrival::Artifact
            }
            Source::Delta { manifest, .. } => Arrival::Delta { stream: upload, manifest },
        };
        let done = work(site, &s, arrival)?;
        s.after.iter().try_for_each(|r| site.record(r))?;
        Ok(done)
    }
    Ok(match request {
        Request::Lock { holder, state } => match site.lock(&holder)? {
            Ok(()) if state => Reply::State { state: Box::new(site.state()?) },
            Ok(()) => Reply::Done,
            Err(holder) => Reply::Locked { holder },
        },
        Request::Hold { holder } => match site.hold(&holder)? {
            Ok(()) => Reply::Done,
            Err(holder) => Reply::Locked { holder },
        },
        Request::ReleaseHold { breaker } => match site.release_hold(breaker.as_ref())? {
            Ok(holder) => Reply::Released { holder },
            Err(holder) => Reply::Locked { holder },
        },
        Request::Check { shared } => Reply::Check { check: site.check(&shared)? },
        Request::Unlock => {
            site.unlock();
            Reply::Done
        }
        Request::State => Reply::State { state: Box::new(site.state()?) },
        Request::Lacks { size: _, verify } => Reply::Lacks { missing: site.offer(upload, verify)? },
        Request::Stage(staging) => {
            let (release, reused) = staged(site, staging, upload, |site, s, arrival| {
                site.stage(&s.sha256, &s.shared, &s.writable, arrival)
            })?;
            Reply::Staged { release: release.into(), reused }
        }
        Request::Switch { release, before, after } => {
            journal(site, &before)?;
            let was = site.switch(&release)?;
            journal(site, &after)?;
            Reply::Switched { before: was.map(Into::into) }
        }
        Request::Unswitch { after } => {
            site.unswitch()?;
            journal(site, &after)?;
            Reply::Done
        }
        Request::RunStep { step } => Reply::Step { result: site.run_step(&step, on_line)? },
        Request::Exec { exec } => Reply::Exec { result: site.exec(&exec, on_line)? },
        Request::WouldSkip { unless, release, env } => Reply::Bool { value: site.would_skip(&unless, &release, &env)? },
        Request::Record { records } => {
            journal(site, &records)?;
            Reply::Done
        }
        Request::Finish { journal: records, prune, end } => {
            // Every part is tried, and the lock is released whatever failed before.
            let mut problems = Vec::new();
            if let Err(e) = journal(site, &records) {
                problems.push(format!("could not journal: {e:#}"));
            }
            let pruning = prune.and_then(|keep| match site.prune_leaving(keep) {
                Ok(pruning) => Some(Box::new(pruning)),
                Err(e) => {
                    problems.push(format!("pruning failed: {e:#}"));
                    None
                }
            });
            if let Some(end) = end
                && let Err(e) = site.record(&end)
            {
                problems.push(format!("could not journal the end: {e:#}"));
            }
            site.unlock();
            Reply::Finished { pruning, problems }
        }
        Request::Prune { keep, dry_run } => Reply::Pruned { pruning: Box::new(site.prune(keep, dry_run)?) },
        Request::Verify { shared, writable } => Reply::Problems { problems: site.verify(&shared, &writable)? },
        Request::Repair(staging) => {
            staged(site, staging, upload, |site, s, arrival| site.repair(&s.sha256, &s.shared, &s.writable, arrival))?;
            Reply::Done
        }
        Request::Journal => Reply::Journal { records: site.journal()? },
    })
}
