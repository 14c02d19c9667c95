//! `overt check`: finds Python files (gitignore-aware, parallel), reads `[tool.overt]`
//! configuration, lints every file in parallel, and prints the diagnostics in a stable order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;
use ruff_text_size::TextRange;
use serde::Deserialize;

use super::modules;
use super::render::{self, FileDiagnostics, FullRenderer, OutputFormat};
use crate::diagnostic::{Diagnostic, Severity, INTERNAL_ERROR};
use crate::lint::{self, rule_doc, validate_selectors, Selection, Settings, Status};
use crate::shapes::numpy::NumpyVersion;
use crate::shapes::{Externals, ModuleSummary};

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories to check (default: the current directory).
    paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "full")]
    output_format: OutputFormat,
    /// Rule codes or prefixes to enable, replacing the default set (`ALL` for every rule).
    #[arg(long, value_delimiter = ',')]
    select: Option<Vec<String>>,
    /// Rule codes or prefixes to enable in addition to the selected ones.
    #[arg(long, value_delimiter = ',')]
    extend_select: Vec<String>,
    /// Rule codes or prefixes to disable.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Which NumPy's semantics to assume where versions differ (default 2).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    numpy_version: Option<u8>,
    /// Ignore every pyproject.toml.
    #[arg(long)]
    isolated: bool,
    /// Exit with 0 even when diagnostics are reported.
    #[arg(long)]
    exit_zero: bool,
}

/// `[tool.overt]` in pyproject.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Config {
    select: Option<Vec<String>>,
    #[serde(default)]
    extend_select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    numpy_version: Option<u8>,
    /// Gitignore-style patterns, relative to the pyproject.toml's directory; replaces
    /// [`DEFAULT_EXCLUDE`].
    exclude: Option<Vec<String>>,
    /// Patterns excluded in addition to `exclude`.
    #[serde(default)]
    extend_exclude: Vec<String>,
}

/// Directories never walked into unless `exclude` is set (as in ruff; hidden directories
/// such as `.git` and `.venv` are skipped anyway). Paths given on the command line are
/// always checked.
const DEFAULT_EXCLUDE: &[&str] = &[
    "__pypackages__/",
    "_build/",
    "buck-out/",
    "build/",
    "dist/",
    "node_modules/",
    "site-packages/",
    "venv/",
];

/// Settings for the files under one configuration root.
struct Resolved {
    settings: Settings,
    exclude: Gitignore,
}

type UsageError = String;

