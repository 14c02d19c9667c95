//! The canonical text of an Overt program: one item per line, four-space `def` bodies,
//! single spaces around binary operators, minimal parentheses, a blank line around each
//! `def` and before `output`. `overt fmt` and the translator both print through here.

use ruff_text_size::TextSize;

use super::ast::*;

/// One output line and the source position of the node it prints.
struct Line {
    start: TextSize,
    indent: bool,
    text: String,
    /// The canonical layout wants a blank line before this one.
    blank_before: bool,
}

/// Prints `file` in canonical form (ends with a newline unless empty). Comments and
/// (collapsed) blank lines are kept where they were.
pub fn print(file: &SourceFile) -> String {
    let mut lines = Vec::new();
    let mut prev: Option<&Item> = None;
    for item in &file.items {
        let blank = prev.is_some_and(|p| {
            matches!(item, Item::Function(_))
                || matches!(p, Item::Function(_))
                || (matches!(item, Item::Output(_)) && !matches!(p, Item::Output(_)))
                || (is_declaration(p) && !is_declaration(item))
        });
        item_lines(item, blank, &mut lines);
        prev = Some(item);
    }
    let mut out = String::new();
    let mut trivia = file.trivia.iter().peekable();
    let mut pending_blank = false;
    for (k, line) in lines.iter().enumerate() {
        // Own-line comments and blank lines before this line.
        let mut comments = Vec::new();
        while let Some(t) = trivia.next_if(|t| t.range().start() < line.start) {
            match t {
                Trivia::BlankLine(_) => {
                    if !comments.is_empty() {
                        comments.push(String::new());
                    } else {
                        pending_blank = true;
                    }
                }
                Trivia::Comment { text, .. } => comments.push(text.clone()),
            }
        }
        while comments.last().is_some_and(|c| c.is_empty()) {
            comments.pop();
        }
        if !out.is_empty() && (pending_blank || line.blank_before) {
            out.push('\n');
        }
        pending_blank = false;
        let indent = if line.indent { "    " } else { "" };
        let mut last_empty = false;
        for c in comments {
            if c.is_empty() {
                if !last_empty {
                    out.push('\n');
                }
                last_empty = true;
            } else {
                out.push_str(indent);
                out.push_str(&c);
                out.push('\n');
                last_empty = false;
            }
        }
        out.push_str(indent);
        out.push_str(&line.text);
        // Trailing comments: those that trail code before the next line starts.
        let next = lines.get(k + 1).map(|l| l.start);
        let mut trailing = Vec::new();
        while let Some(t) = trivia.next_if(|t| {
            matches!(
                t,
                Trivia::Comment {
                    own_line: false,
                    ..
                }
            ) && next.is_none_or(|n| t.range().start() < n)
        }) {
            if let Trivia::Comment { text, .. } = t {
                trailing.push(text.clone());
            }
        }
        if !trailing.is_empty() {
            out.push_str("  ");
            out.push_str(&trailing.join(" "));
        }
        out.push('\n');
    }
    // Comments after the last item.
    let mut tail = Vec::new();
    for t in trivia {
        match t {
            Trivia::Comment { text, .. } => tail.push(text.clone()),
            Trivia::BlankLine(_) => {
                if !tail.is_empty() {
                    tail.push(String::new())
                }
            }
        }
    }
    while tail.last().is_some_and(|c| c.is_empty()) {
        tail.pop();
    }
    if !tail.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for c in tail {
            out.push_str(&c);
            out.push('\n');
        }
    }
    out
}

fn is_declaration(item: &Item) -> bool {
    matches!(item, Item::Input(_) | Item::Size(_))
}

fn line(start: TextSize, indent: bool, text: String, blank_before: bool) -> Line {
    Line {
        start,
        indent,
        text,
        blank_before,
    }
}

fn item_lines(item: &Item, blank: bool, out: &mut Vec<Line>) {
    match item {
        Item::Input(d) => out.push(line(
            d.range.start(),
            false,
            format!("input {}: {}", d.name.name, array_type(&d.ty)),
            blank,
        )),
        Item::Size(d) => out.push(line(
            d.range.start(),
            false,
            format!("size {}", names(&d.names)),
            blank,
        )),
        Item::Output(d) => out.push(line(
            d.range.start(),
            false,
            format!("output {}", names(&d.names)),
            blank,
        )),
        Item::Definition(d) => out.push(line(d.range.start(), false, definition(d), blank)),
        Item::Function(f) => {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name.name, array_type(&p.ty)))
                .collect();
            out.push(line(
                f.range.start(),
                false,
                format!(
                    "def {}({}) -> {}:",
                    f.name.name,
                    params.join(", "),
                    array_type(&f.ret)
                ),
                blank,
            ));
            for d in &f.body {
                out.push(line(d.range.start(), true, definition(d), false));
            }
            // `return` sits just before the result name.
            out.push(line(
                f.result.range.start(),
                true,
                format!("return {}", f.result.name),
                false,
            ));
        }
    }
}

