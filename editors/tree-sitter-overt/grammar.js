/**
 * Tree-sitter grammar for Overt, the explicit array language (docs/language.md).
 *
 * Editor support only: the compiler's parser is src/overt/parser.rs. A test parses every
 * .ovt fixture with this grammar and fails on any ERROR node, so the two cannot drift.
 *
 * Newlines and indentation are treated as white space: every statement starts with a
 * keyword or a name followed by `[` or `=`, and a `def` body ends at its `return`, so the
 * grammar needs neither (and no external scanner).
 */

const PREC = {
  or: 1,
  and: 2,
  not: 3,
  compare: 4,
  add: 5,
  mul: 6,
  neg: 7,
  pow: 8,
  call: 9,
};

// Declarations end at the line break, which the grammar does not see: no trailing comma.
const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)));
// Inside brackets a trailing comma is allowed, as in the compiler's parser.
const commaSep1Trailing = (rule) => seq(rule, repeat(seq(',', rule)), optional(','));

module.exports = grammar({
  name: 'overt',

  extras: ($) => [/\s/, $.comment],

  word: ($) => $.identifier,

  rules: {
    source_file: ($) => repeat($._item),

    _item: ($) =>
      choice(
        $.input_declaration,
        $.size_declaration,
        $.output_declaration,
        $.function_definition,
        $.definition,
      ),

    input_declaration: ($) =>
      seq('input', field('name', $.identifier), ':', field('type', $.array_type)),

    size_declaration: ($) => seq('size', commaSep1($.identifier)),

    output_declaration: ($) => seq('output', commaSep1($.identifier)),

    array_type: ($) =>
      seq(
        field('dtype', alias($.identifier, $.dtype)),
        '[',
        optional(commaSep1Trailing($._expression)),
        ']',
      ),

    function_definition: ($) =>
      seq(
        'def',
        field('name', $.identifier),
        field('parameters', $.parameters),
        '->',
        field('return_type', $.array_type),
        ':',
        field('body', $.function_body),
      ),

    parameters: ($) => seq('(', optional(commaSep1Trailing($.parameter)), ')'),

    parameter: ($) =>
      seq(field('name', $.identifier), ':', field('type', $.array_type)),

    function_body: ($) => seq(repeat($.definition), $.return_statement),

    return_statement: ($) => seq('return', field('result', $.identifier)),

    definition: ($) =>
      seq(
        field('target', $.identifier),
        optional(field('slots', $.lhs_slots)),
        '=',
        field('value', $._expression),
      ),

    lhs_slots: ($) => seq('[', optional(commaSep1Trailing($._lhs_slot)), ']'),

    _lhs_slot: ($) => choice($.whole, $.integer, $.binder, $.group),

    whole: (_) => ':',

    binder: ($) =>
      seq(
        field('name', $.identifier),
        optional(seq('in', 'range', '(', field('domain', $._expression), ')')),
      ),

    group: ($) => seq('(', $.binder, repeat1(seq(',', $.binder)), optional(','), ')'),

    _expression: ($) =>
      choice(
        $.binary_expression,
        $.comparison,
        $.unary_expression,
        $.reference,
        $.call,
        $.reduction,
        $.parenthesized_expression,
        $.identifier,
        $.integer,
        $.float,
        $.boolean,
      ),

    binary_expression: ($) =>
      choice(
        prec.left(PREC.or, seq($._expression, field('operator', 'or'), $._expression)),
        prec.left(PREC.and, seq($._expression, field('operator', 'and'), $._expression)),
        prec.left(PREC.add, seq($._expression, field('operator', choice('+', '-')), $._expression)),
        prec.left(
          PREC.mul,
          seq($._expression, field('operator', choice('*', '/', '//', '%')), $._expression),
        ),
        prec.right(PREC.pow, seq($._expression, field('operator', '**'), $._expression)),
      ),

    comparison: ($) =>
      prec.left(
        PREC.compare,
        seq(
          $._expression,
          field('operator', choice('==', '!=', '<', '<=', '>', '>=')),
          $._expression,
        ),
      ),

    unary_expression: ($) =>
      choice(
        prec(PREC.not, seq(field('operator', 'not'), $._expression)),
        prec(PREC.neg, seq(field('operator', '-'), $._expression)),
      ),

    reference: ($) =>
      prec(
        PREC.call,
        seq(field('array', $.identifier), '[', optional(commaSep1Trailing($._slot)), ']'),
      ),

    _slot: ($) => choice($._expression, $.slice, $.group),

    slice: ($) =>
      prec.right(
        seq(
          optional(field('start', $._expression)),
          ':',
          optional(field('stop', $._expression)),
          optional(seq(':', optional(field('step', $._expression)))),
        ),
      ),

    call: ($) =>
      prec(
        PREC.call,
        seq(
          field('function', $.identifier),
          '(',
          optional(commaSep1Trailing(field('argument', $._expression))),
          ')',
        ),
      ),

    reduction: ($) =>
      prec(
        PREC.call,
        seq(
          field('function', $.identifier),
          '(',
          field('body', $._expression),
          'for',
          $.binder,
          repeat(seq(',', $.binder)),
          ')',
        ),
      ),

    parenthesized_expression: ($) => seq('(', $._expression, ')'),

    identifier: (_) => /[A-Za-z_][A-Za-z0-9_]*/,

    integer: (_) => /[0-9]+/,

    float: (_) =>
      token(
        choice(
          /[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?/,
          /\.[0-9]+([eE][+-]?[0-9]+)?/,
          /[0-9]+[eE][+-]?[0-9]+/,
        ),
      ),

    boolean: (_) => choice('true', 'false'),

    comment: (_) => token(seq('#', /.*/)),
  },
});
