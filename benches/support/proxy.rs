//! A TCP relay on 127.0.0.1 that counts the bytes it carries each way: put in front of the
//! test sshd, it counts what every SSH client sends to the targets (and what it gets back),
//! whichever tool runs it. Threads of the bench's own process: they end with it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub struct Proxy {
    pub port: u16,
    /// Client to server, server to client.
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// Bytes carried: client to server, server to client.
#[derive(Clone, Copy, Default, Debug)]
pub struct Bytes {
    pub up: u64,
    pub down: u64,
}

impl std::ops::Sub for Bytes {
    type Output = Bytes;
    fn sub(self, o: Bytes) -> Bytes {
        Bytes { up: self.up - o.up, down: self.down - o.down }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, count: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Proxy {
    /// A relay to 127.0.0.1:`to` on a free port.
    pub fn start(to: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, down, stop) = (Arc::default(), Arc::default(), Arc::new(AtomicBool::new(false)));
        let proxy = Proxy { port, up: Arc::clone(&up), down: Arc::clone(&down), stop: Arc::clone(&stop) };
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else { continue };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, down) = (Arc::clone(&up), Arc::clone(&down));
                std::thread::spawn(move || pump(client, server, up));
                std::thread::spawn(move || pump(s2, c2, down));
            }
        });
        proxy
    }

    pub fn bytes(&self) -> Bytes {
        Bytes { up: self.up.load(Ordering::Relaxed), down: self.down.load(Ordering::Relaxed) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accepting thread
    }
}
