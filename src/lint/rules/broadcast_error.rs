//! OVT105 broadcast-error: operands whose shapes cannot broadcast (NumPy raises).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Broadcast],
        "NumPy raises ValueError here: aligned from the right, each pair of axes must be \
         equal or one of them 1",
    );
}
