//! OVT901 annotation-mismatch: an inferred shape contradicts a jaxtyping annotation, a shape
//! assert or a guard.

use crate::lint::checker::Checker;
use crate::shapes::Finding;

pub(crate) fn check(checker: &mut Checker) {
    let analysis = checker.analysis;
    for finding in &analysis.findings {
        if let Finding::AnnotationMismatch {
            range,
            expected,
            inferred,
            message,
        } = finding
        {
            checker.report(range.to_owned(), message.clone()).help = Some(format!(
                "the annotation or assert says {expected}, the code computes {inferred}"
            ));
        }
    }
}
