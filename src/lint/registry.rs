//! The rule registry: one table mapping codes to checks. A rule's name, severity and docs are
//! data in `rules/<code>.toml`; its check lives in `src/lint/rules/<name>.rs`. A rule of the
//! catalogue with no row here is documented but not implemented (`status = "planned"`).

use super::checker::Checker;
use super::rules;

pub struct Rule {
    pub code: &'static str,
    pub(crate) check: fn(&mut Checker),
}

/// Every implemented rule, ordered by code.
pub const RULES: &[Rule] = &[
    Rule {
        code: "OVT100",
        check: rules::invalid_array_operation::check,
    },
    Rule {
        code: "OVT105",
        check: rules::broadcast_error::check,
    },
    Rule {
        code: "OVT207",
        check: rules::index_out_of_bounds::check,
    },
    Rule {
        code: "OVT208",
        check: rules::axis_out_of_bounds::check,
    },
    Rule {
        code: "OVT307",
        check: rules::matmul_shape_mismatch::check,
    },
    Rule {
        code: "OVT308",
        check: rules::reshape_size_mismatch::check,
    },
    Rule {
        code: "OVT901",
        check: rules::annotation_mismatch::check,
    },
];
