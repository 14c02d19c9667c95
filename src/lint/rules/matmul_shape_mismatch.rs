//! OVT307 matmul-shape-mismatch: `@`, `matmul`, `dot`, `einsum`, `tensordot` and `linalg`
//! calls whose core or batch dimensions cannot match (NumPy raises).

use crate::lint::checker::Checker;
use crate::shapes::numpy::ShapeErrorKind;

pub(crate) fn check(checker: &mut Checker) {
    checker.report_shape_errors(
        &[ShapeErrorKind::Matmul, ShapeErrorKind::Linalg],
        "NumPy raises here: contracted dimensions must be equal and batch dimensions must \
         broadcast",
    );
}
