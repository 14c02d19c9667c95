//! Tokens of Overt source with byte ranges, Python-style: comments, implicit line
//! joining inside brackets, and INDENT/DEDENT for `def` bodies. Never fails: bad input
//! becomes diagnostics and the lexer carries on.

use ruff_text_size::{TextRange, TextSize};

use super::ast::Trivia;
use crate::diagnostic::{Diagnostic, Severity};

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    Ident(String),
    Int(i64),
    Float(f64),
    // Keywords.
    Input,
    Output,
    Size,
    Def,
    Return,
    For,
    In,
    And,
    Or,
    Not,
    True,
    False,
    // Punctuation.
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Assign,
    Arrow,
    Plus,
    Minus,
    Star,
    Slash,
    SlashSlash,
    Percent,
    StarStar,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Newline,
    Indent,
    Dedent,
    Eof,
}

impl TokenKind {
    /// How the token is written, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        let fixed = match self {
            TokenKind::Ident(name) => return format!("`{name}`"),
            TokenKind::Int(i) => return format!("`{i}`"),
            TokenKind::Float(x) => return format!("`{x:?}`"),
            TokenKind::Input => "input",
            TokenKind::Output => "output",
            TokenKind::Size => "size",
            TokenKind::Def => "def",
            TokenKind::Return => "return",
            TokenKind::For => "for",
            TokenKind::In => "in",
            TokenKind::And => "and",
            TokenKind::Or => "or",
            TokenKind::Not => "not",
            TokenKind::True => "true",
            TokenKind::False => "false",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::Comma => ",",
            TokenKind::Colon => ":",
            TokenKind::Assign => "=",
            TokenKind::Arrow => "->",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::Slash => "/",
            TokenKind::SlashSlash => "//",
            TokenKind::Percent => "%",
            TokenKind::StarStar => "**",
            TokenKind::EqEq => "==",
            TokenKind::NotEq => "!=",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::Newline => return "end of line".to_string(),
            TokenKind::Indent => return "an indented block".to_string(),
            TokenKind::Dedent => return "the end of an indented block".to_string(),
            TokenKind::Eof => return "end of file".to_string(),
        };
        format!("`{fixed}`")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: TextRange,
}

pub(crate) fn size_at(offset: usize) -> TextSize {
    TextSize::new(u32::try_from(offset).unwrap_or(u32::MAX))
}

pub(crate) fn range(start: usize, end: usize) -> TextRange {
    TextRange::new(size_at(start), size_at(end.max(start)))
}

pub(crate) fn syntax_error(range: TextRange, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new("overt::syntax", Severity::Error, range, message)
}

fn keyword(word: &str) -> Option<TokenKind> {
    Some(match word {
        "input" => TokenKind::Input,
        "output" => TokenKind::Output,
        "size" => TokenKind::Size,
        "def" => TokenKind::Def,
        "return" => TokenKind::Return,
        "for" => TokenKind::For,
        "in" => TokenKind::In,
        "and" => TokenKind::And,
        "or" => TokenKind::Or,
        "not" => TokenKind::Not,
        "true" => TokenKind::True,
        "false" => TokenKind::False,
        _ => return None,
    })
}

/// The tokens (the last is always `Eof`), comments and blank lines, and lexical errors.
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub trivia: Vec<Trivia>,
    pub errors: Vec<Diagnostic>,
}

/// Splits `source` into tokens.
pub fn lex(source: &str) -> Lexed {
    let mut lexer = Lexer {
        src: source.as_bytes(),
        text: source,
        pos: 0,
        tokens: Vec::new(),
        trivia: Vec::new(),
        errors: Vec::new(),
        depth: 0,
        indents: vec![0],
        line_has_code: false,
    };
    lexer.run();
    Lexed {
        tokens: lexer.tokens,
        trivia: lexer.trivia,
        errors: lexer.errors,
    }
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    trivia: Vec<Trivia>,
    errors: Vec<Diagnostic>,
    /// A token was emitted on the current physical line (so a comment trails it).
    line_has_code: bool,
    /// Bracket nesting: newlines inside brackets join lines.
    depth: usize,
    indents: Vec<usize>,
}

