//! The errors a caller must tell apart, and the exit codes of the README ("Exit codes").
//!
//! Everything else travels as `anyhow::Error` with context. `main` walks an error's chain
//! once, in [`exit_code_of`], to pick the code: this is the only place that does.

use std::fmt;

/// The exit codes the README lists ("Exit codes"), each with one meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Error = 1,
    Usage = 2,
    Locked = 3,
    RolledBack = 4,
    Inconsistent = 5,
    StalePlan = 6,
    ChangesPending = 10,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A bad command line, a bad deploy.toml, or a request that cannot be met as asked: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl fmt::Display) -> Self {
        UsageError(message.to_string())
    }
}

/// A refusal that scripts tell apart by `kind`: what happened, what to do about it (`hint`),
/// and what is known (`detail`: extra fields of the JSON error document, such as the lock's
/// holder). `main` prints the message, then the hint on a line of its own.
#[derive(Debug)]
pub struct Refusal {
    pub exit: Exit,
    pub kind: &'static str,
    pub message: String,
    pub hint: Option<String>,
    pub detail: Vec<(&'static str, serde_json::Value)>,
}

impl std::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Refusal {
    pub fn new(exit: Exit, kind: &'static str, message: impl fmt::Display) -> Refusal {
        Refusal { exit, kind, message: message.to_string(), hint: None, detail: Vec::new() }
    }

    pub fn hint(mut self, hint: impl fmt::Display) -> Refusal {
        self.hint = Some(hint.to_string());
        self
    }

    pub fn detail(mut self, key: &'static str, value: impl serde::Serialize) -> Refusal {
        self.detail.push((key, serde_json::to_value(value).unwrap_or(serde_json::Value::Null)));
        self
    }

    /// `target` is locked by `holder` (None: a process that left no name): exit 3.
    pub fn locked(target: &str, holder: Option<&crate::release::Holder>) -> Refusal {
        let who = holder.map_or_else(|| "another process (it left no name)".to_string(), |h| h.to_string());
        Refusal::new(Exit::Locked, "locked", format!("{target} is locked by {who}"))
            .detail("lock", serde_json::json!({ "target": target, "holder": holder }))
    }
}

/// What failed on a target, told apart by scripts: each target's `error_kind` in the JSON
/// of a run, and the `kind` of the error document when ship stops on one target's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The target could not be reached, or the connection to it broke.
    Connection,
    /// Another run holds the target's lock.
    Lock,
    /// A step failed (or timed out).
    Step,
    /// The health check did not pass.
    Health,
    /// An operation on the target failed there: a file, a disk, an artifact it refused.
    Io,
    /// The agent and ship did not understand each other.
    Protocol,
    /// Ctrl-C (or SIGTERM) stopped the run before this target was done.
    Interrupted,
    /// The run left this target as it is on purpose (a rollback with nowhere to go there).
    Refused,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connection => "connection",
            ErrorKind::Lock => "lock",
            ErrorKind::Step => "step",
            ErrorKind::Health => "health",
            ErrorKind::Io => "io",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Refused => "refused",
        }
    }
}

/// One target's failure: its kind, what happened (never naming the target: whoever shows
/// it names the target once), and what to do about it, if anything is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl std::error::Error for TargetError {}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl TargetError {
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> TargetError {
        TargetError { kind, message: message.to_string(), hint: None }
    }

    pub fn hint(mut self, hint: impl fmt::Display) -> TargetError {
        self.hint = Some(hint.to_string());
        self
    }

    /// The failure an error says: its kind and hint from the first `TargetError` (or lock
    /// refusal) in its chain, `io` when none says; its message with every cause.
    pub fn of(err: &anyhow::Error) -> TargetError {
        let (kind, hint) = err
            .chain()
            .find_map(|c| {
                c.downcast_ref::<TargetError>().map(|t| (t.kind, t.hint.clone())).or_else(|| {
                    c.downcast_ref::<Refusal>()
                        .filter(|r| r.exit == Exit::Locked)
                        .map(|r| (ErrorKind::Lock, r.hint.clone()))
                })
            })
            .unwrap_or((ErrorKind::Io, None));
        TargetError { kind, message: format!("{err:#}"), hint }
    }

    /// The same failure, its message (and hint) passed through `f` (to redact secrets).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> TargetError {
        TargetError { kind: self.kind, message: f(&self.message), hint: self.hint.as_deref().map(&f) }
    }
}

