//! The reference evaluator: the nested-loop meaning of an Overt program, written to be
//! obviously right rather than fast. Every definition loops over its left-hand index
//! variables in row-major order; reductions are loops; every array read is bounds-checked;
//! integer arithmetic is checked. Faster evaluators must agree with it.

use std::collections::HashMap;
use std::fmt;

use ruff_text_size::TextRange;

use super::tensor::{MemoryBudget, Scalar, Tensor, TensorData, TensorError};
use super::vector;
use crate::overt::builtins::Builtin;
use crate::overt::program::*;
use crate::overt::size::{floor_div, Size};
use crate::overt::Dtype;

/// A failure while evaluating, located at the expression that caused it when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    pub message: String,
    pub span: Option<TextRange>,
}

impl RuntimeError {
    fn at(span: TextRange, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            message: message.into(),
            span: Some(span),
        }
    }

    fn new(message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            message: message.into(),
            span: None,
        }
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

impl From<TensorError> for RuntimeError {
    fn from(e: TensorError) -> RuntimeError {
        RuntimeError::new(e.to_string())
    }
}

type Result<T> = std::result::Result<T, RuntimeError>;

/// Binds `arrays` (by input name) and `sizes` (`size` declarations, by name) for
/// [`evaluate`]: the same binding `overt run` does (`runtime::bind`), returning the size
/// values and the inputs in declaration order.
pub fn bind_inputs(
    program: &CheckedProgram,
    arrays: HashMap<String, Tensor>,
    sizes: &HashMap<String, i64>,
) -> Result<(Vec<Option<i64>>, Vec<Tensor>)> {
    let given: Vec<(String, Tensor)> = arrays.into_iter().collect();
    let sizes: Vec<(String, i64)> = sizes.iter().map(|(k, &v)| (k.clone(), v)).collect();
    let bound = super::bind::bind(program, given, &sizes).map_err(|e| RuntimeError {
        message: e.message,
        span: e.range,
    })?;
    Ok((bound.sizes, bound.inputs))
}

fn to_i64(n: usize) -> Result<i64> {
    i64::try_from(n).map_err(|_| RuntimeError::new("size does not fit in 64 bits"))
}

fn eval_size(
    program: &CheckedProgram,
    size: &Size,
    sizes: &[Option<i64>],
    span: TextRange,
) -> Result<i64> {
    size.eval(&|v| sizes.get(v.0).copied().flatten())
        .map_err(|e| {
            RuntimeError::at(
                span,
                format!("cannot evaluate size {}: {e}", program.display_size(size)),
            )
        })
}

/// Evaluates `program` with size variables `sizes` (from [`bind_inputs`]) and `inputs` in
/// `program.inputs` order; returns the outputs in `program.outputs` order.
pub fn evaluate(
    program: &CheckedProgram,
    sizes: &[Option<i64>],
    inputs: Vec<Tensor>,
    budget: &MemoryBudget,
) -> Result<Vec<Tensor>> {
    let mut frame = Frame {
        arrays: HashMap::new(),
        sizes: sizes.to_vec(),
        index: vec![0; program.index_vars.len()],
    };
    for (&id, t) in program.inputs.iter().zip(inputs) {
        frame.arrays.insert(id, t);
    }
    let eval = Evaluator { program, budget };
    for d in &program.definitions {
        eval.define(d, &mut frame)?;
    }
    program
        .outputs
        .iter()
        .map(|id| {
            frame.arrays.get(id).cloned().ok_or_else(|| {
                RuntimeError::new(format!(
                    "output `{}` is never defined",
                    program.array(*id).name
                ))
            })
        })
        .collect()
}

/// Arrays, size values and index-variable values of one program or function call.
struct Frame {
    arrays: HashMap<ArrayId, Tensor>,
    sizes: Vec<Option<i64>>,
    index: Vec<i64>,
}

/// A small positional value: an expression's result at one loop point.
#[derive(Clone, Debug)]
struct Value {
    shape: Vec<usize>,
    data: Vec<Scalar>,
}

impl Value {
    fn scalar(s: Scalar) -> Value {
        Value {
            shape: Vec::new(),
            data: vec![s],
        }
    }

    fn only(&self, span: TextRange) -> Result<Scalar> {
        match self.data.as_slice() {
            [s] if self.shape.is_empty() => Ok(*s),
            _ => Err(RuntimeError::at(span, "expected a single value")),
        }
    }
}

struct Evaluator<'p> {
    program: &'p CheckedProgram,
    budget: &'p MemoryBudget,
}

/// Every multi-index of `shape` in row-major order.
fn row_major(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    // Saturating: a product past usize::MAX cannot be iterated anyway, and must not panic.
    let total = shape.iter().fold(1usize, |a, &n| a.saturating_mul(n));
    (0..total).map(move |mut flat| {
        let mut idx = vec![0; shape.len()];
        for k in (0..shape.len()).rev() {
            idx[k] = flat % shape[k];
            flat /= shape[k];
        }
        idx
    })
}

