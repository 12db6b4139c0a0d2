//! The names ship gives things: an artifact's [`Sha256`], a [`ReleaseId`], a git
//! [`CommitId`], and [`ReleaseRef`], one release and what it is.
//!
//! Each id is its text and is written as the bare string (`#[serde(transparent)]`): plans,
//! journals, outcomes and protocol messages keep their shape. Reading one never checks it,
//! so a journal or plan written by any ship still reads; what a peer sends is checked by
//! `agent::protocol::Request::validate`, and `parse` checks where a caller wants it checked.
//! Nothing here panics on text that is not what it claims to be.

use serde::{Deserialize, Serialize};

use crate::release::names;

/// The first `n` characters of `s`, whatever `s` holds (never cut inside a character).
fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, short: $short:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as it is, unchecked (see [`Self::parse`] for a checked one).
            pub fn new(s: impl Into<String>) -> $name {
                $name(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// How people are shown it: the first characters, as ship always shows them.
            pub fn short(&self) -> &str {
                prefix(&self.0, $short)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                self.0.as_ref()
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id!(
    /// The sha256 of an artifact's bytes: 64 lowercase hex digits. Shown by its first 12.
    Sha256,
    short: 12
);

id!(
    /// A release: the directory `releases/<id>` of a target, the first
    /// [`names::RELEASE_ID_LEN`] hex digits of its artifact's sha256. Shown whole.
    ReleaseId,
    short: names::RELEASE_ID_LEN
);

id!(
    /// A git commit, in full hex. Shown by its first 7 digits, as `git` shows it.
    CommitId,
    short: 7
);

impl Sha256 {
    /// `s` if it is a sha256 as ship writes it; else why not.
    pub fn parse(s: &str) -> Result<Sha256, String> {
        names::check_sha256(s).map(|()| Sha256(s.to_string()))
    }
}

impl ReleaseId {
    /// `s` if it is a release id; else why not.
    pub fn parse(s: &str) -> Result<ReleaseId, String> {
        names::check_release_id(s).map(|()| ReleaseId(s.to_string()))
    }
}

/// One release and what it is, as far as it is known: in a plan (`current`), an outcome
/// (`rolled_back_to`, `rolled_back_from`), and what a run deploys or restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRef {
    pub release: ReleaseId,
    pub version: Option<String>,
    pub commit: Option<CommitId>,
    pub sha256: Option<Sha256>,
}

impl ReleaseRef {
    /// Only the release: nothing else is known of it.
    pub fn bare(release: ReleaseId) -> ReleaseRef {
        ReleaseRef { release, version: None, commit: None, sha256: None }
    }

    /// The same, with empty values taken as unknown.
    pub fn without_blanks(mut self) -> ReleaseRef {
        self.version = self.version.filter(|v| !v.is_empty());
        self.commit = self.commit.filter(|c| !c.is_empty());
        self.sha256 = self.sha256.filter(|s| !s.is_empty());
        self
    }

    /// The version, or "" when unknown.
    pub fn version_str(&self) -> &str {
        self.version.as_deref().unwrap_or_default()
    }

    /// The commit, or "" when unknown.
    pub fn commit_str(&self) -> &str {
        self.commit.as_deref().unwrap_or_default()
    }

    /// The sha256, or "" when unknown.
    pub fn sha256_str(&self) -> &str {
        self.sha256.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_is_the_prefix_people_see_and_never_panics() {
        let sha = Sha256::new("ab".repeat(32));
        assert_eq!(sha.short(), "abababababab");
        assert_eq!(CommitId::new("0123456789abcdef").short(), "0123456");
        assert_eq!(ReleaseId::new("0123456789ab").short(), "0123456789ab");
        // Shorter, empty, or not ASCII (a forged journal, a damaged plan): never cut inside a
        // character, never a panic.
        assert_eq!(Sha256::new("abc").short(), "abc");
        assert_eq!(CommitId::new("").short(), "");
        assert_eq!(CommitId::new("ééééééééé").short(), "ééééééé");
        assert_eq!(Sha256::new("a".repeat(11) + "€€").short(), "aaaaaaaaaaa€");
        assert_eq!(ReleaseId::new("😀".repeat(20)).short(), "😀".repeat(12));
    }

    #[test]
    fn ids_are_written_as_the_bare_string() {
        let r = ReleaseRef {
            release: ReleaseId::new("0123456789ab"),
            version: Some("v1".into()),
            commit: None,
            sha256: Some(Sha256::new("ab".repeat(32))),
        };
        let json = serde_json::to_string(&r).unwrap();
        let sha = "ab".repeat(32);
        assert_eq!(json, format!(r#"{{"release":"0123456789ab","version":"v1","commit":null,"sha256":"{sha}"}}"#));
        assert_eq!(serde_json::from_str::<ReleaseRef>(&json).unwrap(), r);
        // Read unchecked: what an old journal or a peer wrote still reads (and is checked
        // where it must be).
        assert_eq!(serde_json::from_str::<Sha256>("\"not hex\"").unwrap(), "not hex");
    }

    #[test]
    fn parse_checks() {
        assert!(Sha256::parse(&"ab".repeat(32)).is_ok());
        assert!(Sha256::parse("AB").unwrap_err().contains("not a sha256"));
        assert!(ReleaseId::parse("0123456789ab").is_ok());
        assert!(ReleaseId::parse("../../etc").unwrap_err().contains("not a release id"));
    }
}