pub fn run(args: Args) -> ExitCode {
    match check(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &Args) -> Result<ExitCode, UsageError> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };

    // Configuration per argument, shared by arguments under the same pyproject.toml.
    let mut by_config: HashMap<Option<PathBuf>, Arc<Resolved>> = HashMap::new();
    let mut files: Vec<(PathBuf, Arc<Resolved>)> = Vec::new();
    let mut io_errors = 0usize;
    let mut warned_planned = Vec::new();
    for path in &paths {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| cwd.join(path));
        let config_file = if args.isolated {
            None
        } else {
            discover_config(&absolute, &cwd)?
        };
        let resolved = match by_config.get(&config_file) {
            Some(r) => Arc::clone(r),
            None => {
                let r = Arc::new(resolve(
                    args,
                    config_file.as_deref(),
                    &cwd,
                    &mut warned_planned,
                )?);
                by_config.insert(config_file.clone(), Arc::clone(&r));
                r
            }
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let found = walk(path, &cwd, &resolved);
                io_errors += found.errors;
                files.extend(found.files.into_iter().map(|f| (f, Arc::clone(&resolved))));
            }
            // An explicit file is always checked, whatever its extension or exclusions.
            Ok(_) => files.push((path.clone(), Arc::clone(&resolved))),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                io_errors += 1;
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);

    install_panic_hook();
    let mut results: Vec<FileResult> = files
        .par_iter()
        .map(|(path, resolved)| check_file(path, &resolved.settings))
        .collect();
    // Directories walked whole: every module under them was checked already.
    let walked: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| std::path::absolute(p).ok())
        .collect();
    recheck_importers(&files, &mut results, &walked);
    let _ = panic::take_hook();

    let color = args.output_format == OutputFormat::Full
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let output = render_all(&results, args.output_format, color);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(output.as_bytes());
    let _ = stdout.flush();

    let diagnostics: usize = results.iter().map(|r| r.diagnostics.len()).sum();
    let internal = results
        .iter()
        .flat_map(|r| &r.diagnostics)
        .filter(|d| d.code == INTERNAL_ERROR)
        .count();
    io_errors += results.iter().filter(|r| r.read_error.is_some()).count();
    for r in &results {
        if let Some(e) = &r.read_error {
            eprintln!("error: {}: {e}", r.path);
        }
    }
    if diagnostics == 0 {
        eprintln!("All checks passed!");
    } else {
        let plural = if diagnostics == 1 { "" } else { "s" };
        eprintln!("Found {diagnostics} error{plural}.");
    }
    if internal > 0 {
        eprintln!(
            "overt failed internally on {internal} file{}; please report it (code {INTERNAL_ERROR}).",
            if internal == 1 { "" } else { "s" }
        );
    }
    Ok(if io_errors > 0 || internal > 0 {
        ExitCode::from(2)
    } else if diagnostics > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The nearest pyproject.toml with a `[tool.overt]` table, from `path` upward.
fn discover_config(path: &Path, cwd: &Path) -> Result<Option<PathBuf>, UsageError> {
    for dir in path.ancestors() {
        let candidate = dir.join("pyproject.toml");
        if candidate.is_file() {
            let text = std::fs::read_to_string(&candidate)
                .map_err(|e| format!("{}: {e}", shown(&candidate, cwd)))?;
            // A pyproject.toml without `[tool.overt]` does not stop the search (as in ruff).
            if text.contains("[tool.overt") && read_config(&candidate, &text, cwd)?.is_some() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}

/// A path for messages: relative to the working directory when it is under it.
fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

fn read_config(file: &Path, text: &str, cwd: &Path) -> Result<Option<Config>, UsageError> {
    let file = shown(file, cwd);
    let table: toml::Table =
        toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))?;
    let Some(overt) = table.get("tool").and_then(|t| t.get("overt")).cloned() else {
        return Ok(None);
    };
    let config: Config = overt
        .try_into()
        .map_err(|e| format!("{file}: [tool.overt]: {}", e.to_string().trim_end()))?;
    if let Some(v) = config.numpy_version {
        if !(1..=2).contains(&v) {
            return Err(format!(
                "{file}: [tool.overt]: numpy-version must be 1 or 2, not {v}"
            ));
        }
    }
    Ok(Some(config))
}

fn resolve(
    args: &Args,
    config_file: Option<&Path>,
    cwd: &Path,
    warned_planned: &mut Vec<String>,
) -> Result<Resolved, UsageError> {
    let config = match config_file {
        Some(file) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", shown(file, cwd)))?;
            read_config(file, &text, cwd)?.unwrap_or_default()
        }
        None => Config::default(),
    };
    let select = args.select.as_ref().or(config.select.as_ref());
    let extend_select: Vec<String> = config
        .extend_select
        .iter()
        .chain(&args.extend_select)
        .cloned()
        .collect();
    let ignore: Vec<String> = config.ignore.iter().chain(&args.ignore).cloned().collect();
    if let Some(file) = config_file {
        for selectors in [
            config.select.as_deref().unwrap_or_default(),
            &config.extend_select,
            &config.ignore,
        ] {
            validate_selectors(selectors)
                .map_err(|e| format!("{}: [tool.overt]: {e}", shown(file, cwd)))?;
        }
    }
    let selection = Selection::resolve(select.map(Vec::as_slice), &extend_select, &ignore)
        .map_err(|e| e.to_string())?;
    for code in select.into_iter().flatten().chain(&extend_select) {
        if let Some(doc) = rule_doc(code) {
            if doc.status == Status::Planned && !warned_planned.contains(code) {
                eprintln!(
                    "warning: {code} ({}) is planned, not implemented yet: it reports nothing",
                    doc.name
                );
                warned_planned.push(code.clone());
            }
        }
    }
    let numpy_version = match args.numpy_version.or(config.numpy_version) {
        Some(1) => NumpyVersion::V1,
        _ => NumpyVersion::V2,
    };
    let root = config_file
        .and_then(Path::parent)
        .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    let mut builder = GitignoreBuilder::new(&root);
    let patterns: Vec<String> = match config.exclude {
        Some(patterns) => patterns,
        None => DEFAULT_EXCLUDE.iter().map(|p| p.to_string()).collect(),
    };
    for pattern in patterns.iter().chain(&config.extend_exclude) {
        builder
            .add_line(None, pattern)
            .map_err(|e| format!("exclude pattern `{pattern}`: {e}"))?;
    }
    let exclude = builder
        .build()
        .map_err(|e| format!("exclude patterns: {e}"))?;
    Ok(Resolved {
        settings: Settings {
            selection,
            numpy_version,
        },
        exclude,
    })
}

struct Found {
    files: Vec<PathBuf>,
    errors: usize,
}