fn flat_index(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

fn tensor_from(dtype: Dtype, shape: Vec<usize>, data: Vec<Scalar>) -> Result<Tensor> {
    let data = match dtype {
        Dtype::Bool => TensorData::Bool(
            data.iter()
                .map(|s| matches!(s, Scalar::Bool(true)))
                .collect(),
        ),
        Dtype::I64 => TensorData::I64(
            data.iter()
                .map(|s| if let Scalar::I64(i) = s { *i } else { 0 })
                .collect(),
        ),
        Dtype::F32 => TensorData::F32(
            data.iter()
                .map(|s| if let Scalar::F32(x) = s { *x } else { 0.0 })
                .collect(),
        ),
        Dtype::F64 => TensorData::F64(data.iter().map(|s| s.to_f64()).collect()),
    };
    Ok(Tensor::new(shape, data)?)
}

impl Evaluator<'_> {
    fn size(&self, size: &Size, frame: &Frame, span: TextRange) -> Result<usize> {
        let n = eval_size(self.program, size, &frame.sizes, span)?;
        usize::try_from(n).map_err(|_| {
            RuntimeError::at(
                span,
                format!("size {} = {n} is negative", self.program.display_size(size)),
            )
        })
    }

    fn define(&self, d: &Definition, frame: &mut Frame) -> Result<()> {
        if let ExprKind::Call {
            builtin: Builtin::Nonzero,
            args,
            ..
        } = &d.value.kind
        {
            return self.define_nonzero(d, args, frame);
        }
        let arr = self.program.array(d.array);
        let shape: Vec<usize> = arr
            .shape
            .iter()
            .map(|s| self.size(s, frame, d.range))
            .collect::<Result<_>>()?;
        let count = self.budget.reserve(&arr.name, arr.dtype, &shape)?;
        let mut data = vec![zero(arr.dtype); count];
        let vars = d.loop_vars();
        let domains: Vec<usize> = vars
            .iter()
            .map(|v| self.size(&self.program.index_var(*v).domain, frame, d.range))
            .collect::<Result<_>>()?;
        for point in row_major(&domains) {
            for (v, &i) in vars.iter().zip(&point) {
                frame.index[v.0] = i as i64;
            }
            let value = self.expr(&d.value, frame)?;
            // The positional axes of the value fill the `:` slots in order.
            let positional: Vec<usize> = d
                .lhs
                .iter()
                .zip(&shape)
                .filter(|(s, _)| matches!(s, LhsSlot::Whole))
                .map(|(_, &n)| n)
                .collect();
            if value.shape != positional {
                return Err(RuntimeError::at(
                    d.value.range,
                    format!(
                        "the value has shape {:?} but `{}` takes {:?}",
                        value.shape, arr.name, positional
                    ),
                ));
            }
            for (k, pos) in row_major(&value.shape).enumerate() {
                let mut pos_iter = pos.iter();
                let mut idx = Vec::with_capacity(shape.len());
                for slot in &d.lhs {
                    idx.push(match slot {
                        LhsSlot::Index(v) => frame.index[v.0] as usize,
                        LhsSlot::Whole => pos_iter.next().copied().unwrap_or(0),
                        LhsSlot::NewAxis => 0,
                        LhsSlot::Group(vs) => {
                            let mut flat = 0usize;
                            for v in vs {
                                let n =
                                    self.size(&self.program.index_var(*v).domain, frame, d.range)?;
                                flat = flat * n + frame.index[v.0] as usize;
                            }
                            flat
                        }
                    });
                }
                let at = flat_index(&shape, &idx);
                match (data.get_mut(at), value.data.get(k)) {
                    (Some(slot), Some(s)) => *slot = *s,
                    _ => {
                        return Err(RuntimeError::at(
                            d.range,
                            format!("write to {idx:?} is outside `{}` {shape:?}", arr.name),
                        ))
                    }
                }
            }
        }
        frame
            .arrays
            .insert(d.array, tensor_from(arr.dtype, shape, data)?);
        Ok(())
    }

    /// `idx[:, :] = nonzero(mask[...])`: the positions of the true elements in row-major
    /// order, one row each; binds `len(idx)` to their number.
    fn define_nonzero(&self, d: &Definition, args: &[Expr], frame: &mut Frame) -> Result<()> {
        let arr = self.program.array(d.array);
        let (Some(mask), Some(Size::Var(count))) = (args.first(), arr.shape.first()) else {
            return Err(RuntimeError::at(d.range, "`nonzero`: unexpected arguments"));
        };
        let mask = self.expr(mask, frame)?;
        let rank = mask.shape.len();
        // At most every element is true: reserve that before counting.
        let most = mask.data.len();
        self.budget.reserve(&arr.name, arr.dtype, &[most, rank])?;
        let mut data = Vec::new();
        let mut rows = 0usize;
        for (pos, s) in row_major(&mask.shape).zip(&mask.data) {
            if matches!(s, Scalar::Bool(true)) {
                rows += 1;
                data.extend(pos.into_iter().map(|p| Scalar::I64(p as i64)));
            }
        }
        if let Some(slot) = frame.sizes.get_mut(count.0) {
            *slot = Some(to_i64(rows)?);
        }
        frame
            .arrays
            .insert(d.array, tensor_from(arr.dtype, vec![rows, rank], data)?);
        Ok(())
    }

    fn expr(&self, e: &Expr, frame: &mut Frame) -> Result<Value> {
        let span = e.range;
        match &e.kind {
            ExprKind::Literal(l) => Ok(Value::scalar(match (l, e.dtype) {
                (Literal::Bool(b), _) => Scalar::Bool(*b),
                (Literal::Int(i), Dtype::I64) => Scalar::I64(*i),
                (Literal::Int(i), Dtype::F32) => Scalar::F32(*i as f32),
                (Literal::Int(i), _) => Scalar::F64(*i as f64),
                (Literal::Float(x), Dtype::F32) => Scalar::F32(*x as f32),
                (Literal::Float(x), _) => Scalar::F64(*x),
            })),
            ExprKind::IndexVar(v) => Ok(Value::scalar(Scalar::I64(frame.index[v.0]))),
            ExprKind::SizeVar(v) => {
                let n = frame.sizes.get(v.0).copied().flatten().ok_or_else(|| {
                    RuntimeError::at(
                        span,
                        format!("size `{}` is not bound", self.program.size_var(*v).name),
                    )
                })?;
                Ok(Value::scalar(Scalar::I64(n)))
            }
            ExprKind::Ref { array, slots } => self.reference(*array, slots, frame, span),
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand, frame)?;
                map_value(&v, |x| unary(*op, x, span))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs, frame)?;
                let b = self.expr(rhs, frame)?;
                zip_values(&[a, b], span, |xs| binary(*op, xs[0], xs[1], span))
            }
            ExprKind::Cast { operand } => {
                let v = self.expr(operand, frame)?;
                map_value(&v, |x| cast(x, e.dtype, span))
            }
            ExprKind::Call { builtin, args, .. } => {
                let vals: Vec<Value> = args
                    .iter()
                    .map(|a| self.expr(a, frame))
                    .collect::<Result<_>>()?;
                if builtin.info().is_elementwise() {
                    zip_values(&vals, span, |xs| elementwise(*builtin, xs, span))
                } else {
                    fixed_rank(*builtin, &vals, e.dtype, span)
                }
            }
            ExprKind::CallFunction { function, args, .. } => {
                let vals: Vec<Value> = args
                    .iter()
                    .map(|a| self.expr(a, frame))
                    .collect::<Result<_>>()?;
                let dtypes: Vec<Dtype> = args.iter().map(|a| a.dtype).collect();
                self.call_function(*function, vals, &dtypes, frame, span)
            }
            ExprKind::Reduce { op, vars, body } => {
                self.reduce(*op, vars, body, e.dtype, frame, span)
            }
        }
    }

    fn reference(
        &self,
        array: ArrayId,
        slots: &[RefSlot],
        frame: &mut Frame,
        span: TextRange,
    ) -> Result<Value> {
        let decl = self.program.array(array);
        // Each slot becomes a list of positions along its axis: one for an index, many
        // for a kept axis.
        let mut fixed: Vec<Option<usize>> = Vec::new();
        let mut kept: Vec<Vec<usize>> = Vec::new();
        let shape: Vec<usize> = match frame.arrays.get(&array) {
            Some(t) => t.shape().to_vec(),
            None => {
                return Err(RuntimeError::at(
                    span,
                    format!("`{}` is read before it is defined", decl.name),
                ))
            }
        };
        for (axis, (slot, &n)) in slots.iter().zip(&shape).enumerate() {
            let out_of_bounds = |i: i64| {
                RuntimeError::at(
                    span,
                    format!(
                        "index {i} is out of bounds for axis {axis} of `{}` (size {n})",
                        decl.name
                    ),
                )
            };
            let check = |i: i64| -> Result<usize> {
                usize::try_from(i)
                    .ok()
                    .filter(|&u| u < n)
                    .ok_or_else(|| out_of_bounds(i))
            };
            match slot {
                RefSlot::Index(ix) => {
                    let i = match self.expr(ix, frame)?.only(ix.range)? {
                        Scalar::I64(i) => i,
                        other => {
                            return Err(RuntimeError::at(ix.range, format!("index is {other:?}")))
                        }
                    };
                    fixed.push(Some(check(i)?));
                }
                RefSlot::Whole => {
                    fixed.push(None);
                    kept.push((0..n).collect());
                }
                RefSlot::Slice { start, step, len } => {
                    let lo = eval_size(self.program, start, &frame.sizes, span)?;
                    let st = eval_size(self.program, step, &frame.sizes, span)?;
                    let count = eval_size(self.program, len, &frame.sizes, span)?.max(0);
                    let mut positions = Vec::new();
                    for k in 0..count {
                        let i = st
                            .checked_mul(k)
                            .and_then(|x| x.checked_add(lo))
                            .ok_or_else(|| RuntimeError::at(span, "slice position overflows"))?;
                        positions.push(check(i)?);
                    }
                    fixed.push(None);
                    kept.push(positions);
                }
                RefSlot::Split(vars) => {
                    let mut flat: i64 = 0;
                    for v in vars {
                        let d = eval_size(
                            self.program,
                            &self.program.index_var(*v).domain,
                            &frame.sizes,
                            span,
                        )?;
                        flat = flat
                            .checked_mul(d)
                            .and_then(|x| x.checked_add(frame.index[v.0]))
                            .ok_or_else(|| RuntimeError::at(span, "group index overflows"))?;
                    }
                    fixed.push(Some(check(flat)?));
                }
            }
        }
        let tensor = frame
            .arrays
            .get(&array)
            .ok_or_else(|| RuntimeError::at(span, "array vanished"))?;
        let out_shape: Vec<usize> = kept.iter().map(Vec::len).collect();
        let mut data = Vec::new();
        for pos in row_major(&out_shape) {
            let mut k = 0;
            let idx: Vec<usize> = fixed
                .iter()
                .map(|f| match f {
                    Some(i) => *i,
                    None => {
                        let i = kept[k][pos[k]];
                        k += 1;
                        i
                    }
                })
                .collect();
            let s = tensor
                .get(&idx)
                .ok_or_else(|| RuntimeError::at(span, format!("index {idx:?} is out of bounds")))?;
            data.push(s);
        }
        Ok(Value {
            shape: out_shape,
            data,
        })
    }

    fn reduce(
        &self,
        op: ReduceOp,
        vars: &[IndexVarId],
        body: &Expr,
        dtype: Dtype,
        frame: &mut Frame,
        span: TextRange,
    ) -> Result<Value> {
        let domains: Vec<usize> = vars
            .iter()
            .map(|v| self.size(&self.program.index_var(*v).domain, frame, span))
            .collect::<Result<_>>()?;
        // One list of the body's values per positional element.
        let mut columns: Vec<Vec<Scalar>> = Vec::new();
        let mut shape: Option<Vec<usize>> = None;
        for point in row_major(&domains) {
            for (v, &i) in vars.iter().zip(&point) {
                frame.index[v.0] = i as i64;
            }
            let value = self.expr(body, frame)?;
            match &shape {
                None => {
                    columns = vec![Vec::new(); value.data.len()];
                    shape = Some(value.shape.clone());
                }
                Some(s) if *s != value.shape => {
                    return Err(RuntimeError::at(span, "reduced values change shape"))
                }
                Some(_) => {}
            }
            for (c, s) in columns.iter_mut().zip(value.data) {
                c.push(s);
            }
        }
        let shape = match shape {
            Some(s) => s,
            // An empty range: the body's positional shape is still known statically.
            None => {
                let s: Vec<usize> = body
                    .shape
                    .iter()
                    .map(|d| self.size(d, frame, span))
                    .collect::<Result<_>>()?;
                let count = crate::runtime::tensor::element_count(&s)
                    .ok_or_else(|| RuntimeError::at(span, "reduced value is too large"))?;
                columns = vec![Vec::new(); count];
                s
            }
        };
        let data = columns
            .iter()
            .map(|c| reduce_list(op, c, body.dtype, dtype, span))
            .collect::<Result<_>>()?;
        Ok(Value { shape, data })
    }

    fn call_function(
        &self,
        f: FunctionId,
        args: Vec<Value>,
        dtypes: &[Dtype],
        frame: &Frame,
        span: TextRange,
    ) -> Result<Value> {
        let function = self.program.function(f);
        let mut inner = Frame {
            arrays: HashMap::new(),
            sizes: frame.sizes.clone(),
            index: vec![0; self.program.index_vars.len()],
        };
        for &v in &function.size_vars {
            inner.sizes[v.0] = None;
        }
        for ((&p, arg), &dtype) in function.params.iter().zip(args).zip(dtypes) {
            let param = self.program.array(p);
            for (dim, &n) in param.shape.iter().zip(&arg.shape) {
                if let Size::Var(v) = dim {
                    if inner.sizes[v.0].is_none() {
                        inner.sizes[v.0] = Some(to_i64(n)?);
                    }
                }
            }
            for (dim, &n) in param.shape.iter().zip(&arg.shape) {
                if eval_size(self.program, dim, &inner.sizes, span)? != to_i64(n)? {
                    return Err(RuntimeError::at(
                        span,
                        format!(
                            "argument `{}` of `{}` has shape {:?}",
                            param.name, function.name, arg.shape
                        ),
                    ));
                }
            }
            inner
                .arrays
                .insert(p, tensor_from(dtype, arg.shape, arg.data)?);
        }
        for d in &function.definitions {
            self.define(d, &mut inner)?;
        }
        let result = inner
            .arrays
            .remove(&function.result)
            .ok_or_else(|| RuntimeError::at(span, "function result is never defined"))?;
        let shape = result.shape().to_vec();
        let data = (0..result.len())
            .filter_map(|i| result.data().get(i))
            .collect();
        Ok(Value { shape, data })
    }
}

