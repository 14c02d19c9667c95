//! The rule catalogue as data: `rules/<code>.toml`, embedded at build time. Each file holds a
//! rule's name, severity, default, fix applicability, status, documentation, and the
//! `invalid`/`valid` examples that `tests/it/rules.rs` runs.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::diagnostic::Severity;

/// Whether a rule's check exists. Planned rules are documented, never claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Implemented,
    Planned,
}

/// The fix a rule offers, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixAvailability {
    Safe,
    Unsafe,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Explanation {
    pub what_it_does: String,
    pub why_is_this_bad: String,
    pub example: String,
    #[serde(default)]
    pub use_instead: Option<String>,
    #[serde(default)]
    pub fix_safety: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleDoc {
    pub code: String,
    /// Kebab-case, names the bad pattern ("allow broadcast-error").
    pub name: String,
    pub severity: Severity,
    pub default_enabled: bool,
    pub fix: FixAvailability,
    pub status: Status,
    /// One line.
    pub summary: String,
    pub explanation: Explanation,
    /// Python snippets on which the rule must fire (and no other rule).
    #[serde(default)]
    pub invalid: Vec<String>,
    /// Python snippets on which no rule may fire.
    #[serde(default)]
    pub valid: Vec<String>,
}

macro_rules! embed {
    ($($code:literal),* $(,)?) => {
        &[$(($code, include_str!(concat!("../../rules/", $code, ".toml")))),*]
    };
}

/// Every file of `rules/`, by code (a test checks this list against the directory).
pub const SOURCES: &[(&str, &str)] = embed![
    "OVT100", "OVT101", "OVT102", "OVT103", "OVT104", "OVT105", "OVT201", "OVT202", "OVT203",
    "OVT204", "OVT205", "OVT206", "OVT207", "OVT208", "OVT301", "OVT302", "OVT303", "OVT304",
    "OVT305", "OVT306", "OVT307", "OVT308", "OVT401", "OVT402", "OVT403", "OVT404", "OVT405",
    "OVT406", "OVT407", "OVT408", "OVT501", "OVT502", "OVT901",
];

/// The whole catalogue, ordered by code. The files are part of the build, not user input:
/// `tests/it/rules.rs` parses each one, so a malformed file cannot reach a release.
pub fn catalogue() -> &'static [RuleDoc] {
    static CATALOGUE: OnceLock<Vec<RuleDoc>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(code, text)| match toml::from_str::<RuleDoc>(text) {
                Ok(doc) => doc,
                Err(e) => panic!("rules/{code}.toml is malformed: {e}"),
            })
            .collect()
    })
}

pub fn rule_doc(code: &str) -> Option<&'static RuleDoc> {
    catalogue().iter().find(|d| d.code == code)
}
