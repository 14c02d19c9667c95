//! The one-axis builtins (`cumsum`, `sort`, `argsort`) and `cov`, on one core (one vector,
//! or one matrix for `cov`). Both evaluators call the one-axis ones, so they cannot
//! disagree: the reference evaluator on each call's values, the fast executor on each batch
//! point of a mapped call. `cov` here is the reference's definition (sums in order); the
//! fast executor computes it as a matrix product.

/// An element the sorting builtins order: integers exactly, floats ascending with `-0.0`
/// equal to `0.0` and every NaN after every number (NaNs equal to each other).
pub(crate) trait SortKey: Copy {
    /// A key whose unsigned order is that order.
    fn key(self) -> u64;
}

impl SortKey for i64 {
    fn key(self) -> u64 {
        // Flipping the sign bit maps i64's order onto u64's.
        (self as u64) ^ (1 << 63)
    }
}

impl SortKey for f64 {
    fn key(self) -> u64 {
        if self.is_nan() {
            return u64::MAX;
        }
        // `+ 0.0` turns -0.0 into 0.0. Positive floats order as their bits with the sign
        // bit set (at most infinity's, below u64::MAX); negative ones as their bits
        // inverted (below 2^63). So NaN's key is above every number's.
        let bits = (self + 0.0).to_bits();
        if bits >> 63 == 0 {
            bits | (1 << 63)
        } else {
            !bits
        }
    }
}

impl SortKey for f32 {
    fn key(self) -> u64 {
        f64::from(self).key()
    }
}

/// The positions of `xs` in stable ascending order.
fn order<T: SortKey>(xs: &[T]) -> Vec<usize> {
    let keys: Vec<u64> = xs.iter().map(|x| x.key()).collect();
    match u32::try_from(xs.len()) {
        Ok(n) if n >= RADIX_FROM => radix_order(keys),
        _ => {
            // (key, position) pairs are all distinct, so an unstable sort of them gives the
            // stable order.
            let mut pairs: Vec<(u64, usize)> = keys.into_iter().zip(0..).collect();
            pairs.sort_unstable();
            pairs.into_iter().map(|(_, i)| i).collect()
        }
    }
}

/// From this length on, `order` sorts by radix (below it the histograms cost more than
/// they save).
const RADIX_FROM: u32 = 256;