fn zero(dtype: Dtype) -> Scalar {
    match dtype {
        Dtype::Bool => Scalar::Bool(false),
        Dtype::I64 => Scalar::I64(0),
        Dtype::F32 => Scalar::F32(0.0),
        Dtype::F64 => Scalar::F64(0.0),
    }
}

fn map_value(v: &Value, f: impl Fn(Scalar) -> Result<Scalar>) -> Result<Value> {
    Ok(Value {
        shape: v.shape.clone(),
        data: v.data.iter().map(|&x| f(x)).collect::<Result<_>>()?,
    })
}

/// Applies `f` elementwise; rank-0 operands are used for every element.
fn zip_values(
    vals: &[Value],
    span: TextRange,
    f: impl Fn(&[Scalar]) -> Result<Scalar>,
) -> Result<Value> {
    let shape = vals
        .iter()
        .find(|v| !v.shape.is_empty())
        .map(|v| v.shape.clone())
        .unwrap_or_default();
    if vals.iter().any(|v| !v.shape.is_empty() && v.shape != shape) {
        return Err(RuntimeError::at(span, "positional shapes differ"));
    }
    let len = crate::runtime::tensor::element_count(&shape)
        .ok_or_else(|| RuntimeError::at(span, "value is too large"))?;
    let mut data = Vec::with_capacity(len);
    let mut xs = Vec::with_capacity(vals.len());
    for k in 0..len {
        xs.clear();
        for v in vals {
            let idx = if v.shape.is_empty() { 0 } else { k };
            xs.push(
                *v.data
                    .get(idx)
                    .ok_or_else(|| RuntimeError::at(span, "short value"))?,
            );
        }
        data.push(f(&xs)?);
    }
    Ok(Value { shape, data })
}

