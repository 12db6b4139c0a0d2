//! Values of deploy.toml that check themselves while they are read, so that toml can point
//! at the exact place of a bad one: durations, app names, target addresses, step phases.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written like "30s", "5m" or "1h30m".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match humantime::parse_duration(s.trim()) {
            Ok(d) if !d.is_zero() => Ok(Span(d)),
            Ok(_) => Err(format!("invalid duration \"{s}\": it must be longer than zero")),
            Err(_) => Err(format!(
                "invalid duration \"{s}\": expected a number and a unit, like \"30s\", \"5m\" or \"1h30m\""
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `[app] name`: `[a-z0-9][a-z0-9._-]*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(pub String);

impl<'de> Deserialize<'de> for AppName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
        if first_ok && rest_ok {
            Ok(AppName(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid app name \"{s}\": expected lowercase letters, digits, '.', '_' and '-', starting with a letter or digit"
            )))
        }
    }
}

/// Where a target lives: on this machine, or on a host reached with OpenSSH.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetSpec {
    Local { path: PathBuf },
    Ssh { user: Option<String>, host: String, port: Option<u16>, path: PathBuf },
}

impl TargetSpec {
    pub fn path(&self) -> &Path {
        match self {
            TargetSpec::Local { path } | TargetSpec::Ssh { path, .. } => path,
        }
    }

    /// The host name steps see as SHIP_HOST and health URLs as {host}.
    pub fn host(&self) -> &str {
        match self {
            TargetSpec::Local { .. } => "localhost",
            TargetSpec::Ssh { host, .. } => host,
        }
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Local { path } => write!(f, "local:{}", path.display()),
            TargetSpec::Ssh { user, host, port, path } => {
                f.write_str("ssh://")?;
                if let Some(user) = user {
                    write!(f, "{user}@")?;
                }
                if host.contains(':') {
                    write!(f, "[{host}]")?;
                } else {
                    f.write_str(host)?;
                }
                if let Some(port) = port {
                    write!(f, ":{port}")?;
                }
                write!(f, "{}", path.display())
            }
        }
    }
}

const TARGET_FORMS: &str = "expected local:/abs/path, /abs/path or ssh://[user@]host[:port]/abs/path";

impl FromStr for TargetSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("invalid target \"{s}\": {why}");
        if let Some(rest) = s.strip_prefix("ssh://") {
            let slash = rest.find('/').ok_or_else(|| bad("the path is missing; it must be absolute"))?;
            let (authority, path) = rest.split_at(slash);
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
                Some(_) => return Err(bad("the user before '@' is empty")),
                None => (None, authority),
            };
            let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
                let (h, after) = inner.split_once(']').ok_or_else(|| bad("unclosed '[' in the host"))?;
                (h, after.strip_prefix(':'))
            } else {
                match hostport.split_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if host.is_empty() || host.starts_with('-') || host.chars().any(|c| c.is_whitespace()) {
                return Err(bad("the host is missing or not a host name"));
            }
            let port = match port {
                Some(p) => Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
                ),
                None => None,
            };
            let path = check_path(path).map_err(|why| bad(&why))?;
            return Ok(TargetSpec::Ssh { user, host: host.to_string(), port, path });
        }
        let path = s.strip_prefix("local:").unwrap_or(s);
        if !path.starts_with('/') {
            return Err(bad(TARGET_FORMS));
        }
        let path = check_path(path).map_err(|why| bad(&why))?;
        Ok(TargetSpec::Local { path })
    }
}

fn check_path(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err("the path must be absolute".into());
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("the path must not contain '..'".into());
    }
    if p.parent().is_none() {
        return Err("the path must not be the root directory".into());
    }
    let clean: PathBuf = p.components().collect();
    Ok(clean)
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for TargetSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    #[default]
    BeforeSwitch,
    AfterSwitch,
    AfterRollback,
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            When::BeforeSwitch => "before_switch",
            When::AfterSwitch => "after_switch",
            When::AfterRollback => "after_rollback",
        })
    }
}

/// Where a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum On {
    #[default]
    Each,
    First,
    Local,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for s in [
            "local:/srv/app",
            "ssh://deploy@web1.example.com/srv/hello",
            "ssh://web2:2222/srv/hello",
            "ssh://[::1]:22/srv/x",
        ] {
            let t: TargetSpec = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!("/srv/app".parse::<TargetSpec>().unwrap().to_string(), "local:/srv/app");
    }

    #[test]
    fn bad_targets_say_why() {
        let cases = [
            ("srv/app", "expected local:/abs/path"),
            ("local:relative", "expected local:/abs/path"),
            ("ssh://web1", "the path is missing"),
            ("ssh://web1:99999/srv", "port"),
            ("ssh://@web1/srv", "user"),
            ("local:/srv/../etc", "'..'"),
            ("/", "root directory"),
            ("ssh://-oProxyCommand=x/srv", "host"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<TargetSpec>().unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!("30s".parse::<Span>().unwrap().0, Duration::from_secs(30));
        assert_eq!("1h30m".parse::<Span>().unwrap().0, Duration::from_secs(5400));
        assert!("5 minutes please".parse::<Span>().unwrap_err().contains("expected a number and a unit"));
        assert!("0s".parse::<Span>().is_err());
    }
}
