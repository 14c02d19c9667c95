//! Property test: random well-typed programs (element-wise chains, reductions,
//! contractions, gathers, mapped linear algebra, mapped `cumsum`/`sort`/`argsort`/`cov`,
//! flatten/split groups, integer arithmetic)
//! run on the fast executor and the reference evaluator give the same outputs: integers
//! and booleans exactly, floats within rtol 1e-12 plus an absolute tolerance scaled by the
//! reduction length. Seeded, so a failure names the seed and program that reproduce it.

use overt::overt::checker::check_source;
use overt::runtime::exec::execute;
use overt::runtime::lower::lower;
use overt::runtime::reference::evaluate;
use overt::runtime::{MemoryBudget, Tensor, TensorData};

/// xorshift64*: small, seeded, good enough to pick program shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn normal(&mut self) -> f64 {
        // Sum of uniforms: roughly normal, bounded, enough for test data.
        (0..4)
            .map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64)
            .sum::<f64>()
            - 2.0
    }
}

/// An array the program can read: name, axes (size names), float or integer.
#[derive(Clone)]
struct Arr {
    name: String,
    dims: Vec<&'static str>,
    int: bool,
}

struct Gen {
    rng: Rng,
    arrays: Vec<Arr>,
    defs: Vec<String>,
    counter: usize,
    /// Large sizes: keep reductions to one variable so the reference stays quick.
    big: bool,
}

const DIMS: [&str; 3] = ["n", "m", "k"];

impl Gen {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// A float expression over index variables `vars` (name, size), depth-limited.
    fn float_expr(&mut self, vars: &[(&str, &str)], depth: usize) -> String {
        let choice = if depth == 0 {
            self.rng.below(3)
        } else {
            self.rng.below(11)
        };
        match choice {
            0 | 1 => self.load(vars, false).unwrap_or_else(|| "0.5".into()),
            2 => {
                let consts = ["1.5", "-0.25", "2.0", "0.1"];
                self.rng.pick(&consts).to_string()
            }
            3 => {
                let (v, _) = *self.rng.pick(vars);
                format!("f64({v})")
            }
            4 | 5 => {
                let ops = ["+", "-", "*"];
                let op = *self.rng.pick(&ops);
                let a = self.float_expr(vars, depth - 1);
                let b = self.float_expr(vars, depth - 1);
                format!("({a} {op} {b})")
            }
            6 => {
                let a = self.float_expr(vars, depth - 1);
                let b = self.float_expr(vars, depth - 1);
                format!("({a} / (1.5 + abs({b})))")
            }
            7 => {
                let fs = ["tanh", "sin", "cos", "abs"];
                let f = *self.rng.pick(&fs);
                format!("{f}({})", self.float_expr(vars, depth - 1))
            }
            8 => format!("exp(tanh({}))", self.float_expr(vars, depth - 1)),
            9 => {
                let c = self.float_expr(vars, depth - 1);
                let a = self.float_expr(vars, depth - 1);
                let b = self.float_expr(vars, depth - 1);
                format!("where({c} > 0.0, {a}, {b})")
            }
            _ => match self.load(vars, true) {
                Some(i) => format!("f64({i} % 3)"),
                None => "1.0".into(),
            },
        }
    }

    /// A reference to an array whose every axis size is covered by one of `vars`.
    fn load(&mut self, vars: &[(&str, &str)], int: bool) -> Option<String> {
        let fits: Vec<Arr> = self
            .arrays
            .iter()
            .filter(|a| a.int == int && !a.dims.is_empty())
            .filter(|a| a.dims.iter().all(|d| vars.iter().any(|(_, s)| s == d)))
            .cloned()
            .collect();
        if fits.is_empty() {
            return None;
        }
        let a = self.rng.pick(&fits).clone();
        let idx: Vec<&str> = a
            .dims
            .iter()
            .map(|d| {
                let candidates: Vec<&str> = vars
                    .iter()
                    .filter(|(_, s)| s == d)
                    .map(|(v, _)| *v)
                    .collect();
                *self.rng.pick(&candidates)
            })
            .collect();
        Some(format!("{}[{}]", a.name, idx.join(", ")))
    }

