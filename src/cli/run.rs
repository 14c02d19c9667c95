//! `overt run`: reads a program and its .npy/.npz inputs, runs it, and writes the outputs
//! atomically (temporary file in the target directory, then rename), so a failed run never
//! leaves a half-written file.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::render::{FileDiagnostics, FullRenderer};
use crate::diagnostic::{Diagnostic, Severity};
use crate::overt::checker::check_source;
use crate::overt::CheckedProgram;
use crate::runtime::bind::bind;
use crate::runtime::exec::execute;
use crate::runtime::lower::lower;
use crate::runtime::npy::{read_npy, read_npz, write_npy, write_npz};
use crate::runtime::reference::evaluate;
use crate::runtime::tensor::human_bytes;
use crate::runtime::{MemoryBudget, Tensor};

/// Diagnostic code of run-time errors (out-of-bounds gathers, singular matrices, ...).
const RUNTIME_ERROR: &str = "E800";
/// A note: the program runs on the reference evaluator because the fast executor cannot
/// compile part of it.
const REFERENCE_FALLBACK: &str = "overt::reference-fallback";

#[derive(clap::Args)]
pub struct Args {
    /// The Overt program.
    program: PathBuf,
    /// An input: `NAME=FILE.npy`, or `FILE.npz` supplying every input it names.
    #[arg(long = "in", value_name = "NAME=FILE.npy|FILE.npz")]
    inputs: Vec<String>,
    /// Where to write results: `FILE.npz` (every output) or `NAME=FILE.npy` (one output).
    /// Without --out, outputs are summarised on stdout.
    #[arg(long = "out", value_name = "FILE.npz|NAME=FILE.npy")]
    outputs: Vec<String>,
    /// Value of a `size` declaration: `N=5`.
    #[arg(long = "size", value_name = "NAME=INT")]
    sizes: Vec<String>,
    /// Memory limit for all arrays, e.g. `8G`, `512M` (default: half of physical memory).
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<String>,
    /// Which evaluator runs the program: `fast` (default; falls back to the reference
    /// evaluator for constructs it does not compile) or `reference` (nested loops).
    #[arg(long, value_enum, default_value = "fast")]
    engine: Engine,
    /// Print the computation time (excluding parsing and file I/O) on stderr.
    #[arg(long, hide = true)]
    time: bool,
    /// Run the computation this many times (with --time, prints each time).
    #[arg(long, hide = true, default_value_t = 1)]
    repeat: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    Fast,
    Reference,
}

