//! The inference walker end to end through `overt shapes`: scopes, flow, annotations,
//! asserts, unpacking and calls between functions of one file. Shapes here come from
//! annotations and tests, so these cases do not depend on the NumPy model's tables.

use std::io::Write;
use std::process::Command;

/// Runs `overt shapes` (text format) on `source` and compares its stdout with `expected`
/// (leading/trailing whitespace of each line ignored).
fn check(source: &str, expected: &str) {
    let got = run(source, &[]);
    let norm = |s: &str| {
        s.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&got), norm(expected), "source:\n{source}");
}

fn run(source: &str, extra: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("overt-walker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = dir.join(format!("case{n}.py"));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_overt"))
        .arg("shapes")
        .args(extra)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const HEADER: &str = "import numpy as np\nfrom jaxtyping import Float, Int\n";

fn with_header(body: &str) -> String {
    format!("{HEADER}{body}")
}

#[test]
fn jaxtyping_parameters_are_symbolic() {
    check(
        &with_header(
            "def f(X: Float[np.ndarray, \"n d\"], k: Int[np.ndarray, \"k\"]):\n    Y = X\n    K = k\n",
        ),
        "4:5 Y ?[n, d]\n5:5 K ?[k]",
    );
}

#[test]
fn asserts_and_unpacking_name_axes() {
    check(
        &with_header(
            "def f(x, y, k: int):\n    assert x.shape == (k, 3)\n    a = x\n    n, d = y.shape\n    b = y\n    assert y.ndim == 2\n",
        ),
        "5:5 a ?[k, 3]\n7:5 b ?[n, d]",
    );
}

#[test]
fn guards_refine_the_fall_through_path() {
    check(
        &with_header(
            "def f(x: Float[np.ndarray, \"n 3\"]):\n    if x.shape[0] != 5:\n        raise ValueError\n    a = x\n",
        ),
        "6:5 a ?[5, 3]",
    );
}

#[test]
fn branches_join_to_what_both_agree_on() {
    check(
        &with_header(
            "def f(a: Float[np.ndarray, \"n 3\"], b: Float[np.ndarray, \"n 4\"], c):\n    if c:\n        x = a\n        y = a\n    else:\n        x = b\n    z = x\n",
        ),
        "5:9 x ?[n, 3]\n6:9 y ?[n, 3]\n8:9 x ?[n, 4]\n9:5 z ?[n, ?]",
    );
}

#[test]
fn calls_substitute_arguments_into_annotations() {
    check(
        &with_header(
            "def g(A: Float[np.ndarray, \"m k\"]) -> Float[np.ndarray, \"m k\"]:\n    return A\n\ndef f(x: Float[np.ndarray, \"b 7\"]):\n    y = g(x)\n",
        ),
        "7:5 y ?[b, 7]",
    );
}

#[test]
fn instance_attributes_from_init() {
    check(
        &with_header(
            "class M:\n    def __init__(self, W: Float[np.ndarray, \"h d\"]):\n        self.W = W\n    def f(self):\n        q = self.W\n        return q\n\ndef use(w: Float[np.ndarray, \"2 5\"]):\n    m = M(w)\n    r = m.f()\n",
        ),
        "7:9 q ?[h, d]\n12:5 r ?[2, 5]",
    );
}

#[test]
fn loops_forget_what_changes() {
    check(
        &with_header(
            "def f(a: Float[np.ndarray, \"n 3\"], b: Float[np.ndarray, \"n 4\"], c: Float[np.ndarray, \"n 3\"]):\n    x = a\n    for i in range(3):\n        x = b\n    y = x\n    z = c\n    while True:\n        z = a\n        break\n    w = z\n",
        ),
        "4:5 x ?[n, 3]\n6:9 x ?[n, 4]\n7:5 y ?[n, ?]\n8:5 z ?[n, 3]\n10:9 z ?[n, 3]\n12:5 w ?[n, 3]",
    );
}

#[test]
fn files_without_numpy_are_skipped_and_syntax_errors_survive() {
    check("def f(x):\n    y = x\n", "");
    check(
        &with_header("def f(x: Float[np.ndarray, \"n\"]):\n    y = x\n    z = (\n"),
        "4:5 y ?[n]",
    );
}

