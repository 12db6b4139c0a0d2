//! `ship metrics`'s text: the four keys, their values and their bands, as a table; and the
//! window as people write it (`span_text`, "30d"). The document itself (`--format json`)
//! is [`crate::metrics::Report`], computed there.

use crate::metrics::{Band, Report};
use crate::ui::render::{decimal, hours, percent};
use crate::ui::{Paint, Ui};

/// A duration the short way: "30d", "36h", "90m", "45s".
pub fn span_text(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// The colour of a band.
fn paint(band: Band) -> Paint {
    match band {
        Band::Elite | Band::High => Paint::Good,
        Band::Medium => Paint::Warn,
        Band::Low => Paint::Bad,
    }
}

/// The table of the four keys (value and band each), the overall band, and notes.
pub fn render(ui: &Ui, r: &Report) -> String {
    let c = &r.counts;
    let of = |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    let restore = r.time_to_restore_hours_median.map(|h| {
        let mut text = format!("{} (median of {})", hours(h), of(c.restored, "restore"));
        if c.unrestored > 0 {
            text.push_str(&format!(", {} not restored", c.unrestored));
        }
        text
    });
    let rows: [(&str, Option<String>, Option<Band>); 4] = [
        (
            "deployment frequency",
            Some(format!(
                "{} per week ({} in {})",
                decimal(r.deployment_frequency_per_week, 2),
                of(c.successful, "successful deploy"),
                r.since
            )),
            Some(r.bands.deployment_frequency),
        ),
        (
            "lead time for changes",
            r.lead_time_hours_median.map(|h| format!("{} (median of {})", hours(h), of(c.commits, "commit"))),
            r.bands.lead_time,
        ),
        (
            "change failure rate",
            r.change_failure_rate.map(|f| format!("{} ({} of {})", percent(f), c.failed, of(c.deploys, "deploy"))),
            r.bands.change_failure_rate,
        ),
        (
            "time to restore",
            restore.or_else(|| (c.unrestored > 0).then(|| format!("- ({} not restored)", c.unrestored))),
            r.bands.time_to_restore,
        ),
    ];
    let width = rows.iter().filter_map(|(_, v, _)| v.as_ref().map(|v| v.chars().count())).max().unwrap_or(0).max(5);
    let mut out = format!(
        "DORA metrics of {}, the last {} ({} to {})\n\n{:22}  {:width$}  BAND\n",
        r.env, r.since, r.window.start, r.window.end, "KEY", "VALUE"
    );
    for (key, value, band) in &rows {
        let band = band.map_or("-".to_string(), |b| ui.paint_out(b.as_str(), paint(b)));
        out.push_str(&format!("{key:22}  {:width$}  {band}\n", value.as_deref().unwrap_or("-")));
    }
    out.push_str(&format!("{:22}  {:width$}  {}\n", "overall", "", ui.paint_out(r.band.as_str(), paint(r.band))));
    if c.commits_unknown > 0 {
        out.push_str(&format!(
            "\n{} successful deploy(s) of a commit this repository does not have: no lead time for them.\n",
            c.commits_unknown
        ));
    }
    out.push_str(&format!(
        "\nBands by the thresholds of the {}; overall is the lowest band of the keys measured.",
        r.thresholds.source
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_the_short_way() {
        use std::time::Duration;
        assert_eq!(super::span_text(Duration::from_secs(90 * 86_400)), "90d");
        assert_eq!(super::span_text(Duration::from_secs(84 * 86_400)), "84d");
        assert_eq!(super::span_text(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(super::span_text(Duration::from_secs(59)), "59s");
    }
}