/// A failure before or after the computation: exit 2 with this message.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.to_string())
    }
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&args) {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &Args) -> Result<ExitCode, Failure> {
    let path = args.program.display().to_string();
    let source: Arc<str> = std::fs::read_to_string(&args.program)
        .map_err(|e| Failure(format!("cannot read {path}: {e}")))?
        .into();
    let (program, diagnostics) = check_source(&source);
    let report = |diagnostics: &[Diagnostic]| {
        let mut out = String::new();
        FullRenderer::new(std::io::stderr().is_terminal()).render(
            &FileDiagnostics {
                path: &path,
                source: &source,
                diagnostics,
            },
            &mut out,
        );
        eprint!("{out}");
    };
    let Some(program) = program else {
        report(&diagnostics);
        return Ok(ExitCode::from(2));
    };
    let budget = MemoryBudget::new(match &args.max_memory {
        Some(text) => parse_bytes(text).ok_or_else(|| {
            Failure(format!(
                "--max-memory {text}: expected a size like 4G, 512M or 1000000"
            ))
        })?,
        None => default_memory_limit(),
    });
    let wanted = OutputRequest::parse(&args.outputs, &program)?;
    let given = read_inputs(&args.inputs, &program, &budget)?;
    let sizes = args
        .sizes
        .iter()
        .map(|s| {
            let (name, value) = s
                .split_once('=')
                .ok_or_else(|| Failure(format!("--size {s}: expected NAME=INT")))?;
            let value: i64 = value
                .trim()
                .parse()
                .map_err(|_| Failure(format!("--size {s}: `{value}` is not an integer")))?;
            Ok((name.trim().to_string(), value))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let mut bound = match bind(&program, given, &sizes) {
        Ok(b) => b,
        Err(e) => {
            match e.range {
                Some(range) => report(&[Diagnostic::new(
                    RUNTIME_ERROR,
                    Severity::Error,
                    range,
                    e.message,
                )]),
                None => eprintln!("error: {}", e.message),
            }
            return Ok(ExitCode::from(2));
        }
    };
    // The fast executor compiles most programs; for the rest the reference evaluator gives
    // the same results, only slower, and the user is told why (a large program would
    // otherwise just run slowly).
    let plan = match args.engine {
        Engine::Fast => match lower(&program) {
            Ok(plan) => Some(plan),
            Err(u) => {
                report(&[Diagnostic::new(
                    REFERENCE_FALLBACK,
                    Severity::Info,
                    u.range,
                    format!(
                        "the fast executor cannot compile this ({}), so the program runs on \
                         the reference evaluator: same results, nested loops",
                        u.message
                    ),
                )]);
                None
            }
        },
        Engine::Reference => None,
    };
    let mut results = Vec::new();
    let rounds = args.repeat.max(1);
    for round in 0..rounds {
        // A repeated run's results go before the next run starts, so their memory is
        // free for it (as NumPy's allocator reuses a freed result's memory).
        drop(std::mem::take(&mut results));
        // Copies for repeated timing runs; the last run takes the inputs themselves.
        let inputs = if round + 1 == rounds {
            std::mem::take(&mut bound.inputs)
        } else {
            bound.inputs.clone()
        };
        let start = Instant::now();
        let outcome = match &plan {
            Some(plan) => {
                execute(plan, &bound.sizes, inputs, &budget).map_err(|e| (e.message, e.span))
            }
            None => {
                evaluate(&program, &bound.sizes, inputs, &budget).map_err(|e| (e.message, e.span))
            }
        };
        let elapsed = start.elapsed().as_secs_f64();
        match outcome {
            Ok(r) => results = r,
            Err((message, span)) => {
                match span {
                    Some(range) => report(&[Diagnostic::new(
                        RUNTIME_ERROR,
                        Severity::Error,
                        range,
                        message,
                    )]),
                    None => eprintln!("error: {message}"),
                }
                return Ok(ExitCode::from(2));
            }
        }
        if args.time {
            eprintln!("compute_s {elapsed:.6}");
        }
    }
    let named: Vec<(String, Tensor)> = program
        .outputs
        .iter()
        .map(|&a| program.array(a).name.clone())
        .zip(results)
        .collect();
    wanted.write(&named)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads every `--in`: `NAME=FILE.npy` or `FILE.npz`.
fn read_inputs(
    specs: &[String],
    program: &CheckedProgram,
    budget: &MemoryBudget,
) -> Result<Vec<(String, Tensor)>, Failure> {
    let declared: Vec<&str> = program
        .inputs
        .iter()
        .map(|&a| program.array(a).name.as_str())
        .collect();
    let mut out: Vec<(String, Tensor)> = Vec::new();
    for spec in specs {
        match spec.split_once('=') {
            Some((name, file)) => {
                let file = Path::new(file);
                let f = File::open(file)
                    .map_err(|e| Failure(format!("cannot read {}: {e}", file.display())))?;
                let len = f.metadata().map(|m| m.len()).ok();
                let t = read_npy(BufReader::new(f), name, len, budget)
                    .map_err(|e| Failure(format!("{}: {e}", file.display())))?;
                out.push((name.to_string(), t));
            }
            None => {
                let file = Path::new(spec);
                let f = File::open(file)
                    .map_err(|e| Failure(format!("cannot read {}: {e}", file.display())))?;
                let arrays = read_npz(BufReader::new(f), budget, |n| declared.contains(&n))
                    .map_err(|e| Failure(format!("{}: {e}", file.display())))?;
                out.extend(arrays);
            }
        }
    }
    Ok(out)
}

/// What `--out` asked for.
enum OutputRequest {
    /// No --out: print a summary.
    Summary,
    Files {
        npz: Vec<PathBuf>,
        npy: Vec<(String, PathBuf)>,
    },
}

impl OutputRequest {
    fn parse(specs: &[String], program: &CheckedProgram) -> Result<OutputRequest, Failure> {
        if specs.is_empty() {
            return Ok(OutputRequest::Summary);
        }
        let names: Vec<&str> = program
            .outputs
            .iter()
            .map(|&a| program.array(a).name.as_str())
            .collect();
        let mut npz = Vec::new();
        let mut npy = Vec::new();
        for spec in specs {
            match spec.split_once('=') {
                Some((name, file)) => {
                    if !names.contains(&name) {
                        return Err(Failure(format!(
                            "--out {spec}: the program has no output `{name}` (outputs: {})",
                            names.join(", ")
                        )));
                    }
                    npy.push((name.to_string(), PathBuf::from(file)));
                }
                None => npz.push(PathBuf::from(spec)),
            }
        }
        Ok(OutputRequest::Files { npz, npy })
    }

    fn write(&self, results: &[(String, Tensor)]) -> Result<(), Failure> {
        match self {
            OutputRequest::Summary => {
                let mut stdout = std::io::stdout().lock();
                for (name, t) in results {
                    let _ = writeln!(
                        stdout,
                        "{name}: {}{:?} ({})",
                        t.dtype(),
                        t.shape(),
                        human_bytes(t.byte_size() as u64)
                    );
                    if t.len() <= 64 {
                        let values: Vec<String> = (0..t.len())
                            .filter_map(|i| t.data().get(i))
                            .map(|s| match s {
                                crate::runtime::Scalar::Bool(b) => b.to_string(),
                                crate::runtime::Scalar::I64(i) => i.to_string(),
                                crate::runtime::Scalar::F32(x) => x.to_string(),
                                crate::runtime::Scalar::F64(x) => x.to_string(),
                            })
                            .collect();
                        let _ = writeln!(stdout, "  [{}]", values.join(", "));
                    }
                }
                Ok(())
            }
            OutputRequest::Files { npz, npy } => {
                for path in npz {
                    let arrays: Vec<(&str, &Tensor)> =
                        results.iter().map(|(n, t)| (n.as_str(), t)).collect();
                    write_atomically(path, |f| write_npz(f, &arrays))?;
                }
                for (name, path) in npy {
                    if let Some((_, t)) = results.iter().find(|(n, _)| n == name) {
                        write_atomically(path, |f| write_npy(BufWriter::new(f), t))?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Writes through a temporary file in the same directory, renamed over `path` only once
/// complete.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Failure(format!("{}: not a file name", path.display())))?;
    let tmp = dir.join(format!(".{file_name}.overt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Failure(format!("cannot write {}: {e}", path.display())));
    }
    Ok(())
}

/// `4G`, `512M`, `64K`, `1000` (bytes; binary multiples).
fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return None,
            };
            (&t[..i], mult)
        }
        _ => (t, 1),
    };
    let value: f64 = digits.trim().parse().ok()?;
    if value.is_nan() || value < 0.0 || !value.is_finite() {
        return None;
    }
    Some((value * mult as f64) as u64)
}

/// Half of physical memory (MemTotal in /proc/meminfo); 4 GiB when unknown.
fn default_memory_limit() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    total.map_or(4 << 30, |t| t / 2)
}