fn overflow(span: TextRange) -> RuntimeError {
    RuntimeError::at(span, "integer overflow")
}

fn unary(op: UnaryOp, x: Scalar, span: TextRange) -> Result<Scalar> {
    Ok(match (op, x) {
        (UnaryOp::Neg, Scalar::I64(i)) => {
            Scalar::I64(i.checked_neg().ok_or_else(|| overflow(span))?)
        }
        (UnaryOp::Neg, Scalar::F32(v)) => Scalar::F32(-v),
        (UnaryOp::Neg, Scalar::F64(v)) => Scalar::F64(-v),
        (UnaryOp::Not, Scalar::Bool(b)) => Scalar::Bool(!b),
        _ => return Err(RuntimeError::at(span, "operand of the wrong dtype")),
    })
}

fn python_mod_f64(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

fn float_binary(op: BinaryOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::FloorDiv => (a / b).floor(),
        BinaryOp::Mod => python_mod_f64(a, b),
        BinaryOp::Pow => a.powf(b),
        _ => return None,
    })
}

fn compare<T: PartialOrd>(op: BinaryOp, a: T, b: T) -> Option<bool> {
    Some(match op {
        BinaryOp::Eq => a == b,
        BinaryOp::Ne => a != b,
        BinaryOp::Lt => a < b,
        BinaryOp::Le => a <= b,
        BinaryOp::Gt => a > b,
        BinaryOp::Ge => a >= b,
        _ => return None,
    })
}

