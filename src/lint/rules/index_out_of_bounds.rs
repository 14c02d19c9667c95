//! OVT207 index-out-of-bounds: a literal index outside a known size, or more indices than
//! axes (NumPy raises IndexError).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Index],
        "NumPy raises IndexError here: valid indices on an axis of size n are -n..n-1",
    );
}
