//! Elementwise operations: operators, comparisons, ufuncs, `where`, `clip`. Shape is the
//! broadcast of the operands; dtype is their promotion (weak Python scalars) passed
//! through the function's dtype rule.

use super::args::{python_kind, to_array};
use super::broadcast::broadcast_shapes;
use super::promote::{result_type, ufunc_dtype, DtypeOperand, UfuncDtype};
use super::{BinOp, Ctx, Outcome, ShapeError, ShapeErrorKind, UnaryOp};
use crate::shapes::dtype::Dtype;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

/// An operand of an elementwise operation.
pub(crate) struct Operand {
    pub(crate) shape: Shape,
    pub(crate) dtype: DtypeOperand,
}

pub(crate) fn operand(v: &Value) -> Option<Operand> {
    if let Some(k) = python_kind(v) {
        return Some(Operand {
            shape: Shape::scalar(),
            dtype: DtypeOperand::Weak(k),
        });
    }
    let a = to_array(v)?;
    Some(Operand {
        shape: a.shape,
        dtype: DtypeOperand::Strong(a.dtype),
    })
}

/// The result of an elementwise function of `values`: broadcast shape, promoted dtype.
/// A 0-d result is a NumPy scalar, as NumPy's ufuncs return.
pub(crate) fn elementwise(ctx: &mut Ctx, values: &[&Value], rule: UfuncDtype) -> Outcome {
    let mut ops = Vec::with_capacity(values.len());
    for v in values {
        match operand(v) {
            Some(op) => ops.push(op),
            None => return unknown_array(),
        }
    }
    let shapes: Vec<&Shape> = ops.iter().map(|o| &o.shape).collect();
    let shape = match broadcast_shapes(ctx.facts, &shapes) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    let dtypes: Vec<DtypeOperand> = ops.iter().map(|o| o.dtype).collect();
    let dtype = result_type(&dtypes).map(|d| ufunc_dtype(rule, d));
    Outcome::value(Value::Array(array_or_scalar(shape, dtype)))
}

/// A NumPy scalar when the shape is `()`, else an array.
pub(crate) fn array_or_scalar(shape: Shape, dtype: Option<Dtype>) -> ArrayValue {
    let is_scalar = shape.rank() == Some(0);
    ArrayValue {
        shape,
        dtype,
        is_scalar,
    }
}

pub(crate) fn unknown_array() -> Outcome {
    Outcome::value(Value::Array(ArrayValue::unknown()))
}

pub(crate) fn error(e: ShapeError) -> Outcome {
    Outcome {
        value: Value::Unknown,
        error: Some(e),
    }
}

/// True when the operation involves an ndarray or NumPy scalar (otherwise it is plain
/// Python, e.g. list concatenation, and not ours to model).
fn involves_array(values: &[&Value]) -> bool {
    values.iter().any(|v| matches!(v, Value::Array(_)))
}

pub(crate) fn binary(ctx: &mut Ctx, op: BinOp, lhs: &Value, rhs: &Value) -> Outcome {
    if !involves_array(&[lhs, rhs]) {
        return Outcome::unknown();
    }
    // `np.int64(2) * [1, 2]` is Python's list repetition, not NumPy arithmetic.
    let scalar_with_list = |a: &Value, b: &Value| {
        matches!(a, Value::Array(x) if x.is_scalar) && matches!(b, Value::List(_))
    };
    if scalar_with_list(lhs, rhs) || scalar_with_list(rhs, lhs) {
        return Outcome::unknown();
    }
    let rule = match op {
        BinOp::MatMul => return super::products::matmul(ctx, lhs, rhs),
        BinOp::Add | BinOp::Mul | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => UfuncDtype::Same,
        BinOp::Sub => UfuncDtype::Same,
        BinOp::Div => UfuncDtype::TrueDiv,
        BinOp::FloorDiv | BinOp::Mod | BinOp::Pow | BinOp::LShift | BinOp::RShift => {
            UfuncDtype::BoolToInt8
        }
    };
    // True division converts to float first, so any int fits there.
    if ctx.version == super::NumpyVersion::V2 && op != BinOp::Div {
        if let Some(e) = weak_int_overflow(lhs, rhs).or_else(|| weak_int_overflow(rhs, lhs)) {
            return error(e);
        }
    }
    let out = elementwise(ctx, &[lhs, rhs], rule);
    if op == BinOp::Sub && out_dtype(&out) == Some(Dtype::Bool) {
        return error(ShapeError {
            kind: ShapeErrorKind::Other,
            message: "numpy boolean subtract, the `-` operator, is not supported, use the \
                      bitwise_xor, the `^` operator, or the logical_xor function instead."
                .into(),
        });
    }
    out
}

/// NEP 50: a Python int operand takes the integer array's dtype, so a literal that does
/// not fit raises (`uint8_array + (-1)`, `int8_array + 300`).
fn weak_int_overflow(array: &Value, int: &Value) -> Option<ShapeError> {
    let (Value::Array(a), Value::Int(Some(e))) = (array, int) else {
        return None;
    };
    let (d, v) = (a.dtype?, e.as_lit()?);
    let (lo, hi): (i128, i128) = match d {
        Dtype::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Dtype::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Dtype::Int32 => (i32::MIN.into(), i32::MAX.into()),
        Dtype::Int64 => (i64::MIN.into(), i64::MAX.into()),
        Dtype::UInt8 => (0, u8::MAX.into()),
        Dtype::UInt16 => (0, u16::MAX.into()),
        Dtype::UInt32 => (0, u32::MAX.into()),
        Dtype::UInt64 => (0, u64::MAX.into()),
        _ => return None,
    };
    let v = i128::from(v);
    (v < lo || v > hi).then(|| ShapeError {
        kind: ShapeErrorKind::Other,
        message: format!("Python integer {v} out of bounds for {d}"),
    })
}

fn out_dtype(o: &Outcome) -> Option<Dtype> {
    o.value.as_array().and_then(|a| a.dtype)
}

pub(crate) fn unary(ctx: &mut Ctx, op: UnaryOp, v: &Value) -> Outcome {
    let Value::Array(a) = v else {
        return Outcome::unknown();
    };
    match op {
        UnaryOp::Not => truth_value(a),
        UnaryOp::Neg if a.dtype == Some(Dtype::Bool) => error(ShapeError {
            kind: ShapeErrorKind::Other,
            message: "The numpy boolean negative, the `-` operator, is not supported, use \
                      the `~` operator or the logical_not function instead."
                .into(),
        }),
        UnaryOp::Neg | UnaryOp::Pos | UnaryOp::Invert => elementwise(ctx, &[v], UfuncDtype::Same),
    }
}

/// `not a` / `bool(a)`: a Python bool; arrays of more than one element raise.
pub(crate) fn truth_value(a: &ArrayValue) -> Outcome {
    let size = a
        .shape
        .dims()
        .and_then(|d| d.iter().map(|d| d.as_lit()).product::<Option<i64>>());
    if size.is_some_and(|n| n > 1) {
        return Outcome {
            value: Value::Bool(None),
            error: Some(ShapeError {
                kind: ShapeErrorKind::Other,
                message: "The truth value of an array with more than one element is \
                          ambiguous. Use a.any() or a.all()"
                    .into(),
            }),
        };
    }
    Outcome::value(Value::Bool(None))
}

pub(crate) fn compare(ctx: &mut Ctx, lhs: &Value, rhs: &Value) -> Outcome {
    if !involves_array(&[lhs, rhs]) {
        return Outcome::unknown();
    }
    elementwise(ctx, &[lhs, rhs], UfuncDtype::Bool)
}