/// The `.py` files under `dir`, honouring .gitignore, hidden files and `exclude`, walked in
/// parallel; each walker thread collects into its own list.
fn walk(dir: &Path, cwd: &Path, resolved: &Arc<Resolved>) -> Found {
    let found = Mutex::new(Found {
        files: Vec::new(),
        errors: 0,
    });
    let mut builder = WalkBuilder::new(dir);
    if !resolved.exclude.is_empty() {
        let r = Arc::clone(resolved);
        let cwd = cwd.to_path_buf();
        builder.filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let absolute = cwd.join(entry.path());
            !r.exclude.matched(&absolute, is_dir).is_ignore()
        });
    }
    let mut visitors = VisitorBuilder { found: &found };
    builder.build_parallel().visit(&mut visitors);
    found.into_inner().unwrap_or_else(|p| p.into_inner())
}

struct VisitorBuilder<'a> {
    found: &'a Mutex<Found>,
}

impl<'s> ignore::ParallelVisitorBuilder<'s> for VisitorBuilder<'s> {
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 's> {
        Box::new(Visitor {
            found: self.found,
            local: Found {
                files: Vec::new(),
                errors: 0,
            },
        })
    }
}

struct Visitor<'a> {
    found: &'a Mutex<Found>,
    local: Found,
}

impl ignore::ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(e) => {
                if e.file_type().is_some_and(|t| t.is_file())
                    && e.path().extension().is_some_and(|x| x == "py")
                {
                    self.local.files.push(e.into_path());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                self.local.errors += 1;
            }
        }
        WalkState::Continue
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
        found.files.append(&mut self.local.files);
        found.errors += self.local.errors;
    }
}

struct FileResult {
    path: String,
    source: Arc<str>,
    diagnostics: Vec<Diagnostic>,
    read_error: Option<String>,
    /// Where the file sits among modules, what it exports and what it imports.
    place: Option<modules::Place>,
    summary: Arc<ModuleSummary>,
    imports: Vec<String>,
}

/// Cross-module calls: the first pass analysed every file on its own and collected each
/// module's summary (its annotated functions); modules a file imports from its root that
/// were not checked (the root is outside the directories walked) are summarised the same
/// way; then a file importing a module with a
/// non-empty summary is analysed again with it. Summaries come from analyses of one module
/// alone, so import cycles cannot recurse, and files that import no summarised module
/// (nearly all) cost nothing more.
fn recheck_importers(
    files: &[(PathBuf, Arc<Resolved>)],
    results: &mut [FileResult],
    walked: &[PathBuf],
) {
    // Every module analysed so far, by root, with its (possibly empty) summary.
    let mut known: HashMap<PathBuf, HashMap<String, Arc<ModuleSummary>>> = HashMap::new();
    for r in results.iter() {
        if let Some(place) = &r.place {
            known
                .entry(place.root.clone())
                .or_default()
                .insert(place.module.clone(), Arc::clone(&r.summary));
        }
    }
    // Imports not checked already: summarised if they are files under the root. Cheap
    // filters first: a checked plain module has no submodules (`from .m import f` names
    // `m.f`), and the last name must be an entry of its parent's directory (listed once per
    // directory), which rules out installed modules and imported functions.
    let plain: std::collections::HashSet<(&Path, &str)> = results
        .iter()
        .filter_map(|r| r.place.as_ref())
        .filter(|p| !p.is_package)
        .map(|p| (p.root.as_path(), p.module.as_str()))
        .collect();
    let mut listed = modules::DirectoryListings::default();
    let mut missing: Vec<(PathBuf, String, NumpyVersion)> = Vec::new();
    let mut covered: HashMap<&Path, bool> = HashMap::new();
    for (r, (_, resolved)) in results.iter().zip(files) {
        let Some(place) = &r.place else { continue };
        let root = place.root.as_path();
        if *covered
            .entry(root)
            .or_insert_with(|| walked.iter().any(|w| root.starts_with(w)))
        {
            continue;
        }
        let seen = known.get(&place.root);
        for m in &r.imports {
            let in_plain_module = m
                .rsplit_once('.')
                .is_some_and(|(parent, _)| plain.contains(&(place.root.as_path(), parent)));
            if seen.is_none_or(|s| !s.contains_key(m))
                && !in_plain_module
                && listed.may_exist(&place.root, m)
            {
                missing.push((
                    place.root.clone(),
                    m.clone(),
                    resolved.settings.numpy_version,
                ));
            }
        }
    }
    missing.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    missing.dedup_by(|a, b| (&a.0, &a.1) == (&b.0, &b.1));
    let found: Vec<(PathBuf, String, ModuleSummary)> = missing
        .into_par_iter()
        .filter_map(|(root, module, numpy_version)| {
            let options = crate::shapes::Options { numpy_version };
            let summary = panic::catch_unwind(AssertUnwindSafe(|| {
                modules::summarize_module(&root, &module, &options)
            }))
            .ok()
            .flatten()?;
            Some((root, module, summary))
        })
        .collect();
    for (root, module, summary) in found {
        known
            .entry(root)
            .or_default()
            .insert(module, Arc::new(summary));
    }
    for modules in known.values_mut() {
        modules.retain(|_, s| !s.is_empty());
    }
    known.retain(|_, modules| !modules.is_empty());
    if known.is_empty() {
        return;
    }
    let again: Vec<(usize, Externals)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let place = r.place.as_ref()?;
            let summaries = known.get(&place.root)?;
            Some((i, modules::externals_for(place, &r.imports, summaries)?))
        })
        .collect();
    let redone: Vec<(usize, Vec<Diagnostic>)> = again
        .par_iter()
        .filter_map(|(i, externals)| {
            let settings = &files.get(*i)?.1.settings;
            let source = &results.get(*i)?.source;
            Some((*i, check_source(source, settings, externals).diagnostics))
        })
        .collect();
    for (i, diagnostics) in redone {
        if let Some(r) = results.get_mut(i) {
            r.diagnostics = diagnostics;
        }
    }
}

