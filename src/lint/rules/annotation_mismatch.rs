//! OVT901 annotation-mismatch: an inferred shape contradicts a jaxtyping annotation, a shape
//! assert or a guard.

use crate::lint::checker::Checker;
use crate::shapes::Finding;

pub(crate) fn check(checker: &mut Checker) {
    let analysis = checker.analysis;
    for finding in &analysis.findings {
        if let Finding::AnnotationMismatch { range, message, .. } = finding {
            checker.report(*range, message.clone()).help = Some(
                "the declared shape and the computed one cannot both hold: correct the one \
                 that is wrong"
                    .to_string(),
            );
        }
    }
}
