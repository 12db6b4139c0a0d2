//! ship: reproducible, content-addressed releases deployed with one command.
//!
//! Data flows one way: `commands` -> `config`/`version`/`artifact` -> `rollout` -> `target`
//! -> `release`. The binary (`main.rs`) only parses arguments, runs a command and maps its
//! result to an exit code.

pub mod agent;
pub mod artifact;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod complete;
pub mod config;
pub mod digest;
pub mod error;
pub mod http;
pub mod ids;
pub mod interrupt;
pub mod man;
pub mod metrics;
pub mod notify;
pub mod pool;
pub mod process;
pub mod redact;
pub mod release;
pub mod rollout;

pub mod ui;
pub mod version;
