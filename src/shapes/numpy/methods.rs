//! Array attributes (`.shape .ndim .size .dtype .T .mT .real .imag`) and methods. Most
//! methods are the function of the same name with the array as first argument.

use super::args::{dtype_of, Args};
use super::broadcast::product;
use super::construct::RandomApi;
use super::manip;
use super::promote::{kind, ufunc_dtype, Kind, UfuncDtype};
use super::table::{apply, lookup, FUNCTIONS, GENERATOR_METHODS};
use super::{Ctx, Kwargs, Outcome};
use crate::shapes::dim::DimExpr;
use crate::shapes::value::{ArrayValue, Value};

/// Array methods that are `np.<function>(array, ...)`.
static AS_FUNCTION: &[(&str, &str)] = &[
    ("sum", "sum"),
    ("prod", "prod"),
    ("mean", "mean"),
    ("std", "std"),
    ("var", "var"),
    ("max", "max"),
    ("min", "min"),
    ("argmax", "argmax"),
    ("argmin", "argmin"),
    ("any", "any"),
    ("all", "all"),
    ("cumsum", "cumsum"),
    ("cumprod", "cumprod"),
    ("round", "round"),
    ("clip", "clip"),
    ("argsort", "argsort"),
    ("nonzero", "nonzero"),
    ("squeeze", "squeeze"),
    ("swapaxes", "swapaxes"),
    ("repeat", "repeat"),
    ("dot", "dot"),
    ("conj", "conj"),
    ("conjugate", "conjugate"),
    ("ravel", "ravel"),
    ("flatten", "ravel"),
    ("diagonal", "diagonal"),
    ("trace", "trace"),
];

pub(crate) fn method(
    ctx: &mut Ctx,
    recv: &Value,
    name: &str,
    args: &[Value],
    kwargs: &Kwargs,
) -> Outcome {
    let a = match recv {
        Value::RandomGenerator => {
            return match lookup(GENERATOR_METHODS, name) {
                Some(rule) => apply(ctx, rule, &Args::new(args, kwargs), RandomApi::Generator),
                None => Outcome::unknown(),
            };
        }
        Value::Array(a) => a,
        _ => return Outcome::unknown(),
    };
    // Several methods take sizes/axes as separate arguments: `a.reshape(2, 3)`.
    let varargs = || match args {
        [one] => one.clone(),
        many => Value::Tuple(many.to_vec()),
    };
    match name {
        "reshape" if !args.is_empty() => manip::reshape(ctx, a, &varargs()),
        "transpose" if args.is_empty() => manip::transpose(a, None),
        "transpose" => manip::transpose(a, Some(&varargs())),
        "astype" => match args
            .first()
            .or(kwargs.iter().find(|(k, _)| *k == "dtype").map(|(_, v)| v))
        {
            Some(d) => manip::with_dtype(a, dtype_of(d)),
            None => Outcome::unknown(),
        },
        "copy" | "view" if args.is_empty() => manip::with_dtype(a, a.dtype),
        "item" => Outcome::value(match a.dtype.map(kind) {
            Some(Kind::Int) => Value::Int(None),
            Some(Kind::Float) => Value::Float(None),
            Some(Kind::Complex) => Value::Complex,
            Some(Kind::Bool) => Value::Bool(None),
            None => Value::Unknown,
        }),
        "sort" | "fill" | "resize" | "put" | "partition" => Outcome::value(Value::None),
        _ => {
            let Some(path) = AS_FUNCTION
                .iter()
                .find(|(m, _)| *m == name)
                .map(|(_, f)| *f)
            else {
                return Outcome::unknown();
            };
            let Some(rule) = lookup(FUNCTIONS, path) else {
                return Outcome::unknown();
            };
            let mut all = Vec::with_capacity(args.len() + 1);
            all.push(recv.clone());
            all.extend(args.iter().cloned());
            apply(ctx, rule, &Args::new(&all, kwargs), RandomApi::Legacy)
        }
    }
}

pub(crate) fn attribute(_ctx: &mut Ctx, a: &ArrayValue, name: &str) -> Outcome {
    let dims = a.shape.dims();
    match name {
        "shape" => match dims {
            Some(d) => Outcome::value(Value::Tuple(
                d.iter().map(|d| Value::Int(d.expr().cloned())).collect(),
            )),
            None => Outcome::unknown(),
        },
        "ndim" => Outcome::value(Value::Int(dims.map(|d| DimExpr::lit(d.len() as i64)))),
        "size" => Outcome::value(Value::Int(dims.and_then(product))),
        "dtype" => match a.dtype {
            Some(d) => Outcome::value(Value::DtypeObj(d)),
            None => Outcome::unknown(),
        },
        "itemsize" | "nbytes" => Outcome::value(Value::Int(None)),
        "T" => manip::transpose(a, None),
        "mT" => manip::matrix_transpose(a),
        "real" | "imag" => Outcome::value(Value::Array(ArrayValue {
            shape: a.shape.clone(),
            dtype: a.dtype.map(|d| ufunc_dtype(UfuncDtype::Real, d)),
            is_scalar: a.is_scalar,
        })),
        "flat" | "base" | "ctypes" | "data" | "strides" | "flags" => Outcome::unknown(),
        _ => Outcome::unknown(),
    }
}