#[test]
fn json_contract() {
    let got = run(
        &with_header("def f(x: Float[np.ndarray, \"n 2 _\"]):\n    y = x\n"),
        &["--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"line": 4, "column": 5, "name": "y", "shape": ["n", 2, "?"], "dtype": null}])
    );
}

#[test]
fn known_tests_decide_branches_in_calls() {
    check(
        &with_header(
            "def pick(x: Float[np.ndarray, \"n d\"], rows: bool, w=None):\n    if w is None:\n        w = x\n    if rows:\n        return x.sum(axis=1)\n    return x.sum(axis=0)\n\ndef f(a: Float[np.ndarray, \"3 4\"]):\n    r = pick(a, True)\n    c = pick(a, False)\n    u = pick(a, 1 > 2) if a is not None else None\n",
        ),
        "5:9 w ?[n, d]\n11:5 r ?[3]\n12:5 c ?[4]\n13:5 u ?[4]",
    );
}

#[test]
fn decorators_properties_and_inheritance() {
    check(
        &with_header(
            "from jaxtyping import jaxtyped\nfrom beartype import beartype\n\n@jaxtyped(typechecker=beartype)\ndef double(x: Float[np.ndarray, \"n\"]) -> Float[np.ndarray, \"n\"]:\n    return x\n\nclass Base:\n    def __init__(self, w: Float[np.ndarray, \"a b\"]):\n        self.w = w\n    @property\n    def weight(self):\n        return self.w\n    @staticmethod\n    def ident(v):\n        return v\n\nclass Child(Base):\n    def get(self):\n        return self.w\n\ndef f(v: Float[np.ndarray, \"5\"], m: Float[np.ndarray, \"2 3\"]):\n    y = double(v)\n    c = Child(m)\n    g = c.get()\n    p = c.weight\n    s = c.ident(v)\n",
        ),
        "25:5 y ?[5]\n27:5 g ?[2, 3]\n28:5 p ?[2, 3]\n29:5 s ?[5]",
    );
}

#[test]
fn closures_and_walrus_never_see_stale_values() {
    check(
        &with_header(
            "X = np.zeros(3)\n\ndef outer():\n    X = np.zeros(5)\n    def inner():\n        a = X\n        return a\n    return inner\n\ndef g(v: Float[np.ndarray, \"4\"], w: Float[np.ndarray, \"6\"]):\n    y = v\n    ys = [(y := w) for _ in range(2)]\n    z = y\n    if (m := w) is not None:\n        q = m\n",
        ),
        "3:1 X float64[3]\n6:5 X float64[5]\n13:5 y ?[4]\n16:9 m ?[6]\n17:9 q ?[6]",
    );
}

#[test]
fn mutated_lists_are_forgotten() {
    check(
        &with_header(
            "def helper(xs):\n    xs.append(np.zeros(3))\n\ndef f():\n    a = np.zeros(3)\n    xs = [a]\n    ys = xs\n    ys.append(a)\n    s1 = np.stack(xs)\n    zs = [a]\n    helper(zs)\n    s2 = np.stack(zs)\n    ws = [a]\n    ws[0] = a\n    s3 = np.stack(ws)\n    vs = [a, a]\n    s4 = np.stack(vs)\n",
        ),
        "7:5 a float64[3]\n11:5 s1 ?[...]\n14:5 s2 ?[...]\n17:5 s3 ?[...]\n19:5 s4 float64[2, 3]",
    );
}

#[test]
fn in_place_shape_changes_forget_the_array() {
    check(
        &with_header(
            "def f():\n    a = np.zeros(6)\n    a.shape = (2, 3)\n    b = a\n    c = np.zeros(6)\n    c.resize((3, 2))\n    d = c\n",
        ),
        "4:5 a float64[6]\n7:5 c float64[6]",
    );
}

#[test]
fn len_names_the_first_axis() {
    // Rank unknown when `len` runs: the size waits for the rank, then names axis 0.
    check(
        &with_header(
            "def f(x: np.ndarray):\n    n = len(x)\n    assert x.ndim == 2\n    y = x\n    z = np.zeros(n) + y[:, 0]\n",
        ),
        "6:5 y ?[n, ?]\n7:5 z ?[n]",
    );
    // Used inside an expression, then the axes are unpacked under other names.
    check(
        &with_header(
            "def f(x: np.ndarray):\n    out = np.zeros(len(x))\n    a, b = x.shape\n    s = out + x[:, 0]\n",
        ),
        "4:5 out float64[?]\n6:5 s ?[a]",
    );
    // Known rank, unknown first axis: named at once.
    check(
        &with_header("def f(x: np.ndarray):\n    assert x.ndim == 2\n    m = len(x)\n    y = x\n"),
        "6:5 y ?[m, ?]",
    );
    // Rebinding the name, or a path where `len` did not run, forgets the size.
    check(
        &with_header(
            "def g(v):\n    return v\n\ndef f(x: np.ndarray, c):\n    n = len(x)\n    x = g(x)\n    assert x.ndim == 2\n    y = x\n\ndef h(x: np.ndarray, c):\n    if c:\n        n = len(x)\n    assert x.ndim == 1\n    y = x\n",
        ),
        "8:5 x ?[...]\n10:5 y ?[?, ?]\n16:5 y ?[?]",
    );
}

#[test]
fn match_cases_a_known_subject_cannot_reach_are_dead() {
    check(
        &with_header(
            "def f(t):\n    match t:\n        case 1:\n            r = np.zeros(2)\n        case 2 | 3:\n            r = np.zeros((2, 3))\n        case None:\n            r = np.zeros(7)\n        case _:\n            raise ValueError\n    return r\n\na = f(1)\nb = f(3)\nc = f(None)\nd = f(t=\"x\")\n",
        ),
        "6:13 r float64[2]\n8:13 r float64[2, 3]\n10:13 r float64[7]\n15:1 a float64[2]\n16:1 b float64[2, 3]\n17:1 c float64[7]",
    );
}

#[test]
fn calls_reused_from_memory_never_share_data_dependent_sizes() {
    check(
        &with_header(
            "def pick(x):\n    return x[x > 0]\n\na = pick(np.ones(5))\nb = pick(np.ones(5))\nassert a.shape[0] == 3\nc = a\nd = b\n",
        ),
        "6:1 a float64[?]\n7:1 b float64[?]\n9:1 c float64[3]\n10:1 d float64[?]",
    );
}
