//! Small f64 matrix products (each of `m`, `n`, `k` up to a few hundred), the shape of
//! batched contractions such as 512 products of 64x64 matrices, where a general GEMM's
//! per-call set-up costs more than the arithmetic.
//!
//! A is packed into zero-padded panels of `MR` rows, `k` deep, so one register-blocked
//! kernel covers every tile; B is read in place when its rows are contiguous and whole
//! `NR`-wide panels fit, else packed likewise. The kernel keeps an `MR x NR` block of C in
//! registers and runs over `k` with fused multiply-adds. The tile shape follows the
//! vector extension the CPU has (chosen at run time): 8 x 16 with AVX-512 (16 of its 32
//! registers hold C), 4 x 8 with AVX2 (8 of 16), 4 x 4 otherwise.

/// Where element `(r, c)` of a matrix lives in its slice: `r * rows + c * cols`.
#[derive(Clone, Copy)]
pub(crate) struct Strides {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

/// `c (m x n, row-major) = a (m x k) * b (k x n)`. Panics unless every element `(r, c)` of
/// `a` and `b` addressed through the strides is inside the slices, and `c` holds `m * n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_small(
    (m, n, k): (usize, usize, usize),
    a: &[f64],
    sa: Strides,
    b: &[f64],
    sb: Strides,
    c: &mut [f64],
    pack: &mut Vec<f64>,
) {
    let c = &mut c[..m * n];
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    // The largest offset either operand is read at; every other offset is smaller.
    assert!((m - 1) * sa.rows + (k - 1) * sa.cols < a.len());
    assert!((k - 1) * sb.rows + (n - 1) * sb.cols < b.len());
    let args = Args {
        m,
        n,
        k,
        a,
        sa,
        b,
        sb,
    };
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above); `wide512` is safe Rust
            // compiled with that feature.
            return unsafe { x86::wide512(&args, c, pack) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: as above, for AVX2 and FMA.
            return unsafe { x86::wide256(&args, c, pack) };
        }
    }
    product::<4, 4>(&args, c, pack, kernel::<4, 4>)
}

/// The operands of one product, bounds already checked by `gemm_small`.
struct Args<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: &'a [f64],
    sa: Strides,
    b: &'a [f64],
    sb: Strides,
}

/// One tile's operands: element `(r, p)` of A at `a[r * a_row + p * a_step]` for
/// `r < MR`, `p < k`; row `p` of B's `NR` columns at `b[p * b_row..][..NR]`.
#[derive(Clone, Copy)]
struct Tile<'a> {
    k: usize,
    a: &'a [f64],
    a_row: usize,
    a_step: usize,
    b: &'a [f64],
    b_row: usize,
}

impl Tile<'_> {
    /// Panics unless every element the tile reads is inside its slices (the kernels read
    /// without further checks).
    #[inline(always)]
    fn check<const MR: usize, const NR: usize>(&self) {
        let last = |rows: usize, row: usize, k: usize, step: usize| {
            rows.checked_mul(row)?
                .checked_add(k.checked_sub(1)?.checked_mul(step)?)
        };
        assert!(last(MR - 1, self.a_row, self.k, self.a_step).is_some_and(|o| o < self.a.len()));
        assert!(last(1, NR - 1, self.k, self.b_row).is_some_and(|o| o < self.b.len()));
    }
}

