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

#[inline(always)]
fn exp1<const FMA: bool>(x: f64) -> f64 {
    let xc = x.clamp(-746.0, 710.0);
    let t = xc * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
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
    let mut p = 1.0 / 6_227_020_800.0;
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

multiversion! {
    /// `out[k] = e^x[k]` for every element: fused multiply-adds in the polynomial with
    /// AVX-512 or AVX2+FMA (and on other targets, whose vector units have them), separate
    /// ones on baseline x86-64.
    pub(crate) fn exp_into(x: &[f64], out: &mut [f64]) => exp_loop::<true>, baseline exp_loop::<false>
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
