//! Starting the agent on a target. For `ssh://` targets one OpenSSH session carries
//! everything: a small POSIX sh script starts the agent if the host has this very build
//! (content-addressed under `<path>/.ship/bin/`), and otherwise asks for it, receives it,
//! checks its sha256, renames it into place and starts it. The ssh command line itself
//! lives here too: host keys always checked, never a prompt, one ControlMaster socket per
//! host kept for 60 s.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Result, anyhow, bail};

use crate::config::{SshConfig, TargetSpec};

/// The script the host's login shell runs, with the target path, this build's version and
/// binary sha256, and `agent_path` as `$1`..`$4`. Values are arguments, never script text.
pub(super) const BOOTSTRAP: &str = r#"path=$1 version=$2 hash=$3 agent=$4
if [ -n "$agent" ]; then
  if [ -x "$agent" ]; then exec "$agent" agent --path "$path"; fi
  echo "SHIP-BOOTSTRAP missing-agent"; exit 0
fi
bin="$path/.ship/bin/ship-$hash"
if [ -x "$bin" ]; then exec "$bin" agent --path "$path"; fi
echo "SHIP-BOOTSTRAP need $(uname -sm)"
IFS= read -r answer || exit 0
case "$answer" in "upload "*) ;; *) exit 0 ;; esac
size=${answer#upload }
mkdir -p "$path/.ship/bin" || exit 0
tmp="$path/.ship/bin/.upload-$$"
head -c "$size" > "$tmp" || { rm -f "$tmp"; exit 0; }
if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum < "$tmp"); else got=$(shasum -a 256 < "$tmp"); fi
got=${got%% *}
if [ "$got" != "$hash" ]; then rm -f "$tmp"; echo "SHIP-BOOTSTRAP corrupt $got"; exit 0; fi
chmod 755 "$tmp" && mv -f "$tmp" "$bin" && exec "$bin" agent --path "$path"
echo "SHIP-BOOTSTRAP failed"
"#;

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

/// Forget the sha256 ship kept of itself (a host received bytes that did not match it).
pub(super) fn forget_own_sha256() {
    if let Ok(dir) = crate::artifact::store::cache_root() {
        let _ = std::fs::remove_file(dir.join("own-sha256"));
    }
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
