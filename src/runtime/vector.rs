//! The one-axis builtins (`cumsum`, `sort`, `argsort`) and `cov`, on one core (one vector,
//! or one matrix for `cov`). Both evaluators call the one-axis ones, so they cannot
//! disagree: the reference evaluator on each call's values, the fast executor on each batch
//! point of a mapped call. `cov` here is the reference's definition (sums in order); the
//! fast executor computes it as a matrix product.

/// An element the sorting builtins order: integers exactly, floats ascending with `-0.0`
/// equal to `0.0` and every NaN after every number (NaNs equal to each other).
pub(crate) trait SortKey: Copy + Send + Sync {
    /// A key whose unsigned order is that order.
    fn key(self) -> u64;
    /// A key whose unsigned order is the values' total order (`-0.0` before `0.0`), from
    /// which `from_exact` gives the value back bit for bit; None for NaN.
    fn exact(self) -> Option<u64>;
    fn from_exact(key: u64) -> Self;
}

impl SortKey for i64 {
    fn key(self) -> u64 {
        // Flipping the sign bit maps i64's order onto u64's.
        (self as u64) ^ (1 << 63)
    }
    fn exact(self) -> Option<u64> {
        Some(self.key())
    }
    fn from_exact(key: u64) -> i64 {
        (key ^ (1 << 63)) as i64
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
        (self + 0.0).exact().unwrap_or(u64::MAX)
    }
    fn exact(self) -> Option<u64> {
        if self.is_nan() {
            return None;
        }
        let bits = self.to_bits();
        Some(if bits >> 63 == 0 {
            bits | (1 << 63)
        } else {
            !bits
        })
    }
    fn from_exact(key: u64) -> f64 {
        f64::from_bits(if key >> 63 == 1 {
            key & !(1 << 63)
        } else {
            !key
        })
    }
}

impl SortKey for f32 {
    fn key(self) -> u64 {
        f64::from(self).key()
    }
    fn exact(self) -> Option<u64> {
        if self.is_nan() {
            return None;
        }
        // The f64 scheme on 32 bits: keys below 2^32, so the radix sort skips the four
        // high bytes.
        let bits = self.to_bits();
        Some(u64::from(if bits >> 31 == 0 {
            bits | (1 << 31)
        } else {
            !bits
        }))
    }
    fn from_exact(key: u64) -> f32 {
        let key = key as u32;
        f32::from_bits(if key >> 31 == 1 {
            key & !(1 << 31)
        } else {
            !key
        })
    }
}

/// The positions of `xs` in stable ascending order.
fn order<T: SortKey>(xs: &[T]) -> Vec<usize> {
    match u32::try_from(xs.len()) {
        Ok(n) if n as usize >= PARALLEL_SORT_FROM => {
            // Long: (key, position) pairs packed into one integer, all distinct, so an
            // unstable sort gives the stable order, split across the threads. (From this
            // length the radix sort's arrays outgrow L2: 1e7 pairs, 0.7-0.8 s on one core
            // against its 1.4 s.)
            let mut pairs: Vec<u128> = xs
                .iter()
                .zip(0..n)
                .map(|(x, i)| (u128::from(x.key()) << 32) | u128::from(i))
                .collect();
            sort_split(&mut pairs, split_levels());
            // The low 32 bits are the position.
            pairs.into_iter().map(|p| p as u32 as usize).collect()
        }
        Ok(n) if n >= RADIX_FROM => {
            let (_, pos) = radix(xs.iter().map(|x| x.key()).collect(), (0..n).collect());
            pos.into_iter().map(|p| p as usize).collect()
        }
        _ => {
            // (key, position) pairs are all distinct, so an unstable sort of them gives the
            // stable order.
            let mut pairs: Vec<(u64, usize)> = xs.iter().map(|x| x.key()).zip(0..).collect();
            pairs.sort_unstable();
            pairs.into_iter().map(|(_, i)| i).collect()
        }
    }
}

/// From this length on, argsorts are by radix (below it the histograms cost more than they
/// save).
const RADIX_FROM: u32 = 256;

