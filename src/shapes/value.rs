//! Abstract values: what the shape engine knows about a Python value at one point.

use super::dim::DimExpr;
use super::dtype::Dtype;
use super::shape::Shape;

/// A NumPy array (or NumPy scalar) as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArrayValue {
    pub shape: Shape,
    /// `None` when the dtype is unknown.
    pub dtype: Option<Dtype>,
    /// True for NumPy scalars (`np.float64`, results of full reductions); these have shape `[]`.
    pub is_scalar: bool,
}

impl ArrayValue {
    pub fn new(shape: Shape, dtype: Option<Dtype>) -> Self {
        ArrayValue {
            shape,
            dtype,
            is_scalar: false,
        }
    }
    pub fn scalar(dtype: Option<Dtype>) -> Self {
        ArrayValue {
            shape: Shape::scalar(),
            dtype,
            is_scalar: true,
        }
    }
    pub fn unknown() -> Self {
        ArrayValue::new(Shape::Unranked, None)
    }
}

/// A Python value as the engine models it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Array(ArrayValue),
    /// A Python `int`; the expression when it is known (literally or symbolically).
    Int(Option<DimExpr>),
    /// A Python `float`; its value when it is a literal or folded from literals.
    Float(Option<PyFloat>),
    Complex,
    Bool(Option<bool>),
    Str(String),
    None,
    Ellipsis,
    /// A slice `lo:hi:step`; each part is `None` when omitted, `Some(Value)` otherwise.
    Slice(Box<[Option<Value>; 3]>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A NumPy dtype object or a type usable as one (`np.float32`, `float`).
    DtypeObj(Dtype),
    /// A reference to a NumPy module or function, by its canonical dotted path under
    /// `numpy` (`""` is `numpy` itself, `"linalg.solve"`).
    NumpyRef(String),
    /// A `np.random.Generator` (from `np.random.default_rng`).
    RandomGenerator,
    /// A function or class defined in the analysed module, or an instance of such a class.
    /// Only the inference walker gives these meaning; the NumPy model treats them as unknown.
    Local(Local),
    /// Anything else, or not known.
    Unknown,
}

/// A Python float's value, compared bit for bit so that values stay `Eq` (a `nan` equals
/// itself; `0.0` and `-0.0` differ, as their arithmetic may).
#[derive(Debug, Clone, Copy)]
pub struct PyFloat(pub f64);

impl PartialEq for PyFloat {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for PyFloat {}

impl std::hash::Hash for PyFloat {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl PyFloat {
    /// A Python int as a float, when the conversion is exact (`|x| <= 2**53`): there
    /// Python's correctly rounded int arithmetic and float arithmetic agree.
    pub fn from_exact_int(x: i64) -> Option<f64> {
        const EXACT: i64 = 1 << 53;
        (-EXACT..=EXACT).contains(&x).then_some(x as f64)
    }
}

/// Module-local callables and objects, by the walker's ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Local {
    Function(u32),
    Class(u32),
    /// An instance with the attributes its `__init__` assigned (`self.w = ...`), by name.
    Instance {
        class: u32,
        attrs: Vec<(String, Value)>,
    },
    /// A method bound to an instance (`model.predict`).
    BoundMethod {
        function: u32,
        recv: Box<Value>,
    },
    /// A function of another module that has a summary (`from .utils import center`).
    External {
        module: String,
        function: String,
    },
    /// Another module (or package) of the checked tree (`import pkg.utils as u`).
    Module(String),
}

impl Value {
    pub fn as_array(&self) -> Option<&ArrayValue> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}