thread_local! {
    /// The message and location of the last panic on this thread, kept by the panic hook so
    /// the internal-error diagnostic can say what went wrong.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let message = match (
            info.payload().downcast_ref::<&str>(),
            info.payload().downcast_ref::<String>(),
        ) {
            (Some(s), _) => (*s).to_string(),
            (_, Some(s)) => s.clone(),
            _ => "unknown panic".to_string(),
        };
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
    }));
}

fn check_file(path: &Path, settings: &Settings) -> FileResult {
    let display = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return FileResult {
                path: display,
                source: Arc::from(""),
                diagnostics: Vec::new(),
                read_error: Some(e.to_string()),
                place: None,
                summary: Arc::default(),
                imports: Vec::new(),
            }
        }
    };
    // Python source is UTF-8 (PEP 3120); invalid bytes become U+FFFD and offsets refer to
    // the text we render.
    let source: Arc<str> = match String::from_utf8(bytes) {
        Ok(s) => Arc::from(s),
        Err(e) => Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    };
    // Only files that may hold NumPy code are analysed, so only they need a place.
    let place = crate::shapes::may_use_numpy(&source)
        .then(|| modules::place(path))
        .flatten();
    let checked = check_source(&source, settings, &modules::bare_externals(place.as_ref()));
    FileResult {
        path: display,
        source,
        diagnostics: checked.diagnostics,
        read_error: None,
        place,
        summary: Arc::new(checked.summary),
        imports: checked.imports,
    }
}

/// Checks one source, turning a panic into an internal-error diagnostic.
fn check_source(source: &str, settings: &Settings, externals: &Externals) -> lint::Checked {
    match panic::catch_unwind(AssertUnwindSafe(|| {
        // Lets the tests exercise this last line of defence; debug builds only.
        #[cfg(debug_assertions)]
        if source.contains("overt-debug: panic here") {
            panic!("requested by the source (debug builds only)");
        }
        lint::check_module(source, settings, externals)
    })) {
        Ok(checked) => checked,
        Err(_) => {
            let what = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "unknown panic".to_string());
            lint::Checked {
                diagnostics: vec![Diagnostic::new(
                    INTERNAL_ERROR,
                    Severity::Error,
                    TextRange::default(),
                    format!("internal error: overt panicked on this file: {what}"),
                )],
                ..lint::Checked::default()
            }
        }
    }
}

fn render_all(results: &[FileResult], format: OutputFormat, color: bool) -> String {
    let files = results
        .iter()
        .filter(|r| !r.diagnostics.is_empty())
        .map(|r| FileDiagnostics {
            path: &r.path,
            source: &r.source,
            diagnostics: &r.diagnostics,
        });
    let mut out = String::new();
    match format {
        OutputFormat::Full => {
            let renderer = FullRenderer::new(color);
            for f in files {
                renderer.render(&f, &mut out);
            }
        }
        OutputFormat::Concise => files.for_each(|f| render::concise(&f, &mut out)),
        OutputFormat::Github => files.for_each(|f| render::github(&f, &mut out)),
        OutputFormat::Json => {
            let mut values = Vec::new();
            files.for_each(|f| render::json_values(&f, &mut values));
            out = serde_json::to_string_pretty(&values).unwrap_or_else(|_| "[]".to_string());
            out.push('\n');
        }
    }
    out
}
