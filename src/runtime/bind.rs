//! Matches caller-supplied arrays to a program's `input` declarations: by name, with the
//! declared dtype and rank, binding size variables from the first input that fixes them
//! and checking every other use against that binding.

use std::collections::HashMap;

use ruff_text_size::TextRange;

use crate::overt::program::{CheckedProgram, SizeVarId};

use super::tensor::Tensor;

/// Inputs in declaration order and the value of every size variable known from them.
#[derive(Debug)]
pub struct Bound {
    pub sizes: Vec<Option<i64>>,
    pub inputs: Vec<Tensor>,
}

/// Why the supplied arrays do not fit the program; `range` is the declaration at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindError {
    pub message: String,
    pub range: Option<TextRange>,
}

fn error(range: Option<TextRange>, message: String) -> BindError {
    BindError { message, range }
}

/// Binds `given` arrays (by name) and `sizes` (`size` declarations, by name).
pub fn bind(
    prog: &CheckedProgram,
    given: Vec<(String, Tensor)>,
    sizes: &[(String, i64)],
) -> Result<Bound, BindError> {
    let mut values: Vec<Option<i64>> = vec![None; prog.size_vars.len()];
    // Where each size got its value, for messages.
    let mut origin: Vec<String> = vec![String::new(); prog.size_vars.len()];
    for (name, value) in sizes {
        let Some(&id) = prog
            .size_inputs
            .iter()
            .find(|id| &prog.size_var(**id).name == name)
        else {
            let declared: Vec<&str> = prog
                .size_inputs
                .iter()
                .map(|id| prog.size_var(*id).name.as_str())
                .collect();
            return Err(error(
                None,
                format!(
                    "the program declares no size `{name}` (declared: {})",
                    list(&declared)
                ),
            ));
        };
        if *value < 0 {
            return Err(error(None, format!("size `{name}` must not be negative")));
        }
        values[id.0] = Some(*value);
        origin[id.0] = format!("--size {name}={value}");
    }
    for &id in &prog.size_inputs {
        if values[id.0].is_none() {
            let var = prog.size_var(id);
            return Err(error(
                Some(var.range),
                format!(
                    "size `{}` is declared but not given (pass --size {}=...)",
                    var.name, var.name
                ),
            ));
        }
    }
    let mut by_name: HashMap<String, Tensor> = HashMap::new();
    for (name, tensor) in given {
        if !prog.inputs.iter().any(|&a| prog.array(a).name == name) {
            let declared: Vec<&str> = prog
                .inputs
                .iter()
                .map(|&a| prog.array(a).name.as_str())
                .collect();
            return Err(error(
                None,
                format!(
                    "the program has no input `{name}` (inputs: {})",
                    list(&declared)
                ),
            ));
        }
        by_name.insert(name, tensor);
    }
    let mut inputs = Vec::with_capacity(prog.inputs.len());
    for &a in &prog.inputs {
        let decl = prog.array(a);
        let Some(t) = by_name.remove(&decl.name) else {
            return Err(error(
                Some(decl.range),
                format!(
                    "input `{}` is not given (pass --in {}=FILE.npy)",
                    decl.name, decl.name
                ),
            ));
        };
        if t.dtype() != decl.dtype {
            return Err(error(
                Some(decl.range),
                format!(
                    "input `{}` is declared {} but the array is {} ({})",
                    decl.name,
                    decl.dtype,
                    t.dtype(),
                    t.dtype().numpy_name()
                ),
            ));
        }
        if t.ndim() != decl.shape.len() {
            return Err(error(
                Some(decl.range),
                format!(
                    "input `{}` is declared with {} axes but the array has shape {:?}",
                    decl.name,
                    decl.shape.len(),
                    t.shape()
                ),
            ));
        }
        // A bare size variable takes its value from the first axis that names it.
        for (axis, (dim, &n)) in decl.shape.iter().zip(t.shape()).enumerate() {
            if let crate::overt::size::Size::Var(id) = dim {
                if values[id.0].is_none() {
                    values[id.0] = i64::try_from(n).ok();
                    origin[id.0] = format!("axis {axis} of `{}`", decl.name);
                }
            }
        }
        inputs.push((a, t));
    }
    let lookup = |id: SizeVarId| values.get(id.0).copied().flatten();
    for (a, t) in &inputs {
        let decl = prog.array(*a);
        for (axis, (dim, &n)) in decl.shape.iter().zip(t.shape()).enumerate() {
            let want = dim.eval(&lookup).map_err(|e| {
                error(
                    Some(decl.range),
                    format!("axis {axis} of `{}`: {e}", decl.name),
                )
            })?;
            if want != n as i64 {
                let what = prog.display_size(dim);
                let why = match dim {
                    crate::overt::size::Size::Var(id) => format!(" (from {})", origin[id.0]),
                    _ => String::new(),
                };
                return Err(error(
                    Some(decl.range),
                    format!(
                        "axis {axis} of `{}` has size {n} but is declared {what} = {want}{why}",
                        decl.name
                    ),
                ));
            }
        }
    }
    Ok(Bound {
        sizes: values,
        inputs: inputs.into_iter().map(|(_, t)| t).collect(),
    })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
