//! Lowers a checked program to a `Plan` for the fast executor. Positional values become
//! fresh index variables (a `:` on the left is a loop like any other); `matmul`/`dot`/
//! `outer` become sums of products (the executor sends those to matrix multiply);
//! mapped fixed-rank builtins become batched call steps; user functions are inlined with
//! the call's mapped variables prepended to every local array (vmap).

use std::collections::HashMap;

use ruff_text_size::TextRange;

use crate::overt::builtins::Builtin as B;
use crate::overt::program::{
    self as p, ArrayKind, CheckedProgram, ExprKind, FunctionId, IndexVarId, LhsSlot, Literal,
    RefSlot, SizeVarId,
};
use crate::overt::size::Size;

use super::plan::{
    ArrayId, ArrayInfo, BinaryOp, Builtin, CallArg, Expr, Plan, Slot, Step, StepKind, UnaryOp,
    VarId, VarInfo,
};
use super::tensor::Scalar;

/// A construct the fast executor does not run; callers fall back to the reference
/// evaluator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub message: String,
    pub range: TextRange,
}

type Lowered<T> = Result<T, Unsupported>;

fn unsupported<T>(range: TextRange, message: impl Into<String>) -> Lowered<T> {
    Err(Unsupported {
        message: message.into(),
        range,
    })
}

/// How a program array is addressed in the plan: the plan array, with some axes fixed
/// (a function's mapped variables, an argument's integer indices) and the rest filled,
/// in order, by the reference's own indices as `start + step * index`.
#[derive(Clone, Debug)]
struct Binding {
    array: ArrayId,
    slots: Vec<BSlot>,
}

#[derive(Clone, Debug)]
enum BSlot {
    Fixed(Expr),
    Hole { start: Size, step: Size },
}

fn whole() -> BSlot {
    BSlot::Hole {
        start: Size::Const(0),
        step: Size::Const(1),
    }
}

/// Names in effect while lowering one body: top level, or one inlined function call.
#[derive(Clone, Default)]
struct Scope {
    vars: HashMap<IndexVarId, VarId>,
    /// A function's size variables in the caller's terms.
    sizes: HashMap<SizeVarId, Size>,
    arrays: HashMap<p::ArrayId, Binding>,
}

pub fn lower(prog: &CheckedProgram) -> Result<Plan, Unsupported> {
    let mut l = Lowerer {
        prog,
        plan: Plan {
            sizes: prog.size_vars.iter().map(|s| s.name.clone()).collect(),
            vars: Vec::new(),
            arrays: Vec::new(),
            inputs: Vec::new(),
            steps: Vec::new(),
            outputs: Vec::new(),
        },
    };
    let mut scope = Scope::default();
    for (i, a) in prog.arrays.iter().enumerate() {
        if matches!(
            a.kind,
            ArrayKind::Input | ArrayKind::Defined { function: None }
        ) {
            let id = l.new_array(&a.name, a.dtype, a.shape.clone(), a.range);
            scope.arrays.insert(
                p::ArrayId(i),
                Binding {
                    array: id,
                    slots: a.shape.iter().map(|_| whole()).collect(),
                },
            );
        }
    }
    let plan_id = |scope: &Scope, id: p::ArrayId| scope.arrays.get(&id).map(|b| b.array);
    l.plan.inputs = prog
        .inputs
        .iter()
        .filter_map(|&a| plan_id(&scope, a))
        .collect();
    l.plan.outputs = prog
        .outputs
        .iter()
        .filter_map(|&a| plan_id(&scope, a))
        .collect();
    for def in &prog.definitions {
        let target = plan_id(&scope, def.array).ok_or_else(|| Unsupported {
            message: "definition of an unknown array".into(),
            range: def.range,
        })?;
        l.definition(def, &mut scope, &[], target)?;
    }
    Ok(l.plan)
}

struct Lowerer<'p> {
    prog: &'p CheckedProgram,
    plan: Plan,
}