/// Least-significant-digit radix sort of the positions by `keys`, a byte per pass (stable,
/// so equal keys keep their positions' order); passes where every key has the same byte
/// are skipped. 10000 f64 keys: 4x faster than pattern-defeating quicksort on pairs.
fn radix_order(mut keys: Vec<u64>) -> Vec<usize> {
    let n = keys.len();
    let mut counts = [[0usize; 256]; 8];
    for &k in &keys {
        for (byte, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    let mut pos: Vec<u32> = (0..n as u32).collect();
    let mut keys2 = vec![0u64; n];
    let mut pos2 = vec![0u32; n];
    for (byte, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue;
        }
        let mut start = [0usize; 256];
        let mut sum = 0;
        for (s, &x) in start.iter_mut().zip(c) {
            *s = sum;
            sum += x;
        }
        for (&k, &p) in keys.iter().zip(&pos) {
            let d = ((k >> (8 * byte)) & 0xff) as usize;
            keys2[start[d]] = k;
            pos2[start[d]] = p;
            start[d] += 1;
        }
        std::mem::swap(&mut keys, &mut keys2);
        std::mem::swap(&mut pos, &mut pos2);
    }
    pos.into_iter().map(|p| p as usize).collect()
}

/// `xs` in stable ascending order into `out`: equal elements (`-0.0` and `0.0`, NaNs with
/// different payloads) keep their order, as in `argsort`.
pub(crate) fn sort<T: SortKey>(xs: &[T], out: &mut [T]) {
    for (o, i) in out.iter_mut().zip(order(xs)) {
        *o = xs[i];
    }
}

/// The positions of `xs` in stable ascending order, written into `out` (`xs.len()` long).
pub(crate) fn argsort<T: SortKey>(xs: &[T], out: &mut [i64]) {
    for (o, i) in out.iter_mut().zip(order(xs)) {
        // A position in a slice fits in i64 (slices hold at most isize::MAX bytes).
        *o = i as i64;
    }
}

/// Running sums of integers; `Err(())` on overflow.
pub(crate) fn cumsum_i64(xs: &[i64], out: &mut [i64]) -> Result<(), ()> {
    let mut acc: i64 = 0;
    for (o, &x) in out.iter_mut().zip(xs) {
        acc = acc.checked_add(x).ok_or(())?;
        *o = acc;
    }
    Ok(())
}

/// Running sums of floats, summed in order in the elements' own precision (`f32` sums
/// rounded after every step; in f64 and rounded, which is the same for one addition).
pub(crate) fn cumsum_float<T: Float>(xs: &[T], out: &mut [T]) {
    let mut acc = 0.0f64;
    for (o, &x) in out.iter_mut().zip(xs) {
        acc = T::round(acc + x.widen());
        *o = T::narrow(acc);
    }
}

/// A float dtype the kernels compute in f64 and round back to.
pub(crate) trait Float: Copy {
    fn widen(self) -> f64;
    fn narrow(x: f64) -> Self;
    /// `x` rounded to this precision, still as f64.
    fn round(x: f64) -> f64;
}

impl Float for f64 {
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> f64 {
        x
    }
    fn round(x: f64) -> f64 {
        x
    }
}

impl Float for f32 {
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn narrow(x: f64) -> f32 {
        x as f32
    }
    fn round(x: f64) -> f64 {
        f64::from(x as f32)
    }
}

/// The covariance of the `v` rows of `x` (`v x o`, row-major) over its `o` columns,
/// divided by `o - 1`, into `out` (`v x v`): each row's mean first, then the sums of
/// products of deviations, in order, in f64.
pub(crate) fn cov(v: usize, o: usize, x: &[f64], out: &mut [f64]) {
    let means: Vec<f64> = (0..v)
        .map(|p| x[p * o..(p + 1) * o].iter().sum::<f64>() / o as f64)
        .collect();
    for p in 0..v {
        for q in 0..v {
            let s: f64 = (0..o)
                .map(|t| (x[p * o + t] - means[p]) * (x[q * o + t] - means[q]))
                .sum();
            out[p * v + q] = s / (o as f64 - 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_puts_nans_last_and_keeps_ties_in_order() {
        let xs = [3.0, f64::NAN, -0.0, 1.0, 0.0, f64::NEG_INFINITY];
        let mut order = [0i64; 6];
        argsort(&xs, &mut order);
        assert_eq!(order, [5, 2, 4, 3, 0, 1]);
        let mut sorted = [0.0; 6];
        sort(&xs, &mut sorted);
        let bits: Vec<u64> = sorted.iter().map(|x| x.to_bits()).collect();
        let want: Vec<u64> = order.iter().map(|&i| xs[i as usize].to_bits()).collect();
        assert_eq!(bits, want);
    }

    #[test]
    fn keys_order_as_the_values_do() {
        let floats = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for w in floats.windows(2) {
            assert!(w[0].key() <= w[1].key(), "{} {}", w[0], w[1]);
            let equal = w[0] == w[1] || (w[0].is_nan() && w[1].is_nan());
            assert_eq!(w[0].key() == w[1].key(), equal, "{} {}", w[0], w[1]);
        }
        let ints = [i64::MIN, -1, 0, 1, i64::MAX];
        for w in ints.windows(2) {
            assert!(w[0].key() < w[1].key());
        }
    }

    #[test]
    fn radix_and_comparison_orders_agree() {
        // Long enough for the radix sort; ties, NaNs, signed zeros and a short copy.
        let xs: Vec<f64> = (0..5000u64)
            .map(|i| match i % 11 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                _ => ((i * 7919) % 613) as f64 - 300.0,
            })
            .collect();
        let want = {
            let mut o: Vec<usize> = (0..xs.len()).collect();
            o.sort_by_key(|&i| xs[i].key());
            o
        };
        assert_eq!(order(&xs), want);
        let short = &xs[..100];
        let mut o: Vec<usize> = (0..short.len()).collect();
        o.sort_by_key(|&i| short[i].key());
        assert_eq!(order(short), o);
    }

    #[test]
    fn integer_running_sums_report_overflow() {
        let mut out = [0i64; 3];
        assert_eq!(cumsum_i64(&[1, 2, 3], &mut out), Ok(()));
        assert_eq!(out, [1, 3, 6]);
        assert_eq!(cumsum_i64(&[i64::MAX, 1, 0], &mut out), Err(()));
    }

    #[test]
    fn f32_running_sums_round_at_every_step() {
        let xs = [1.0f32, 1e-8, 1e-8];
        let mut out = [0.0f32; 3];
        cumsum_float(&xs, &mut out);
        // In f32 1 + 1e-8 is 1, twice; an f64 running sum would reach 1.00000002.
        assert_eq!(out, [1.0, 1.0, 1.0]);
    }
}
