//! `ship check`'s document: whether deploy.toml is valid and, with ENV, whether each target,
//! the `requires` gate and the `[store]` let a deploy through; and its text, a line each.

use serde::Serialize;

/// What `ship check [ENV]` prints; `ok` is false when anything would stop a deploy.
#[derive(Serialize)]
pub struct Report {
    pub config: String,
    pub app: String,
    pub envs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    pub targets: Vec<TargetCheck>,
    /// The `requires` gate of ENV, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateCheck>,
    /// `[store]`, when deploy.toml has one and ENV is given: can it be used from here?
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreCheck>,
    pub ok: bool,
}

/// The `[store]`, as reached from this machine.
#[derive(Serialize)]
pub struct StoreCheck {
    pub url: String,
    /// Why it cannot be used, if it cannot (credentials, bucket, reachability).
    pub error: Option<String>,
}

/// The `requires` gate: what it lets through now.
#[derive(Serialize)]
pub struct GateCheck {
    pub requires: String,
    /// The one release every target of `requires` runs, confirmed: the only artifact the
    /// gate lets through now.
    pub admits: Option<crate::ids::ReleaseRef>,
    /// Why a deploy of HEAD would be refused, if it would.
    pub error: Option<String>,
}

/// One target: reached or not, and what it said about itself.
#[derive(Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub reachable: bool,
    pub writable: bool,
    pub agent_version: Option<String>,
    pub free_bytes: Option<u64>,
    pub locked: bool,
    pub holder: Option<String>,
    pub error: Option<String>,
    /// Shared paths `shared/` does not have yet (a deploy seeds them from the release).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_missing: Vec<String>,
}

/// A line for the config, then `ok` or `FAIL` for each target, the store and the gate.
pub fn render(report: &Report) -> String {
    let mut text = format!(
        "{} is valid: app `{}`, environments: {}\n",
        report.config,
        report.app,
        if report.envs.is_empty() { "none".to_string() } else { report.envs.join(", ") }
    );
    for t in &report.targets {
        match &t.error {
            None => text.push_str(&format!(
                "  ok    {}  (ship {}, {} free{})\n",
                t.target,
                t.agent_version.as_deref().unwrap_or("?"),
                human_bytes(t.free_bytes.unwrap_or(0)),
                t.holder.as_ref().map_or(String::new(), |h| format!(", locked by {h}"))
            )),
            Some(e) => text.push_str(&format!("  FAIL  {}: {e}\n", t.target)),
        }
    }
    if let Some(store) = &report.store {
        match &store.error {
            None => text.push_str(&format!("  ok    store {}\n", store.url)),
            Some(e) => text.push_str(&format!("  FAIL  store: {e}\n")),
        }
    }
    if let Some(gate) = &report.gate {
        let admits = gate.admits.as_ref().map_or("nothing".to_string(), |c| {
            format!("{} (release {})", c.version.as_deref().unwrap_or("?"), c.release)
        });
        match &gate.error {
            None => text.push_str(&format!("  ok    requires `{}`: it runs {admits}\n", gate.requires)),
            Some(e) => text.push_str(&format!("  FAIL  requires `{}`: {e}\n", gate.requires)),
        }
    }
    text
}

/// Bytes for people, in binary units with one decimal: "1.5 GiB".
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
