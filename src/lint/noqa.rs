//! `# noqa` comments: `# noqa` suppresses every diagnostic starting on its line,
//! `# noqa: OVT105, OVT101` only those codes; a comment line `# overt: noqa` exempts the
//! whole file (it is not even parsed) and `# overt: noqa: OVT105` one code in it. Otherwise
//! syntax errors and internal errors are never suppressed.

use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use crate::diagnostic::{Diagnostic, INTERNAL_ERROR};
use crate::python::SYNTAX_ERROR;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Codes {
    All,
    These(Vec<String>),
}

impl Codes {
    fn covers(&self, code: &str) -> bool {
        match self {
            Codes::All => true,
            Codes::These(codes) => codes.iter().any(|c| c == code),
        }
    }
}

pub(crate) struct Directives {
    /// Line directives: the offset of the comment, and what it suppresses.
    lines: Vec<(TextSize, Codes)>,
    file: Option<Codes>,
    line_index: Option<LineIndex>,
}

impl Directives {
    pub(crate) fn parse(source: &str) -> Self {
        let mut lines = Vec::new();
        let mut file: Option<Codes> = None;
        for (offset, text) in comments(source) {
            if let Some(codes) = file_exemption(text) {
                file = Some(match (file, codes) {
                    (Some(Codes::All), _) | (_, Codes::All) => Codes::All,
                    (Some(Codes::These(mut a)), Codes::These(b)) => {
                        a.extend(b);
                        Codes::These(a)
                    }
                    (None, codes) => codes,
                });
            } else if let Some(codes) = line_directive(text) {
                lines.push((TextSize::from(offset as u32), codes));
            }
        }
        let line_index = (!lines.is_empty()).then(|| LineIndex::from_source_text(source));
        Directives {
            lines,
            file,
            line_index,
        }
    }

    /// True when the whole file is exempt from every rule.
    pub(crate) fn exempts_file(&self) -> bool {
        self.file == Some(Codes::All)
    }

    pub(crate) fn suppresses(&self, diagnostic: &Diagnostic) -> bool {
        if diagnostic.code == SYNTAX_ERROR || diagnostic.code == INTERNAL_ERROR {
            return false;
        }
        if self
            .file
            .as_ref()
            .is_some_and(|c| c.covers(diagnostic.code))
        {
            return true;
        }
        let Some(index) = &self.line_index else {
            return false;
        };
        let line = index.line_index(diagnostic.range.start());
        self.lines.iter().any(|(offset, codes)| {
            index.line_index(*offset) == line && codes.covers(diagnostic.code)
        })
    }
}