/// The product with an `MR x NR` tile kernel.
#[inline(always)]
fn product<const MR: usize, const NR: usize>(
    x: &Args<'_>,
    c: &mut [f64],
    pack: &mut Vec<f64>,
    kernel: impl Fn(Tile<'_>) -> [[f64; NR]; MR],
) {
    let (m, n, k) = (x.m, x.n, x.k);
    let mp = m.div_ceil(MR);
    let np = n.div_ceil(NR);
    // Operands in place when whole tiles fit: B with contiguous rows, A with every row
    // present (any strides).
    let b_direct = x.sb.cols == 1 && n % NR == 0;
    let a_direct = m % MR == 0;
    let a_len = if a_direct { 0 } else { mp * MR * k };
    let b_len = if b_direct { 0 } else { np * NR * k };
    pack.clear();
    pack.resize(a_len + b_len, 0.0);
    let (ap, bp) = pack.split_at_mut(a_len);
    // A panels (when not read in place): panel i holds rows i*MR.. as ap[i][p*MR + r].
    for (i, panel) in ap.chunks_exact_mut(MR * k).enumerate() {
        for r in 0..MR.min(m - i * MR) {
            let row = (i * MR + r) * x.sa.rows;
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                dst[r] = x.a[row + p * x.sa.cols];
            }
        }
    }
    // B panels (when not read in place): panel j holds columns j*NR.. as bp[j][p*NR + c].
    for (j, panel) in bp.chunks_exact_mut(NR * k).enumerate() {
        let width = NR.min(n - j * NR);
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let row = p * x.sb.rows + j * NR * x.sb.cols;
            if x.sb.cols == 1 {
                dst[..width].copy_from_slice(&x.b[row..row + width]);
            } else {
                for (cc, d) in dst[..width].iter_mut().enumerate() {
                    *d = x.b[row + cc * x.sb.cols];
                }
            }
        }
    }
    for j in 0..np {
        let width = NR.min(n - j * NR);
        let (b, b_row) = if b_direct {
            (&x.b[j * NR..], x.sb.rows)
        } else {
            (&bp[j * NR * k..(j + 1) * NR * k], NR)
        };
        for i in 0..mp {
            let tile = if a_direct {
                Tile {
                    k,
                    a: &x.a[i * MR * x.sa.rows..],
                    a_row: x.sa.rows,
                    a_step: x.sa.cols,
                    b,
                    b_row,
                }
            } else {
                Tile {
                    k,
                    a: &ap[i * MR * k..(i + 1) * MR * k],
                    a_row: 1,
                    a_step: MR,
                    b,
                    b_row,
                }
            };
            let acc = kernel(tile);
            for (r, acc_row) in acc.iter().enumerate().take(MR.min(m - i * MR)) {
                let at = (i * MR + r) * n + j * NR;
                c[at..at + width].copy_from_slice(&acc_row[..width]);
            }
        }
    }
}

/// The portable kernel: the `MR x NR` tile of the product.
#[inline(always)]
fn kernel<const MR: usize, const NR: usize>(t: Tile<'_>) -> [[f64; NR]; MR] {
    t.check::<MR, NR>();
    let mut acc = [[0.0f64; NR]; MR];
    for p in 0..t.k {
        let brow = &t.b[p * t.b_row..p * t.b_row + NR];
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let ar = t.a[r * t.a_row + p * t.a_step];
            for (x, &b) in acc_row.iter_mut().zip(brow) {
                *x = ar.mul_add(b, *x);
            }
        }
    }
    acc
}

