//! The shapes of the names a target's layout is built from: artifact digests, release ids,
//! shared paths and step environment. Everything a peer sends is checked against these
//! before it becomes a path or a process, so a forged name can never leave the target's
//! directory, and a malformed one is an error, never a panic.

use std::path::Path;

/// Length of a release id: the first hex digits of the artifact's sha256.
pub const RELEASE_ID_LEN: usize = 12;

/// The longest path, in bytes, as Linux allows (`PATH_MAX`).
pub const MAX_PATH: usize = 4096;

/// The most bytes a step's command, name or environment may hold (1 MiB each).
const MAX_TEXT: usize = 1 << 20;

/// `s` is a sha256 as ship writes it: 64 lowercase hex digits.
pub fn check_sha256(s: &str) -> Result<(), String> {
    if crate::digest::is_sha256(s) {
        Ok(())
    } else {
        Err(format!("{} is not a sha256 (64 lowercase hex digits)", shown(s)))
    }
}

/// `s` is a release id: [`RELEASE_ID_LEN`] lowercase hex digits.
pub fn check_release_id(s: &str) -> Result<(), String> {
    if s.len() == RELEASE_ID_LEN && is_lower_hex(s) {
        Ok(())
    } else {
        Err(format!("{} is not a release id ({RELEASE_ID_LEN} lowercase hex digits)", shown(s)))
    }
}

/// Why `s` is not a relative path written the one way ship writes them (plain names joined
/// by single `/`: no `.`, `..`, empty part, leading or trailing `/`, NUL), if it is not.
pub fn check_plain_path(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() >= MAX_PATH {
        return Err("the path is empty or too long");
    }
    if s.contains('\0') {
        return Err("the path holds a NUL byte");
    }
    if s.starts_with('/') {
        return Err("it is an absolute path");
    }
    for part in s.split('/') {
        match part {
            "" => return Err("the path has an empty part (a '//' or a '/' at the end)"),
            "." => return Err("the path contains '.'"),
            ".." => return Err("the path contains '..'"),
            _ => {}
        }
    }
    Ok(())
}

/// `s` is a path below a release and below `shared/`: a plain relative path.
pub fn check_shared_path(s: &str) -> Result<(), String> {
    check_plain_path(s).map_err(|why| format!("{} is not a relative path of plain names: {why}", shown(s)))
}

/// A list of shared paths: each one plain ([`check_shared_path`]), and none within another
/// (a shared path is one link: nothing can be linked below it).
pub fn check_shared_paths(paths: &[String]) -> Result<(), String> {
    for (i, p) in paths.iter().enumerate() {
        check_shared_path(p)?;
        if let Some(other) = paths[..i].iter().find(|o| Path::new(p).starts_with(o) || Path::new(o).starts_with(p)) {
            return Err(format!("the shared paths {} and {} overlap", shown(other), shown(p)));
        }
    }
    Ok(())
}

/// `[release] writable`: glob patterns over release paths, at most 1024 of them.
pub fn check_writable(patterns: &[String]) -> Result<(), String> {
    writable_set(patterns).map(|_| ())
}

/// The matcher of `[release] writable` patterns (`*` stays within one directory, `**`
/// crosses them).
pub fn writable_set(patterns: &[String]) -> Result<globset::GlobSet, String> {
    if patterns.len() > 1024 {
        return Err(format!("{} writable patterns are more than a release may have", patterns.len()));
    }
    let mut set = globset::GlobSetBuilder::new();
    for p in patterns {
        check_text("writable pattern", p)?;
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("the writable pattern {} is not a glob: {e}", shown(p)))?;
        set.add(glob);
    }
    set.build().map_err(|e| format!("the writable patterns cannot be used: {e}"))
}

/// A step's environment: names a process can carry, values without NUL, sizes bounded.
pub fn check_env(env: &[(String, String)]) -> Result<(), String> {
    if env.len() > 4096 {
        return Err(format!("{} environment variables are more than a step may have", env.len()));
    }
    for (name, value) in env {
        if name.is_empty() || name.contains(['=', '\0']) || name.len() > 1024 {
            return Err(format!("{} is not an environment variable name", shown(name)));
        }
        if value.contains('\0') || value.len() > MAX_TEXT {
            return Err(format!("the value of {name} holds a NUL byte or is longer than {MAX_TEXT} bytes"));
        }
    }
    Ok(())
}

/// Text that becomes an argument of a process (a step's script): no NUL, bounded.
pub fn check_text(what: &str, s: &str) -> Result<(), String> {
    if s.contains('\0') || s.len() > MAX_TEXT {
        Err(format!("the {what} holds a NUL byte or is longer than {MAX_TEXT} bytes"))
    } else {
        Ok(())
    }
}

/// Only `0-9a-f`.
pub fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A peer's value in an error: quoted, escaped, and cut short if long.
pub(crate) fn shown(s: &str) -> String {
    let mut out = format!("{:?}", s.chars().take(80).collect::<String>());
    if s.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_and_release_ids_are_lowercase_hex_of_their_length() {
        assert!(check_sha256(&"ab".repeat(32)).is_ok());
        assert!(check_sha256(&"AB".repeat(32)).is_err());
        assert!(check_sha256(&"é".repeat(32)).is_err());
        assert!(check_sha256("").is_err());
        assert!(check_release_id("0123456789ab").is_ok());
        assert!(check_release_id("../../../../").is_err());
        assert!(check_release_id("0123456789abc").is_err());
        assert!(check_release_id("ééééé1").is_err());
    }

    #[test]
    fn shared_paths_stay_below() {
        assert!(check_shared_path("log").is_ok());
        assert!(check_shared_path("config/app.env").is_ok());
        for bad in ["", "/etc", "../x", "a/../../x", "./a", "a\0b", "a/", "a//b", "a/./b"] {
            assert!(check_shared_path(bad).is_err(), "{bad:?}");
        }
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_shared_paths(&list(&["log", "config/app.env", "logs"])).is_ok());
        assert!(check_shared_paths(&list(&["a", "a/b"])).unwrap_err().contains("overlap"));
        assert!(check_shared_paths(&list(&["a/b", "a"])).is_err());
    }

    #[test]
    fn env_names_and_values_a_process_can_carry() {
        let ok = vec![("A".to_string(), "multi\nline".to_string())];
        assert!(check_env(&ok).is_ok());
        assert!(check_env(&[("A=B".into(), "x".into())]).is_err());
        assert!(check_env(&[("".into(), "x".into())]).is_err());
        assert!(check_env(&[("A".into(), "x\0y".into())]).is_err());
    }
}
