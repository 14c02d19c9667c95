//! Overt's element types (`bool i64 f32 f64`): the dtypes a program declares and the
//! runtime stores. Defined here, below the runtime, so both layers share one enum.

use std::fmt;

/// Element type of an Overt array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    Bool,
    I64,
    F32,
    F64,
}

impl Dtype {
    pub const ALL: [Dtype; 4] = [Dtype::Bool, Dtype::I64, Dtype::F32, Dtype::F64];

    /// The Overt spelling (`f64`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::I64 => "i64",
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }

    /// The NumPy spelling (`float64`), for messages aimed at NumPy users.
    pub fn numpy_name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::I64 => "int64",
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
        }
    }

    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Bytes per element in memory and in .npy files.
    pub fn item_size(self) -> usize {
        match self {
            Dtype::Bool => 1,
            Dtype::F32 => 4,
            Dtype::I64 | Dtype::F64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F64)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
