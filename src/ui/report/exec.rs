//! `ship exec`'s document: per target, how the command ended there (exit code or signal),
//! its output and its time, or why it could not run; and its text, a table with a line per
//! target (the output itself is printed as it comes, by the command).

use serde::Serialize;

use crate::ui::{Paint, Ui};

/// What `ship exec ENV -- CMD...` prints.
#[derive(Serialize)]
pub struct Report {
    pub env: String,
    /// The argv run on each target.
    pub command: Vec<String>,
    pub targets: Vec<TargetRun>,
}

/// One target: how the command ended there, or why it did not run.
#[derive(Serialize)]
pub struct TargetRun {
    pub target: String,
    pub roles: Vec<String>,
    /// Its exit code; null when it did not run, or a signal, a timeout or a cancellation
    /// ended it.
    pub exit: Option<i32>,
    /// The signal that killed it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Its stdout and stderr, merged, line by line as they came, secrets blanked out.
    pub output: Vec<String>,
    pub duration_ms: u64,
    /// Why it did not run, or did not end by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TargetRun {
    /// It ran and exited 0.
    pub fn succeeded(&self) -> bool {
        self.exit == Some(0) && self.error.is_none()
    }
}

impl Report {
    /// The command exited 0 on every target.
    pub fn succeeded(&self) -> bool {
        self.targets.iter().all(TargetRun::succeeded)
    }
}

/// `1.25s`, `12.0s`, `3m 05s`.
fn time(ms: u64) -> String {
    if ms < 60_000 { format!("{:.2}s", ms as f64 / 1000.0) } else { format!("{}m {:02}s", ms / 60_000, ms / 1000 % 60) }
}

/// The table of `ship exec`: TARGET, EXIT, TIME, a line per target (why one could not run
/// below it), then how many failed.
pub fn render(ui: &Ui, r: &Report) -> String {
    let header = ["TARGET", "EXIT", "TIME"];
    let rows: Vec<[String; 3]> = r
        .targets
        .iter()
        .map(|t| {
            let exit = match (t.exit, t.signal) {
                (Some(code), _) => code.to_string(),
                (None, Some(signal)) => format!("signal {signal}"),
                (None, None) => "-".to_string(),
            };
            [t.target.clone(), exit, time(t.duration_ms)]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("{:w0$}  {:w1$}  {}\n", header[0], header[1], header[2], w0 = widths[0], w1 = widths[1]);
    for (t, row) in r.targets.iter().zip(&rows) {
        let exit = format!("{:w$}", row[1], w = widths[1]);
        let exit = ui.paint_out(&exit, if t.succeeded() { Paint::Good } else { Paint::Bad });
        out.push_str(&format!("{:w0$}  {exit}  {}\n", row[0], row[2], w0 = widths[0]));
        if let Some(e) = &t.error {
            out.push_str(&format!("    {}\n", ui.paint_out(e, Paint::Bad)));
        }
    }
    let failed = r.targets.iter().filter(|t| !t.succeeded()).count();
    let all = r.targets.len();
    let summary = if failed == 0 {
        ui.paint_out(&format!("Exited 0 on all {all} target(s) of {}.", r.env), Paint::Good)
    } else {
        ui.paint_out(&format!("Failed on {failed} of {all} target(s) of {}.", r.env), Paint::Bad)
    };
    out.push_str(&summary);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_seconds_then_minutes() {
        assert_eq!(time(1250), "1.25s");
        assert_eq!(time(65_000), "1m 05s");
    }
}
