//! OVT308 reshape-size-mismatch: a reshape whose target size differs from the array's size
//! (NumPy raises).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Reshape],
        "NumPy raises ValueError here: a reshape must keep the number of elements",
    );
}
