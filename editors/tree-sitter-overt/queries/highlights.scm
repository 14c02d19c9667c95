; Highlighting for Overt.

(comment) @comment

[
  "input"
  "output"
  "size"
  "def"
  "return"
  "for"
  "in"
] @keyword

[
  "and"
  "or"
  "not"
] @keyword.operator

"range" @function.builtin

(dtype) @type.builtin

(call
  function: (identifier) @type.builtin
  (#match? @type.builtin "^(bool|i64|f32|f64|c128)$"))

(call
  function: (identifier) @function.call)

(reduction
  function: (identifier) @function.builtin)

(function_definition
  name: (identifier) @function)

(parameter
  name: (identifier) @variable.parameter)

(input_declaration
  name: (identifier) @variable)

(size_declaration
  (identifier) @constant)

(output_declaration
  (identifier) @variable)

(definition
  target: (identifier) @variable)

(reference
  array: (identifier) @variable)

(binder
  name: (identifier) @variable.member)

(integer) @number
(float) @number.float
(boolean) @boolean

[
  "+"
  "-"
  "*"
  "/"
  "//"
  "%"
  "**"
  "=="
  "!="
  "<"
  "<="
  ">"
  ">="
  "="
  "->"
] @operator

[
  "("
  ")"
  "["
  "]"
] @punctuation.bracket

[
  ","
  ":"
] @punctuation.delimiter
