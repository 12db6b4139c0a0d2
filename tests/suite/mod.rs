mod harness;
mod limits;
mod nginx;
mod sshd;

mod agent;
mod artifacts;
mod cli;
mod config;
mod deploy;
mod failures;
mod plans;
mod process;
mod rollback;
mod safety;
mod security;
mod ssh;
mod status;
