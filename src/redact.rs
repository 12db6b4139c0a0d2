//! Blanking secrets out of everything ship shows or records: step output, errors, health
//! check bodies.
//!
//! The rule: a secret's whole value is replaced by `[redacted]` wherever it appears, and so
//! is every line of a multi-line value (a PEM key, a JSON credential) that is at least
//! [`MIN_LINE`] characters long once trimmed of surrounding whitespace, since output is
//! shown line by line and a key printed whole arrives as its lines. Shorter lines (`{`,
//! `}`, blank ones) carry nothing secret on their own and would blank out ordinary output.
//! What cannot be redacted is a transformed value: base64 of a secret, one character per
//! line, a hash of it, or a secret cut at another place than its own line breaks.

/// The shortest line of a multi-line secret that is redacted on its own.
pub const MIN_LINE: usize = 4;

/// What replaces a secret.
pub const MASK: &str = "[redacted]";

/// The texts to blank out, longest first so that a secret holding another is blanked whole.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut needles: Vec<String> = Vec::new();
        for value in values {
            if value.is_empty() {
                continue;
            }
            needles.push(value.to_string());
            if value.contains(['\n', '\r']) {
                for line in value.split(['\n', '\r']) {
                    let line = line.trim();
                    if line.chars().count() >= MIN_LINE {
                        needles.push(line.to_string());
                    }
                }
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { needles }
    }

    /// `text` with every secret (and every line of a multi-line one) replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKB\n-----END PRIVATE KEY-----\n";

    #[test]
    fn every_line_of_a_multi_line_secret_is_blanked() {
        let r = Redactor::new([PEM]);
        for line in PEM.lines() {
            assert_eq!(r.redact(line), MASK, "{line}");
        }
        assert_eq!(r.redact(&format!("key: {PEM}")), format!("key: {MASK}"));
        assert_eq!(r.redact("  MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r"), format!("  {MASK}\r"));
    }

    #[test]
    fn a_json_credential_keeps_its_braces_but_not_its_fields() {
        let json = "{\n  \"client_email\": \"ci@example.iam\",\n  \"private_key\": \"abc123\"\n}";
        let r = Redactor::new([json]);
        assert_eq!(r.redact("{"), "{");
        assert_eq!(r.redact("  \"private_key\": \"abc123\""), format!("  {MASK}"));
        assert!(!r.redact(json).contains("abc123"));
    }

    #[test]
    fn the_longest_secret_wins_and_short_single_values_still_count() {
        let r = Redactor::new(["abc", "xabcx", ""]);
        assert_eq!(r.redact("xabcx abc"), format!("{MASK} {MASK}"));
        assert_eq!(Redactor::new([""]).redact("text"), "text");
    }
}
