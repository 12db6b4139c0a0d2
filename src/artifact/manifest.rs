//! The manifest every artifact carries as its first entry: each file's path, mode, size and
//! sha256. Targets keep it with the release so `status --verify` can rehash what is live.

use serde::{Deserialize, Serialize};

/// The manifest's name inside the artifact and in each release directory.
pub const MANIFEST_NAME: &str = ".ship-manifest.json";

/// Bumped when the artifact's layout changes: part of the build key, so a new format
/// never reuses an artifact of the old one.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub commit: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    /// 0o644 or 0o755 for files; 0o777 for symlinks.
    pub mode: u32,
    pub size: u64,
    /// sha256 of the content (of the link target's text, for a symlink).
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}