/// Least-significant-digit radix sort of `keys`, and of `payload` along with them, a byte
/// per pass (stable: equal keys keep their payloads' order); passes where every key has
/// the same byte are skipped. 10000 f64 keys with positions: 4x faster than
/// pattern-defeating quicksort on pairs.
fn radix<P: Copy + Default>(mut keys: Vec<u64>, mut payload: Vec<P>) -> (Vec<u64>, Vec<P>) {
    let n = keys.len();
    let mut counts = [[0usize; 256]; 8];
    for &k in &keys {
        for (byte, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    let mut keys2 = vec![0u64; n];
    let mut payload2 = vec![P::default(); n];
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
        for (&k, &p) in keys.iter().zip(&payload) {
            let d = ((k >> (8 * byte)) & 0xff) as usize;
            keys2[start[d]] = k;
            payload2[start[d]] = p;
            start[d] += 1;
        }
        std::mem::swap(&mut keys, &mut keys2);
        std::mem::swap(&mut payload, &mut payload2);
    }
    (keys, payload)
}

/// From this length on, `sort` splits its work across the threads (a long vector is often
/// one call on its own: 1e7 values took 0.40 s on one core, NumPy 0.18 s); shorter ones
/// are usually many calls of a mapped sort, already one per thread.
const PARALLEL_SORT_FROM: usize = 1 << 17;

/// `xs` ascending into `out`: numbers in their total order (`-0.0` before `0.0`), then the
/// NaNs in the order they came, each value bit for bit. The keys alone are sorted, each
/// the value's exact bits, so equal keys are equal values and an unstable sort gives the
/// stable result (the standard library's, 1.3x faster than the radix sort on 10000 keys
/// without positions).
pub(crate) fn sort<T: SortKey>(xs: &[T], out: &mut [T]) {
    let mut keys = Vec::with_capacity(xs.len());
    let mut nans = Vec::new();
    for &x in xs {
        match x.exact() {
            Some(k) => keys.push(k),
            None => nans.push(x),
        }
    }
    let count = keys.len();
    sort_split(&mut keys, split_levels());
    // Back to values, across the threads when long (one piece on this thread when short).
    use rayon::prelude::*;
    out[..count]
        .par_iter_mut()
        .zip(keys.par_iter())
        .with_min_len(PARALLEL_SORT_FROM)
        .for_each(|(o, &k)| *o = T::from_exact(k));
    for (o, x) in out[count..].iter_mut().zip(nans) {
        *o = x;
    }
}

/// Levels of `sort_split` for this many threads: two pieces a thread, so that uneven
/// pieces still keep every thread busy.
fn split_levels() -> u32 {
    (2 * rayon::current_num_threads().max(1))
        .next_power_of_two()
        .trailing_zeros()
}

/// Sorts `keys`, splitting the work across threads for `levels` levels: each level puts
/// the keys below the median of a sample before the rest (one branch-free pass) and sorts
/// the two sides at once. (rayon's parallel sort was slower than this: its sequential
/// sort is an older one than the standard library's.) Many equal keys make uneven sides,
/// never wrong ones; `levels` bounds the depth.
fn sort_split<K: Ord + Copy + Send>(keys: &mut [K], levels: u32) {
    const SAMPLE: usize = 255;
    let n = keys.len();
    if levels == 0 || n < PARALLEL_SORT_FROM {
        keys.sort_unstable();
        return;
    }
    let mut sample: Vec<K> = (0..SAMPLE).map(|i| keys[i * (n / SAMPLE)]).collect();
    sample.sort_unstable();
    let pivot = sample[SAMPLE / 2];
    // Keys [0, below) are below the pivot, [below, i) are not.
    let mut below = 0;
    for i in 0..n {
        keys.swap(i, below);
        below += usize::from(keys[below] < pivot);
    }
    let (lo, hi) = keys.split_at_mut(below);
    rayon::join(|| sort_split(lo, levels - 1), || sort_split(hi, levels - 1));
}

/// The positions of `xs` in stable ascending order, written into `out` (`xs.len()` long).
pub(crate) fn argsort<T: SortKey>(xs: &[T], out: &mut [i64]) {
    for (o, i) in out.iter_mut().zip(order(xs)) {
        // A position in a slice fits in i64 (slices hold at most isize::MAX bytes).
        *o = i as i64;
    }
}

/// An element the one-axis builtins take: its order, and its running sums.
pub(crate) trait Numeric: SortKey + Default + Send + Sync {
    /// Running sums of `xs` into `out`, in order; `Err(())` on integer overflow.
    fn cumsum(xs: &[Self], out: &mut [Self]) -> Result<(), ()>;
}

impl Numeric for i64 {
    fn cumsum(xs: &[i64], out: &mut [i64]) -> Result<(), ()> {
        cumsum_i64(xs, out)
    }
}

impl Numeric for f64 {
    fn cumsum(xs: &[f64], out: &mut [f64]) -> Result<(), ()> {
        cumsum_float(xs, out);
        Ok(())
    }
}

impl Numeric for f32 {
    fn cumsum(xs: &[f32], out: &mut [f32]) -> Result<(), ()> {
        cumsum_float(xs, out);
        Ok(())
    }
}

/// Running sums of integers; `Err(())` on overflow.
fn cumsum_i64(xs: &[i64], out: &mut [i64]) -> Result<(), ()> {
    let mut acc: i64 = 0;
    for (o, &x) in out.iter_mut().zip(xs) {
        acc = acc.checked_add(x).ok_or(())?;
        *o = acc;
    }
    Ok(())
}

/// Running sums of floats, summed in order in the elements' own precision (`f32` sums
/// rounded after every step; in f64 and rounded, which is the same for one addition).
fn cumsum_float<T: Float>(xs: &[T], out: &mut [T]) {
    let mut acc = T::narrow(0.0);
    for (o, &x) in out.iter_mut().zip(xs) {
        acc = T::narrow(acc.widen() + x.widen());
        *o = acc;
    }
}

/// A float dtype the kernels compute in f64 and round back to.
pub(crate) trait Float: Copy {
    fn widen(self) -> f64;
    /// `x` rounded to this precision.
    fn narrow(x: f64) -> Self;
}

impl Float for f64 {
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> f64 {
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
        // As argsort's order, but -0.0 before 0.0 whatever their order in `xs`.
        let want: Vec<u64> = [5, 2, 4, 3, 0, 1]
            .iter()
            .map(|&i| xs[i].to_bits())
            .collect();
        assert_eq!(bits, want);
        let mut sorted = [0.0; 3];
        sort(&[0.0, -0.0, f64::NAN], &mut sorted);
        assert_eq!(sorted[0].to_bits(), (-0.0f64).to_bits());
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

    /// `n` values with a NaN, a -0.0 and a 0.0 every `period`, the rest `spread` values
    /// (ties) either side of zero.
    fn mixed(n: usize, period: usize, spread: usize) -> Vec<f64> {
        (0..n)
            .map(|i| match i % period {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                _ => ((i * 7919) % spread) as f64 - (spread / 2) as f64 - 0.5,
            })
            .collect()
    }

    /// `sort` of `xs` gives its numbers in the order of `total_cmp` (`cmp`), bit for bit
    /// (`bits`), then its NaNs.
    fn sorts_in_total_order<T: SortKey + Default>(
        xs: &[T],
        cmp: fn(&T, &T) -> std::cmp::Ordering,
        bits: fn(&T) -> u64,
    ) {
        let mut got = vec![T::default(); xs.len()];
        sort(xs, &mut got);
        let mut want: Vec<T> = xs.iter().copied().filter(|x| x.exact().is_some()).collect();
        want.sort_by(cmp);
        let numbers = want.len();
        assert_eq!(
            got[..numbers].iter().map(bits).collect::<Vec<_>>(),
            want.iter().map(bits).collect::<Vec<_>>()
        );
        assert!(got[numbers..].iter().all(|x| x.exact().is_none()));
    }

    #[test]
    fn long_sorts_split_across_threads_agree_with_a_plain_sort() {
        // Past PARALLEL_SORT_FROM: partitioned around sampled pivots, the sides sorted at
        // once. Few distinct values (sides of equal keys), NaNs and both zeros; and every
        // key equal (a side is empty at every level).
        let n = 3 * PARALLEL_SORT_FROM + 7;
        for xs in [mixed(n, 17, 1013), vec![2.5; n]] {
            sorts_in_total_order(&xs, f64::total_cmp, |x| x.to_bits());
        }
    }

    #[test]
    fn radix_split_and_comparison_orders_agree() {
        // Short (a comparison sort), long enough for the radix sort, and past
        // PARALLEL_SORT_FROM (packed pairs split across threads); ties, NaNs, signed zeros.
        let xs = mixed(PARALLEL_SORT_FROM + 5, 11, 613);
        for len in [100, 5000, xs.len()] {
            let xs = &xs[..len];
            let mut want: Vec<usize> = (0..len).collect();
            // The standard library's stable sort: ties keep their positions' order.
            want.sort_by_key(|&i| xs[i].key());
            assert_eq!(order(xs), want, "{len}");
        }
    }

    #[test]
    fn exact_keys_give_the_values_back() {
        let floats = [f64::NEG_INFINITY, -1e-300, -0.0, 0.0, 5e-324, 1.5, f64::MAX];
        for w in floats.windows(2) {
            assert!(w[0].exact() < w[1].exact(), "{} {}", w[0], w[1]);
        }
        for x in floats {
            assert_eq!(f64::from_exact(x.exact().unwrap()).to_bits(), x.to_bits());
            let y = x as f32;
            assert_eq!(f32::from_exact(y.exact().unwrap()).to_bits(), y.to_bits());
        }
        for i in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(i64::from_exact(i.exact().unwrap()), i);
        }
        assert_eq!(f64::NAN.exact(), None);
        // NaNs and zeros of both signs mixed in.
        let xs: Vec<f32> = mixed(3000, 13, 613).iter().map(|&x| x as f32).collect();
        sorts_in_total_order(&xs, f32::total_cmp, |x| u64::from(x.to_bits()));
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
