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

/// A target is locked by someone else: exit 3. The holder is named.
#[derive(Debug, thiserror::Error)]
#[error("{target} is locked by {holder}")]
pub struct LockedError {
    pub target: String,
    pub holder: String,
}

/// A saved plan no longer matches what it observed: exit 6.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StalePlanError(pub String);

/// The exit code for an error: the first typed error found in its chain decides.
pub fn exit_code_of(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some() {
            return Exit::Usage;
        }
        if cause.downcast_ref::<LockedError>().is_some() {
            return Exit::Locked;
        }
        if cause.downcast_ref::<StalePlanError>().is_some() {
            return Exit::StalePlan;
        }
    }
    Exit::Error
}

/// Shorthand for returning a usage error (exit 2).
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => {
        ::anyhow::Error::new($crate::error::UsageError(format!($($arg)*)))
    };
}
