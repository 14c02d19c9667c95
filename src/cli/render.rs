//! Rendering diagnostics for people and machines: `full` (miette snippets with labels and
//! help), `concise` (`path:row:col: CODE [*] message`, like ruff), `json`, and `github`
//! (workflow annotations). Line and column are computed here, for display only.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};
use serde_json::{json, Value as Json};

use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::python::line_column;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Source snippets with labels and help.
    Full,
    /// One line per diagnostic: `path:row:col: CODE [*] message`.
    Concise,
    /// A JSON array of diagnostic objects.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

/// One file's diagnostics with the source they point into.
pub(crate) struct FileDiagnostics<'a> {
    pub(crate) path: &'a str,
    pub(crate) source: &'a Arc<str>,
    pub(crate) diagnostics: &'a [Diagnostic],
}

/// A display position: 1-based row and column (characters).
#[derive(Debug, Clone, Copy)]
struct Location {
    row: usize,
    column: usize,
}

struct Located<'a> {
    diagnostic: &'a Diagnostic,
    start: Location,
    end: Location,
}

fn locate<'a>(file: &'a FileDiagnostics<'a>) -> Vec<Located<'a>> {
    let index = LineIndex::from_source_text(file.source);
    let at = |offset: TextSize| {
        let (row, column) = line_column(&index, file.source, offset);
        Location { row, column }
    };
    file.diagnostics
        .iter()
        .map(|d| Located {
            diagnostic: d,
            start: at(d.range.start()),
            end: at(d.range.end()),
        })
        .collect()
}

/// `[*]` marks a diagnostic with an automatically applicable fix.
fn fix_marker(d: &Diagnostic) -> &'static str {
    match &d.fix {
        Some(fix) if fix.applicability != Applicability::DisplayOnly => " [*]",
        _ => "",
    }
}

pub(crate) fn concise(file: &FileDiagnostics, out: &mut String) {
    use fmt::Write;
    for l in locate(file) {
        let d = l.diagnostic;
        let _ = writeln!(
            out,
            "{}:{}:{}: {}{} {}",
            file.path,
            l.start.row,
            l.start.column,
            d.code,
            fix_marker(d),
            one_line(&d.message)
        );
    }
}

/// A message on one line, for line-oriented formats.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// GitHub workflow-command escaping: data escapes `%`, CR and LF; properties also `:`, `,`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub(crate) fn github(file: &FileDiagnostics, out: &mut String) {
    use fmt::Write;
    for l in locate(file) {
        let d = l.diagnostic;
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{level} title=overt ({code}),file={file},line={row},col={col},endLine={erow},endColumn={ecol}::{path}:{row}:{col}: {code} {message}",
            code = escape_property(d.code),
            file = escape_property(file.path),
            path = escape_data(file.path),
            row = l.start.row,
            col = l.start.column,
            erow = l.end.row,
            ecol = l.end.column,
            message = escape_data(&one_line(&d.message)),
        );
    }
}

pub(crate) fn json_values(file: &FileDiagnostics, out: &mut Vec<Json>) {
    let index = LineIndex::from_source_text(file.source);
    let loc = |offset: TextSize| {
        let (row, column) = line_column(&index, file.source, offset);
        json!({ "row": row, "column": column })
    };
    for d in file.diagnostics {
        let fix = d.fix.as_ref().map(|fix| {
            json!({
                "applicability": fix.applicability,
                "message": fix.title,
                "edits": fix.edits.iter().map(|e| json!({
                    "content": e.content,
                    "location": loc(e.range.start()),
                    "end_location": loc(e.range.end()),
                })).collect::<Vec<_>>(),
            })
        });
        out.push(json!({
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "help": d.help,
            "filename": file.path,
            "location": loc(d.range.start()),
            "end_location": loc(d.range.end()),
            "fix": fix,
        }));
    }
}

/// A diagnostic in the shape miette renders.
#[derive(Debug)]
struct Report {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: NamedSource<Arc<str>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// A span clamped to the source, so a bad range can never make rendering fail.
fn span(range: TextRange, len: usize) -> SourceSpan {
    let start = usize::from(range.start()).min(len);
    let end = usize::from(range.end()).clamp(start, len);
    SourceSpan::new(start.into(), end - start)
}

pub(crate) struct FullRenderer {
    handler: GraphicalReportHandler,
}

impl FullRenderer {
    pub(crate) fn new(color: bool) -> Self {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        FullRenderer {
            handler: GraphicalReportHandler::new_themed(theme)
                .with_links(false)
                .with_width(100),
        }
    }

    pub(crate) fn render(&self, file: &FileDiagnostics, out: &mut String) {
        let len = file.source.len();
        for d in file.diagnostics {
            let mut labels = vec![LabeledSpan::new_primary_with_span(None, span(d.range, len))];
            labels.extend(
                d.labels.iter().map(|l| {
                    LabeledSpan::new_with_span(Some(l.message.clone()), span(l.range, len))
                }),
            );
            let report = Report {
                code: d.code,
                severity: d.severity,
                message: d.message.clone(),
                help: d.help.clone(),
                source: NamedSource::new(file.path, Arc::clone(file.source)),
                labels,
            };
            if self.handler.render_report(out, &report).is_err() {
                // Rendering into a String only fails on a formatter error; fall back to the
                // concise line rather than lose the diagnostic.
                concise(
                    &FileDiagnostics {
                        path: file.path,
                        source: file.source,
                        diagnostics: std::slice::from_ref(d),
                    },
                    out,
                );
            }
            out.push('\n');
        }
    }
}
