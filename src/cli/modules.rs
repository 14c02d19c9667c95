//! Where a Python file sits among modules: its import root and dotted name (as Python
//! finds them: packages are directories with `__init__.py`; a script's directory is its
//! root), and the file a dotted module name under a root refers to. Used to hand the
//! analysis the summaries of the modules a file imports.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::python;
use crate::shapes::{self, Externals, ModuleSummary};

/// A file's place among modules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    /// The directory its absolute imports start from.
    pub root: PathBuf,
    /// `pkg.sub.mod`; `pkg.sub` for `pkg/sub/__init__.py`.
    pub module: String,
    pub is_package: bool,
}

/// The place of `file` (made absolute against the current directory). `None` when its
/// name is no Python module name (`my-script.py`).
pub fn place(file: &Path) -> Option<Place> {
    let file = std::path::absolute(file).ok()?;
    let stem = file.file_stem()?.to_str()?;
    let is_package = stem == "__init__";
    let mut parts: Vec<String> = Vec::new();
    if !is_package {
        parts.push(stem.to_string());
    }
    let mut dir = file.parent()?.to_path_buf();
    // Bounded: a path has finitely many ancestors, but a symlink loop must not spin.
    for _ in 0..64 {
        if !dir.join("__init__.py").is_file() {
            break;
        }
        parts.insert(0, dir.file_name()?.to_str()?.to_string());
        dir = dir.parent()?.to_path_buf();
    }
    if parts.is_empty() || !parts.iter().all(|p| is_identifier(p)) {
        return None;
    }
    Some(Place {
        root: dir,
        module: parts.join("."),
        is_package,
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The file module `dotted` names under `root`: `a/b.py` or `a/b/__init__.py`.
pub fn module_file(root: &Path, dotted: &str) -> Option<PathBuf> {
    if !dotted.split('.').all(is_identifier) {
        return None;
    }
    let mut path = root.to_path_buf();
    path.extend(dotted.split('.'));
    let file = path.with_extension("py");
    if file.is_file() {
        return Some(file);
    }
    let init = path.join("__init__.py");
    init.is_file().then_some(init)
}

/// Directory listings, read once each, to rule out module names without a file cheaply.
#[derive(Default)]
pub struct DirectoryListings {
    entries: HashMap<PathBuf, HashSet<String>>,
}

impl DirectoryListings {
    /// False when module `dotted` under `root` has no file or directory of its name.
    pub fn may_exist(&mut self, root: &Path, dotted: &str) -> bool {
        let (parent, last) = match dotted.rsplit_once('.') {
            Some((p, l)) => (root.join(p.replace('.', "/")), l),
            None => (root.to_path_buf(), dotted),
        };
        let names = self.entries.entry(parent).or_insert_with_key(|dir| {
            std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .map(|n| n.strip_suffix(".py").map_or(n.clone(), str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        });
        names.contains(last)
    }
}

/// The externals of a file at `place` that imports `imports`, from the summaries `known`
/// of modules under the same root: `None` when none of its imports has a summary (a second
/// analysis would learn nothing).
pub fn externals_for(
    place: &Place,
    imports: &[String],
    known: &HashMap<String, Arc<ModuleSummary>>,
) -> Option<Externals> {
    let modules: HashMap<String, Arc<ModuleSummary>> = imports
        .iter()
        .filter(|m| **m != place.module)
        .filter_map(|m| Some((m.clone(), Arc::clone(known.get(m)?))))
        .collect();
    (!modules.is_empty()).then(|| Externals {
        module: place.module.clone(),
        is_package: place.is_package,
        modules,
    })
}

/// The externals of a first analysis: where the file is, no summaries yet.
pub fn bare_externals(place: Option<&Place>) -> Externals {
    match place {
        Some(p) => Externals {
            module: p.module.clone(),
            is_package: p.is_package,
            modules: HashMap::new(),
        },
        None => Externals::default(),
    }
}

/// The summary of module `dotted` under `root` analysed on its own, when it is a readable
/// file there (`None` otherwise: an installed or standard module).
pub fn summarize_module(
    root: &Path,
    dotted: &str,
    options: &shapes::Options,
) -> Option<ModuleSummary> {
    let file = module_file(root, dotted)?;
    let source = std::fs::read_to_string(&file).ok()?;
    if !shapes::may_use_numpy(&source) {
        return Some(ModuleSummary::default());
    }
    let externals = bare_externals(place(&file).as_ref());
    let parsed = python::parse_module(&source);
    Some(shapes::analyze_with(&parsed, &source, options, &externals).summary)
}