fn binary(op: BinaryOp, a: Scalar, b: Scalar, span: TextRange) -> Result<Scalar> {
    let wrong = || RuntimeError::at(span, format!("`{}` on {:?} and {:?}", op.symbol(), a, b));
    if let Some(c) = match (a, b) {
        (Scalar::I64(x), Scalar::I64(y)) => compare(op, x, y),
        (Scalar::F32(x), Scalar::F32(y)) => compare(op, x, y),
        (Scalar::F64(x), Scalar::F64(y)) => compare(op, x, y),
        (Scalar::Bool(x), Scalar::Bool(y)) => compare(op, x, y),
        _ => return Err(wrong()),
    } {
        return Ok(Scalar::Bool(c));
    }
    Ok(match (a, b) {
        (Scalar::Bool(x), Scalar::Bool(y)) => match op {
            BinaryOp::And => Scalar::Bool(x && y),
            BinaryOp::Or => Scalar::Bool(x || y),
            _ => return Err(wrong()),
        },
        (Scalar::I64(x), Scalar::I64(y)) => {
            let zero_div = || RuntimeError::at(span, "integer division by zero");
            Scalar::I64(match op {
                BinaryOp::Add => x.checked_add(y).ok_or_else(|| overflow(span))?,
                BinaryOp::Sub => x.checked_sub(y).ok_or_else(|| overflow(span))?,
                BinaryOp::Mul => x.checked_mul(y).ok_or_else(|| overflow(span))?,
                BinaryOp::FloorDiv => {
                    if y == 0 {
                        return Err(zero_div());
                    }
                    floor_div(x, y).ok_or_else(|| overflow(span))?
                }
                BinaryOp::Mod => {
                    if y == 0 {
                        return Err(zero_div());
                    }
                    let q = floor_div(x, y).ok_or_else(|| overflow(span))?;
                    x - q * y
                }
                BinaryOp::Pow => {
                    let e = u32::try_from(y).map_err(|_| {
                        RuntimeError::at(span, format!("integer power with exponent {y}"))
                    })?;
                    x.checked_pow(e).ok_or_else(|| overflow(span))?
                }
                _ => return Err(wrong()),
            })
        }
        (Scalar::F32(x), Scalar::F32(y)) => {
            Scalar::F32(float_binary(op, f64::from(x), f64::from(y)).ok_or_else(wrong)? as f32)
        }
        (Scalar::F64(x), Scalar::F64(y)) => Scalar::F64(float_binary(op, x, y).ok_or_else(wrong)?),
        _ => return Err(wrong()),
    })
}

fn cast(x: Scalar, to: Dtype, span: TextRange) -> Result<Scalar> {
    Ok(match to {
        Dtype::Bool => Scalar::Bool(match x {
            Scalar::Bool(b) => b,
            Scalar::I64(i) => i != 0,
            Scalar::F32(v) => v != 0.0,
            Scalar::F64(v) => v != 0.0,
        }),
        Dtype::I64 => Scalar::I64(match x {
            Scalar::Bool(b) => i64::from(b),
            Scalar::I64(i) => i,
            Scalar::F32(_) | Scalar::F64(_) => {
                let v = x.to_f64().trunc();
                // 2^63 is exactly representable; everything in [-2^63, 2^63) fits.
                const TWO_63: f64 = 9_223_372_036_854_775_808.0;
                if !(-TWO_63..TWO_63).contains(&v) {
                    return Err(RuntimeError::at(
                        span,
                        format!("{} does not fit in i64", x.to_f64()),
                    ));
                }
                v as i64
            }
        }),
        Dtype::F32 => Scalar::F32(x.to_f64() as f32),
        Dtype::F64 => Scalar::F64(x.to_f64()),
    })
}

/// Rebuilds a float of `like`'s dtype.
fn float_like(like: Scalar, v: f64) -> Scalar {
    match like {
        Scalar::F32(_) => Scalar::F32(v as f32),
        _ => Scalar::F64(v),
    }
}

