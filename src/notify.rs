//! Webhook notifications: a JSON POST after every deploy and rollback to the environment's
//! `notify.webhook` (or `[notify] webhook`). A failing webhook is a warning, never a failed
//! deploy, and its URL is never printed beyond scheme, host and port.

use std::time::Duration;

use serde::Serialize;

use crate::rollout::Outcome;

/// What the webhook receives.
#[derive(Serialize)]
pub struct Notice<'a> {
    pub app: &'a str,
    /// `deploy` or `rollback`.
    pub kind: &'a str,
    pub user: &'a str,
    pub host: &'a str,
    pub at: &'a str,
    #[serde(flatten)]
    pub outcome: &'a Outcome,
}

/// POST `notice` to `url`; `Err` is the warning to show.
pub fn send(url: &str, notice: &Notice<'_>) -> Result<(), String> {
    let http = crate::http::Http::new()?;
    http.post_json(url, notice, Duration::from_secs(10))
}

/// Tell `env`'s webhook, if it has one, how a run of `kind` ended (a no-op is not news);
/// `Err` is the warning to show.
pub fn webhook(
    config: &crate::config::Config,
    env: &crate::config::Environment,
    kind: &str,
    outcome: &Outcome,
) -> Result<(), String> {
    let Some(url) = &env.webhook else { return Ok(()) };
    if outcome.outcome == crate::rollout::FleetOutcome::Noop {
        return Ok(());
    }
    let notice = Notice {
        app: &config.app,
        kind,
        user: &crate::clock::user(),
        host: &crate::clock::hostname(),
        at: &crate::clock::now_rfc3339(),
        outcome,
    };
    send(url, &notice)
}
