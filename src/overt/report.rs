//! Overt diagnostics as `miette` reports (labels and help on the source); the CLI or a
//! test chooses the handler that turns them into text.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};
use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Severity};

/// One diagnostic with the named source it points into.
#[derive(Debug)]
pub struct Report {
    diagnostic: Diagnostic,
    source: NamedSource<Arc<str>>,
    len: usize,
}

impl Report {
    pub fn new(diagnostic: Diagnostic, name: &str, source: Arc<str>) -> Report {
        let len = source.len();
        Report {
            diagnostic,
            source: NamedSource::new(name, source),
            len,
        }
    }
}

/// A span clamped to the source, so a bad range can never make rendering fail.
fn span(range: TextRange, len: usize) -> SourceSpan {
    let start = usize::from(range.start()).min(len);
    let end = usize::from(range.end()).clamp(start, len);
    SourceSpan::new(start.into(), end - start)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary =
            LabeledSpan::new_primary_with_span(None, span(self.diagnostic.range, self.len));
        let rest =
            self.diagnostic.labels.iter().map(|l| {
                LabeledSpan::new_with_span(Some(l.message.clone()), span(l.range, self.len))
            });
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}
