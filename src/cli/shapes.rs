//! `overt shapes`: prints the inferred shape and dtype of every assignment whose value is a
//! NumPy array or scalar, as text or as the JSON contract of issue 2.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::python::{self, LineIndex};
use crate::shapes::numpy::NumpyVersion;
use crate::shapes::{self, Binding, Dim, Shape};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Version {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
}

#[derive(clap::Args)]
pub struct Args {
    /// The Python file to analyse.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Which NumPy's rules to follow where they differ (e.g. `linalg.solve`).
    #[arg(long = "numpy-version", value_enum, default_value = "2")]
    pub numpy_version: Version,
}

pub fn run(args: Args) -> ExitCode {
    let source = match std::fs::read_to_string(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("overt shapes: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let options = shapes::Options {
        numpy_version: match args.numpy_version {
            Version::V1 => NumpyVersion::V1,
            Version::V2 => NumpyVersion::V2,
        },
    };
    let parsed = python::parse_module(&source);
    let index = LineIndex::from_source_text(&source);
    for d in &parsed.syntax_errors {
        let (line, col) = python::line_column(&index, &source, d.range.start());
        eprintln!(
            "{}:{line}:{col}: {} {}",
            args.file.display(),
            d.code,
            d.message
        );
    }
    let place = super::modules::place(&args.file);
    let bare = super::modules::bare_externals(place.as_ref());
    let mut analysis = shapes::analyze_with(&parsed, &source, &options, &bare);
    // Cross-module calls: modules it imports from the same root are summarised on their
    // own (one level: their imports stay unresolved), then the file is analysed again.
    if let Some(place) = &place {
        let summaries = imported_summaries(place, &analysis.imports, &options);
        if let Some(externals) = super::modules::externals_for(place, &analysis.imports, &summaries)
        {
            analysis = shapes::analyze_with(&parsed, &source, &options, &externals);
        }
    }
    let out = match args.format {
        Format::Text => render_text(&analysis.bindings, &index, &source),
        Format::Json => render_json(&analysis.bindings, &index, &source),
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// The summaries of the modules `imports` names that are files under `place`'s root.
fn imported_summaries(
    place: &super::modules::Place,
    imports: &[String],
    options: &shapes::Options,
) -> HashMap<String, Arc<shapes::ModuleSummary>> {
    let mut out = HashMap::new();
    for module in imports {
        if *module == place.module || out.contains_key(module) {
            continue;
        }
        if let Some(summary) = super::modules::summarize_module(&place.root, module, options) {
            out.insert(module.clone(), Arc::new(summary));
        }
    }
    out
}

/// `12:5  B  float64[10, 2, 3, 40]`, one line per binding, columns aligned.
pub fn render_text(bindings: &[Binding], index: &LineIndex, source: &str) -> String {
    let rows: Vec<(String, &str, String)> = bindings
        .iter()
        .map(|b| {
            let (line, col) = python::line_column(index, source, b.range.start());
            let dtype = b.dtype.map_or("?", |d| d.name());
            (
                format!("{line}:{col}"),
                b.name.as_str(),
                format!("{dtype}{}", b.shape.public()),
            )
        })
        .collect();
    let loc_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let name_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (loc, name, ty) in rows {
        out.push_str(&format!("{loc:<loc_w$} {name:<name_w$} {ty}\n"));
    }
    out
}

/// One element of the JSON contract, fields in contract order.
#[derive(serde::Serialize)]
struct JsonBinding<'a> {
    line: usize,
    column: usize,
    name: &'a str,
    shape: serde_json::Value,
    dtype: Option<&'static str>,
    /// Extension for variadic shapes (`[*batch, n, d]`, whose rank is unknown, so `shape`
    /// is null): the group's name (`"batch"`, or `"..."` when anonymous) and the known
    /// trailing axes. Absent for every other shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    variadic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suffix: Option<serde_json::Value>,
}

/// The JSON contract: `[{"line", "column", "name", "shape", "dtype"}]`, one element a line.
pub fn render_json(bindings: &[Binding], index: &LineIndex, source: &str) -> String {
    let mut out = String::from("[");
    for (i, b) in bindings.iter().enumerate() {
        let (line, column) = python::line_column(index, source, b.range.start());
        let public = b.shape.public();
        let item = JsonBinding {
            line,
            column,
            name: &b.name,
            shape: shape_json(&public),
            dtype: b.dtype.map(|d| d.name()),
            variadic: public
                .variadic()
                .map(|(g, _)| shapes::shape::group_name(g).unwrap_or("...").to_string()),
            suffix: public.variadic().map(|(_, dims)| dims_json(dims)),
        };
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&serde_json::to_string(&item).unwrap_or_else(|_| "null".to_string()));
    }
    out.push_str(if bindings.is_empty() { "]\n" } else { "\n]\n" });
    out
}

fn shape_json(shape: &Shape) -> serde_json::Value {
    match shape.dims() {
        None => serde_json::Value::Null,
        Some(dims) => dims_json(dims),
    }
}

fn dims_json(dims: &[Dim]) -> serde_json::Value {
    dims.iter()
        .map(|d| match d {
            Dim::Unknown => serde_json::Value::from("?"),
            Dim::Known(e) => match e.as_lit() {
                Some(v) => serde_json::Value::from(v),
                None => serde_json::Value::from(e.to_string()),
            },
        })
        .collect()
}
