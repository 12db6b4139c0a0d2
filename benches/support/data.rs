//! What the benchmarks deploy (data that does not compress, the same on every run, in git
//! commits of fixed dates), and the median of their timings.

// Each benchmark uses some of these.
#![allow(dead_code)]

use std::time::Duration;

/// Incompressible content, the same on every run.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Commit everything in the work tree of `repo`, dated `n` seconds after a fixed instant;
/// the commit's id.
pub fn commit(repo: &git2::Repository, message: &str, n: i64) -> String {
    let sig = git2::Signature::new("Bench", "bench@example.com", &git2::Time::new(1_700_000_000 + n, 0)).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap().to_string()
}

/// The median of some timings.
pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}
