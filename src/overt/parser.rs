//! Hand-written recursive-descent parser for Overt. Never fails: a syntax error is
//! reported, the parser skips to the end of the line, and carries on, so a file with
//! several errors reports several.

use ruff_text_size::TextRange;

use super::ast::*;
use super::dtype::Dtype;
use super::lexer::{lex, syntax_error, Token, TokenKind};
use crate::diagnostic::Diagnostic;

/// The tree of every item that parsed, plus every syntax error.
pub fn parse(source: &str) -> (SourceFile, Vec<Diagnostic>) {
    let lexed = lex(source);
    let mut parser = Parser {
        tokens: lexed.tokens,
        pos: 0,
        errors: lexed.errors,
    };
    let items = parser.items();
    let file = SourceFile {
        items,
        trivia: lexed.trivia,
    };
    (file, parser.errors)
}

/// Marker: an error was already reported; the caller recovers.
struct Reported;

type PResult<T> = Result<T, Reported>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<Diagnostic>,
}

fn cover(a: TextRange, b: TextRange) -> TextRange {
    a.cover(b)
}

impl Parser {
    fn peek(&self) -> &TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &TokenKind {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .get((self.pos + ahead).min(last))
            .map(|t| &t.kind)
            .unwrap_or(&TokenKind::Eof)
    }

    fn range(&self) -> TextRange {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .get(self.pos.min(last))
            .map(|t| t.range)
            .unwrap_or_default()
    }

    /// Range of the previously consumed token.
    fn prev_range(&self) -> TextRange {
        self.pos
            .checked_sub(1)
            .and_then(|p| self.tokens.get(p))
            .map(|t| t.range)
            .unwrap_or_default()
    }

