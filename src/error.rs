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
            None => ("error", None),
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
