//! The documents the reading commands print, one file per command: each document's type (as
//! `--format json` writes it) and its human text, a `render(&Ui, &doc)`. The commands gather
//! the data and decide the exit code; nothing here reaches a target or decides.
//!
//! Plans and the outcomes of deploys and rollbacks are rendered in [`super::render`].

pub mod history;
pub mod metrics;
pub mod prune;
pub mod status;