impl Lowerer<'_> {
    fn new_array(
        &mut self,
        name: &str,
        dtype: super::tensor::Dtype,
        dims: Vec<Size>,
        span: TextRange,
    ) -> ArrayId {
        self.plan.arrays.push(ArrayInfo {
            name: name.to_string(),
            dtype,
            dims,
            span,
        });
        self.plan.arrays.len() - 1
    }

    fn new_var(&mut self, name: &str, extent: Size) -> VarId {
        self.plan.vars.push(VarInfo {
            name: name.to_string(),
            extent,
        });
        self.plan.vars.len() - 1
    }

    fn size(&self, scope: &Scope, s: &Size) -> Size {
        if scope.sizes.is_empty() {
            return s.clone();
        }
        s.substitute(&|v| scope.sizes.get(&v).cloned().unwrap_or(Size::Var(v)))
    }

    fn var(&mut self, scope: &mut Scope, v: IndexVarId) -> VarId {
        if let Some(&id) = scope.vars.get(&v) {
            return id;
        }
        let info = self.prog.index_var(v);
        let extent = self.size(scope, &info.domain);
        let id = self.new_var(&info.name, extent);
        scope.vars.insert(v, id);
        id
    }

    /// `array[prefix..., lhs] = value` as plan steps.
    fn definition(
        &mut self,
        def: &p::Definition,
        scope: &mut Scope,
        prefix: &[VarId],
        target: ArrayId,
    ) -> Lowered<()> {
        if let Some(()) = self.direct_call(def, scope, prefix, target)? {
            return Ok(());
        }
        if let ExprKind::Call {
            builtin: B::Nonzero,
            args,
            ..
        } = &def.value.kind
        {
            return self.nonzero(def, args, scope, prefix, target);
        }
        let mut lhs: Vec<Vec<VarId>> = prefix.iter().map(|&v| vec![v]).collect();
        let mut pos = Vec::new();
        let mut positional = def.value.shape.iter();
        for slot in &def.lhs {
            match slot {
                LhsSlot::Index(v) => lhs.push(vec![self.var(scope, *v)]),
                LhsSlot::Group(vs) => lhs.push(vs.iter().map(|&v| self.var(scope, v)).collect()),
                LhsSlot::NewAxis => lhs.push(Vec::new()),
                LhsSlot::Whole => {
                    let Some(extent) = positional.next() else {
                        return unsupported(def.range, "more `:` on the left than value axes");
                    };
                    let extent = self.size(scope, extent);
                    let v = self.new_var(":", extent);
                    pos.push(Expr::Var(v));
                    lhs.push(vec![v]);
                }
            }
        }
        let body = self.expr(&def.value, scope, &pos)?;
        self.plan.steps.push(Step {
            target,
            kind: StepKind::Map { lhs, body },
            span: def.range,
        });
        Ok(())
    }

    /// `idx[:, :] = nonzero(mask[...])` as a nonzero step over the whole mask (computed
    /// into an array of its own first unless it is one already).
    fn nonzero(
        &mut self,
        def: &p::Definition,
        args: &[p::Expr],
        scope: &mut Scope,
        prefix: &[VarId],
        target: ArrayId,
    ) -> Lowered<()> {
        let (Some(arg), [], Some(Size::Var(count))) = (
            args.first(),
            prefix,
            self.plan.arrays[target].dims.first().cloned(),
        ) else {
            return unsupported(def.range, "`nonzero` is only supported at top level");
        };
        let whole = self.call_arg(arg, scope, &[])?;
        let mask = if whole.slots.iter().all(|s| matches!(s, Slot::Whole)) {
            whole.array
        } else {
            self.materialise(arg, scope, &[])?.0
        };
        self.plan.steps.push(Step {
            target,
            kind: StepKind::Nonzero {
                mask,
                count: count.0,
            },
            span: def.range,
        });
        Ok(())
    }

    /// `y[b, :] = solve(A[b, :, :], x[b, :])`: a call step straight into the target when
    /// the left side is the mapped variables in order followed by the result's axes.
    fn direct_call(
        &mut self,
        def: &p::Definition,
        scope: &mut Scope,
        prefix: &[VarId],
        target: ArrayId,
    ) -> Lowered<Option<()>> {
        let ExprKind::Call {
            builtin,
            args,
            mapped_over,
        } = &def.value.kind
        else {
            return Ok(None);
        };
        if call_builtin(*builtin, args).is_none() {
            return Ok(None);
        }
        let mut expected: Vec<LhsSlot> = mapped_over.iter().map(|&v| LhsSlot::Index(v)).collect();
        expected.extend(def.value.shape.iter().map(|_| LhsSlot::Whole));
        if def.lhs != expected {
            return Ok(None);
        }
        let mut batch = prefix.to_vec();
        for &v in mapped_over {
            batch.push(self.var(scope, v));
        }
        let step = self.call_step(&def.value, scope, &batch, target)?;
        self.plan.steps.push(step);
        Ok(Some(()))
    }

    /// The call step computing `call` over `batch` into `target` (batch axes first).
    fn call_step(
        &mut self,
        call: &p::Expr,
        scope: &mut Scope,
        batch: &[VarId],
        target: ArrayId,
    ) -> Lowered<Step> {
        let ExprKind::Call { builtin, args, .. } = &call.kind else {
            return unsupported(call.range, "not a call");
        };
        let Some(kind) = call_builtin(*builtin, args) else {
            return unsupported(
                call.range,
                format!("`{}` is not supported by the fast executor", builtin.name()),
            );
        };
        let mut call_args = Vec::new();
        for arg in args {
            call_args.push(self.call_arg(arg, scope, batch)?);
        }
        Ok(Step {
            target,
            kind: StepKind::Call {
                batch: batch.to_vec(),
                builtin: kind,
                args: call_args,
            },
            span: call.range,
        })
    }

    /// A call argument as `array[indices..., :...]`, materialising it first when it is
    /// not a plain reference.
    fn call_arg(&mut self, arg: &p::Expr, scope: &mut Scope, batch: &[VarId]) -> Lowered<CallArg> {
        if let ExprKind::Ref { array, slots } = &arg.kind {
            if slots
                .iter()
                .all(|s| matches!(s, RefSlot::Index(_) | RefSlot::Whole))
            {
                if let Some(binding) = scope.arrays.get(array).cloned() {
                    if binding.slots.iter().all(|s| match s {
                        BSlot::Fixed(_) => true,
                        BSlot::Hole { start, step } => {
                            start == &Size::Const(0) && step == &Size::Const(1)
                        }
                    }) {
                        let mut out = Vec::new();
                        let mut own = slots.iter();
                        for b in &binding.slots {
                            match b {
                                BSlot::Fixed(e) => out.push(Slot::Index(e.clone())),
                                BSlot::Hole { .. } => match own.next() {
                                    Some(RefSlot::Index(e)) => {
                                        out.push(Slot::Index(self.expr(e, scope, &[])?))
                                    }
                                    Some(_) => out.push(Slot::Whole),
                                    None => {
                                        return unsupported(
                                            arg.range,
                                            "reference with too few indices",
                                        )
                                    }
                                },
                            }
                        }
                        return Ok(CallArg {
                            array: binding.array,
                            slots: out,
                            span: arg.range,
                        });
                    }
                }
            }
        }
        let (id, _) = self.materialise(arg, scope, batch)?;
        let mut slots: Vec<Slot> = batch.iter().map(|&v| Slot::Index(Expr::Var(v))).collect();
        slots.extend(arg.shape.iter().map(|_| Slot::Whole));
        Ok(CallArg {
            array: id,
            slots,
            span: arg.range,
        })
    }

    /// Computes `e` into a new array `T[batch..., positional...]`; returns it and its
    /// positional variables.
    fn materialise(
        &mut self,
        e: &p::Expr,
        scope: &mut Scope,
        batch: &[VarId],
    ) -> Lowered<(ArrayId, Vec<VarId>)> {
        let mut dims: Vec<Size> = batch
            .iter()
            .map(|&v| self.plan.vars[v].extent.clone())
            .collect();
        let mut lhs: Vec<Vec<VarId>> = batch.iter().map(|&v| vec![v]).collect();
        let mut pos_vars = Vec::new();
        for s in &e.shape {
            let extent = self.size(scope, s);
            dims.push(extent.clone());
            let v = self.new_var(":", extent);
            pos_vars.push(v);
            lhs.push(vec![v]);
        }
        let id = self.new_array(
            &format!(
                "value at {}..{}",
                u32::from(e.range.start()),
                u32::from(e.range.end())
            ),
            e.dtype,
            dims,
            e.range,
        );
        let pos: Vec<Expr> = pos_vars.iter().map(|&v| Expr::Var(v)).collect();
        let body = self.expr(e, scope, &pos)?;
        self.plan.steps.push(Step {
            target: id,
            kind: StepKind::Map { lhs, body },
            span: e.range,
        });
        Ok((id, pos_vars))
    }

    /// The element of `e` at positional indices `pos` (one per axis of `e.shape`).
    fn expr(&mut self, e: &p::Expr, scope: &mut Scope, pos: &[Expr]) -> Lowered<Expr> {
        if pos.len() != e.shape.len() {
            return unsupported(e.range, "internal: positional rank mismatch");
        }
        let span = e.range;
        let lowered = match &e.kind {
            ExprKind::Literal(lit) => Expr::Const(literal(lit, e.dtype)),
            ExprKind::IndexVar(v) => Expr::Var(self.var(scope, *v)),
            ExprKind::SizeVar(s) => Expr::Size(self.size(scope, &Size::Var(*s))),
            ExprKind::Ref { array, slots } => self.reference(*array, slots, scope, pos, span)?,
            ExprKind::Unary { op, operand } => Expr::Unary {
                op: match op {
                    p::UnaryOp::Neg => UnaryOp::Neg,
                    p::UnaryOp::Not => UnaryOp::Not,
                },
                arg: Box::new(self.expr(operand, scope, pos)?),
            },
            ExprKind::Binary { op, lhs, rhs } => Expr::Binary {
                op: binary_op(*op),
                lhs: Box::new(self.operand(lhs, scope, pos)?),
                rhs: Box::new(self.operand(rhs, scope, pos)?),
                span,
            },
            ExprKind::Cast { operand } => Expr::Cast {
                dtype: e.dtype,
                arg: Box::new(self.operand(operand, scope, pos)?),
            },
            ExprKind::Reduce { op, vars, body } => {
                let vars = vars.iter().map(|&v| self.var(scope, v)).collect();
                Expr::Reduce {
                    op: *op,
                    vars,
                    body: Box::new(self.expr(body, scope, pos)?),
                    span,
                }
            }
            ExprKind::Call {
                builtin,
                args,
                mapped_over,
            } => self.call(e, *builtin, args, mapped_over, scope, pos)?,
            ExprKind::CallFunction {
                function,
                args,
                mapped_over,
            } => self.inline(e, *function, args, mapped_over, scope, pos)?,
        };
        // The executor's arithmetic rules decide the dtype of what it computes; make any
        // difference from the checker's dtype an explicit conversion.
        if self.plan.dtype_of(&lowered) != e.dtype {
            return Ok(Expr::Cast {
                dtype: e.dtype,
                arg: Box::new(lowered),
            });
        }
        Ok(lowered)
    }

    /// An operand of an element-wise operation: rank 0 operands are used for every point.
    fn operand(&mut self, e: &p::Expr, scope: &mut Scope, pos: &[Expr]) -> Lowered<Expr> {
        if e.shape.is_empty() {
            self.expr(e, scope, &[])
        } else {
            self.expr(e, scope, pos)
        }
    }

    fn reference(
        &mut self,
        array: p::ArrayId,
        slots: &[RefSlot],
        scope: &mut Scope,
        pos: &[Expr],
        span: TextRange,
    ) -> Lowered<Expr> {
        let Some(binding) = scope.arrays.get(&array).cloned() else {
            return unsupported(
                span,
                format!("`{}` is not available here", self.prog.array(array).name),
            );
        };
        let mut own = Vec::new();
        let mut positional = pos.iter();
        for slot in slots {
            own.push(match slot {
                RefSlot::Index(e) => self.expr(e, scope, &[])?,
                RefSlot::Whole => positional
                    .next()
                    .cloned()
                    .unwrap_or(Expr::Const(Scalar::I64(0))),
                RefSlot::Slice { start, step, .. } => {
                    let x = positional
                        .next()
                        .cloned()
                        .unwrap_or(Expr::Const(Scalar::I64(0)));
                    affine(self.size(scope, start), self.size(scope, step), x, span)
                }
                RefSlot::Split(vs) => {
                    let mut acc: Option<Expr> = None;
                    for &v in vs {
                        let id = self.var(scope, v);
                        let var = Expr::Var(id);
                        acc = Some(match acc {
                            None => var,
                            Some(a) => Expr::Binary {
                                op: BinaryOp::Add,
                                lhs: Box::new(Expr::Binary {
                                    op: BinaryOp::Mul,
                                    lhs: Box::new(a),
                                    rhs: Box::new(Expr::Size(self.plan.vars[id].extent.clone())),
                                    span,
                                }),
                                rhs: Box::new(var),
                                span,
                            },
                        });
                    }
                    acc.unwrap_or(Expr::Const(Scalar::I64(0)))
                }
            });
        }
        let mut own = own.into_iter();
        let mut index = Vec::new();
        for b in &binding.slots {
            index.push(match b {
                BSlot::Fixed(e) => e.clone(),
                BSlot::Hole { start, step } => {
                    let x = own.next().unwrap_or(Expr::Const(Scalar::I64(0)));
                    if start == &Size::Const(0) && step == &Size::Const(1) {
                        x
                    } else {
                        affine(start.clone(), step.clone(), x, span)
                    }
                }
            });
        }
        Ok(Expr::Load {
            array: binding.array,
            index,
            span,
        })
    }

    fn call(
        &mut self,
        e: &p::Expr,
        builtin: B,
        args: &[p::Expr],
        mapped_over: &[IndexVarId],
        scope: &mut Scope,
        pos: &[Expr],
    ) -> Lowered<Expr> {
        let span = e.range;
        let arg = |l: &mut Self, scope: &mut Scope, k: usize, pos: &[Expr]| -> Lowered<Expr> {
            match args.get(k) {
                Some(a) => l.operand(a, scope, pos),
                None => unsupported(span, "missing argument"),
            }
        };
        let unary = |op: UnaryOp, l: &mut Self, scope: &mut Scope| -> Lowered<Expr> {
            Ok(Expr::Unary {
                op,
                arg: Box::new(arg(l, scope, 0, pos)?),
            })
        };
        Ok(match builtin {
            B::Exp => unary(UnaryOp::Exp, self, scope)?,
            B::Log => unary(UnaryOp::Log, self, scope)?,
            B::Log1p => unary(UnaryOp::Log1p, self, scope)?,
            B::Expm1 => unary(UnaryOp::Expm1, self, scope)?,
            B::Sqrt => unary(UnaryOp::Sqrt, self, scope)?,
            B::Sin => unary(UnaryOp::Sin, self, scope)?,
            B::Cos => unary(UnaryOp::Cos, self, scope)?,
            B::Tan => unary(UnaryOp::Tan, self, scope)?,
            B::Tanh => unary(UnaryOp::Tanh, self, scope)?,
            B::Floor => unary(UnaryOp::Floor, self, scope)?,
            B::Ceil => unary(UnaryOp::Ceil, self, scope)?,
            B::Abs => unary(UnaryOp::Abs, self, scope)?,
            B::Sign => unary(UnaryOp::Sign, self, scope)?,
            B::Isnan => unary(UnaryOp::IsNan, self, scope)?,
            B::Isfinite => unary(UnaryOp::IsFinite, self, scope)?,
            B::Maximum | B::Minimum => Expr::Binary {
                op: if builtin == B::Maximum {
                    BinaryOp::Maximum
                } else {
                    BinaryOp::Minimum
                },
                lhs: Box::new(arg(self, scope, 0, pos)?),
                rhs: Box::new(arg(self, scope, 1, pos)?),
                span,
            },
            B::Where => Expr::Where {
                cond: Box::new(arg(self, scope, 0, pos)?),
                then: Box::new(arg(self, scope, 1, pos)?),
                otherwise: Box::new(arg(self, scope, 2, pos)?),
            },
            B::Matmul | B::Dot | B::Outer => {
                let (a, b) = match (args.first(), args.get(1)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return unsupported(span, "matmul takes two arguments"),
                };
                if builtin == B::Outer {
                    let x = self.expr(a, scope, &pos[..1])?;
                    let y = self.expr(b, scope, &pos[1..])?;
                    return Ok(mul(x, y, span));
                }
                let k_extent = self.size(scope, a.shape.last().unwrap_or(&Size::Const(1)));
                let k = self.new_var("k", k_extent);
                let kx = Expr::Var(k);
                // Positional indices of each operand: [m, k] x [k, n] with 1-D operands
                // dropping their m or n.
                let (pa, pb): (Vec<Expr>, Vec<Expr>) = match (a.shape.len(), b.shape.len()) {
                    (2, 2) => (vec![pos[0].clone(), kx.clone()], vec![kx, pos[1].clone()]),
                    (2, 1) => (vec![pos[0].clone(), kx.clone()], vec![kx]),
                    (1, 2) => (vec![kx.clone()], vec![kx, pos[0].clone()]),
                    _ => (vec![kx.clone()], vec![kx]),
                };
                let x = self.expr(a, scope, &pa)?;
                let y = self.expr(b, scope, &pb)?;
                Expr::Reduce {
                    op: p::ReduceOp::Sum,
                    vars: vec![k],
                    body: Box::new(mul(x, y, span)),
                    span,
                }
            }
            B::Solve
            | B::Inv
            | B::Det
            | B::Cholesky
            | B::Cumsum
            | B::Sort
            | B::Argsort
            | B::Cov => {
                let mut batch = Vec::new();
                for &v in mapped_over {
                    batch.push(self.var(scope, v));
                }
                let mut dims: Vec<Size> = batch
                    .iter()
                    .map(|&v| self.plan.vars[v].extent.clone())
                    .collect();
                dims.extend(e.shape.iter().map(|s| self.size(scope, s)));
                let id = self.new_array(
                    &format!(
                        "{} at {}..{}",
                        builtin.name(),
                        u32::from(span.start()),
                        u32::from(span.end())
                    ),
                    e.dtype,
                    dims,
                    span,
                );
                let step = self.call_step(e, scope, &batch, id)?;
                self.plan.steps.push(step);
                let mut index: Vec<Expr> = batch.iter().map(|&v| Expr::Var(v)).collect();
                index.extend(pos.iter().cloned());
                Expr::Load {
                    array: id,
                    index,
                    span,
                }
            }
            B::Nonzero => {
                return unsupported(
                    span,
                    format!("`{}` is not supported by the fast executor", builtin.name()),
                )
            }
        })
    }

    /// Inlines a mapped call of a user function: its locals gain the mapped variables as
    /// leading axes, its parameters read the arguments, its sizes are the arguments' sizes.
    fn inline(
        &mut self,
        e: &p::Expr,
        function: FunctionId,
        args: &[p::Expr],
        mapped_over: &[IndexVarId],
        scope: &mut Scope,
        pos: &[Expr],
    ) -> Lowered<Expr> {
        let span = e.range;
        let f = self.prog.function(function);
        let mut batch = Vec::new();
        for &v in mapped_over {
            batch.push(self.var(scope, v));
        }
        let mut inner = Scope::default();
        // Size variables from the parameters' shapes.
        for (param, arg) in f.params.iter().zip(args) {
            for (dim, actual) in self.prog.array(*param).shape.iter().zip(&arg.shape) {
                let actual = self.size(scope, actual);
                match dim {
                    Size::Var(s) => {
                        inner.sizes.entry(*s).or_insert(actual);
                    }
                    Size::Const(_) => {}
                    _ => {
                        let vars = dim.vars();
                        if vars.iter().any(|v| !inner.sizes.contains_key(v)) {
                            return unsupported(
                                arg.range,
                                "parameter size expressions the call must solve for",
                            );
                        }
                    }
                }
            }
        }
        for (param, arg) in f.params.iter().zip(args) {
            let binding = self.param_binding(arg, scope, &batch)?;
            inner.arrays.insert(*param, binding);
        }
        for (i, a) in self.prog.arrays.iter().enumerate() {
            if a.kind
                == (ArrayKind::Defined {
                    function: Some(function),
                })
            {
                let mut dims: Vec<Size> = batch
                    .iter()
                    .map(|&v| self.plan.vars[v].extent.clone())
                    .collect();
                dims.extend(a.shape.iter().map(|s| self.size(&inner, s)));
                let rank = a.shape.len();
                let id = self.new_array(&format!("{}.{}", f.name, a.name), a.dtype, dims, a.range);
                let mut slots: Vec<BSlot> =
                    batch.iter().map(|&v| BSlot::Fixed(Expr::Var(v))).collect();
                slots.extend((0..rank).map(|_| whole()));
                inner
                    .arrays
                    .insert(p::ArrayId(i), Binding { array: id, slots });
            }
        }
        for def in &f.definitions {
            let Some(target) = inner.arrays.get(&def.array).map(|b| b.array) else {
                return unsupported(def.range, "definition of an unknown array");
            };
            self.definition(def, &mut inner, &batch, target)?;
        }
        let rank = self.prog.array(f.result).shape.len();
        let own: Vec<RefSlot> = (0..rank).map(|_| RefSlot::Whole).collect();
        self.reference(f.result, &own, &mut inner, pos, span)
    }

    /// How a function parameter reads its argument.
    fn param_binding(
        &mut self,
        arg: &p::Expr,
        scope: &mut Scope,
        batch: &[VarId],
    ) -> Lowered<Binding> {
        if let ExprKind::Ref { array, slots } = &arg.kind {
            if let Some(outer) = scope.arrays.get(array).cloned() {
                let plain = slots.iter().all(|s| !matches!(s, RefSlot::Split(_)));
                let holes_plain = outer.slots.iter().all(|s| match s {
                    BSlot::Fixed(_) => true,
                    BSlot::Hole { start, step } => {
                        start == &Size::Const(0) && step == &Size::Const(1)
                    }
                });
                if plain && holes_plain {
                    let mut own = slots.iter();
                    let mut out = Vec::new();
                    for b in &outer.slots {
                        out.push(match b {
                            BSlot::Fixed(e) => BSlot::Fixed(e.clone()),
                            BSlot::Hole { .. } => match own.next() {
                                Some(RefSlot::Index(e)) => {
                                    BSlot::Fixed(self.expr(e, scope, &[])?)
                                }
                                Some(RefSlot::Slice { start, step, .. }) => BSlot::Hole {
                                    start: self.size(scope, start),
                                    step: self.size(scope, step),
                                },
                                _ => whole(),
                            },
                        });
                    }
                    return Ok(Binding {
                        array: outer.array,
                        slots: out,
                    });
                }
            }
        }
        let (id, pos_vars) = self.materialise(arg, scope, batch)?;
        let mut slots: Vec<BSlot> = batch.iter().map(|&v| BSlot::Fixed(Expr::Var(v))).collect();
        slots.extend(pos_vars.iter().map(|_| whole()));
        Ok(Binding { array: id, slots })
    }
}