/// The comments of a Python source: (byte offset of `#`, text from `#` to end of line).
/// A small scanner that skips string literals (single, triple, any prefix); it only needs to
/// tell comments from strings, so it does not tokenize anything else.
fn comments(source: &str) -> Vec<(usize, &str)> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .map_or(bytes.len(), |p| i + p);
                // `#`, `\n` and `\r` are ASCII, so both ends are char boundaries.
                out.push((i, &source[i..end]));
                i = end;
            }
            quote @ (b'\'' | b'"') => {
                let triple = bytes[i..].starts_with(&[quote; 3]);
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'\n' | b'\r' if !triple => break,
                        b if b == quote => {
                            if !triple {
                                i += 1;
                                break;
                            }
                            if bytes[i..].starts_with(&[quote; 3]) {
                                i += 3;
                                break;
                            }
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// `# noqa` / `# noqa: A1, B2` anywhere in a comment (`# type: ignore  # noqa`).
fn line_directive(comment: &str) -> Option<Codes> {
    let lower = comment.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("noqa") {
        let at = search + found;
        search = at + 4;
        let before = lower[..at].trim_end_matches([' ', '\t']);
        if !before.ends_with('#') {
            continue;
        }
        return codes_after(&comment[at + 4..]);
    }
    None
}

/// `# overt: noqa` or `# overt: noqa: OVT105` as the whole comment.
fn file_exemption(comment: &str) -> Option<Codes> {
    let rest = comment.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("overt:")?.trim_start();
    let lower = rest.get(..4)?.to_ascii_lowercase();
    if lower != "noqa" {
        return None;
    }
    codes_after(&rest[4..])
}

/// What follows `noqa`: nothing (all codes), or `: CODE, CODE ...`. `noqa` glued to a word
/// (`noqa123`) is not a directive.
fn codes_after(rest: &str) -> Option<Codes> {
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let Some(list) = rest.trim_start_matches([' ', '\t']).strip_prefix(':') else {
        return Some(Codes::All);
    };
    let codes: Vec<String> = list
        .split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .take_while(|t| is_code(t))
        .map(str::to_string)
        .collect();
    Some(if codes.is_empty() {
        Codes::All
    } else {
        Codes::These(codes)
    })
}

/// `OVT105`, `E999`: uppercase letters then digits.
fn is_code(token: &str) -> bool {
    let letters = token.bytes().take_while(u8::is_ascii_uppercase).count();
    letters > 0 && letters < token.len() && token.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str, expected: &[(usize, &str)]) {
        assert_eq!(comments(source), expected);
    }

    #[test]
    fn comments_skip_strings() {
        check("x = 1  # hi\n", &[(7, "# hi")]);
        check("s = '# not'  # yes\n", &[(13, "# yes")]);
        check("s = \"\"\"\n# not\n\"\"\" # yes", &[(18, "# yes")]);
        check("s = 'a\\'# still'\n#c", &[(17, "#c")]);
        check("s = 'open\n# c", &[(10, "# c")]);
    }

    #[test]
    fn directives() {
        assert_eq!(line_directive("# noqa"), Some(Codes::All));
        assert_eq!(line_directive("#NOQA"), Some(Codes::All));
        assert_eq!(
            line_directive("# noqa: OVT105, OVT101"),
            Some(Codes::These(vec!["OVT105".into(), "OVT101".into()]))
        );
        assert_eq!(
            line_directive("# type: ignore  # noqa:OVT105 because"),
            Some(Codes::These(vec!["OVT105".into()]))
        );
        assert_eq!(line_directive("# noqa123"), None);
        assert_eq!(line_directive("# talk about noqa"), None);
        assert_eq!(file_exemption("# overt: noqa"), Some(Codes::All));
        assert_eq!(
            file_exemption("# overt: noqa: OVT105"),
            Some(Codes::These(vec!["OVT105".into()]))
        );
        assert_eq!(file_exemption("# noqa"), None);
    }

    /// Whether a `code` diagnostic starting at the first `^` of `marked` (the marker is
    /// removed) is suppressed by the comments of the source.
    fn suppressed(marked: &str, code: &'static str) -> bool {
        let at = marked.find('^').expect("marker");
        let source = marked.replacen('^', "", 1);
        let start = TextSize::from(at as u32);
        let diagnostic = Diagnostic::new(
            code,
            crate::diagnostic::Severity::Error,
            ruff_text_size::TextRange::new(start, start),
            "m",
        );
        Directives::parse(&source).suppresses(&diagnostic)
    }

    #[test]
    fn suppression() {
        assert!(suppressed("x = ^a + b  # noqa\n", "OVT105"));
        assert!(suppressed("x = ^a + b  # noqa: OVT105\n", "OVT105"));
        assert!(!suppressed("x = ^a + b  # noqa: OVT307\n", "OVT105"));
        assert!(!suppressed("x = ^a + b\ny = 1  # noqa\n", "OVT105"));
        assert!(!suppressed("x = ^a + b  # noqa\n", SYNTAX_ERROR));
        assert!(!suppressed("x = ^a + '# noqa'\n", "OVT105"));
        assert!(suppressed("# overt: noqa: OVT105\nx = ^a + b\n", "OVT105"));
        assert!(!suppressed("# overt: noqa: OVT105\nx = ^a + b\n", "OVT307"));
        assert!(suppressed("x = 1\r\ny = ^a  # noqa\r\n", "OVT105"));
        assert!(Directives::parse("# overt: noqa\n").exempts_file());
    }
}
