//! Vectorised kernels where the scalar library call is the bottleneck: `exp` on f64
//! columns, compiled for AVX-512 / AVX2+FMA as well as the baseline and chosen at run time.
//!
//! `exp` is Cody-Waite range reduction (x = n ln2 + r, |r| <= ln2/2), a degree-13 Taylor
//! polynomial for e^r (truncation error below 1e-17 relative) and 2^n built from the
//! exponent bits in two halves so results down to the subnormal range stay exact in form.
//! Branch-free, so the loop vectorises.

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split so `n * LN2_HI` is exact for |n| < 2^21 (fdlibm's constants).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// `a * b + c`, fused when `FMA` (the caller is compiled with hardware FMA; without it a
/// fused multiply-add is a slow library call, so the baseline keeps two operations).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The Taylor coefficients of e^r below the leading 1/13!, highest degree first (Horner).
const C: [f64; 13] = [
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];
/// 1/13!, where Horner's scheme starts.
const C_TOP: f64 = 1.0 / 6_227_020_800.0;

#[inline(always)]
fn exp1<const FMA: bool>(x: f64) -> f64 {
    let xc = x.clamp(-746.0, 710.0);
    let t = xc * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = C_TOP;
    for c in C {
        p = madd::<FMA>(p, r, c);
    }
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f64::from_bits(((n1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n2 + 1023) as u64) << 52);
    let y = p * s1 * s2;
    if x.is_nan() {
        x
    } else {
        y
    }
}

#[inline(always)]
fn exp_loop<const FMA: bool>(x: &[f64], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp1::<FMA>(v);
    }
}

/// `out[k] = e^x[k]` for every element (`out` at least as long as `x`): with AVX-512
/// `x86::exp_avx512`, else fused multiply-adds in the polynomial with AVX2+FMA (and on other
/// targets, whose vector units have them), separate ones on baseline x86-64.
pub(crate) fn exp_into(x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { x86::exp_avx512(x, out) };
    }
    exp_portable(x, out)
}

multiversion! {
    fn exp_portable(x: &[f64], out: &mut [f64]) => exp_loop::<true>, baseline exp_loop::<false>
}

/// `exp1::<true>` eight lanes at a time, with 2^n applied by one `vscalefpd` instead of two
/// multiplies by exponents built in integer registers: p * 2^n rounded once, as
/// `(p * 2^n1) * 2^n2` is (the first product is exact), so the results are bit for bit
/// those of `exp1::<true>`, in about two thirds of the instructions.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{exp1, C, C_TOP, LN2_HI, LN2_LO, LOG2E, SHIFTER};

    #[target_feature(enable = "avx512f")]
    pub(super) fn exp_avx512(x: &[f64], out: &mut [f64]) {
        let len = x.len().min(out.len());
        let whole = len / 8 * 8;
        for i in (0..whole).step_by(8) {
            // SAFETY: i + 8 <= whole <= len, so both 8-element accesses are inside their
            // slices.
            unsafe {
                let v = _mm512_loadu_pd(x.as_ptr().add(i));
                _mm512_storeu_pd(out.as_mut_ptr().add(i), exp8(v));
            }
        }
        for (o, &v) in out[whole..len].iter_mut().zip(&x[whole..len]) {
            *o = exp1::<true>(v);
        }
    }

    #[target_feature(enable = "avx512f")]
    fn exp8(x: __m512d) -> __m512d {
        let xc = _mm512_min_pd(
            _mm512_max_pd(x, _mm512_set1_pd(-746.0)),
            _mm512_set1_pd(710.0),
        );
        let shifter = _mm512_set1_pd(SHIFTER);
        // The same operations, unfused, as `exp1`.
        let t = _mm512_add_pd(_mm512_mul_pd(xc, _mm512_set1_pd(LOG2E)), shifter);
        let n = _mm512_sub_pd(t, shifter);
        let r = _mm512_sub_pd(
            _mm512_sub_pd(xc, _mm512_mul_pd(n, _mm512_set1_pd(LN2_HI))),
            _mm512_mul_pd(n, _mm512_set1_pd(LN2_LO)),
        );
        let mut p = _mm512_set1_pd(C_TOP);
        for c in C {
            p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
        }
        let y = _mm512_scalef_pd(p, n);
        // NaN in, NaN out (the clamp above turned it into a number).
        let nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x);
        _mm512_mask_blend_pd(nan, y, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std() {
        let mut xs: Vec<f64> = (-8000..8000).map(|i| f64::from(i) * 0.0931).collect();
        xs.extend([
            0.0, -0.0, 1e-300, -1e-300, 709.7, 709.8, 710.5, -745.0, -745.2, -800.0,
        ]);
        xs.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -708.4, -730.0]);
        // The dispatched kernel, and both forms of the polynomial directly.
        type Kernel = fn(&[f64], &mut [f64]);
        let kernels: [(&str, Kernel); 3] = [
            ("dispatched", exp_into),
            ("fused", exp_loop::<true>),
            ("unfused", exp_loop::<false>),
        ];
        for (name, kernel) in kernels {
            let mut got = vec![0.0; xs.len()];
            kernel(&xs, &mut got);
            check(name, &xs, &got);
        }
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") {
            // Bit for bit the fused polynomial's results, on every input (a length that
            // leaves a tail for the scalar loop).
            let xs = &xs[..xs.len() / 8 * 8 - 3];
            let mut got = vec![0.0; xs.len()];
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { x86::exp_avx512(xs, &mut got) };
            let mut want = vec![0.0; xs.len()];
            exp_loop::<true>(xs, &mut want);
            for ((x, g), w) in xs.iter().zip(&got).zip(&want) {
                assert!(
                    g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                    "exp({x}): {g} vs {w}"
                );
            }
            check("avx512", xs, &got);
        }
    }

    fn check(name: &str, xs: &[f64], got: &[f64]) {
        for (&x, &y) in xs.iter().zip(got) {
            let want = x.exp();
            if want.is_nan() {
                assert!(y.is_nan(), "{name}: exp({x})");
            } else if want < f64::MIN_POSITIVE {
                assert!(
                    (y - want).abs() <= 4.0 * 4.9e-324,
                    "{name}: exp({x}) = {y}, want {want}"
                );
            } else {
                assert!(
                    y == want || ((y - want) / want).abs() < 4e-16,
                    "{name}: exp({x}) = {y}, want {want}"
                );
            }
        }
    }
}
