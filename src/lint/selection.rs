//! Rule selection: `--select`/`--ignore` codes and prefixes (ruff semantics: the more
//! specific selector wins; on a tie, ignore wins).

use std::fmt;

use super::catalogue::{catalogue, Status};

/// The set of enabled rule codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    enabled: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    /// A selector that matches no rule code.
    Unknown(String),
}

impl fmt::Display for SelectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectionError::Unknown(s) => write!(f, "unknown rule selector `{s}`"),
        }
    }
}

impl std::error::Error for SelectionError {}

impl Default for Selection {
    /// The implemented rules enabled by default.
    fn default() -> Self {
        Selection {
            enabled: catalogue()
                .iter()
                .filter(|d| d.default_enabled && d.status == Status::Implemented)
                .map(|d| d.code.as_str())
                .collect(),
        }
    }
}

/// How specifically `selector` matches `code`: `None` when it does not, otherwise its length
/// (`ALL` matches everything, least specifically).
fn specificity(selector: &str, code: &str) -> Option<usize> {
    if selector == "ALL" {
        Some(0)
    } else if code.starts_with(selector) {
        Some(selector.len())
    } else {
        None
    }
}

/// Fails on the first selector that matches no rule code.
pub fn validate(selectors: &[String]) -> Result<(), SelectionError> {
    for s in selectors {
        let known = s == "ALL" || catalogue().iter().any(|d| d.code.starts_with(s.as_str()));
        if !known {
            return Err(SelectionError::Unknown(s.clone()));
        }
    }
    Ok(())
}

impl Selection {
    /// `select` replaces the default set when given; `extend_select` adds to it; `ignore`
    /// removes. Selectors are case-sensitive codes or prefixes (`OVT1`, `OVT105`) or `ALL`.
    pub fn resolve(
        select: Option<&[String]>,
        extend_select: &[String],
        ignore: &[String],
    ) -> Result<Self, SelectionError> {
        if let Some(select) = select {
            validate(select)?;
        }
        validate(extend_select)?;
        validate(ignore)?;
        let best = |selectors: &[String], code: &str| {
            selectors.iter().filter_map(|s| specificity(s, code)).max()
        };
        let defaults = Selection::default();
        let enabled = catalogue()
            .iter()
            .filter(|d| d.status == Status::Implemented)
            .map(|d| d.code.as_str())
            .filter(|&code| {
                let selected = match select {
                    Some(select) => best(select, code),
                    // The default set is the least specific selection: any ignore beats it.
                    None => defaults.is_enabled(code).then_some(0),
                };
                let selected = selected.max(best(extend_select, code));
                match (selected, best(ignore, code)) {
                    (Some(s), Some(i)) => s > i,
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            })
            .collect();
        Ok(Selection { enabled })
    }

    /// Only these codes (for tests and tools).
    pub fn only(codes: &[&'static str]) -> Self {
        Selection {
            enabled: codes.to_vec(),
        }
    }

    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(&code)
    }

    pub fn codes(&self) -> &[&'static str] {
        &self.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    /// The enabled codes for `--select` (None = default), `--extend-select` and `--ignore`.
    fn check(select: Option<&[&str]>, extend: &[&str], ignore: &[&str], expected: &[&str]) {
        let select = select.map(strings);
        let selection = Selection::resolve(select.as_deref(), &strings(extend), &strings(ignore))
            .expect("valid selectors");
        assert_eq!(selection.codes(), expected);
    }

    #[test]
    fn resolution() {
        let all = [
            "OVT100", "OVT105", "OVT207", "OVT208", "OVT307", "OVT308", "OVT901",
        ];
        check(None, &[], &[], &all);
        check(Some(&["ALL"]), &[], &[], &all);
        check(Some(&["OVT1"]), &[], &[], &["OVT100", "OVT105"]);
        check(Some(&["OVT105"]), &["OVT9"], &[], &["OVT105", "OVT901"]);
        check(
            None,
            &[],
            &["OVT2", "OVT901"],
            &["OVT100", "OVT105", "OVT307", "OVT308"],
        );
        // The more specific selector wins; on a tie, ignore wins.
        check(Some(&["OVT207"]), &[], &["OVT2"], &["OVT207"]);
        check(Some(&["OVT2"]), &[], &["OVT207"], &["OVT208"]);
        check(Some(&["OVT105"]), &[], &["OVT105"], &[]);
        // Planned rules are never enabled.
        check(Some(&["OVT101"]), &[], &[], &[]);
    }

    #[test]
    fn unknown_selectors() {
        let err = Selection::resolve(Some(&strings(&["NPY"])), &[], &[]);
        assert_eq!(err, Err(SelectionError::Unknown("NPY".into())));
        let err = Selection::resolve(None, &[], &strings(&["OVT1000"]));
        assert_eq!(err, Err(SelectionError::Unknown("OVT1000".into())));
    }
}