fn names(ids: &[Ident]) -> String {
    ids.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn array_type(ty: &ArrayType) -> String {
    let dims: Vec<String> = ty.dims.iter().map(size_expr).collect();
    format!("{}[{}]", ty.dtype.name(), dims.join(", "))
}

pub fn size_expr(e: &SizeExpr) -> String {
    size_prec(e, 0)
}

fn size_prec(e: &SizeExpr, outer: u8) -> String {
    let (text, prec) = match &e.kind {
        SizeExprKind::Int(i) => (i.to_string(), if *i < 0 { 0 } else { 9 }),
        SizeExprKind::Var(id) => (id.name.clone(), 9),
        SizeExprKind::Binary { op, lhs, rhs } => {
            let p = match op {
                SizeOp::Add | SizeOp::Sub => 1,
                SizeOp::Mul | SizeOp::FloorDiv => 2,
            };
            (
                format!(
                    "{} {} {}",
                    size_prec(lhs, p),
                    op.symbol(),
                    size_prec(rhs, p + 1)
                ),
                p,
            )
        }
    };
    if prec < outer {
        format!("({text})")
    } else {
        text
    }
}

pub fn definition(d: &Definition) -> String {
    let mut s = d.target.name.clone();
    if let Some(slots) = &d.slots {
        let parts: Vec<String> = slots.iter().map(lhs_slot).collect();
        s.push_str(&format!("[{}]", parts.join(", ")));
    }
    s.push_str(" = ");
    s.push_str(&expr(&d.value));
    s
}

fn lhs_slot(slot: &LhsSlot) -> String {
    match slot {
        LhsSlot::Var(b) => binder(b),
        LhsSlot::Whole(_) => ":".to_string(),
        LhsSlot::NewAxis(_) => "0".to_string(),
        LhsSlot::Group(bs, _) => {
            let parts: Vec<String> = bs.iter().map(binder).collect();
            format!("({})", parts.join(", "))
        }
    }
}

fn binder(b: &Binder) -> String {
    match &b.domain {
        Some(d) => format!("{} in range({})", b.name.name, size_expr(d)),
        None => b.name.name.clone(),
    }
}

/// An expression with minimal parentheses.
pub fn expr(e: &Expr) -> String {
    expr_prec(e, 0)
}

/// Precedence of the expression's top operator (atoms bind tightest).
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => NOT_PRECEDENCE,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => NEG_PRECEDENCE,
        ExprKind::Int(i) if *i < 0 => NEG_PRECEDENCE,
        ExprKind::Float(x) if x.is_sign_negative() => NEG_PRECEDENCE,
        _ => 10,
    }
}

/// Prints `e`, parenthesised when its precedence is below `min`.
fn expr_prec(e: &Expr, min: u8) -> String {
    let text = match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(x) => float(*x),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Name(id) => id.name.clone(),
        ExprKind::Index { base, slots } => {
            let parts: Vec<String> = slots.iter().map(slot).collect();
            format!("{}[{}]", base.name, parts.join(", "))
        }
        ExprKind::Call { func, args } => {
            let parts: Vec<String> = args.iter().map(expr).collect();
            format!("{}({})", func.name, parts.join(", "))
        }
        ExprKind::Reduce {
            func,
            body,
            binders,
        } => {
            let parts: Vec<String> = binders.iter().map(binder).collect();
            format!("{}({} for {})", func.name, expr(body), parts.join(", "))
        }
        ExprKind::Unary { op, operand } => match op {
            UnaryOp::Neg => format!("-{}", expr_prec(operand, NEG_PRECEDENCE)),
            UnaryOp::Not => format!("not {}", expr_prec(operand, NOT_PRECEDENCE)),
        },
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            // Left-associative operators take an equal-precedence left operand bare;
            // `**` (right-associative) and comparisons (non-associative) do not.
            let lhs_min = if *op == BinaryOp::Pow || op.is_comparison() {
                p + 1
            } else {
                p
            };
            let rhs_min = if *op == BinaryOp::Pow {
                NEG_PRECEDENCE
            } else {
                p + 1
            };
            format!(
                "{} {} {}",
                expr_prec(lhs, lhs_min),
                op.symbol(),
                expr_prec(rhs, rhs_min)
            )
        }
    };
    if precedence(e) < min {
        format!("({text})")
    } else {
        text
    }
}

/// Shortest text that reads back as the same f64, always with a `.` or exponent.
fn float(x: f64) -> String {
    format!("{x:?}")
}

fn slot(s: &Slot) -> String {
    match s {
        Slot::Index(e) => expr(e),
        Slot::Whole(_) => ":".to_string(),
        Slot::Slice {
            start, stop, step, ..
        } => {
            let part = |p: &Option<SizeExpr>| p.as_ref().map(size_expr).unwrap_or_default();
            match step {
                Some(st) => format!("{}:{}:{}", part(start), part(stop), size_expr(st)),
                None => format!("{}:{}", part(start), part(stop)),
            }
        }
        Slot::Group(names_, _) => format!("({})", names(names_)),
    }
}
