//! What `ship check`, `status`, `history`, `prune`, `metrics` and `exec` print, one file per command:
//! the document's type (what `--format json` writes; metrics' is `crate::metrics::Report`) and
//! its human text, `render(doc)`, given the `Ui` when it paints. The commands gather the data,
//! build the document and pick the exit code; nothing here reaches a target or decides.
//!
//! Plans and the outcomes of deploys and rollbacks are rendered in [`super::render`].

pub mod check;
pub mod exec;
pub mod history;
pub mod metrics;
pub mod prune;
pub mod status;
