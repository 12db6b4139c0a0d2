//! HTTP from the deploying machine: health checks (a GET; 2xx is healthy; redirects are not
//! followed, since a health URL that redirects is a mistake worth seeing; anything else is
//! reported with its status and the first lines of its body) and webhook POSTs.

use std::time::Duration;

/// A reusable HTTP client.
pub struct Http {
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new() -> Result<Http, String> {
        // rustls needs a crypto provider; ring is ours. A second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("ship/", env!("CARGO_PKG_VERSION"), " (health check)"))
            .build()
            .map_err(|e| format!("setting up the HTTP client: {}", chain(&e)))?;
        Ok(Http { client })
    }

    /// POST `body` as JSON to `url`; 2xx is success.
    pub fn post_json(&self, url: &str, body: &impl serde::Serialize, timeout: Duration) -> Result<(), String> {
        let shown = redact_url(url);
        let response = self
            .client
            .post(url)
            .json(body)
            .timeout(timeout)
            .send()
            // reqwest prints the URL as it normalised it, which a replace would miss: drop it.
            .map_err(|e| format!("POST {shown} failed: {}", chain(&e.without_url())))?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(format!("POST {shown} answered {status}")) }
    }

    /// One GET of `url`, giving up after `timeout`. What the server answered is passed
    /// through `redact` before it is cut short, so that no part of a secret survives the cut.
    pub fn check(&self, url: &str, timeout: Duration, redact: &dyn Fn(&str) -> String) -> Result<(), String> {
        let response = self
            .client
            .get(url)
            .timeout(timeout)
            .send()
            .map_err(|e| format!("GET {url} failed: {}", chain(&e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no Location)")
                .to_string();
            return Err(format!(
                "GET {url} answered {status}, a redirect to {to}; health checks do not follow redirects: point health.http at the final URL"
            ));
        }
        // The first 64 KiB are plenty to explain a failure; a huge body is not read whole.
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response, 64 * 1024), &mut bytes);
        let body = redact(&String::from_utf8_lossy(&bytes));
        let head: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).take(5).collect();
        let mut head = head.join(" | ");
        if head.len() > 400 {
            let cut = (0..=400).rev().find(|i| head.is_char_boundary(*i)).unwrap_or(0);
            head.truncate(cut);
            head.push_str("...");
        }
        if head.is_empty() {
            Err(format!("GET {url} answered {status}"))
        } else {
            Err(format!("GET {url} answered {status}: {head}"))
        }
    }
}

/// An error and its causes, on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A URL safe to print: scheme, host and port only. Webhook paths and queries often carry
/// tokens, and user info carries passwords.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path() != "/" || u.query().is_some() { "/..." } else { "" };
            format!("{}://{}{port}{rest}", u.scheme(), u.host_str().unwrap_or("?"))
        }
        Err(_) => "(an invalid URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_only_scheme_host_and_port() {
        assert_eq!(
            redact_url("https://hooks.example.com/services/T0/B0/s3cret?token=x"),
            "https://hooks.example.com/..."
        );
        assert_eq!(redact_url("http://user:pw@127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(redact_url("not a url"), "(an invalid URL)");
    }
}