/// The plan builtin for a mapped fixed-rank call, if it runs as a call step.
fn call_builtin(b: B, args: &[p::Expr]) -> Option<Builtin> {
    Some(match b {
        B::Solve if args.get(1).is_some_and(|a| a.shape.len() == 1) => Builtin::SolveVec,
        B::Solve => Builtin::SolveMat,
        B::Inv => Builtin::Inv,
        B::Det => Builtin::Det,
        B::Cholesky => Builtin::Cholesky,
        B::Cumsum => Builtin::Cumsum,
        B::Sort => Builtin::Sort,
        B::Argsort => Builtin::Argsort,
        B::Cov => Builtin::Cov,
        _ => return None,
    })
}

fn literal(lit: &Literal, dtype: super::tensor::Dtype) -> Scalar {
    use super::tensor::Dtype as D;
    let s = match lit {
        Literal::Bool(b) => Scalar::Bool(*b),
        Literal::Int(i) => Scalar::I64(*i),
        Literal::Float(x) => Scalar::F64(*x),
    };
    match (s, dtype) {
        (Scalar::I64(i), D::F64) => Scalar::F64(i as f64),
        (Scalar::I64(i), D::F32) => Scalar::F32(i as f32),
        (Scalar::F64(x), D::F32) => Scalar::F32(x as f32),
        (s, _) => s,
    }
}

