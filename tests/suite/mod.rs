mod harness;
mod sshd;

mod agent;
mod artifacts;
mod cli;
mod config;
mod deploy;
mod failures;
mod rollback;
mod ssh;
mod status;
