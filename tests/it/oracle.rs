//! The NumPy oracle and the overt side of the differential tests: runs
//! `scripts/differential.py` under `$OVERT_PYTHON`, runs the `overt` binary, reads the
//! fixture markers, and compares the two. Shared by `differential.rs` and
//! `seed_cases.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value as Json;

/// One assignment NumPy executed: the runtime value bound to `name`.
#[derive(Debug, Clone, Deserialize)]
pub struct NumpyRecord {
    pub line: u32,
    pub column: u32,
    pub name: String,
    /// `ndarray`, `scalar` (a NumPy scalar) or `python:<type>`.
    pub kind: String,
    pub shape: Option<Vec<u64>>,
    pub dtype: Option<String>,
}

impl NumpyRecord {
    /// True for values overt must describe: arrays and NumPy scalars.
    pub fn is_numpy(&self) -> bool {
        self.kind == "ndarray" || self.kind == "scalar"
    }
}

/// A top-level statement that raised under NumPy.
#[derive(Debug, Clone, Deserialize)]
pub struct NumpyError {
    pub line: u32,
    pub end_line: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NumpyRun {
    pub records: Vec<NumpyRecord>,
    pub errors: Vec<NumpyError>,
    /// Lines of the file that ran.
    #[serde(default)]
    pub executed: Vec<u32>,
}

impl NumpyRun {
    /// True when `line` ran under NumPy and is not part of a statement that raised.
    pub fn ran_cleanly(&self, line: u32) -> bool {
        self.executed.binary_search(&line).is_ok()
            && !self
                .errors
                .iter()
                .any(|e| (e.line..=e.end_line).contains(&line))
    }
}

#[derive(Debug, Deserialize)]
struct HarnessOutput {
    numpy: String,
    files: BTreeMap<String, NumpyRun>,
}

/// One size in an overt shape: a literal, or a symbolic/unknown size (`"n"`, `"?"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OvertDim {
    Known(u64),
    Symbolic(String),
}

impl std::fmt::Display for OvertDim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OvertDim::Known(n) => write!(f, "{n}"),
            OvertDim::Symbolic(s) => write!(f, "{s}"),
        }
    }
}

/// One element of `overt shapes --format json`.
#[derive(Debug, Clone)]
pub struct OvertRecord {
    pub line: u32,
    pub column: u32,
    pub name: String,
    /// None when even the rank is unknown.
    pub shape: Option<Vec<OvertDim>>,
    pub dtype: Option<String>,
    /// A variadic shape (`[*batch, n, 3]`, `shape` null): the known trailing axes, which
    /// must end NumPy's shape.
    pub suffix: Option<Vec<OvertDim>>,
}

impl OvertRecord {
    /// The shape when every axis is a literal size.
    pub fn known_shape(&self) -> Option<Vec<u64>> {
        self.shape
            .as_ref()?
            .iter()
            .map(|d| match d {
                OvertDim::Known(n) => Some(*n),
                OvertDim::Symbolic(_) => None,
            })
            .collect()
    }

