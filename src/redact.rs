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
    /// Every place any secret covers is found in the original text first, so secrets that
    /// overlap there are blanked together, never one at the other's expense.
    pub fn redact(&self, text: &str) -> String {
        let mut covered: Vec<(usize, usize)> = Vec::new();
        for needle in &self.needles {
            let mut from = 0;
            while let Some(at) = text[from..].find(needle.as_str()) {
                let start = from + at;
                covered.push((start, start + needle.len()));
                // Overlapping matches too: step one character past this one's start.
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if covered.is_empty() {
            return text.to_string();
        }
        covered.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        let mut i = 0;
        while i < covered.len() {
            let (start, mut end) = covered[i];
            while i + 1 < covered.len() && covered[i + 1].0 <= end {
                i += 1;
                end = end.max(covered[i].1);
            }
            out.push_str(&text[done..start]);
            out.push_str(MASK);
            done = end;
            i += 1;
        }
        out.push_str(&text[done..]);
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
    fn secrets_that_overlap_in_the_output_are_blanked_together() {
        let r = Redactor::new(["k3yPartOne1Shared9Q", "Shared9QsecondHalfZZ"]);
        assert_eq!(r.redact("x k3yPartOne1Shared9QsecondHalfZZ y"), format!("x {MASK} y"));
        assert_eq!(Redactor::new(["aa"]).redact("aaa b"), format!("{MASK} b"));
        assert_eq!(Redactor::new(["é1"]).redact("éé1é"), format!("é{MASK}é"));
    }

    #[test]
    fn the_longest_secret_wins_and_short_single_values_still_count() {
        let r = Redactor::new(["abc", "xabcx", ""]);
        assert_eq!(r.redact("xabcx abc"), format!("{MASK} {MASK}"));
        assert_eq!(Redactor::new([""]).redact("text"), "text");
    }
}
