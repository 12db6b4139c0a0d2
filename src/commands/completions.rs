//! `ship completions SHELL`: a completion script generated from the clap tree.

use anyhow::Result;

use super::Ctx;
use crate::error::Exit;

pub fn run(_cx: &Ctx, shell: clap_complete::Shell) -> Result<Exit> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&crate::cli::completion(shell))?;
    stdout.flush()?;
    Ok(Exit::Success)
}
