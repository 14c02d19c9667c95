//! OVT100 invalid-array-operation: any other operation NumPy rejects for these shapes or
//! dtypes (boolean subtraction, the truth value of a multi-element array, negative sizes).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Other],
        "NumPy raises here at run time for these shapes or dtypes",
    );
}