    pub fn shape_text(&self) -> String {
        match &self.shape {
            None => match &self.suffix {
                Some(dims) => format!(
                    "[...{}]",
                    dims.iter().map(|d| format!(", {d}")).collect::<String>()
                ),
                None => "[...]".to_string(),
            },
            Some(dims) => format!(
                "[{}]",
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

pub fn shape_text(shape: &[u64]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.py` files of a fixture directory (relative to the repository root), sorted.
pub fn fixture_files(dir: &str) -> Vec<String> {
    let root = repo_root();
    let mut files: Vec<String> = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".py"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    files.sort();
    files
}

/// The interpreter that runs real NumPy. Never skips: a missing interpreter is a failure.
fn python() -> String {
    match std::env::var("OVERT_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "OVERT_PYTHON is not set. The differential tests compare overt with real NumPy and \
             never skip: run them with `scripts/test.sh` (it installs NumPy 2.4 into \
             target/venv and sets OVERT_PYTHON), or set OVERT_PYTHON to a python that can \
             `import numpy`."
        ),
    }
}

/// Runs the NumPy oracle on `files` (paths relative to the repository root).
pub fn run_numpy(files: &[String], allow_errors: bool) -> (String, BTreeMap<String, NumpyRun>) {
    let python = python();
    let mut command = Command::new(&python);
    command
        .current_dir(repo_root())
        .arg("scripts/differential.py");
    if allow_errors {
        command.arg("--allow-errors");
    }
    command.args(files);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run OVERT_PYTHON={python}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => {
            panic!("OVERT_PYTHON={python} cannot import numpy; run scripts/python-env.sh\n{stderr}")
        }
        _ => panic!(
            "the NumPy oracle failed (a fixture must run under NumPy; fix the fixture):\n{stderr}"
        ),
    }
    let parsed: HarnessOutput = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the NumPy oracle printed invalid JSON: {e}\n{stderr}"));
    (parsed.numpy, parsed.files)
}

fn overt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_overt"))
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run overt {args:?}: {e}"))
}

/// `overt shapes --format json FILE`, parsed. Errors describe what overt printed.
pub fn run_overt_shapes(file: &str) -> Result<Vec<OvertRecord>, String> {
    let output = overt(&["shapes", "--format", "json", file]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Json = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "`overt shapes --format json {file}` did not print JSON ({e}); exit {:?}; stderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    let items = json
        .as_array()
        .ok_or_else(|| format!("`overt shapes --format json {file}` printed no JSON array"))?;
    items.iter().map(parse_overt_record).collect()
}

fn parse_overt_record(item: &Json) -> Result<OvertRecord, String> {
    let field = |key: &str| {
        item.get(key)
            .ok_or_else(|| format!("missing `{key}` in {item}"))
    };
    let number = |key: &str| -> Result<u32, String> {
        field(key)?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("`{key}` is not a line/column number in {item}"))
    };
    let dims = |key: &str, value: &Json| -> Result<Option<Vec<OvertDim>>, String> {
        match value {
            Json::Null => Ok(None),
            Json::Array(dims) => dims
                .iter()
                .map(|d| match d {
                    Json::Number(n) => n
                        .as_u64()
                        .map(OvertDim::Known)
                        .ok_or_else(|| format!("size {n} is not a non-negative integer")),
                    Json::String(s) => Ok(OvertDim::Symbolic(s.clone())),
                    other => Err(format!("size {other} is neither an integer nor a string")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            other => Err(format!("`{key}` is {other}, not an array or null")),
        }
    };
    let shape = dims("shape", field("shape")?)?;
    // The documented extension for variadic shapes: present only when `shape` is null.
    let suffix = match item.get("suffix") {
        Some(v) if shape.is_none() => dims("suffix", v)?,
        Some(_) => return Err(format!("`suffix` next to a known rank in {item}")),
        None => None,
    };
    let dtype = match field("dtype")? {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => return Err(format!("`dtype` is {other}, not a string or null")),
    };
    Ok(OvertRecord {
        line: number("line")?,
        column: number("column")?,
        name: field("name")?
            .as_str()
            .ok_or_else(|| format!("`name` is not a string in {item}"))?
            .to_string(),
        shape,
        dtype,
        suffix,
    })
}

/// A diagnostic from `overt check --output-format json`: its code and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDiagnostic {
    pub code: String,
    /// `error` for a definite bug (NumPy raises or computes garbage), else `warning`/`info`.
    pub severity: String,
    pub line: u32,
    pub message: String,
}

/// `overt check FILE --output-format json`, parsed. Accepts a top-level array or an object
/// with a `diagnostics` array; the line is read from `line`, `location.row`/`.line` or
/// `start.line` (ruff's JSON uses `location.row`).
pub fn run_overt_check(file: &str) -> Result<Vec<CheckDiagnostic>, String> {
    let output = overt(&["check", file, "--output-format", "json"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Json = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "`overt check {file} --output-format json` did not print JSON ({e}); exit {:?}; \
             stderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    let items = match &json {
        Json::Array(items) => items,
        Json::Object(map) => map
            .get("diagnostics")
            .and_then(Json::as_array)
            .ok_or_else(|| format!("no `diagnostics` array in {json}"))?,
        other => return Err(format!("unexpected JSON from overt check: {other}")),
    };
    items
        .iter()
        .map(|item| {
            let code = item
                .get("code")
                .and_then(Json::as_str)
                .ok_or_else(|| format!("diagnostic without a `code`: {item}"))?;
            let line = [
                "/line",
                "/location/row",
                "/location/line",
                "/start/line",
                "/range/start/line",
            ]
            .iter()
            .find_map(|pointer| item.pointer(pointer).and_then(Json::as_u64))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("diagnostic without a line: {item}"))?;
            let message = item
                .get("message")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let severity = item
                .get("severity")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            Ok(CheckDiagnostic {
                code: code.to_string(),
                severity,
                line,
                message,
            })
        })
        .collect()
}

/// Markers written as trailing comments in fixtures.
#[derive(Debug, Default)]
pub struct Markers {
    /// `# data-dependent: q1[0], q2[1]`: (line, name) -> axes whose size the values decide.
    pub data_dependent: BTreeMap<(u32, String), Vec<usize>>,
    /// `# error: OVT307`: line -> the diagnostic code overt must report there.
    pub errors: BTreeMap<u32, String>,
}

pub fn read_markers(file: &str) -> Markers {
    let source = std::fs::read_to_string(repo_root().join(file))
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    let mut markers = Markers::default();
    for (index, text) in source.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some((code, comment)) = text.split_once('#') else {
            continue;
        };
        if code.trim().is_empty() {
            continue; // a comment line, not a marker
        }
        let comment = comment.trim();
        if let Some(list) = comment.strip_prefix("data-dependent:") {
            for item in list.split(',') {
                let item = item.trim();
                let parsed = item.strip_suffix(']').and_then(|rest| rest.split_once('['));
                let Some((name, axis)) = parsed else {
                    panic!("{file}:{line}: bad data-dependent marker `{item}` (want `name[axis]`)")
                };
                let axis: usize = axis
                    .parse()
                    .unwrap_or_else(|_| panic!("{file}:{line}: bad axis in `{item}`"));
                markers
                    .data_dependent
                    .entry((line, name.to_string()))
                    .or_default()
                    .push(axis);
            }
        } else if let Some(code) = comment.strip_prefix("error:") {
            markers.errors.insert(line, code.trim().to_string());
        }
    }
    markers
}

/// Why overt and NumPy disagree at one assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub file: String,
    pub line: u32,
    pub name: String,
    pub overt: String,
    pub numpy: String,
    pub what: &'static str,
}

/// The outcome of comparing one file.
#[derive(Debug, Default)]
pub struct FileComparison {
    pub disagreements: Vec<Disagreement>,
    /// Assignments NumPy saw an array or NumPy scalar at, with one shape and dtype on every
    /// execution (data-dependent ones excluded).
    pub array_sites: usize,
    /// Of those, the ones overt gave a fully known shape.
    pub known_shape: usize,
    /// Of those, the ones overt gave a dtype.
    pub known_dtype: usize,
    /// Array sites without a fully known shape from overt (not failures: unknown is
    /// honest), listed so the gaps in the model are easy to find.
    pub gaps: Vec<Gap>,
}

/// An array-valued assignment overt did not fully know.
#[derive(Debug, Clone)]
pub struct Gap {
    pub line: u32,
    pub name: String,
    /// What overt printed; None when it printed nothing for this assignment.
    pub overt: Option<String>,
    pub numpy: String,
}

fn describe_numpy(record: &NumpyRecord) -> String {
    match &record.shape {
        Some(shape) => format!(
            "{} {}",
            record.dtype.as_deref().unwrap_or("?"),
            shape_text(shape)
        ),
        None => record.kind.clone(),
    }
}

/// Compares overt's elements with NumPy's observations for one file. Only NumPy decides:
/// every literal size and every dtype overt claims must be what NumPy produced; a
/// data-dependent axis must not be claimed as a literal; a Python value (int, float,
/// tuple, ...) must not be claimed as a NumPy value.
pub fn compare_file(
    file: &str,
    numpy: &NumpyRun,
    overt: &[OvertRecord],
    markers: &Markers,
) -> FileComparison {
    let mut result = FileComparison::default();
    // NumPy observations per site; a loop body gives several.
    let mut sites: BTreeMap<(u32, String), Vec<&NumpyRecord>> = BTreeMap::new();
    for record in &numpy.records {
        sites
            .entry((record.line, record.name.clone()))
            .or_default()
            .push(record);
    }
    let mut overt_at: BTreeMap<(u32, String), Vec<&OvertRecord>> = BTreeMap::new();
    for record in overt {
        overt_at
            .entry((record.line, record.name.clone()))
            .or_default()
            .push(record);
    }
    for ((line, name), observations) in &sites {
        let dependent = markers
            .data_dependent
            .get(&(*line, name.clone()))
            .cloned()
            .unwrap_or_default();
        let is_numpy = observations.iter().any(|o| o.is_numpy());
        // A site NumPy saw with several shapes (a loop, a function called twice) has no
        // single right literal shape: it is checked, but does not count for coverage.
        let varies = observations
            .iter()
            .any(|o| (&o.shape, &o.dtype) != (&observations[0].shape, &observations[0].dtype));
        let counted = is_numpy && dependent.is_empty() && !varies;
        if counted {
            result.array_sites += 1;
        }
        let Some(claims) = overt_at.get(&(*line, name.clone())) else {
            if counted {
                result.gaps.push(Gap {
                    line: *line,
                    name: name.clone(),
                    overt: None,
                    numpy: describe_numpy(observations[0]),
                });
            }
            continue;
        };
        let mut disagree = |claim: &OvertRecord, numpy: String, what: &'static str| {
            result.disagreements.push(Disagreement {
                file: file.to_string(),
                line: *line,
                name: name.clone(),
                overt: format!(
                    "{} {}",
                    claim.dtype.as_deref().unwrap_or("?"),
                    claim.shape_text()
                ),
                numpy,
                what,
            });
        };
        let mut covered = false;
        let mut dtype_covered = false;
        for claim in claims {
            let column = observations[0].column;
            if claim.column != column {
                disagree(claim, format!("column {column}"), "column differs");
            }
            for observed in observations {
                let Some(shape) = observed.shape.as_ref().filter(|_| observed.is_numpy()) else {
                    if claim.shape.is_some() || claim.dtype.is_some() {
                        disagree(claim, observed.kind.clone(), "NumPy saw no NumPy value");
                    }
                    continue;
                };
                let numpy_text = describe_numpy(observed);
                if let Some(tail) = &claim.suffix {
                    let suffix_mismatch = tail.len() > shape.len()
                        || tail.iter().rev().zip(shape.iter().rev()).any(
                            |(claimed, actual)| matches!(claimed, OvertDim::Known(n) if n != actual),
                        );
                    if suffix_mismatch {
                        disagree(claim, numpy_text.clone(), "trailing axes");
                    }
                }
                if let Some(dims) = &claim.shape {
                    let literal_mismatch = dims.len() != shape.len()
                        || dims.iter().zip(shape).any(|(claimed, actual)| {
                            matches!(claimed, OvertDim::Known(n) if n != actual)
                        });
                    if literal_mismatch {
                        disagree(claim, numpy_text.clone(), "shape");
                    } else if dependent
                        .iter()
                        .any(|&axis| matches!(dims.get(axis), Some(OvertDim::Known(_))))
                    {
                        disagree(claim, numpy_text.clone(), "claims a data-dependent size");
                    }
                }
                if let (Some(claimed), Some(actual)) = (&claim.dtype, &observed.dtype) {
                    if claimed != actual {
                        disagree(claim, numpy_text, "dtype");
                    }
                }
            }
            covered |= claim.known_shape().is_some();
            dtype_covered |= claim.dtype.is_some();
        }
        if counted {
            result.known_shape += usize::from(covered);
            result.known_dtype += usize::from(dtype_covered);
            if !covered {
                result.gaps.push(Gap {
                    line: *line,
                    name: name.clone(),
                    overt: Some(
                        claims
                            .iter()
                            .map(|c| {
                                format!("{} {}", c.dtype.as_deref().unwrap_or("?"), c.shape_text())
                            })
                            .collect::<Vec<_>>()
                            .join(" | "),
                    ),
                    numpy: describe_numpy(observations[0]),
                });
            }
        }
    }
    result
}

pub fn disagreement_table(disagreements: &[Disagreement]) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<44} {:<10} {:<28} {:<28} what",
        "file:line", "name", "overt", "numpy"
    );
    for d in disagreements {
        let _ = writeln!(
            table,
            "{:<44} {:<10} {:<28} {:<28} {}",
            format!("{}:{}", d.file, d.line),
            d.name,
            d.overt,
            d.numpy,
            d.what
        );
    }
    table
}

/// Writes `text` where cargo's output capture does not swallow it, so coverage figures are
/// visible on every run, and saves it under `target/differential/` for other tools.
pub fn publish(report_name: &str, text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(text.as_bytes());
    let dir = repo_root().join("target").join("differential");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(report_name), text);
    }
}