fn elementwise(b: Builtin, xs: &[Scalar], span: TextRange) -> Result<Scalar> {
    let wrong = || RuntimeError::at(span, format!("`{}` on {xs:?}", b.name()));
    let x = *xs.first().ok_or_else(wrong)?;
    let float = |f: fn(f64) -> f64| -> Result<Scalar> {
        match x {
            Scalar::F32(v) => Ok(Scalar::F32(f(f64::from(v)) as f32)),
            Scalar::F64(v) => Ok(Scalar::F64(f(v))),
            _ => Err(wrong()),
        }
    };
    match b {
        Builtin::Exp => float(f64::exp),
        Builtin::Log => float(f64::ln),
        Builtin::Log1p => float(f64::ln_1p),
        Builtin::Expm1 => float(f64::exp_m1),
        Builtin::Sqrt => float(f64::sqrt),
        Builtin::Sin => float(f64::sin),
        Builtin::Cos => float(f64::cos),
        Builtin::Tan => float(f64::tan),
        Builtin::Tanh => float(f64::tanh),
        Builtin::Floor => float(f64::floor),
        Builtin::Ceil => float(f64::ceil),
        Builtin::Abs => match x {
            Scalar::I64(i) => Ok(Scalar::I64(i.checked_abs().ok_or_else(|| overflow(span))?)),
            _ => float(f64::abs),
        },
        Builtin::Sign => match x {
            Scalar::I64(i) => Ok(Scalar::I64(i.signum())),
            _ => float(|v| {
                if v.is_nan() || v == 0.0 {
                    v
                } else {
                    v.signum()
                }
            }),
        },
        Builtin::Isnan => Ok(Scalar::Bool(x.to_f64().is_nan())),
        Builtin::Isfinite => Ok(Scalar::Bool(x.to_f64().is_finite())),
        Builtin::Maximum | Builtin::Minimum => {
            let y = *xs.get(1).ok_or_else(wrong)?;
            let want_max = b == Builtin::Maximum;
            Ok(match (x, y) {
                (Scalar::I64(a), Scalar::I64(c)) => {
                    Scalar::I64(if want_max { a.max(c) } else { a.min(c) })
                }
                _ => {
                    let (a, c) = (x.to_f64(), y.to_f64());
                    // NaN propagates, as in NumPy.
                    let v = if a.is_nan() || c.is_nan() {
                        f64::NAN
                    } else if want_max {
                        a.max(c)
                    } else {
                        a.min(c)
                    };
                    float_like(x, v)
                }
            })
        }
        Builtin::Where => {
            let (a, c) = (*xs.get(1).ok_or_else(wrong)?, *xs.get(2).ok_or_else(wrong)?);
            Ok(if matches!(x, Scalar::Bool(true)) {
                a
            } else {
                c
            })
        }
        _ => Err(wrong()),
    }
}

/// Folds the values of a reduction, in loop order.
fn reduce_list(
    op: ReduceOp,
    xs: &[Scalar],
    body: Dtype,
    result: Dtype,
    span: TextRange,
) -> Result<Scalar> {
    let empty = || RuntimeError::at(span, format!("`{}` over an empty range", op.name()));
    let floats = || xs.iter().map(|s| s.to_f64());
    let as_result = |v: f64| match result {
        Dtype::F32 => Scalar::F32(v as f32),
        _ => Scalar::F64(v),
    };
    Ok(match op {
        ReduceOp::Any => Scalar::Bool(xs.iter().any(|s| matches!(s, Scalar::Bool(true)))),
        ReduceOp::All => Scalar::Bool(xs.iter().all(|s| matches!(s, Scalar::Bool(true)))),
        ReduceOp::Sum | ReduceOp::Prod if body == Dtype::I64 => {
            let mut acc: i64 = if op == ReduceOp::Sum { 0 } else { 1 };
            for s in xs {
                let Scalar::I64(i) = s else { continue };
                acc = if op == ReduceOp::Sum {
                    acc.checked_add(*i)
                } else {
                    acc.checked_mul(*i)
                }
                .ok_or_else(|| overflow(span))?;
            }
            Scalar::I64(acc)
        }
        ReduceOp::Sum => as_result(sum_in(body, floats())),
        ReduceOp::Prod => as_result(floats().fold(1.0, |a, b| round_to(body, a * b))),
        ReduceOp::Mean => {
            if xs.is_empty() {
                as_result(f64::NAN)
            } else {
                as_result(sum_in(body, floats()) / xs.len() as f64)
            }
        }
        ReduceOp::Max | ReduceOp::Min => {
            let first = *xs.first().ok_or_else(empty)?;
            if body == Dtype::I64 {
                let ints = xs
                    .iter()
                    .map(|s| if let Scalar::I64(i) = s { *i } else { 0 });
                Scalar::I64(
                    if op == ReduceOp::Max {
                        ints.max()
                    } else {
                        ints.min()
                    }
                    .unwrap_or(0),
                )
            } else {
                let mut acc = first.to_f64();
                for v in floats() {
                    if v.is_nan() || acc.is_nan() {
                        acc = f64::NAN;
                    } else if (op == ReduceOp::Max && v > acc) || (op == ReduceOp::Min && v < acc) {
                        acc = v;
                    }
                }
                as_result(acc)
            }
        }
        ReduceOp::Argmax | ReduceOp::Argmin => {
            if xs.is_empty() {
                return Err(empty());
            }
            // The first extreme value wins; a NaN wins over everything (NumPy).
            let mut best = 0usize;
            let mut best_v = xs[0].to_f64();
            let ints: Option<Vec<i64>> = (body == Dtype::I64).then(|| {
                xs.iter()
                    .map(|s| if let Scalar::I64(i) = s { *i } else { 0 })
                    .collect()
            });
            for k in 1..xs.len() {
                let better = match &ints {
                    Some(v) => {
                        if op == ReduceOp::Argmax {
                            v[k] > v[best]
                        } else {
                            v[k] < v[best]
                        }
                    }
                    None => {
                        let v = xs[k].to_f64();
                        !best_v.is_nan()
                            && (v.is_nan()
                                || if op == ReduceOp::Argmax {
                                    v > best_v
                                } else {
                                    v < best_v
                                })
                    }
                };
                if better {
                    best = k;
                    best_v = xs[k].to_f64();
                }
            }
            Scalar::I64(best as i64)
        }
        ReduceOp::LogSumExp => {
            let m = floats().fold(f64::NEG_INFINITY, |a, b| {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            });
            if m.is_nan() || m == f64::INFINITY {
                as_result(m)
            } else if m == f64::NEG_INFINITY {
                as_result(f64::NEG_INFINITY)
            } else {
                as_result(m + floats().map(|v| (v - m).exp()).sum::<f64>().ln())
            }
        }
    })
}

