//! Starting the agent on a target. For `ssh://` targets one OpenSSH session carries
//! everything: a small POSIX sh script starts the agent if the host has this very build,
//! and otherwise asks for it, receives it (gzip-compressed when the host has `gzip`),
//! checks the sha256 of the decompressed binary, renames it into place and starts it. The
//! ssh command line itself lives here too: host keys always checked, never a prompt, one
//! ControlMaster socket per host kept for 60 s.
//!
//! Where the host keeps it: once per host and user, in
//! `${XDG_CACHE_HOME:-$HOME/.cache}/ship/bin/ship-<sha256>`, so the targets of one host
//! share one upload. Only when HOME is unset or that directory cannot be made or written
//! does it go to `<path>/.ship/bin/`, as before. A binary found there is hashed again
//! before it is started: its CRC (`cksum`, POSIX, a few ms even for a debug build) against
//! the one recorded in `.ship-<sha256>.cksum` when its sha256 was last verified, and its
//! sha256 again when they differ or there is no record. One whose sha256 does not match its
//! name is refused (and removed), never run. (A sha256 at every start would cost 25 ms for
//! a release build, 0.7 s for a debug one; the CRC catches a damaged or rewritten file.) Of several sessions that need the binary at once (a fleet on one host, two ship
//! runs), one uploads: it holds the lock directory `.lock-<sha256>` (made by `mkdir`,
//! which is atomic, with the holder's pid inside) while the others wait for the binary to
//! appear. A lock whose pid is dead is taken over, and a waiter that waited
//! [`LOCK_WAIT_SECS`] uploads anyway: the lock only saves bytes; what makes a binary safe
//! to run is the hash check and the rename into place, which hold without it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Result, anyhow, bail};

use crate::config::{SshConfig, TargetSpec};

/// How long a session waits for another one's upload of the same binary before it
/// uploads it itself (the agent's greeting is awaited for 60 s).
pub const LOCK_WAIT_SECS: u32 = 30;

/// The script the host's login shell runs, with the target path, this build's version and
/// binary sha256, `agent_path` and the lock wait as `$1`..`$5`. Values are arguments,
/// never script text. What it says to ship, one line each, before the agent's greeting:
/// `SHIP-BOOTSTRAP need <gzip|raw> <uname -sm>` (answered `upload <gzip|raw> <size>`, then
/// the bytes, or `stop`), `uploaded <cache|target>`, `corrupt <sha256>` (an upload that does not
/// match), `corrupt-cached <file> <sha256>` (a kept binary that does not match),
/// `missing-agent`, `failed`.
pub(super) const BOOTSTRAP: &str = r#"path=$1 version=$2 hash=$3 agent=$4 wait=${5:-30}
if [ -n "$agent" ]; then
  if [ -x "$agent" ]; then exec "$agent" agent --path "$path"; fi
  echo "SHIP-BOOTSTRAP missing-agent"; exit 0