/// Tile kernels written with x86 vector intrinsics: left to itself, the compiler
/// vectorised the portable kernel across the rows of the tile (with gathers), not along
/// them.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{product, Args, Tile};

    #[target_feature(enable = "avx512f")]
    pub(super) fn wide512(x: &Args<'_>, c: &mut [f64], pack: &mut Vec<f64>) {
        product::<8, 16>(x, c, pack, |t| kernel_8x16(t))
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn wide256(x: &Args<'_>, c: &mut [f64], pack: &mut Vec<f64>) {
        product::<6, 8>(x, c, pack, |t| kernel_6x8(t))
    }

    /// Defines a tile kernel `$name` for `$feature`: `$mr` rows of the tile, each two
    /// vectors of `$lanes` f64 (so `NR` = 2 * `$lanes`), `2 * $mr` accumulators.
    macro_rules! tile_kernel {
        ($name:ident, $feature:literal, $mr:literal, $lanes:literal,
         $zero:ident, $load:ident, $set1:ident, $fma:ident, $store:ident) => {
            #[target_feature(enable = $feature)]
            fn $name(t: Tile<'_>) -> [[f64; 2 * $lanes]; $mr] {
                t.check::<$mr, { 2 * $lanes }>();
                let mut acc = [[$zero(); 2]; $mr];
                let rows: [*const f64; $mr] = std::array::from_fn(|r| t.a[r * t.a_row..].as_ptr());
                for p in 0..t.k {
                    // SAFETY: `check` proved (k-1)*b_row + NR <= b.len() and
                    // (MR-1)*a_row + (k-1)*a_step < a.len(), so with p < k every load below
                    // is inside the slices.
                    unsafe {
                        let brow = t.b.as_ptr().add(p * t.b_row);
                        let b0 = $load(brow);
                        let b1 = $load(brow.add($lanes));
                        for (acc_r, row) in acc.iter_mut().zip(rows) {
                            let ar = $set1(*row.add(p * t.a_step));
                            acc_r[0] = $fma(ar, b0, acc_r[0]);
                            acc_r[1] = $fma(ar, b1, acc_r[1]);
                        }
                    }
                }
                let mut out = [[0.0f64; 2 * $lanes]; $mr];
                for (o, v) in out.iter_mut().zip(acc) {
                    // SAFETY: `o` is 2 * lanes writable f64; the stores write its two halves.
                    unsafe {
                        $store(o.as_mut_ptr(), v[0]);
                        $store(o.as_mut_ptr().add($lanes), v[1]);
                    }
                }
                out
            }
        };
    }

    tile_kernel!(
        kernel_8x16,
        "avx512f",
        8,
        8,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_storeu_pd
    );
    tile_kernel!(
        kernel_6x8,
        "avx2,fma",
        6,
        4,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_storeu_pd
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f64],
        sa: Strides,
        b: &[f64],
        sb: Strides,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| a[i * sa.rows + p * sa.cols] * b[p * sb.rows + j * sb.cols])
                    .sum();
            }
        }
        c
    }

    type Product = fn(&Args<'_>, &mut [f64], &mut Vec<f64>);

    /// Every tile kernel this CPU can run, under its name.
    fn variants() -> Vec<(&'static str, Product)> {
        let mut v: Vec<(&'static str, Product)> = vec![("portable 4x4", |x, c, p| {
            product::<4, 4>(x, c, p, kernel::<4, 4>)
        })];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                v.push(("avx512 8x16", |x, c, p| unsafe { x86::wide512(x, c, p) }));
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                v.push(("avx2 6x8", |x, c, p| unsafe { x86::wide256(x, c, p) }));
            }
        }
        v
    }

    #[test]
    fn every_kernel_matches_the_naive_product_on_ragged_strided_and_transposed_shapes() {
        let mut pack = Vec::new();
        for (name, run) in variants() {
            for &(m, n, k) in &[
                (1, 1, 1),
                (3, 5, 7),
                (4, 16, 8),
                (6, 8, 3),
                (8, 16, 5),
                (16, 32, 9),
                (17, 33, 9),
                (24, 48, 2),
                (64, 64, 64),
            ] {
                let a: Vec<f64> = (0..m * k).map(|x| ((x * 7 % 13) as f64) - 6.0).collect();
                let b: Vec<f64> = (0..k * n).map(|x| ((x * 5 % 11) as f64) * 0.5).collect();
                for (sa, sb) in [
                    (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 }),
                    (Strides { rows: 1, cols: m }, Strides { rows: 1, cols: k }),
                    (Strides { rows: k, cols: 1 }, Strides { rows: 1, cols: k }),
                    (Strides { rows: 1, cols: m }, Strides { rows: n, cols: 1 }),
                ] {
                    let want = naive(m, n, k, &a, sa, &b, sb);
                    let mut got = vec![f64::NAN; m * n];
                    let args = Args {
                        m,
                        n,
                        k,
                        a: &a,
                        sa,
                        b: &b,
                        sb,
                    };
                    run(&args, &mut got, &mut pack);
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                            "{name} {m}x{n}x{k}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn empty_sides_and_zero_depth() {
        let mut pack = Vec::new();
        let s = Strides { rows: 1, cols: 1 };
        let mut c = vec![f64::NAN; 10];
        gemm_small((5, 2, 0), &[], s, &[], s, &mut c, &mut pack);
        assert!(c.iter().all(|&x| x == 0.0));
        let mut c: Vec<f64> = vec![];
        gemm_small((0, 3, 4), &[], s, &[0.0; 12], s, &mut c, &mut pack);
    }
}