/// Sequential sum, rounding after every step when the dtype is f32.
fn sum_in(dtype: Dtype, xs: impl Iterator<Item = f64>) -> f64 {
    xs.fold(0.0, |a, b| round_to(dtype, a + b))
}

fn round_to(dtype: Dtype, v: f64) -> f64 {
    if dtype == Dtype::F32 {
        f64::from(v as f32)
    } else {
        v
    }
}

/// A fixed-rank builtin on whole positional values. Float kernels compute in f64 and
/// round to the result dtype.
fn fixed_rank(b: Builtin, vals: &[Value], dtype: Dtype, span: TextRange) -> Result<Value> {
    let wrong = || RuntimeError::at(span, format!("`{}`: unexpected arguments", b.name()));
    let a = vals.first().ok_or_else(wrong)?;
    let f = |v: &Value| -> Vec<f64> { v.data.iter().map(|s| s.to_f64()).collect() };
    let out = |shape: Vec<usize>, data: Vec<f64>| -> Result<Value> {
        let data = data
            .into_iter()
            .map(|v| match dtype {
                Dtype::I64 => Ok(Scalar::I64(v as i64)),
                Dtype::F32 => Ok(Scalar::F32(v as f32)),
                Dtype::F64 => Ok(Scalar::F64(v)),
                Dtype::Bool => Err(wrong()),
            })
            .collect::<Result<_>>()?;
        Ok(Value { shape, data })
    };
    match b {
        Builtin::Matmul | Builtin::Dot | Builtin::Outer => {
            let c = vals.get(1).ok_or_else(wrong)?;
            if dtype == Dtype::I64 {
                return int_product(b, a, c, span);
            }
            let (x, y) = (f(a), f(c));
            match b {
                Builtin::Outer => {
                    let data = x
                        .iter()
                        .flat_map(|&p| y.iter().map(move |&q| p * q))
                        .collect();
                    out(vec![x.len(), y.len()], data)
                }
                _ => {
                    let (m, k) = as_matrix(a, true);
                    let (k2, n) = as_matrix(c, false);
                    if k != k2 {
                        return Err(wrong());
                    }
                    let mut data = vec![0.0; m * n];
                    for i in 0..m {
                        for j in 0..n {
                            let mut acc = 0.0;
                            for l in 0..k {
                                acc = round_to(dtype, acc + x[i * k + l] * y[l * n + j]);
                            }
                            data[i * n + j] = acc;
                        }
                    }
                    let mut shape = Vec::new();
                    if a.shape.len() == 2 {
                        shape.push(m);
                    }
                    if c.shape.len() == 2 {
                        shape.push(n);
                    }
                    out(shape, data)
                }
            }
        }
        Builtin::Solve => {
            let c = vals.get(1).ok_or_else(wrong)?;
            let n = a.shape.first().copied().unwrap_or(0);
            let k = if c.shape.len() == 2 { c.shape[1] } else { 1 };
            let x = solve(n, f(a), k, f(c))
                .ok_or_else(|| RuntimeError::at(span, "singular matrix in `solve`"))?;
            out(c.shape.clone(), x)
        }
        Builtin::Inv => {
            let n = a.shape.first().copied().unwrap_or(0);
            let mut eye = vec![0.0; n * n];
            for i in 0..n {
                eye[i * n + i] = 1.0;
            }
            let x = solve(n, f(a), n, eye)
                .ok_or_else(|| RuntimeError::at(span, "singular matrix in `inv`"))?;
            out(vec![n, n], x)
        }
        Builtin::Det => {
            let n = a.shape.first().copied().unwrap_or(0);
            out(vec![], vec![det(n, f(a))])
        }
        Builtin::Cholesky => {
            let n = a.shape.first().copied().unwrap_or(0);
            let l = cholesky(n, &f(a)).ok_or_else(|| {
                RuntimeError::at(span, "matrix is not positive definite in `cholesky`")
            })?;
            out(vec![n, n], l)
        }
        Builtin::Cumsum | Builtin::Sort | Builtin::Argsort => {
            let data = match typed(a) {
                Typed::I64(xs) => one_axis(b, xs, Scalar::I64, span)?,
                Typed::F64(xs) => one_axis(b, xs, Scalar::F64, span)?,
                Typed::F32(xs) => one_axis(b, xs, Scalar::F32, span)?,
                Typed::Other => return Err(wrong()),
            };
            Ok(Value {
                shape: a.shape.clone(),
                data,
            })
        }
        Builtin::Cov => {
            let (v, o) = (a.shape[0], a.shape[1]);
            let mut data = vec![0.0; v * v];
            vector::cov(v, o, &f(a), &mut data);
            out(vec![v, v], data)
        }
        _ => Err(wrong()),
    }
}

