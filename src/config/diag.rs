//! Config errors that point at file:line:column, with the offending line and a caret,
//! and a "did you mean" where a close name exists.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A deploy.toml that cannot be used as written. Always exit 2.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
    snippet: Option<String>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)?,
            None => write!(f, "{}: {}", self.path.display(), self.message)?,
        }
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// An error about the whole file (it cannot be read, or a key is missing everywhere).
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        ConfigError { path: path.to_path_buf(), position: None, message: message.into(), snippet: None }
    }

    /// An error at a byte range of the file's text.
    pub fn at(path: &Path, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_no = source[..start].matches('\n').count() + 1;
        let col = source[line_start..start].chars().count() + 1;
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let text = source[line_start..line_end].trim_end_matches('\r');
        let width = source[start..span.end.clamp(start, line_end)].chars().count().max(1);
        let gutter = " ".repeat(line_no.to_string().len());
        let snippet =
            format!("{gutter} |\n{line_no} | {text}\n{gutter} | {}{}", " ".repeat(col - 1), "^".repeat(width));
        ConfigError {
            path: path.to_path_buf(),
            position: Some((line_no, col)),
            message: message.into(),
            snippet: Some(snippet),
        }
    }

    /// Turn toml's own error into ours, adding a "did you mean" to unknown keys and values.
    pub fn from_toml(path: &Path, source: &str, err: &toml::de::Error) -> Self {
        let message = explain(err.message().trim());
        match err.span() {
            Some(span) => ConfigError::at(path, source, span, message),
            None => ConfigError::whole_file(path, message),
        }
    }
}

/// serde says "unknown field `comand`, expected one of `command`, `include`": name the key
/// a user most likely meant.
fn explain(message: &str) -> String {
    let unknown = ["unknown field `", "unknown variant `"].iter().find_map(|prefix| {
        let rest = message.strip_prefix(prefix)?;
        let end = rest.find('`')?;
        Some((&rest[..end], &rest[end..]))
    });
    let Some((name, rest)) = unknown else {
        return message.to_string();
    };
    let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
    let what = if message.starts_with("unknown field") { "key" } else { "value" };
    let mut out = format!("unknown {what} `{name}`");
    if !expected.is_empty() {
        let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
        out.push_str(&format!(", expected one of {}", list.join(", ")));
    }
    if let Some(best) = did_you_mean(name, expected.iter().copied()) {
        out.push_str(&format!("; did you mean `{best}`?"));
    }
    out
}

/// The candidate closest to `name`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_names_the_closest_key() {
        let text = explain("unknown field `comand`, expected one of `command`, `include`, `exclude`");
        assert_eq!(
            text,
            "unknown key `comand`, expected one of `command`, `include`, `exclude`; did you mean `command`?"
        );
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        let text = explain("unknown field `zzz`, expected `targets`");
        assert_eq!(text, "unknown key `zzz`, expected one of `targets`");
    }

    #[test]
    fn position_is_one_based_line_and_column() {
        let src = "[app]\nname = \"Bad\"\n";
        let err = ConfigError::at(Path::new("deploy.toml"), src, 13..18, "bad name");
        assert_eq!(err.position, Some((2, 8)));
        let shown = err.to_string();
        assert!(shown.starts_with("deploy.toml:2:8: bad name"), "{shown}");
        assert!(shown.contains("2 | name = \"Bad\"\n  |        ^^^^^"), "{shown}");
    }
}
