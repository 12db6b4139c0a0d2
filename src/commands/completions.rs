//! `ship completions SHELL`: a completion script generated from the clap tree.

use anyhow::Result;
use clap::CommandFactory;

use super::Ctx;
use crate::cli::Cli;
use crate::error::Exit;

pub fn run(_cx: &Ctx, shell: clap_complete::Shell) -> Result<Exit> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ship", &mut out);
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(Exit::Success)
}
