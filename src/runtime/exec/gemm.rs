//! Small f64 matrix products (each of `m`, `n`, `k` up to a few hundred), the shape of
//! batched contractions such as 512 products of 64x64 matrices, where a general GEMM's
//! per-call set-up costs more than the arithmetic.
//!
//! Both operands are packed into zero-padded panels (`MR` rows of A, `NR` columns of B,
//! `k` deep) so one register-blocked kernel covers every tile; the kernel keeps an
//! `MR x NR` block of C in registers and runs over `k` with fused multiply-adds, compiled
//! for the widest vector extension the CPU has (`multiversion!`).

/// Rows of C per kernel call.
const MR: usize = 4;
/// Columns of C per kernel call (two AVX-512 vectors of f64).
const NR: usize = 16;

/// Where element `(r, c)` of a matrix lives in its slice: `r * rows + c * cols`.
#[derive(Clone, Copy)]
pub(crate) struct Strides {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

/// `c (m x n, row-major) = a (m x k) * b (k x n)`. The caller guarantees every element
/// `(r, c)` of `a` and `b` addressed through the strides is inside the slices.
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
    if k == 0 {
        c[..m * n].fill(0.0);
        return;
    }
    let mp = m.div_ceil(MR);
    let np = n.div_ceil(NR);
    let a_len = mp * MR * k;
    pack.clear();
    pack.resize(a_len + np * NR * k, 0.0);
    let (ap, bp) = pack.split_at_mut(a_len);
    // A panels: panel i holds rows i*MR.. as ap[i][p*MR + r].
    for (i, panel) in ap.chunks_mut(MR * k.max(1)).enumerate() {
        for r in 0..MR.min(m - i * MR) {
            let row = i * MR + r;
            for p in 0..k {
                panel[p * MR + r] = a[row * sa.rows + p * sa.cols];
            }
        }
    }
    // B panels: panel j holds columns j*NR.. as bp[j][p*NR + c].
    for (j, panel) in bp.chunks_mut(NR * k.max(1)).enumerate() {
        let width = NR.min(n - j * NR);
        for p in 0..k {
            for cc in 0..width {
                panel[p * NR + cc] = b[p * sb.rows + (j * NR + cc) * sb.cols];
            }
        }
    }
    run(m, n, k, ap, bp, c);
}

multiversion! {
    fn run(m: usize, n: usize, k: usize, ap: &[f64], bp: &[f64], c: &mut [f64]) => tiles
}

#[inline(always)]
fn tiles(m: usize, n: usize, k: usize, ap: &[f64], bp: &[f64], c: &mut [f64]) {
    let kk = k.max(1);
    for (j, bpanel) in bp.chunks_exact(NR * kk).enumerate() {
        let width = NR.min(n - j * NR);
        for (i, apanel) in ap.chunks_exact(MR * kk).enumerate() {
            let acc = kernel(k, apanel, bpanel);
            for (r, acc_row) in acc.iter().enumerate().take(MR.min(m - i * MR)) {
                let at = (i * MR + r) * n + j * NR;
                c[at..at + width].copy_from_slice(&acc_row[..width]);
            }
        }
    }
}

#[inline(always)]
fn kernel(k: usize, apanel: &[f64], bpanel: &[f64]) -> [[f64; NR]; MR] {
    let mut acc = [[0.0f64; NR]; MR];
    for (a, b) in apanel.chunks_exact(MR).zip(bpanel.chunks_exact(NR)).take(k) {
        for r in 0..MR {
            let ar = a[r];
            for cc in 0..NR {
                acc[r][cc] = ar.mul_add(b[cc], acc[r][cc]);
            }
        }
    }
    acc
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

    #[test]
    fn matches_the_naive_product_on_ragged_and_transposed_shapes() {
        let mut pack = Vec::new();
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (4, 16, 8),
            (17, 33, 9),
            (64, 64, 64),
            (5, 2, 0),
        ] {
            let a: Vec<f64> = (0..m * k).map(|x| ((x * 7 % 13) as f64) - 6.0).collect();
            let b: Vec<f64> = (0..k * n).map(|x| ((x * 5 % 11) as f64) * 0.5).collect();
            for (sa, sb) in [
                (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 }),
                (Strides { rows: 1, cols: m }, Strides { rows: 1, cols: k }),
            ] {
                let want = naive(m, n, k, &a, sa, &b, sb);
                let mut got = vec![f64::NAN; m * n];
                gemm_small((m, n, k), &a, sa, &b, sb, &mut got, &mut pack);
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                        "{m}x{n}x{k}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
