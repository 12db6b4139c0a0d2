//! Wall-clock time as RFC 3339 text, and who and where we are, for journals and locks.

use std::time::SystemTime;

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Seconds since an RFC 3339 time, or `None` if it does not parse.
pub fn age_secs(rfc3339: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    Some(SystemTime::now().duration_since(t).map_or(0, |d| d.as_secs()))
}

/// The user running ship: $USER, else $LOGNAME, else the name the password database gives
/// the uid, else the uid itself.
pub fn user() -> String {
    let uid = rustix::process::getuid().as_raw();
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| crate::process::passwd_entry(uid).map(|[name, ..]| name).filter(|n| !n.is_empty()))
        .unwrap_or_else(|| format!("uid {uid}"))
}

pub fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}
