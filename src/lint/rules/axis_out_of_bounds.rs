//! OVT208 axis-out-of-bounds: an `axis=` argument outside the array's rank, or repeated
//! (NumPy raises AxisError).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Axis],
        "NumPy raises AxisError here: valid axes of an array of dimension d are -d..d-1",
    );
}