/// `cumsum`, `sort` or `argsort` on one vector; `scalar` makes the dtype's scalars.
fn one_axis<T: vector::Numeric>(
    b: Builtin,
    xs: Vec<T>,
    scalar: fn(T) -> Scalar,
    span: TextRange,
) -> Result<Vec<Scalar>> {
    Ok(match b {
        Builtin::Cumsum => {
            let mut o = xs.clone();
            T::cumsum(&xs, &mut o).map_err(|()| overflow(span))?;
            o.into_iter().map(scalar).collect()
        }
        Builtin::Sort => {
            let mut o = xs.clone();
            vector::sort(&xs, &mut o);
            o.into_iter().map(scalar).collect()
        }
        _ => {
            let mut order = vec![0; xs.len()];
            vector::argsort(&xs, &mut order);
            order.into_iter().map(Scalar::I64).collect()
        }
    })
}

/// A value's elements in one numeric dtype (`Other` for booleans or mixed dtypes).
enum Typed {
    I64(Vec<i64>),
    F64(Vec<f64>),
    F32(Vec<f32>),
    Other,
}

fn typed(v: &Value) -> Typed {
    // Every element of the first element's dtype, or `Other`.
    macro_rules! all {
        ($variant:ident) => {
            v.data
                .iter()
                .map(|s| match s {
                    Scalar::$variant(x) => Some(*x),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map_or(Typed::Other, Typed::$variant)
        };
    }
    match v.data.first() {
        Some(Scalar::I64(_)) | None => all!(I64),
        Some(Scalar::F64(_)) => all!(F64),
        Some(Scalar::F32(_)) => all!(F32),
        Some(Scalar::Bool(_)) => Typed::Other,
    }
}

/// A 1-D left operand is a row vector, a 1-D right operand a column vector.
fn as_matrix(v: &Value, left: bool) -> (usize, usize) {
    match v.shape.as_slice() {
        [m, n] => (*m, *n),
        [k] if left => (1, *k),
        [k] => (*k, 1),
        _ => (1, 1),
    }
}

fn int_product(b: Builtin, a: &Value, c: &Value, span: TextRange) -> Result<Value> {
    let ints = |v: &Value| -> Vec<i64> {
        v.data
            .iter()
            .map(|s| if let Scalar::I64(i) = s { *i } else { 0 })
            .collect()
    };
    let (x, y) = (ints(a), ints(c));
    if b == Builtin::Outer {
        let mut data = Vec::new();
        for &p in &x {
            for &q in &y {
                data.push(Scalar::I64(p.checked_mul(q).ok_or_else(|| overflow(span))?));
            }
        }
        return Ok(Value {
            shape: vec![x.len(), y.len()],
            data,
        });
    }
    let (m, k) = as_matrix(a, true);
    let (_, n) = as_matrix(c, false);
    let mut data = Vec::new();
    for i in 0..m {
        for j in 0..n {
            let mut acc: i64 = 0;
            for l in 0..k {
                let p = x[i * k + l]
                    .checked_mul(y[l * n + j])
                    .ok_or_else(|| overflow(span))?;
                acc = acc.checked_add(p).ok_or_else(|| overflow(span))?;
            }
            data.push(Scalar::I64(acc));
        }
    }
    let mut shape = Vec::new();
    if a.shape.len() == 2 {
        shape.push(m);
    }
    if c.shape.len() == 2 {
        shape.push(n);
    }
    Ok(Value { shape, data })
}

/// Solves A X = B (A n x n, B n x k, row-major) by Gaussian elimination with partial
/// pivoting; None when a pivot is exactly zero.
fn solve(n: usize, mut a: Vec<f64>, k: usize, mut b: Vec<f64>) -> Option<Vec<f64>> {
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| {
            a[i * n + col]
                .abs()
                .partial_cmp(&a[j * n + col].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        })?;
        if a[pivot * n + col] == 0.0 || a[pivot * n + col].is_nan() {
            return None;
        }
        for j in 0..n {
            a.swap(col * n + j, pivot * n + j);
        }
        for j in 0..k {
            b.swap(col * k + j, pivot * k + j);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            for j in col..n {
                a[row * n + j] -= factor * a[col * n + j];
            }
            for j in 0..k {
                b[row * k + j] -= factor * b[col * k + j];
            }
        }
    }
    let mut x = vec![0.0; n * k];
    for j in 0..k {
        for row in (0..n).rev() {
            let mut s = b[row * k + j];
            for c in row + 1..n {
                s -= a[row * n + c] * x[c * k + j];
            }
            x[row * k + j] = s / a[row * n + row];
        }
    }
    Some(x)
}

/// Determinant by elimination with partial pivoting (0 for a singular matrix).
fn det(n: usize, mut a: Vec<f64>) -> f64 {
    let mut d = 1.0;
    for col in 0..n {
        let Some(pivot) = (col..n).max_by(|&i, &j| {
            a[i * n + col]
                .abs()
                .partial_cmp(&a[j * n + col].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        }) else {
            return 1.0;
        };
        if a[pivot * n + col] == 0.0 {
            return 0.0;
        }
        if pivot != col {
            for j in 0..n {
                a.swap(col * n + j, pivot * n + j);
            }
            d = -d;
        }
        d *= a[col * n + col];
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            for j in col..n {
                a[row * n + j] -= factor * a[col * n + j];
            }
        }
    }
    d
}

/// Lower-triangular L with L L^T = A (reads the lower triangle, as NumPy does); None
/// when A is not positive definite.
fn cholesky(n: usize, a: &[f64]) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                // Also rejects NaN.
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}