impl Lexer<'_> {
    fn push(&mut self, kind: TokenKind, start: usize) {
        if !matches!(
            kind,
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent
        ) {
            self.line_has_code = true;
        }
        self.tokens.push(Token {
            kind,
            range: range(start, self.pos),
        });
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn run(&mut self) {
        let mut at_line_start = true;
        loop {
            if at_line_start && self.depth == 0 {
                at_line_start = false;
                if !self.indentation() {
                    at_line_start = true;
                    continue;
                }
            }
            let start = self.pos;
            let c = self.peek(0);
            if self.pos >= self.src.len() {
                break;
            }
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\\' if self.peek(1) == b'\n' => self.pos += 2,
                b'#' => self.comment(),
                b'\n' => {
                    self.pos += 1;
                    self.line_has_code = false;
                    // Items start in column 0 and continuation lines are indented, so a
                    // column-0 line ends any unclosed bracket: an error there is reported
                    // on its own line instead of swallowing the rest of the file.
                    let next = self.peek(0);
                    if self.depth > 0
                        && !matches!(next, b' ' | b'\t' | b'\r' | b'\n' | b'#' | b')' | b']' | 0)
                    {
                        self.depth = 0;
                    }
                    if self.depth == 0 {
                        let last_is_line_end = matches!(
                            self.tokens.last().map(|t| &t.kind),
                            None | Some(TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent)
                        );
                        if !last_is_line_end {
                            // Zero-width at the line's end, so errors point at that line.
                            self.tokens.push(Token {
                                kind: TokenKind::Newline,
                                range: range(start, start),
                            });
                        }
                        at_line_start = true;
                    }
                }
                b'0'..=b'9' => self.number(),
                b'.' if self.peek(1).is_ascii_digit() => self.number(),
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
                        self.pos += 1;
                    }
                    let word = &self.text[start..self.pos];
                    let kind = keyword(word).unwrap_or_else(|| TokenKind::Ident(word.to_string()));
                    self.push(kind, start);
                }
                _ => self.punctuation(start),
            }
        }
        let end = self.src.len();
        if !matches!(
            self.tokens.last().map(|t| &t.kind),
            None | Some(TokenKind::Newline | TokenKind::Dedent)
        ) {
            self.tokens.push(Token {
                kind: TokenKind::Newline,
                range: range(end, end),
            });
        }
        while self.indents.len() > 1 {
            self.indents.pop();
            self.tokens.push(Token {
                kind: TokenKind::Dedent,
                range: range(end, end),
            });
        }
        self.tokens.push(Token {
            kind: TokenKind::Eof,
            range: range(end, end),
        });
    }

    /// Measures the indentation of a new line and emits INDENT/DEDENT. Returns false when
    /// the line is blank or a comment (nothing emitted, the caller re-enters).
    fn indentation(&mut self) -> bool {
        let start = self.pos;
        let mut width = 0;
        while matches!(self.peek(0), b' ' | b'\t') {
            width += if self.peek(0) == b'\t' {
                8 - width % 8
            } else {
                1
            };
            self.pos += 1;
        }
        match self.peek(0) {
            b'\n' | b'#' | b'\r' => {
                // Blank or comment line: no tokens, no indentation change.
                if self.peek(0) == b'#' {
                    self.comment();
                } else {
                    self.trivia
                        .push(Trivia::BlankLine(range(self.pos, self.pos)));
                }
                while self.pos < self.src.len() && self.peek(0) != b'\n' {
                    self.pos += 1;
                }
                if self.pos < self.src.len() {
                    self.pos += 1;
                    return false;
                }
                return true;
            }
            0 if self.pos >= self.src.len() => return true,
            _ => {}
        }
        let current = self.indents.last().copied().unwrap_or(0);
        if width > current {
            self.indents.push(width);
            self.push(TokenKind::Indent, start);
        } else if width < current {
            while self.indents.last().copied().unwrap_or(0) > width {
                self.indents.pop();
                self.push(TokenKind::Dedent, self.pos);
            }
            if self.indents.last().copied().unwrap_or(0) != width {
                self.errors.push(syntax_error(
                    range(start, self.pos),
                    "this indentation matches no enclosing block",
                ));
                self.indents.push(width);
            }
        }
        true
    }

    fn comment(&mut self) {
        let start = self.pos;
        while self.pos < self.src.len() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
        self.trivia.push(Trivia::Comment {
            text: self.text[start..self.pos].trim_end().to_string(),
            own_line: !self.line_has_code,
            range: range(start, self.pos),
        });
    }

    fn number(&mut self) {
        let start = self.pos;
        let mut is_float = false;
        while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
            self.pos += 1;
        }
        if self.peek(0) == b'.' && self.peek(1) != b'.' {
            is_float = true;
            self.pos += 1;
            while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                is_float = true;
                self.pos += 1 + sign;
                while self.peek(0).is_ascii_digit() {
                    self.pos += 1;
                }
            }
        }
        let text: String = self.text[start..self.pos].replace('_', "");
        let kind = if is_float {
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => TokenKind::Float(x),
                _ => {
                    self.errors.push(syntax_error(
                        range(start, self.pos),
                        format!("`{text}` is not a finite float"),
                    ));
                    TokenKind::Float(0.0)
                }
            }
        } else {
            match text.parse::<i64>() {
                Ok(i) => TokenKind::Int(i),
                Err(_) => {
                    self.errors.push(syntax_error(
                        range(start, self.pos),
                        format!("integer `{text}` does not fit in 64 bits"),
                    ));
                    TokenKind::Int(0)
                }
            }
        };
        self.push(kind, start);
    }

    fn punctuation(&mut self, start: usize) {
        let two = [self.peek(0), self.peek(1)];
        let (kind, len) = match &two {
            b"->" => (TokenKind::Arrow, 2),
            b"//" => (TokenKind::SlashSlash, 2),
            b"**" => (TokenKind::StarStar, 2),
            b"==" => (TokenKind::EqEq, 2),
            b"!=" => (TokenKind::NotEq, 2),
            b"<=" => (TokenKind::Le, 2),
            b">=" => (TokenKind::Ge, 2),
            _ => {
                let kind = match two[0] {
                    b'(' => TokenKind::LParen,
                    b')' => TokenKind::RParen,
                    b'[' => TokenKind::LBracket,
                    b']' => TokenKind::RBracket,
                    b',' => TokenKind::Comma,
                    b':' => TokenKind::Colon,
                    b'=' => TokenKind::Assign,
                    b'+' => TokenKind::Plus,
                    b'-' => TokenKind::Minus,
                    b'*' => TokenKind::Star,
                    b'/' => TokenKind::Slash,
                    b'%' => TokenKind::Percent,
                    b'<' => TokenKind::Lt,
                    b'>' => TokenKind::Gt,
                    _ => {
                        // Skip one whole character (it may be multi-byte).
                        let ch = self.text[start..].chars().next().unwrap_or('\u{fffd}');
                        self.pos += ch.len_utf8().max(1);
                        self.errors.push(syntax_error(
                            range(start, self.pos),
                            format!("unexpected character `{ch}`"),
                        ));
                        return;
                    }
                };
                (kind, 1)
            }
        };
        match kind {
            TokenKind::LParen | TokenKind::LBracket => self.depth += 1,
            TokenKind::RParen | TokenKind::RBracket => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.pos += len;
        self.push(kind, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str, expected: &str) {
        let Lexed { tokens, errors, .. } = lex(source);
        let mut out: Vec<String> = tokens.iter().map(|t| t.kind.describe()).collect();
        out.extend(errors.iter().map(|e| format!("error: {}", e.message)));
        assert_eq!(out.join(" "), expected, "{source:?}");
    }

    #[test]
    fn tokens() {
        check(
            "a[i] = 1.5e3 // 2",
            "`a` `[` `i` `]` `=` `1500.0` `//` `2` end of line end of file",
        );
        check(
            "def f(x: f64[n]) -> f64[]:\n    y = x[0]\n\n    return y\nz = 1\n",
            "`def` `f` `(` `x` `:` `f64` `[` `n` `]` `)` `->` `f64` `[` `]` `:` end of line \
             an indented block `y` `=` `x` `[` `0` `]` end of line `return` `y` end of line \
             the end of an indented block `z` `=` `1` end of line end of file",
        );
        check(
            "x = (1 +\n 2)  # c\n",
            "`x` `=` `(` `1` `+` `2` `)` end of line end of file",
        );
        check(
            "x = 1 $ 2",
            "`x` `=` `1` `2` end of line end of file error: unexpected character `$`",
        );
        check("x = 99999999999999999999", "`x` `=` `0` end of line end of file error: integer `99999999999999999999` does not fit in 64 bits");
    }
}
