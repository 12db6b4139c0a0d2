//! The app the peers benchmark deploys: about 5,000 files and 50 MB in nested directories,
//! mostly code-like text (which compresses) and some binary files (which do not), the same
//! bytes on every run (everything derives from the file's index and a version seed).
//!
//! - v1: every file, plus `VERSION` ("v1").
//! - v2, "a new version": 15% of the files (index % 100 in 50..65) rewritten with new content
//!   of the same size, and `VERSION`.
//! - v3, "a 1% change": 53 files (1%: the 50 text files of index % 100 == 38, and 3 binary
//!   ones, index % 2000 == 5), about 1% of the bytes, rewritten, and `VERSION`.

#![allow(dead_code)]

use std::path::Path;

pub const FILES: usize = 5000;

const TOPS: [&str; 6] = ["src", "lib", "assets", "docs", "tests", "vendor"];
const WORDS: [&str; 48] = [
    "let", "fn", "return", "self", "value", "config", "request", "response", "handler", "buffer", "index", "count",
    "error", "result", "string", "vector", "option", "match", "impl", "struct", "client", "server", "session",
    "target", "release", "deploy", "build", "cache", "path", "file", "read", "write", "open", "close", "parse",
    "format", "debug", "trace", "info", "warn", "state", "event", "queue", "timer", "retry", "limit", "user", "name",
];
const TEXT_EXT: [&str; 6] = ["rs", "js", "py", "md", "css", "html"];
const BIN_EXT: [&str; 3] = ["png", "woff2", "bin"];

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng((seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Every 16th file is binary.
fn binary(i: usize) -> bool {
    i % 16 == 5
}

/// The file's path in the repository: 2 to 4 levels of directories.
pub fn path(i: usize) -> String {
    let mut r = Rng::new(i as u64 ^ 0xA11CE);
    let top = TOPS[i % TOPS.len()];
    let mid = format!("m{:02}", (i / TOPS.len()) % 24);
    let ext = if binary(i) { BIN_EXT[i % BIN_EXT.len()] } else { TEXT_EXT[(i / 7) % TEXT_EXT.len()] };
    let name = format!("{}_{}_{i:04}.{ext}", WORDS[r.below(48) as usize], WORDS[r.below(48) as usize]);
    match i % 3 {
        0 => format!("{top}/{mid}/{name}"),
        1 => format!("{top}/{mid}/s{}/{name}", (i / 18) % 5),
        _ => format!("{top}/{mid}/s{}/d{}/{name}", (i / 18) % 5, (i / 90) % 3),
    }
}

/// The file's size, the same in every version: text 1-12.6 KiB, binary 20-100 KiB.
fn size(i: usize) -> usize {
    let mut r = Rng::new(i as u64 ^ 0x5123);
    if binary(i) { 20 * 1024 + r.below(80 * 1024) as usize } else { 1024 + r.below(11_600) as usize }
}

/// Code-like text: indented lines of words, identifiers, numbers and punctuation.
fn text(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        let indent = 4 * r.below(4) as usize;
        out.extend(std::iter::repeat_n(b' ', indent));
        let words = 2 + r.below(9);
        for w in 0..words {
            let word = WORDS[r.below(48) as usize];
            out.extend_from_slice(word.as_bytes());
            match r.below(8) {
                0 => out.extend_from_slice(format!("_{}", r.below(1000)).as_bytes()),
                1 => out.extend_from_slice(b"("),
                2 => out.extend_from_slice(b"."),
                3 => out.extend_from_slice(format!(" = {}", r.below(100_000)).as_bytes()),
                _ => {}
            }
            if w + 1 < words {
                out.push(b' ');
            }
        }
        out.extend_from_slice(if r.below(3) == 0 { b";\n" } else { b"\n" });
    }
    out.truncate(len);
    out
}

/// Incompressible bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    (0..len).map(|_| r.next() as u8).collect()
}

/// Content of file `i` at generation `g` (0 = v1; a file changed in v2 is generation 1, in
/// v3 generation 2).
pub fn content(i: usize, g: u64) -> Vec<u8> {
    let seed = ((i as u64) << 8) | g;
    if binary(i) { noise(seed, size(i)) } else { text(seed, size(i)) }
}

/// Files v2 changes ("a new version").
pub fn in_v2(i: usize) -> bool {
    (50..65).contains(&(i % 100))
}

/// Files v3 changes ("a 1% change").
pub fn in_v3(i: usize) -> bool {
    i % 100 == 38 || i % 2000 == 5
}

/// The file v3 changes that the bench reads on every target to check what is live.
pub const PROBE: usize = 38;

/// Write version `v` (1, 2 or 3) of the app into the work tree `dir`; the bytes of files
/// written.
pub fn write(dir: &Path, v: u32) -> u64 {
    let mut bytes = 0;
    for i in 0..FILES {
        let g = match v {
            1 => Some(0),
            2 => in_v2(i).then_some(1),
            _ => in_v3(i).then_some(2),
        };
        if let Some(g) = g {
            let file = dir.join(path(i));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let data = content(i, g);
            bytes += data.len() as u64;
            std::fs::write(file, data).unwrap();
        }
    }
    std::fs::write(dir.join("VERSION"), format!("v{v}\n")).unwrap();
    bytes
}

/// What `PROBE` holds at version `v`.
pub fn probe(v: u32) -> Vec<u8> {
    content(PROBE, if v >= 3 { 2 } else { 0 })
}