    fn bump(&mut self) -> TextRange {
        let r = self.range();
        if self.pos < self.tokens.len().saturating_sub(1) {
            self.pos += 1;
        }
        r
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek() == kind
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.at(kind) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error<T>(&mut self, range: TextRange, message: impl Into<String>) -> PResult<T> {
        self.errors.push(syntax_error(range, message));
        Err(Reported)
    }

    fn expected<T>(&mut self, what: &str) -> PResult<T> {
        let found = self.peek().describe();
        let range = self.range();
        self.error(range, format!("expected {what}, found {found}"))
    }

    fn expect(&mut self, kind: &TokenKind) -> PResult<TextRange> {
        if self.at(kind) {
            Ok(self.bump())
        } else {
            self.expected(&kind.describe())
        }
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        if let TokenKind::Ident(name) = self.peek() {
            let name = name.clone();
            let range = self.bump();
            Ok(Ident { name, range })
        } else {
            self.expected(what)
        }
    }

    /// Skips to just after the end of the current line (and any block it opens).
    fn recover(&mut self) {
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Newline => {
                    self.bump();
                    if self.at(&TokenKind::Indent) {
                        self.skip_block();
                    }
                    return;
                }
                TokenKind::Dedent => return,
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn skip_block(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Indent => depth += 1,
                TokenKind::Dedent => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn end_of_line(&mut self) -> PResult<()> {
        if self.eat(&TokenKind::Newline) || self.at(&TokenKind::Eof) {
            Ok(())
        } else {
            self.expected("end of line")
        }
    }

    fn items(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while !self.at(&TokenKind::Eof) {
            let before = self.pos;
            match self.item() {
                Ok(item) => items.push(item),
                Err(Reported) => self.recover(),
            }
            if matches!(self.peek(), TokenKind::Dedent | TokenKind::Indent) {
                if self.at(&TokenKind::Indent) {
                    let range = self.range();
                    self.errors
                        .push(syntax_error(range, "unexpected indentation"));
                    self.skip_block();
                } else {
                    self.bump();
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        items
    }

    fn item(&mut self) -> PResult<Item> {
        let start = self.range();
        match self.peek() {
            TokenKind::Input => {
                self.bump();
                let name = self.ident("an array name")?;
                self.expect(&TokenKind::Colon)?;
                let ty = self.array_type()?;
                let range = cover(start, ty.range);
                self.end_of_line()?;
                Ok(Item::Input(InputDecl { name, ty, range }))
            }
            TokenKind::Size | TokenKind::Output => {
                let is_size = self.at(&TokenKind::Size);
                self.bump();
                let mut names = vec![self.ident("a name")?];
                while self.eat(&TokenKind::Comma) {
                    names.push(self.ident("a name")?);
                }
                let range = cover(start, self.prev_range());
                self.end_of_line()?;
                Ok(if is_size {
                    Item::Size(SizeDecl { names, range })
                } else {
                    Item::Output(OutputDecl { names, range })
                })
            }
            TokenKind::Def => self.function().map(Item::Function),
            TokenKind::Ident(_) => {
                let def = self.definition()?;
                self.end_of_line()?;
                Ok(Item::Definition(def))
            }
            _ => self.expected("`input`, `size`, `output`, `def` or a definition"),
        }
    }

    fn array_type(&mut self) -> PResult<ArrayType> {
        let start = self.range();
        let dtype = match self.peek() {
            TokenKind::Ident(name) => match Dtype::from_name(name) {
                Some(d) => d,
                None => {
                    let msg = format!("unknown dtype `{name}`: use bool, i64, f32 or f64");
                    return self.error(start, msg);
                }
            },
            _ => return self.expected("a dtype (bool, i64, f32, f64)"),
        };
        self.bump();
        self.expect(&TokenKind::LBracket)?;
        let mut dims = Vec::new();
        if !self.at(&TokenKind::RBracket) {
            dims.push(self.size_expr()?);
            while self.eat(&TokenKind::Comma) {
                if self.at(&TokenKind::RBracket) {
                    break;
                }
                dims.push(self.size_expr()?);
            }
        }
        let end = self.expect(&TokenKind::RBracket)?;
        Ok(ArrayType {
            dtype,
            dims,
            range: cover(start, end),
        })
    }

    fn size_expr(&mut self) -> PResult<SizeExpr> {
        let mut lhs = self.size_term()?;
        loop {
            let op = match self.peek() {
                TokenKind::Plus => SizeOp::Add,
                TokenKind::Minus => SizeOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.size_term()?;
            lhs = size_binary(op, lhs, rhs);
        }
    }

    fn size_term(&mut self) -> PResult<SizeExpr> {
        let mut lhs = self.size_atom()?;
        loop {
            let op = match self.peek() {
                TokenKind::Star => SizeOp::Mul,
                TokenKind::SlashSlash => SizeOp::FloorDiv,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.size_atom()?;
            lhs = size_binary(op, lhs, rhs);
        }
    }

    fn size_atom(&mut self) -> PResult<SizeExpr> {
        let range = self.range();
        match self.peek().clone() {
            TokenKind::Int(i) => {
                self.bump();
                Ok(SizeExpr {
                    kind: SizeExprKind::Int(i),
                    range,
                })
            }
            TokenKind::Ident(_) => {
                let id = self.ident("a size")?;
                Ok(SizeExpr {
                    range: id.range,
                    kind: SizeExprKind::Var(id),
                })
            }
            TokenKind::LParen => {
                self.bump();
                let inner = self.size_expr()?;
                self.expect(&TokenKind::RParen)?;
                Ok(inner)
            }
            _ => self.expected("a size (an integer or a size variable)"),
        }
    }

    fn function(&mut self) -> PResult<FunctionDef> {
        let start = self.expect(&TokenKind::Def)?;
        let name = self.ident("a function name")?;
        self.expect(&TokenKind::LParen)?;
        let mut params = Vec::new();
        while !self.at(&TokenKind::RParen) {
            let pname = self.ident("a parameter name")?;
            self.expect(&TokenKind::Colon)?;
            let ty = self.array_type()?;
            params.push(Param {
                range: cover(pname.range, ty.range),
                name: pname,
                ty,
            });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RParen)?;
        self.expect(&TokenKind::Arrow)?;
        let ret = self.array_type()?;
        self.expect(&TokenKind::Colon)?;
        self.expect(&TokenKind::Newline)?;
        if !self.eat(&TokenKind::Indent) {
            return self.expected("an indented function body");
        }
        let mut body = Vec::new();
        let mut result = None;
        let mut failed = false;
        loop {
            match self.peek() {
                TokenKind::Dedent | TokenKind::Eof => {
                    self.eat(&TokenKind::Dedent);
                    break;
                }
                TokenKind::Return => {
                    let r = self.bump();
                    match self.ident("the name of the result array") {
                        Ok(id) => {
                            if result.is_some() {
                                self.errors
                                    .push(syntax_error(r, "a function has exactly one `return`"));
                            }
                            result = Some(id);
                            if self.end_of_line().is_err() {
                                self.recover();
                            }
                        }
                        Err(Reported) => {
                            failed = true;
                            self.recover();
                        }
                    }
                }
                _ => {
                    let parsed = self.definition().and_then(|d| {
                        self.end_of_line()?;
                        Ok(d)
                    });
                    match parsed {
                        Ok(d) => {
                            if result.is_some() {
                                self.errors.push(syntax_error(
                                    d.range,
                                    "definitions after `return` are never used",
                                ));
                            }
                            body.push(d)
                        }
                        Err(Reported) => {
                            failed = true;
                            self.recover();
                        }
                    }
                }
            }
        }
        let range = cover(start, self.prev_range());
        let Some(result) = result else {
            if !failed {
                self.errors.push(syntax_error(
                    name.range,
                    format!("function `{}` has no `return NAME`", name.name),
                ));
            }
            return Err(Reported);
        };
        if failed {
            return Err(Reported);
        }
        Ok(FunctionDef {
            name,
            params,
            ret,
            body,
            result,
            range,
        })
    }

    fn definition(&mut self) -> PResult<Definition> {
        let target = self.ident("an array name")?;
        let slots = if self.eat(&TokenKind::LBracket) {
            let mut slots = Vec::new();
            while !self.at(&TokenKind::RBracket) {
                slots.push(self.lhs_slot()?);
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            self.expect(&TokenKind::RBracket)?;
            Some(slots)
        } else {
            None
        };
        if !self.at(&TokenKind::Assign) {
            return self.expected("`=`");
        }
        self.bump();
        let value = self.expr()?;
        Ok(Definition {
            range: cover(target.range, value.range),
            target,
            slots,
            value,
        })
    }

    fn lhs_slot(&mut self) -> PResult<LhsSlot> {
        let range = self.range();
        match self.peek() {
            TokenKind::Colon => {
                self.bump();
                Ok(LhsSlot::Whole(range))
            }
            TokenKind::Int(0) => {
                self.bump();
                Ok(LhsSlot::NewAxis(range))
            }
            TokenKind::LParen => {
                self.bump();
                let mut binders = vec![self.binder()?];
                while self.eat(&TokenKind::Comma) {
                    binders.push(self.binder()?);
                }
                let end = self.expect(&TokenKind::RParen)?;
                Ok(LhsSlot::Group(binders, cover(range, end)))
            }
            TokenKind::Ident(_) => Ok(LhsSlot::Var(self.binder()?)),
            _ => self.expected("an index variable, `:`, `0` or a group `(a, b)`"),
        }
    }

    /// `i` or `i in range(N)`.
    fn binder(&mut self) -> PResult<Binder> {
        let name = self.ident("an index variable")?;
        if !self.eat(&TokenKind::In) {
            return Ok(Binder {
                range: name.range,
                name,
                domain: None,
            });
        }
        match self.peek() {
            TokenKind::Ident(r) if r == "range" => {
                self.bump();
            }
            _ => return self.expected("`range(SIZE)`"),
        }
        self.expect(&TokenKind::LParen)?;
        let domain = self.size_expr()?;
        let end = self.expect(&TokenKind::RParen)?;
        Ok(Binder {
            range: cover(name.range, end),
            name,
            domain: Some(domain),
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.binary(1)
    }

    /// Precedence climbing over [`BinaryOp::precedence`]; `not` and unary `-` are
    /// prefix operators at their Python levels.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let mut lhs = self.prefix(min)?;
        loop {
            let Some(op) = binary_op(self.peek()) else {
                return Ok(lhs);
            };
            let prec = op.precedence();
            if prec < min {
                return Ok(lhs);
            }
            let op_range = self.bump();
            // `**` is right-associative and its right side may start with `-`.
            let rhs = if op == BinaryOp::Pow {
                self.binary(NEG_PRECEDENCE)?
            } else {
                self.binary(prec + 1)?
            };
            if op.is_comparison() {
                if let Some(next) = binary_op(self.peek()).filter(|o| o.is_comparison()) {
                    let r = self.range();
                    return self.error(
                        r,
                        format!(
                            "comparisons do not chain: write `(a {} b) and (b {} c)`",
                            op.symbol(),
                            next.symbol()
                        ),
                    );
                }
            }
            let _ = op_range;
            lhs = Expr {
                range: cover(lhs.range, rhs.range),
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
    }

    fn prefix(&mut self, min: u8) -> PResult<Expr> {
        let start = self.range();
        let (op, prec) = match self.peek() {
            TokenKind::Not if min <= NOT_PRECEDENCE => (UnaryOp::Not, NOT_PRECEDENCE),
            TokenKind::Minus if min <= NEG_PRECEDENCE => (UnaryOp::Neg, NEG_PRECEDENCE),
            _ => return self.postfix(),
        };
        self.bump();
        let operand = self.binary(prec)?;
        Ok(Expr {
            range: cover(start, operand.range),
            kind: ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
        })
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let range = self.range();
        match self.peek().clone() {
            TokenKind::Int(i) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Int(i),
                    range,
                })
            }
            TokenKind::Float(x) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Float(x),
                    range,
                })
            }
            TokenKind::True | TokenKind::False => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Bool(matches!(self.prev_kind(), TokenKind::True)),
                    range,
                })
            }
            TokenKind::LParen => {
                self.bump();
                let inner = self.expr()?;
                self.expect(&TokenKind::RParen)?;
                Ok(inner)
            }
            TokenKind::Ident(_) => {
                let name = self.ident("a name")?;
                match self.peek() {
                    TokenKind::LBracket => self.reference(name),
                    TokenKind::LParen => self.call(name),
                    _ => Ok(Expr {
                        range: name.range,
                        kind: ExprKind::Name(name),
                    }),
                }
            }
            TokenKind::Minus | TokenKind::Not => {
                // A prefix operator where only a tighter operand may stand (`a ** not b`).
                self.expected("an operand")
            }
            _ => self.expected("an expression"),
        }
    }

    fn prev_kind(&self) -> &TokenKind {
        self.pos
            .checked_sub(1)
            .and_then(|p| self.tokens.get(p))
            .map(|t| &t.kind)
            .unwrap_or(&TokenKind::Eof)
    }

    fn reference(&mut self, base: Ident) -> PResult<Expr> {
        self.expect(&TokenKind::LBracket)?;
        let mut slots = Vec::new();
        while !self.at(&TokenKind::RBracket) {
            slots.push(self.slot()?);
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        let end = self.expect(&TokenKind::RBracket)?;
        Ok(Expr {
            range: cover(base.range, end),
            kind: ExprKind::Index { base, slots },
        })
    }

    fn slot(&mut self) -> PResult<Slot> {
        let start = self.range();
        // `(g, c)`: a group splitting the axis.
        if self.at(&TokenKind::LParen)
            && matches!(self.peek_at(1), TokenKind::Ident(_))
            && matches!(self.peek_at(2), TokenKind::Comma)
        {
            self.bump();
            let mut names = vec![self.ident("an index variable")?];
            while self.eat(&TokenKind::Comma) {
                names.push(self.ident("an index variable")?);
            }
            let end = self.expect(&TokenKind::RParen)?;
            return Ok(Slot::Group(names, cover(start, end)));
        }
        let first = if self.at(&TokenKind::Colon) {
            None
        } else {
            let e = self.expr()?;
            if !self.at(&TokenKind::Colon) {
                return Ok(Slot::Index(e));
            }
            Some(self.expr_to_size(e)?)
        };
        self.expect(&TokenKind::Colon)?;
        let stop = self.slice_part()?;
        let step = if self.eat(&TokenKind::Colon) {
            self.slice_part()?
        } else {
            None
        };
        let range = cover(start, self.prev_range());
        if first.is_none() && stop.is_none() && step.is_none() {
            return Ok(Slot::Whole(range));
        }
        Ok(Slot::Slice {
            start: first,
            stop,
            step,
            range,
        })
    }

    fn slice_part(&mut self) -> PResult<Option<SizeExpr>> {
        if matches!(
            self.peek(),
            TokenKind::Colon | TokenKind::Comma | TokenKind::RBracket
        ) {
            return Ok(None);
        }
        self.size_expr().map(Some)
    }

    /// A slice bound written as an expression must be a static size.
    fn expr_to_size(&mut self, e: Expr) -> PResult<SizeExpr> {
        let kind = match e.kind {
            ExprKind::Int(i) => SizeExprKind::Int(i),
            ExprKind::Name(id) => SizeExprKind::Var(id),
            ExprKind::Binary { op, lhs, rhs } => {
                let op =
                    match op {
                        BinaryOp::Add => SizeOp::Add,
                        BinaryOp::Sub => SizeOp::Sub,
                        BinaryOp::Mul => SizeOp::Mul,
                        BinaryOp::FloorDiv => SizeOp::FloorDiv,
                        _ => return self.error(
                            e.range,
                            "a slice bound is a size: integers and size variables with + - * //",
                        ),
                    };
                SizeExprKind::Binary {
                    op,
                    lhs: Box::new(self.expr_to_size(*lhs)?),
                    rhs: Box::new(self.expr_to_size(*rhs)?),
                }
            }
            _ => {
                return self.error(
                    e.range,
                    "a slice bound is a size: integers and size variables with + - * //",
                )
            }
        };
        Ok(SizeExpr {
            kind,
            range: e.range,
        })
    }

    fn call(&mut self, func: Ident) -> PResult<Expr> {
        self.expect(&TokenKind::LParen)?;
        let mut args = Vec::new();
        while !self.at(&TokenKind::RParen) {
            let arg = self.expr()?;
            if args.is_empty() && self.at(&TokenKind::For) {
                self.bump();
                let mut binders = vec![self.binder()?];
                while self.eat(&TokenKind::Comma) {
                    binders.push(self.binder()?);
                }
                let end = self.expect(&TokenKind::RParen)?;
                return Ok(Expr {
                    range: cover(func.range, end),
                    kind: ExprKind::Reduce {
                        func,
                        body: Box::new(arg),
                        binders,
                    },
                });
            }
            args.push(arg);
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        let end = self.expect(&TokenKind::RParen)?;
        Ok(Expr {
            range: cover(func.range, end),
            kind: ExprKind::Call { func, args },
        })
    }
}

fn size_binary(op: SizeOp, lhs: SizeExpr, rhs: SizeExpr) -> SizeExpr {
    SizeExpr {
        range: cover(lhs.range, rhs.range),
        kind: SizeExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

fn binary_op(kind: &TokenKind) -> Option<BinaryOp> {
    Some(match kind {
        TokenKind::Plus => BinaryOp::Add,
        TokenKind::Minus => BinaryOp::Sub,
        TokenKind::Star => BinaryOp::Mul,
        TokenKind::Slash => BinaryOp::Div,
        TokenKind::SlashSlash => BinaryOp::FloorDiv,
        TokenKind::Percent => BinaryOp::Mod,
        TokenKind::StarStar => BinaryOp::Pow,
        TokenKind::EqEq => BinaryOp::Eq,
        TokenKind::NotEq => BinaryOp::Ne,
        TokenKind::Lt => BinaryOp::Lt,
        TokenKind::Le => BinaryOp::Le,
        TokenKind::Gt => BinaryOp::Gt,
        TokenKind::Ge => BinaryOp::Ge,
        TokenKind::And => BinaryOp::And,
        TokenKind::Or => BinaryOp::Or,
        _ => return None,
    })
}
