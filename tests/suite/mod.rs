mod harness;

mod artifacts;
mod cli;
mod config;
mod deploy;
mod failures;
mod rollback;
mod status;