    /// Loads that use every variable in `vars` (so its domain is inferred), summed.
    fn cover(&self, vars: &[(&str, &str)]) -> String {
        vars.iter()
            .map(|(v, d)| format!("u{d}[{v}]"))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    fn pick_vars(
        &mut self,
        count: usize,
        names: &[&'static str],
    ) -> Vec<(&'static str, &'static str)> {
        (0..count)
            .map(|i| (names[i], *self.rng.pick(&DIMS)))
            .collect()
    }

    fn definition(&mut self) {
        let kind = self.rng.below(9);
        match kind {
            // Element-wise.
            0 | 1 => {
                let count = 1 + self.rng.below(2);
                let out = self.pick_vars(count, &["i", "j"]);
                let e = self.float_expr(&out, 3);
                let name = self.fresh("E");
                let lhs: Vec<&str> = out.iter().map(|(v, _)| *v).collect();
                let cover = self.cover(&out);
                self.defs
                    .push(format!("{name}[{}] = {cover} + {e}", lhs.join(", ")));
                self.arrays.push(Arr {
                    name,
                    dims: out.iter().map(|(_, d)| *d).collect(),
                    int: false,
                });
            }
            // Reduction of an element-wise body.
            2 | 3 => {
                let nout = if self.big {
                    self.rng.below(2)
                } else {
                    self.rng.below(3)
                };
                let count = if self.big {
                    nout + 1
                } else {
                    nout + 1 + self.rng.below(2)
                };
                let all = self.pick_vars(count, &["i", "j", "p", "r"]);
                let (out, red) = all.split_at(nout);
                let body = format!("{} + {}", self.cover(&all), self.float_expr(&all, 2));
                let ops = [
                    "sum",
                    "mean",
                    "max",
                    "min",
                    "prod",
                    "logsumexp",
                    "argmax",
                    "argmin",
                    "any",
                    "all",
                ];
                let mut op = *self.rng.pick(&ops);
                if (op == "argmax" || op == "argmin") && red.len() != 1 {
                    op = "sum";
                }
                let rv: Vec<&str> = red.iter().map(|(v, _)| *v).collect();
                let body = match op {
                    "any" | "all" => format!("({body}) > 0.3"),
                    "prod" => format!("tanh({body}) + 1.0"),
                    _ => body,
                };
                let name = self.fresh("R");
                let lhs: Vec<&str> = out.iter().map(|(v, _)| *v).collect();
                self.defs.push(format!(
                    "{name}[{}] = {op}({body} for {})",
                    lhs.join(", "),
                    rv.join(", ")
                ));
                if op != "any" && op != "all" {
                    let int = op == "argmax" || op == "argmin";
                    self.arrays.push(Arr {
                        name,
                        dims: out.iter().map(|(_, d)| *d).collect(),
                        int,
                    });
                }
            }
            // Contraction, operands in any axis order.
            4 => {
                let (a, b, c) = (
                    *self.rng.pick(&DIMS),
                    *self.rng.pick(&DIMS),
                    *self.rng.pick(&DIMS),
                );
                let vars = [("i", a), ("j", b), ("p", c)];
                let x = self.load(&[("i", a), ("p", c)], false);
                let y = self.load(&[("p", c), ("j", b)], false);
                if let (Some(x), Some(y)) = (x, y) {
                    if x.contains('p') && y.contains('p') && x.contains('i') && y.contains('j') {
                        let name = self.fresh("C");
                        self.defs
                            .push(format!("{name}[i, j] = sum({x} * {y} for p)"));
                        self.arrays.push(Arr {
                            name,
                            dims: vec![a, b],
                            int: false,
                        });
                        let _ = vars;
                    }
                }
            }
            // Gathers through the index arrays.
            5 => {
                let d = *self.rng.pick(&DIMS);
                let name = self.fresh("G");
                self.defs.push(format!(
                    "{name}[t, j] = A[idx[t], j] * u{d}[s] + A[idx2[t], 0]"
                ));
                self.arrays.push(Arr {
                    name: name.clone(),
                    dims: vec!["q", "m"],
                    int: false,
                });
                // `s` only sizes the definition: keep it in range with a reduction.
                let last = self.defs.pop().unwrap_or_default();
                let fixed = last.replace(&format!("u{d}[s]"), &format!("sum(u{d}[s] for s)"));
                self.defs.push(fixed);
            }
            // Mapped linear algebra, groups, integers.
            6 => {
                let which = self.rng.below(4);
                let name = self.fresh("L");
                let line = match which {
                    0 => format!("{name}[b, :] = solve(S[b, :, :], x[b, :])"),
                    1 => format!("{name}[b, :, :] = inv(S[b, :, :])"),
                    2 => format!("{name}[b] = det(S[b, :, :])"),
                    _ => format!("{name}[b, :, :] = cholesky(S[b, :, :])"),
                };
                self.defs.push(line);
            }
            // Mapped one-axis builtins and `cov`, over rows or (strided) columns of an
            // input or a computed matrix; their results feed later definitions.
            7 => {
                let int = self.rng.below(3) == 0;
                let mats: Vec<Arr> = self
                    .arrays
                    .iter()
                    .filter(|a| a.dims.len() == 2 && a.int == int)
                    .cloned()
                    .collect();
                let Some(x) = mats.get(self.rng.below(mats.len().max(1))).cloned() else {
                    return;
                };
                let name = self.fresh("V");
                let ops: &[&str] = if int {
                    &["cumsum", "sort", "argsort"]
                } else {
                    &["cumsum", "sort", "argsort", "cov"]
                };
                let op = *self.rng.pick(ops);
                let (d0, d1) = (x.dims[0], x.dims[1]);
                let (line, dims) = if op == "cov" {
                    (
                        format!("{name}[:, :] = cov({}[:, :])", x.name),
                        vec![d0, d0],
                    )
                } else if self.rng.below(2) == 0 {
                    (
                        format!("{name}[i, :] = {op}({}[i, :])", x.name),
                        vec![d0, d1],
                    )
                } else {
                    (
                        format!("{name}[j, :] = {op}({}[:, j])", x.name),
                        vec![d1, d0],
                    )
                };
                self.defs.push(line);
                self.arrays.push(Arr {
                    name,
                    dims,
                    int: int || op == "argsort",
                });
            }
            _ => {
                let name = self.fresh("F");
                self.defs.push(format!(
                    "{name}[(i, j)] = A[i, j] + f64(I[i, j] // 2 - I[i, j] % 3)"
                ));
                let back = self.fresh("H");
                self.defs.push(format!(
                    "{back}[i in range(n), j in range(m)] = {name}[(i, j)] * 2.0"
                ));
                self.arrays.push(Arr {
                    name: back,
                    dims: vec!["n", "m"],
                    int: false,
                });
                let ints = self.fresh("Z");
                self.defs.push(format!(
                    "{ints}[i] = sum(I[i, j] * I[i, j] - 3 * I[i, j] for j)"
                ));
                self.arrays.push(Arr {
                    name: ints,
                    dims: vec!["n"],
                    int: true,
                });
            }
        }
    }
}

const HEADER: &str =
    "input A: f64[n, m]\ninput B: f64[m, k]\ninput D: f64[k, k]\ninput un: f64[n]\n\
input um: f64[m]\ninput uk: f64[k]\ninput I: i64[n, m]\ninput idx: i64[q]\ninput idx2: i64[q]\n\
input S: f64[bb, k, k]\ninput x: f64[bb, k]\n";

fn inputs(rng: &mut Rng, n: usize, m: usize, k: usize) -> Vec<(String, Tensor)> {
    let q = 1 + rng.below(7);
    let bb = 1 + rng.below(4);
    let floats = |shape: Vec<usize>, rng: &mut Rng| {
        let len = shape.iter().product();
        Tensor::from_f64(shape, (0..len).map(|_| rng.normal()).collect()).unwrap()
    };
    let mut out = vec![
        ("A".to_string(), floats(vec![n, m], rng)),
        ("B".to_string(), floats(vec![m, k], rng)),
        ("D".to_string(), floats(vec![k, k], rng)),
        ("un".to_string(), floats(vec![n], rng)),
        ("um".to_string(), floats(vec![m], rng)),
        ("uk".to_string(), floats(vec![k], rng)),
        ("x".to_string(), floats(vec![bb, k], rng)),
    ];
    let ints: Vec<i64> = (0..n * m).map(|_| rng.below(21) as i64 - 10).collect();
    out.push(("I".into(), Tensor::from_i64(vec![n, m], ints).unwrap()));
    for name in ["idx", "idx2"] {
        let v: Vec<i64> = (0..q).map(|_| rng.below(n) as i64).collect();
        out.push((name.into(), Tensor::from_i64(vec![q], v).unwrap()));
    }
    // Symmetric positive definite: M M^T + k I.
    let mut s = vec![0.0; bb * k * k];
    for b in 0..bb {
        let mat: Vec<f64> = (0..k * k).map(|_| rng.normal()).collect();
        for i in 0..k {
            for j in 0..k {
                let dot: f64 = (0..k).map(|p| mat[i * k + p] * mat[j * k + p]).sum();
                s[b * k * k + i * k + j] = dot + if i == j { k as f64 } else { 0.0 };
            }
        }
    }
    out.push(("S".into(), Tensor::from_f64(vec![bb, k, k], s).unwrap()));
    out
}

/// Binds `named` to `program`'s inputs and runs it on the fast executor (`plan`) and the
/// reference evaluator: (fast, reference).
fn run_both(
    program: &overt::overt::program::CheckedProgram,
    plan: &overt::runtime::plan::Plan,
    named: Vec<(&str, Tensor)>,
) -> (
    Result<Vec<Tensor>, overt::runtime::exec::ExecError>,
    Result<Vec<Tensor>, overt::runtime::reference::RuntimeError>,
) {
    let named = named.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let (sizes, ins) = overt::runtime::reference::bind_inputs(program, named, &Default::default())
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let budget = MemoryBudget::unlimited();
    let reference = evaluate(program, &sizes, ins.clone(), &budget);
    (execute(plan, &sizes, ins, &budget), reference)
}

fn close(a: &Tensor, b: &Tensor, scale: usize) -> Result<(), String> {
    if a.shape() != b.shape() {
        return Err(format!("shapes {:?} vs {:?}", a.shape(), b.shape()));
    }
    match (a.data(), b.data()) {
        (TensorData::F64(x), TensorData::F64(y)) => {
            let mag = y
                .iter()
                .filter(|v| v.is_finite())
                .fold(1.0f64, |m, v| m.max(v.abs()));
            for (k, (p, q)) in x.iter().zip(y).enumerate() {
                let same = (p.is_nan() && q.is_nan())
                    || p == q
                    || (p - q).abs() <= 1e-12 * q.abs() + 1e-13 * scale as f64 * mag;
                if !same {
                    return Err(format!("element {k}: fast {p} vs reference {q}"));
                }
            }
            Ok(())
        }
        (x, y) if x == y => Ok(()),
        (x, y) => Err(format!("fast {x:?}\nreference {y:?}")),
    }
}

#[test]
fn fast_executor_agrees_with_reference() {
    let cases = 250;
    let mut checked = 0;
    for seed in 1..=cases {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        // Mostly tiny sizes (edges: 1), sometimes large enough for the matmul path.
        let big = rng.below(5) == 0;
        // 32^3 multiply-adds and up take the matrix-multiply path.
        let size = |rng: &mut Rng| {
            if big {
                30 + rng.below(14)
            } else {
                1 + rng.below(5)
            }
        };
        let (n, m, k) = (size(&mut rng), size(&mut rng), size(&mut rng));
        let mut g = Gen {
            rng,
            arrays: Vec::new(),
            defs: Vec::new(),
            counter: 0,
            big,
        };
        for name in ["A", "un", "um", "uk", "B", "D", "I"] {
            let (dims, int) = match name {
                "A" => (vec!["n", "m"], false),
                "B" => (vec!["m", "k"], false),
                "D" => (vec!["k", "k"], false),
                "I" => (vec!["n", "m"], true),
                "un" => (vec!["n"], false),
                "um" => (vec!["m"], false),
                _ => (vec!["k"], false),
            };
            g.arrays.push(Arr {
                name: name.into(),
                dims,
                int,
            });
        }
        let want = 2 + g.rng.below(4);
        while g.defs.len() < want {
            g.definition();
        }
        let outputs: Vec<String> = g
            .defs
            .iter()
            .filter_map(|d| d.split('[').next().map(str::to_string))
            .collect();
        let source = format!(
            "{HEADER}\n{}\n\noutput {}\n",
            g.defs.join("\n"),
            outputs.join(", ")
        );
        let (program, diags) = check_source(&source);
        let Some(program) = program else {
            panic!("seed {seed}: generated program does not check:\n{source}\n{diags:#?}");
        };
        let given = inputs(&mut g.rng, n, m, k);
        let named: std::collections::HashMap<String, Tensor> = given.iter().cloned().collect();
        let (sizes, ins) =
            overt::runtime::reference::bind_inputs(&program, named, &Default::default())
                .unwrap_or_else(|e| panic!("seed {seed}: bind: {e}\n{source}"));
        let budget = MemoryBudget::unlimited();
        let reference = evaluate(&program, &sizes, ins.clone(), &budget);
        let plan = lower(&program)
            .unwrap_or_else(|u| panic!("seed {seed}: lower: {}\n{source}", u.message));
        let fast = execute(&plan, &sizes, ins, &budget);
        match (fast, reference) {
            (Ok(f), Ok(r)) => {
                for ((name, a), b) in outputs.iter().zip(&f).zip(&r) {
                    let scale = n.max(m).max(k) * n.max(m).max(k);
                    if let Err(e) = close(a, b, scale) {
                        panic!("seed {seed}: output {name} differs: {e}\n{source}");
                    }
                }
                checked += 1;
            }
            (Err(f), Err(r)) => {
                assert_eq!(
                    f.span.is_some(),
                    r.span.is_some(),
                    "seed {seed}: {f} vs {r}"
                );
            }
            (f, r) => panic!(
                "seed {seed}: fast {:?} vs reference {:?}\n{source}",
                f.map(|_| "ok").map_err(|e| e.message),
                r.map(|_| "ok").map_err(|e| e.message)
            ),
        }
    }
    eprintln!("{checked} of {cases} programs ran on both engines");
    assert!(
        checked > cases as usize * 3 / 4,
        "only {checked} of {cases} programs ran"
    );
}

/// `nonzero` on both engines: masks of rank 1 to 3 (a whole bool input, and computed
/// masks the lowering materialises first), with no, all and about half the elements true,
/// and sizes large enough that the fast executor counts in parallel chunks; gathers and a
/// reduction over the rows, and an array whose size is the row count.
#[test]
fn nonzero_agrees_between_engines() {
    const PROGRAM: &str = "input X: f64[a, b, c]\ninput v: f64[n]\ninput M: bool[r, s]\n\n\
        i1[:, :] = nonzero(v[:] > 0.0)\n\
        y[q] = v[i1[q, 0]] * 2.0\n\
        total = sum(v[i1[q, 0]] for q)\n\
        i3[:, :] = nonzero(X[:, :, :] < 0.0)\n\
        g[p] = X[i3[p, 0], i3[p, 1], i3[p, 2]]\n\
        i2[:, :] = nonzero(X[0, :, :] > 0.0)\n\
        rows[p, :] = X[0, i2[p, 0], :]\n\
        im[:, :] = nonzero(M[:, :])\n\
        output i1, y, total, i3, g, i2, rows, im\n";
    let (program, diags) = check_source(PROGRAM);
    let program = program.unwrap_or_else(|| panic!("{diags:#?}"));
    let plan = lower(&program).unwrap_or_else(|u| panic!("lower: {}", u.message));
    let mut rng = Rng(0x5eed_0000_0000_0001);
    let mut checked = 0;
    for case in 0..40 {
        // (a, b, c, n, r, s): tiny, empty axes, and over 2^18 elements (parallel chunks).
        let dims = match case {
            0 => (70, 80, 60, 700_000, 600, 500),
            1 => (1, 0, 2, 0, 0, 4),
            _ => (
                1 + rng.below(4),
                1 + rng.below(5),
                1 + rng.below(5),
                rng.below(30),
                1 + rng.below(6),
                rng.below(6),
            ),
        };
        let (a, b, c, n, r, s) = dims;
        // Shifted data: every element true, none, or about half.
        let shift = match case % 3 {
            0 => 0.0,
            1 => 50.0,
            _ => -50.0,
        };
        let mut floats =
            |len: usize| -> Vec<f64> { (0..len).map(|_| rng.normal() + shift).collect() };
        let x = floats(a * b * c);
        let v = floats(n);
        let m: Vec<bool> = (0..r * s).map(|_| rng.below(3) == 0).collect();
        let (fast, reference) = run_both(
            &program,
            &plan,
            vec![
                ("X", Tensor::from_f64(vec![a, b, c], x).unwrap()),
                ("v", Tensor::from_f64(vec![n], v).unwrap()),
                ("M", Tensor::from_bool(vec![r, s], m).unwrap()),
            ],
        );
        match (fast, reference) {
            (Ok(f), Ok(r)) => {
                for ((id, x), y) in program.outputs.iter().zip(&f).zip(&r) {
                    let name = &program.array(*id).name;
                    if let Err(e) = close(x, y, n.max(a * b * c)) {
                        panic!("case {case}: output {name} differs: {e}");
                    }
                }
                checked += 1;
            }
            (f, r) => panic!(
                "case {case} {dims:?}: fast {:?} vs reference {:?}",
                f.map(|_| "ok").map_err(|e| e.message),
                r.map(|_| "ok").map_err(|e| e.message)
            ),
        }
    }
    assert_eq!(checked, 40);
}

/// `cumsum`, `sort`, `argsort` and `cov` mapped over rows and strided columns, on both
/// engines: large enough that the fast executor splits the batch across threads, with NaNs,
/// signed zeros and integer ties (order and sums are exact: both engines run one kernel;
/// `cov`, a matrix product on the fast executor, within rounding). An integer running sum
/// that overflows is an error at the call on both.
#[test]
fn one_axis_builtins_agree_between_engines() {
    const PROGRAM: &str = "input x: f64[r, c]\ninput k: i64[r, c]\ninput h: f32[r, c]\n\n\
        cs[i, :] = cumsum(x[i, :])\n\
        so[j, :] = sort(x[:, j])\n\
        ar[i, :] = argsort(x[i, :])\n\
        ck[j, :] = cumsum(k[:, j])\n\
        ak[i, :] = argsort(k[i, :])\n\
        sk[i, :] = sort(k[i, :])\n\
        ch[i, :] = cumsum(h[i, :])\n\
        sh[j, :] = sort(h[:, j])\n\
        cv[:, :] = cov(x[0:8, :])\n\
        output cs, so, ar, ck, ak, sk, ch, sh, cv\n";
    let (program, diags) = check_source(PROGRAM);
    let program = program.unwrap_or_else(|| panic!("{diags:#?}"));
    let plan = lower(&program).unwrap_or_else(|u| panic!("lower: {}", u.message));
    let mut rng = Rng(0x5eed_0000_0000_0002);
    for (case, (r, c)) in [(400, 300), (9, 1), (8, 0), (12, 5)]
        .into_iter()
        .enumerate()
    {
        let len = r * c;
        let x: Vec<f64> = (0..len)
            .map(|i| match i % 97 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                _ => rng.normal(),
            })
            .collect();
        let k: Vec<i64> = (0..len).map(|_| rng.below(7) as i64 - 3).collect();
        let h: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
        let (fast, reference) = run_both(
            &program,
            &plan,
            vec![
                ("x", Tensor::from_f64(vec![r, c], x).unwrap()),
                ("k", Tensor::from_i64(vec![r, c], k).unwrap()),
                ("h", Tensor::new(vec![r, c], TensorData::F32(h)).unwrap()),
            ],
        );
        let fast = fast.unwrap_or_else(|e| panic!("case {case}: fast: {e}"));
        let reference = reference.unwrap_or_else(|e| panic!("case {case}: reference: {e}"));
        for ((id, a), b) in program.outputs.iter().zip(&fast).zip(&reference) {
            let name = &program.array(*id).name;
            if name == "cv" {
                // A matrix product on the fast executor, sums in order on the reference.
                if let Err(e) = close(a, b, c) {
                    panic!("case {case}: cv: {e}");
                }
                continue;
            }
            // Bit for bit, NaNs included: the same kernels on the same elements.
            let bits = |t: &Tensor| -> Vec<u64> {
                (0..t.len())
                    .map(|i| match t.data().get(i) {
                        Some(overt::runtime::Scalar::F64(v)) => v.to_bits(),
                        Some(overt::runtime::Scalar::F32(v)) => u64::from(v.to_bits()),
                        Some(overt::runtime::Scalar::I64(v)) => v as u64,
                        other => panic!("{other:?}"),
                    })
                    .collect()
            };
            assert_eq!(a.shape(), b.shape(), "case {case}: {name}");
            assert!(bits(a) == bits(b), "case {case}: {name} differs");
        }
    }
    // Overflow: the same error, at the same call, on both engines.
    let (f, r) = run_both(
        &program,
        &plan,
        vec![
            ("x", Tensor::from_f64(vec![2, 2], vec![0.0; 4]).unwrap()),
            (
                "k",
                Tensor::from_i64(vec![2, 2], vec![i64::MAX, 0, 1, 0]).unwrap(),
            ),
            (
                "h",
                Tensor::new(vec![2, 2], TensorData::F32(vec![0.0; 4])).unwrap(),
            ),
        ],
    );
    let f = f.expect_err("fast overflows");
    let r = r.expect_err("reference overflows");
    assert_eq!(f.message, r.message);
    assert_eq!(f.message, "integer overflow");
    let call = PROGRAM.find("cumsum(k").unwrap();
    for span in [f.span, r.span] {
        let span = span.expect("a span");
        assert!(
            (span.start().to_usize()..span.end().to_usize()).contains(&call),
            "{span:?} does not cover the call at {call}"
        );
    }
}

/// A sort's working memory (keys and positions, 24 bytes an element per thread) counts
/// against the memory budget: over it, the call is an error at its span, not an aborted
/// process; under it, the sort runs.
#[test]
fn sort_working_memory_is_within_the_budget() {
    const PROGRAM: &str = "input x: f64[n]\n\ns[:] = sort(x[:])\noutput s\n";
    let (program, diags) = check_source(PROGRAM);
    let program = program.unwrap_or_else(|| panic!("{diags:#?}"));
    let plan = lower(&program).unwrap_or_else(|u| panic!("lower: {}", u.message));
    let n = 100_000;
    let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
    let named = [("x".to_string(), Tensor::from_f64(vec![n], x).unwrap())]
        .into_iter()
        .collect();
    let (sizes, ins) =
        overt::runtime::reference::bind_inputs(&program, named, &Default::default()).unwrap();
    let threads = rayon::current_num_threads();
    // Room for the output (8 bytes an element) but not for the working memory.
    let tight = MemoryBudget::new((n * 8 + n * 8 * threads) as u64);
    let err = execute(&plan, &sizes, ins.clone(), &tight).expect_err("over the budget");
    assert!(
        err.message.contains("s (working memory)"),
        "{}",
        err.message
    );
    let span = err.span.expect("a span");
    assert_eq!(
        &PROGRAM[span.start().to_usize()..span.end().to_usize()],
        "sort(x[:])"
    );
    let ample = MemoryBudget::new((n * 8 + n * 24 * threads) as u64);
    let out = execute(&plan, &sizes, ins, &ample).expect("within the budget");
    assert_eq!(out[0].len(), n);
    assert_eq!(
        ample.used(),
        (n * 8) as u64,
        "the working memory is given back"
    );
}