/// The hint of an error: its refusal's, or the target failure's it carries.
pub fn hint_of(err: &anyhow::Error) -> Option<&str> {
    err.chain().find_map(|c| {
        c.downcast_ref::<Refusal>()
            .and_then(|r| r.hint.as_deref())
            .or_else(|| c.downcast_ref::<TargetError>().and_then(|t| t.hint.as_deref()))
    })
}

/// The first refusal in an error's chain, if any.
pub fn refusal_of(err: &anyhow::Error) -> Option<&Refusal> {
    err.chain().find_map(|c| c.downcast_ref::<Refusal>())
}

/// The exit code for an error: the first typed error found in its chain decides.
pub fn exit_code_of(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return refusal.exit;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some() {
            return Exit::Usage;
        }
    }
    Exit::Error
}

/// The JSON document `--format json` prints on stdout when ship refuses or fails:
/// `{"error": {"kind", "message", "hint", "exit"}, ...}` plus what is known (`lock`,
/// `stale`, `gate`, `config`).
pub fn to_json(err: &anyhow::Error, message: &str) -> serde_json::Value {
    let exit = exit_code_of(err);
    let mut doc = serde_json::Map::new();
    let (kind, hint) = match refusal_of(err) {
        Some(r) => {
            for (key, value) in &r.detail {
                doc.insert((*key).to_string(), value.clone());
            }
            (r.kind, r.hint.clone())
        }
        None => match err.chain().find_map(|c| c.downcast_ref::<crate::config::ConfigError>()) {
            Some(c) => {
                doc.insert(
                    "config".to_string(),
                    serde_json::json!({
                        "path": c.path.display().to_string(),
                        "line": c.position.map(|p| p.0),
                        "column": c.position.map(|p| p.1),
                    }),
                );
                ("config", None)
            }
            None if exit == Exit::Usage => ("usage", None),
            None => match err.chain().find_map(|c| c.downcast_ref::<TargetError>()) {
                Some(t) => (t.kind.as_str(), t.hint.clone()),
                None => ("error", None),
            },
        },
    };
    let error = serde_json::json!({ "kind": kind, "message": message, "hint": hint, "exit": exit.code() });
    let mut out = serde_json::Map::new();
    out.insert("error".to_string(), error);
    out.extend(doc);
    serde_json::Value::Object(out)
}

/// Shorthand for returning a usage error (exit 2).
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => {
        ::anyhow::Error::new($crate::error::UsageError(format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_failure_keeps_its_kind_and_hint_through_context() {
        let failure = TargetError::new(ErrorKind::Connection, "the connection closed").hint("check the host");
        let err = anyhow::Error::new(failure).context("locking ssh://web1/srv/app");
        let seen = TargetError::of(&err);
        assert_eq!(seen.kind, ErrorKind::Connection);
        assert_eq!(seen.message, "locking ssh://web1/srv/app: the connection closed");
        assert_eq!(seen.hint.as_deref(), Some("check the host"));
        assert_eq!(hint_of(&err), Some("check the host"));
        assert_eq!(to_json(&err, "m")["error"]["kind"], "connection");
        // A lock refusal is a lock failure; anything untyped is an operation that failed there.
        let locked: anyhow::Error = Refusal::locked("t", None).into();
        assert_eq!(TargetError::of(&locked).kind, ErrorKind::Lock);
        assert_eq!(TargetError::of(&anyhow::anyhow!("disk full")).kind, ErrorKind::Io);
        for kind in [ErrorKind::Connection, ErrorKind::Step, ErrorKind::Refused, ErrorKind::Interrupted] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