fn binary_op(op: p::BinaryOp) -> BinaryOp {
    use p::BinaryOp as O;
    match op {
        O::Add => BinaryOp::Add,
        O::Sub => BinaryOp::Sub,
        O::Mul => BinaryOp::Mul,
        O::Div => BinaryOp::Div,
        O::FloorDiv => BinaryOp::FloorDiv,
        O::Mod => BinaryOp::Mod,
        O::Pow => BinaryOp::Pow,
        O::Eq => BinaryOp::Eq,
        O::Ne => BinaryOp::Ne,
        O::Lt => BinaryOp::Lt,
        O::Le => BinaryOp::Le,
        O::Gt => BinaryOp::Gt,
        O::Ge => BinaryOp::Ge,
        O::And => BinaryOp::And,
        O::Or => BinaryOp::Or,
    }
}

fn mul(x: Expr, y: Expr, span: TextRange) -> Expr {
    Expr::Binary {
        op: BinaryOp::Mul,
        lhs: Box::new(x),
        rhs: Box::new(y),
        span,
    }
}

/// `start + step * x`.
fn affine(start: Size, step: Size, x: Expr, span: TextRange) -> Expr {
    let scaled = if step == Size::Const(1) {
        x
    } else {
        mul(Expr::Size(step), x, span)
    };
    if start == Size::Const(0) {
        scaled
    } else {
        Expr::Binary {
            op: BinaryOp::Add,
            lhs: Box::new(Expr::Size(start)),
            rhs: Box::new(scaled),
            span,
        }
    }
}