fi
sum() {
  if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum < "$1"); else s=$(shasum -a 256 < "$1"); fi
  echo "${s%% *}"
}
dir= where=cache
if [ -n "$HOME" ]; then
  case "$XDG_CACHE_HOME" in /*) dir=$XDG_CACHE_HOME/ship/bin ;; *) dir=$HOME/.cache/ship/bin ;; esac
  { mkdir -p "$dir" && [ -d "$dir" ] && [ -w "$dir" ]; } 2>/dev/null || dir=
fi
if [ -z "$dir" ]; then
  dir=$path/.ship/bin where=target
  mkdir -p "$dir" || { echo "SHIP-BOOTSTRAP failed"; exit 0; }
fi
bin=$dir/ship-$hash ok=$dir/.ship-$hash.cksum lock=$dir/.lock-$hash mine= waited=0 nopid=0
unlock() { if [ -n "$mine" ]; then rm -rf "$lock"; mine=; fi; }
while :; do
  if [ -f "$bin" ]; then
    crc=$(cksum < "$bin")
    if [ -n "$crc" ] && [ "$crc" = "$(cat "$ok" 2>/dev/null)" ]; then unlock; exec "$bin" agent --path "$path"; fi
    got=$(sum "$bin")
    if [ "$got" = "$hash" ]; then
      { echo "$crc" > "$ok.$$" && mv -f "$ok.$$" "$ok"; } 2>/dev/null
      unlock; exec "$bin" agent --path "$path"
    fi
    rm -f "$bin" "$ok"; unlock
    echo "SHIP-BOOTSTRAP corrupt-cached $bin $got"; exit 0
  fi
  [ -n "$mine" ] && break
  if mkdir "$lock" 2>/dev/null; then
    echo $$ > "$lock/pid"; mine=1; continue
  fi
  pid=$(cat "$lock/pid" 2>/dev/null)
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    rm -rf "$lock"; continue
  fi
  if [ -z "$pid" ]; then nopid=$((nopid + 1)); if [ "$nopid" -ge 25 ]; then rm -rf "$lock"; nopid=0; continue; fi; fi
  if [ "$waited" -ge "$((wait * 5))" ]; then break; fi
  sleep 0.2 2>/dev/null || { sleep 1; waited=$((waited + 4)); }
  waited=$((waited + 1))
done
trap 'unlock' EXIT
if command -v gzip >/dev/null 2>&1; then enc=gzip; else enc=raw; fi
echo "SHIP-BOOTSTRAP need $enc $(uname -sm)"
IFS= read -r answer || exit 0
case "$answer" in "upload $enc "*) ;; *) exit 0 ;; esac
size=${answer#upload $enc }
tmp=$dir/.upload-$$
if [ "$enc" = gzip ]; then head -c "$size" | gzip -dc > "$tmp"; else head -c "$size" > "$tmp"; fi
got=$(sum "$tmp")
if [ "$got" != "$hash" ]; then rm -f "$tmp"; echo "SHIP-BOOTSTRAP corrupt $got"; exit 0; fi
crc=$(cksum < "$tmp")
chmod 755 "$tmp" && mv -f "$tmp" "$bin" || { rm -f "$tmp"; echo "SHIP-BOOTSTRAP failed"; exit 0; }
{ echo "$crc" > "$ok.$$" && mv -f "$ok.$$" "$ok"; } 2>/dev/null
unlock; trap - EXIT
echo "SHIP-BOOTSTRAP uploaded $where"
exec "$bin" agent --path "$path"
"#;

/// An upload of this binary to a host, as the host reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentUpload {
    /// The bytes sent (compressed, when `encoding` is `gzip`).
    pub bytes: u64,
    /// `gzip` or `raw`.
    pub encoding: String,
    /// Where the host keeps it, for people: `the host user's cache` (its
    /// `~/.cache/ship/bin`), or the target's `<path>/.ship/bin`.
    pub dir: String,
}

/// The uploads of this process, by target.
static UPLOADS: std::sync::Mutex<Vec<(String, AgentUpload)>> = std::sync::Mutex::new(Vec::new());

pub(super) fn record_upload(spec: &TargetSpec, bytes: u64, encoding: &str, dir: &str) {
    let upload = AgentUpload { bytes, encoding: encoding.to_string(), dir: dir.to_string() };
    UPLOADS.lock().unwrap_or_else(|p| p.into_inner()).push((spec.to_string(), upload));
}

/// The upload of this binary the connection to `target` made, if it made one (taken: asked
/// once per connection).
pub fn agent_upload(target: &TargetSpec) -> Option<AgentUpload> {
    let mut uploads = UPLOADS.lock().unwrap_or_else(|p| p.into_inner());
    let name = target.to_string();
    let at = uploads.iter().position(|(t, _)| *t == name)?;
    Some(uploads.remove(at).1)
}

/// This running binary's path and sha256, computed once.
pub(super) fn own_binary() -> Result<&'static (PathBuf, String, u64)> {
    static OWN: OnceLock<Result<(PathBuf, String, u64), String>> = OnceLock::new();
    OWN.get_or_init(|| {
        let path = std::env::current_exe().map_err(|e| format!("finding ship's own binary: {e}"))?;
        let kept = crate::artifact::store::cache_root().ok().map(|d| d.join("own-sha256"));
        let (sha, size) =
            binary_sha256(&path, kept.as_deref()).map_err(|e| format!("reading {}: {e}", path.display()))?;
        Ok((path, sha, size))
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

/// The sha256 and size of the binary at `path`. Hashing 14 MB costs 15-20 ms, which every
/// run would pay before reaching any target: the answer is kept in ship's cache beside the
/// binary's identity (device, inode, size, modification and change times; the change time
/// cannot be set back by anyone) in the file `kept`, and hashed again when any differs.
fn binary_sha256(path: &std::path::Path, kept: Option<&std::path::Path>) -> std::io::Result<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    let identity = format!(
        "{}:{}:{}:{}.{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    if let Some(text) = kept.and_then(|k| std::fs::read_to_string(k).ok())
        && let Some((seen, sha)) = text.trim_end().split_once(' ')
        && seen == identity
        && crate::release::names::check_sha256(sha).is_ok()
    {
        return Ok((sha.to_string(), meta.len()));
    }
    let (sha, size) = crate::digest::sha256_reader(std::fs::File::open(path)?)?;
    if let Some(kept) = kept {
        // Best effort: a cache that cannot be written only costs the next run the hashing.
        let _ = (|| -> std::io::Result<()> {
            let dir = kept.parent().unwrap_or(std::path::Path::new("."));
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut tmp, format!("{identity} {sha}\n").as_bytes())?;
            tmp.persist(kept).map_err(|e| e.error)?;
            Ok(())
        })();
    }
    Ok((sha, size))
}

/// Forget the sha256 ship kept of itself, and the compressed copy kept under it (a host
/// received bytes that did not match it).
pub(super) fn forget_own_sha256() {
    if let Ok(dir) = crate::artifact::store::cache_root() {
        let _ = std::fs::remove_file(dir.join("own-sha256"));
        let _ = std::fs::remove_dir_all(dir.join("agent"));
    }
}

/// Above this size a binary is a debug build, compressed fast rather than small.
const LARGE_BINARY: usize = 64 << 20;

/// The bytes sent to a host that lacks this build and has `gzip`: this binary,
/// gzip-compressed, made once per build and kept in ship's cache as
/// `agent/ship-<sha256>.gz` (a run finds it there and pays no compression).
pub(super) fn compressed_binary() -> Result<&'static [u8]> {
    static GZ: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    GZ.get_or_init(|| {
        let (path, sha, _) = own_binary().map_err(|e| format!("{e:#}"))?;
        let kept = crate::artifact::store::cache_root().ok().map(|d| d.join("agent"));
        let name = format!("ship-{sha}.gz");
        if let Some(dir) = &kept
            && let Ok(bytes) = std::fs::read(dir.join(&name))
            && bytes.starts_with(&[0x1f, 0x8b])
        {
            return Ok(bytes);
        }
        let raw = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let gz = gzip(&raw).map_err(|e| format!("compressing ship: {e}"))?;
        if let Some(dir) = kept {
            // Best effort: a cache that cannot be written costs the next run the compression.
            let _ = keep_compressed(&dir, &name, &gz);
        }
        Ok(gz)
    })
    .as_deref()
    .map_err(|e| anyhow!("{e}"))
}

/// Keep `gz` as `dir/name` (written aside, renamed into place), the only one there: the
/// copies of other builds go.
fn keep_compressed(dir: &Path, name: &str, gz: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, gz)?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let other = entry.file_name();
        let other = other.to_string_lossy();
        if other.starts_with("ship-") && other.ends_with(".gz") && other != name {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// `raw` as gzip: one member per core, compressed at once and written one after another
/// (`gzip -dc` gives back their concatenation). A release build is compressed as small as
/// gzip makes it; a debug build, hundreds of MB, fast.
fn gzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    use flate2::{Compression, write::GzEncoder};
    let level = if raw.len() > LARGE_BINARY { Compression::fast() } else { Compression::best() };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = raw.len().div_ceil(cores).max(1 << 20);
    let members: Vec<std::io::Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = raw
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut encoder = GzEncoder::new(Vec::with_capacity(part.len() / 2), level);
                    std::io::Write::write_all(&mut encoder, part)?;
                    encoder.finish()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(std::io::Error::other("a compression thread panicked"))))
            .collect()
    });
    let mut out = Vec::new();
    for member in members {
        out.extend_from_slice(&member?);
    }
    if raw.is_empty() {
        let encoder = GzEncoder::new(Vec::new(), level);
        out = encoder.finish()?;
    }
    Ok(out)
}

/// `Linux x86_64`, as `uname -sm` prints it.
pub(super) fn local_platform() -> String {
    let u = rustix::system::uname();
    format!("{} {}", u.sysname().to_string_lossy(), u.machine().to_string_lossy())
}

/// Quote a value for the remote POSIX shell: `'...'`, with `'` written as `'\''`.
pub(super) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The private directory of ControlMaster sockets (mode 0700). Socket paths are limited
/// to about 100 bytes, so a long cache path falls back to /tmp/ship-<uid>.
fn control_dir() -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let preferred = crate::artifact::store::cache_root()?.join("ssh");
    let dir = if preferred.as_os_str().len() <= 60 {
        preferred
    } else {
        PathBuf::from(format!("/tmp/ship-{}", rustix::process::getuid().as_raw()))
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != rustix::process::getuid().as_raw() {
        bail!("{} is not a directory of this user's; refusing to keep ssh sockets there", dir.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// The `ssh` command for a target, up to and including the destination.
pub fn ssh_command(spec: &TargetSpec, cfg: &SshConfig) -> Result<Command> {
    let TargetSpec::Ssh { user, host, port, .. } = spec else {
        bail!("{spec} is not an ssh target");
    };
    let mut cmd = Command::new("ssh");
    // ssh takes the first value it sees for an option: these come first so they hold.
    cmd.args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]);
    if let Some(file) = &cfg.config {
        cmd.arg("-F").arg(file);
    }
    if let Some(identity) = &cfg.identity_file {
        cmd.arg("-i").arg(identity);
    }
    for option in &cfg.options {
        cmd.arg("-o").arg(option);
    }
    // A host that goes silent is noticed within a minute instead of hanging the deploy.
    cmd.args(["-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]);
    let control = control_dir()?.join("%C");
    cmd.arg("-o").arg("ControlMaster=auto");
    cmd.arg("-o").arg(format!("ControlPath={}", control.display()));
    cmd.args(["-o", "ControlPersist=60", "-T"]);
    if let Some(port) = port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = user {
        cmd.arg("-l").arg(user);
    }
    cmd.arg(host);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_hash_of_a_binary_is_used_only_while_the_binary_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (bin, kept) = (dir.path().join("ship"), dir.path().join("cache/own-sha256"));
        std::fs::write(&bin, b"build one").unwrap();
        let first = binary_sha256(&bin, Some(&kept)).unwrap();
        assert_eq!(first, (crate::digest::sha256_hex(b"build one"), 9));
        assert!(std::fs::read_to_string(&kept).unwrap().ends_with(&format!(" {}\n", first.0)));
        // What was kept is what is answered while the binary is the same file, unchanged...
        let text = std::fs::read_to_string(&kept).unwrap();
        let (identity, _) = text.trim_end().split_once(' ').unwrap();
        std::fs::write(&kept, format!("{identity} {}\n", "ab".repeat(32))).unwrap();
        assert_eq!(binary_sha256(&bin, Some(&kept)).unwrap().0, "ab".repeat(32));
        // ...and a binary rewritten in place (same size) is hashed again. (Its modification
        // time is set apart: two writes can fall in one tick of the file system's clock.)
        std::fs::write(&bin, b"build two").unwrap();
        let file = std::fs::File::options().write(true).open(&bin).unwrap();
        file.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1)).unwrap();
        assert_eq!(binary_sha256(&bin, Some(&kept)).unwrap().0, crate::digest::sha256_hex(b"build two"));
        // A cache that cannot be kept costs only the hashing.
        assert_eq!(binary_sha256(&bin, Some(&dir.path().join("ship/x"))).unwrap().1, 9);
    }

    #[test]
    fn the_compressed_binary_is_gzip_that_gunzip_gives_back_whole() {
        // Several members (one per core, 1 MiB at least each): gzip -dc concatenates them.
        let raw: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8 ^ (i >> 13) as u8).collect();
        let gz = gzip(&raw).unwrap();
        assert!(gz.len() < raw.len() / 2, "{} of {}", gz.len(), raw.len());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.gz"), &gz).unwrap();
        let out = std::process::Command::new("gzip").arg("-dc").arg(dir.path().join("x.gz")).output().unwrap();
        assert!(out.status.success());
        assert!(out.stdout == raw, "gzip -dc gave {} bytes of {}", out.stdout.len(), raw.len());
        // Kept alone: another build's copy goes.
        std::fs::write(dir.path().join("ship-old.gz"), b"old").unwrap();
        keep_compressed(dir.path(), "ship-new.gz", &gz).unwrap();
        assert_eq!(std::fs::read(dir.path().join("ship-new.gz")).unwrap(), gz);
        assert!(!dir.path().join("ship-old.gz").exists());
    }

    #[test]
    fn quoting_survives_any_text() {
        assert_eq!(quote("/srv/app"), "'/srv/app'");
        assert_eq!(quote("it's $(rm -rf /)"), r"'it'\''s $(rm -rf /)'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote("a'b\"c $x `y`")))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a'b\"c $x `y`");
    }
}
