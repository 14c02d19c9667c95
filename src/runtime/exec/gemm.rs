//! f64 matrix products. Small ones (batched contractions such as 512 products of 64x64
//! matrices, where a general GEMM's per-call set-up costs more than the arithmetic) run
//! whole on the calling thread (`product`); large ones are blocked for the caches and
//! split across threads (`blocked`).
//!
//! In `product`, A is read in place when every tile is whole, else packed into zero-padded
//! panels of `MR` rows, `k` deep, so one register-blocked kernel covers every tile; B is read
//! in place when its rows are contiguous and whole `NR`-wide panels fit, else packed
//! likewise. The kernel keeps an `MR x NR` block of C in
//! registers and runs over `k` with fused multiply-adds. The tile shape follows the
//! vector extension the CPU has (chosen at run time): with AVX-512, 8 x 16 for small
//! products (64 x 64 splits evenly) and 12 x 16 for blocked ones (24 of its 32 registers
//! hold C, as OpenBLAS's Skylake-X kernel, and a 384-deep panel of 12 rows of A fits in
//! L1); 6 x 8 with AVX2 (12 of 16); 4 x 4 otherwise.

use std::mem::MaybeUninit;

/// An element of C: written by the kernels before anything reads it.
pub(crate) type Out = MaybeUninit<f64>;

/// Where element `(r, c)` of a matrix lives in its slice: `r * rows + c * cols`.
#[derive(Clone, Copy)]
pub(crate) struct Strides {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

/// `c (m x n, row-major) = a (m x k) * b (k x n)`, written into memory that need not be
/// initialised: on return every one of the first `m * n` elements of `c` is written.
/// Panics unless every element `(r, c)` of `a` and `b` addressed through the strides is
/// inside the slices, and `c` holds `m * n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    (m, n, k): (usize, usize, usize),
    a: &[f64],
    sa: Strides,
    b: &[f64],
    sb: Strides,
    c: &mut [Out],
    pack: &mut Vec<f64>,
) {
    let c = &mut c[..m * n];
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for x in c {
            x.write(0.0);
        }
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
    let big = m.saturating_mul(n).saturating_mul(k) >= BLOCKED;
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above); `wide512` is safe Rust
            // compiled with that feature.
            return unsafe { x86::wide512(&args, c, pack, big) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: as above, for AVX2 and FMA.
            return unsafe { x86::wide256(&args, c, pack, big) };
        }
    }
    if big {
        blocked::<4, 4>(&args, c, kernel::<4, 4>)
    } else {
        product::<4, 4>(&args, c, pack, kernel::<4, 4>)
    }
}

/// Products with at least this many multiply-adds are blocked for the caches and split
/// across threads (`blocked`); smaller ones run whole on the calling thread (`product`).
pub(crate) const BLOCKED: usize = 1 << 24;
/// Largest depth of one slice of the shared dimension: an `MR x KC` panel of A (36 KB for
/// the 12-row AVX-512 tile) stays in L1 while the B panels stream past it. The depth is
/// split into slices of equal size (1024 as three of 342, not 384 + 384 + 256). Each slice
/// after the first reads and rewrites all of C, so deeper is better while A's panel fits:
/// 192 (six passes over C) was 7-10% slower on 1024 x 1024.
const KC: usize = 384;
/// Columns of B per block: a `KC x NB` block (700 KB for k = 1024) stays in L2 while every
/// A panel of the band passes over it. Wider blocks mean fewer passes over the packed A
/// (four for 1024 columns): 192 measured alike in quiet phases of this machine and 3-4%
/// slower in busy ones; 256-384 alike; 1024, 2x slower.
const NB: usize = 256;

/// The operands of one product, bounds already checked by `gemm`.
struct Args<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: &'a [f64],
    sa: Strides,
    b: &'a [f64],
    sb: Strides,
}

impl Args<'_> {
    /// Packs rows `r0..r0 + rows` (at most `MR`) of A, columns `p0..`, into `panel` as
    /// `panel[p * MR + r]` (`panel.len() / MR` columns; rows past `rows` are left as they are).
    #[inline(always)]
    fn pack_a<const MR: usize>(&self, r0: usize, rows: usize, p0: usize, panel: &mut [f64]) {
        let depth = panel.len() / MR;
        if self.sa.cols == 1 && rows == MR && depth > 0 {
            // A whole panel of contiguous rows: the rows read side by side, the panel
            // written in order (writing each row's column at stride MR was 1.6x slower).
            let src: [&[f64]; MR] =
                std::array::from_fn(|r| &self.a[(r0 + r) * self.sa.rows + p0..][..depth]);
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                for (d, s) in dst.iter_mut().zip(&src) {
                    *d = s[p];
                }
            }
            return;
        }
        for r in 0..rows {
            let row = (r0 + r) * self.sa.rows + p0 * self.sa.cols;
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                dst[r] = self.a[row + p * self.sa.cols];
            }
        }
    }

    /// Packs the `NR` columns of B from `j * NR` (fewer at the right edge), rows `p0..`, into
    /// `panel` as `panel[p * NR + c]` (`panel.len() / NR` rows).
    #[inline(always)]
    fn pack_b<const NR: usize>(&self, j: usize, p0: usize, panel: &mut [f64]) {
        let width = NR.min(self.n - j * NR);
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let row = (p0 + p) * self.sb.rows + j * NR * self.sb.cols;
            if self.sb.cols == 1 && width == NR {
                // A fixed-size copy: two vector moves, not a call to memcpy.
                let dst: &mut [f64; NR] = dst.try_into().expect("panel rows are NR wide");
                *dst = self.b[row..row + NR].try_into().expect("NR elements");
            } else if self.sb.cols == 1 {
                dst[..width].copy_from_slice(&self.b[row..row + width]);
            } else {
                for (cc, d) in dst[..width].iter_mut().enumerate() {
                    *d = self.b[row + cc * self.sb.cols];
                }
            }
        }
    }

    /// Packs columns `jc..jc + nb` of B, rows `pc..pc + kc`, into `NR`-wide panels of `kc`
    /// rows each (`bp[(j * kc + p) * NR + c]`).
    #[inline(always)]
    fn pack_block<const NR: usize>(
        &self,
        jc: usize,
        nb: usize,
        pc: usize,
        kc: usize,
        bp: &mut [f64],
    ) {
        if self.sb.cols == 1 && nb.is_multiple_of(NR) {
            // Contiguous rows of B, read in order, each cut into the panels.
            for p in 0..kc {
                let row = &self.b[(pc + p) * self.sb.rows + jc..][..nb];
                for (j, src) in row.chunks_exact(NR).enumerate() {
                    let dst: &mut [f64; NR] = (&mut bp[(j * kc + p) * NR..][..NR])
                        .try_into()
                        .expect("NR elements");
                    *dst = src.try_into().expect("NR elements");
                }
            }
        } else {
            for (j, panel) in bp.chunks_exact_mut(NR * kc).enumerate() {
                self.pack_b::<NR>(jc / NR + j, pc, panel);
            }
        }
    }
}

/// One tile's operands: element `(r, p)` of A at `a[r * a_row + p * a_step]` for
/// `r < MR`, `p < k`; row `p` of B's `NR` columns at `b[p * b_row..][..NR]`. `ahead` is
/// memory the next tiles will read, fetched into L2 while this one runs.
#[derive(Clone, Copy)]
struct Tile<'a> {
    k: usize,
    a: &'a [f64],
    a_row: usize,
    a_step: usize,
    b: &'a [f64],
    b_row: usize,
    ahead: &'a [f64],
}

impl<'a> Tile<'a> {
    /// A tile whose A is a packed panel (`a[p * MR + r]`).
    #[inline(always)]
    fn packed<const MR: usize>(k: usize, a: &'a [f64], b: &'a [f64], b_row: usize) -> Self {
        Tile {
            k,
            a,
            a_row: 1,
            a_step: MR,
            b,
            b_row,
            ahead: &[],
        }
    }

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

/// Where a tile's result goes: `rows x width` elements of C, row `r` at
/// `c[r * row..][..width]`, written, or added to what is there when `add`.
///
/// C is addressed through a raw pointer, not a slice: tiles in the same rows of C are
/// written by different threads at once, and slices spanning their rows would overlap.
/// Invariant (of every constructor): the `len` elements from `c` are C's, and no other
/// thread reads or writes the tile's elements while the `Dst` lives.
struct Dst<'c> {
    c: *mut Out,
    len: usize,
    row: usize,
    rows: usize,
    width: usize,
    add: bool,
    _c: std::marker::PhantomData<&'c mut [Out]>,
}

impl<'c> Dst<'c> {
    /// Tile `(i, j)` of a row-major C with `n` columns and `m` rows.
    #[inline(always)]
    fn tile<const MR: usize, const NR: usize>(
        c: &'c mut [Out],
        n: usize,
        (i, j): (usize, usize),
        m: usize,
        add: bool,
    ) -> Dst<'c> {
        let c = &mut c[i * MR * n + j * NR..];
        Dst {
            c: c.as_mut_ptr(),
            len: c.len(),
            row: n,
            rows: MR.min(m - i * MR),
            width: NR.min(n - j * NR),
            add,
            _c: std::marker::PhantomData,
        }
    }

    /// Whether the tile is whole (`MR x NR`) and inside `c`: the kernels then store their
    /// vectors straight into C.
    #[inline(always)]
    fn whole<const MR: usize, const NR: usize>(&self) -> bool {
        self.rows == MR
            && self.width == NR
            && (MR - 1)
                .checked_mul(self.row)
                .and_then(|o| o.checked_add(NR))
                .is_some_and(|end| end <= self.len)
    }

    /// Stores a tile computed into `acc` (the path for partial tiles).
    #[inline(always)]
    fn store<const MR: usize, const NR: usize>(self, acc: &[[f64; NR]; MR]) {
        for (r, acc_row) in acc.iter().enumerate().take(self.rows) {
            let start = r * self.row;
            assert!(start + self.width <= self.len);
            // SAFETY: row r's elements are inside the `len` from `c` (asserted just above),
            // and no other thread touches them (the invariant of `Dst`).
            let dst = unsafe { std::slice::from_raw_parts_mut(self.c.add(start), self.width) };
            if self.add {
                for (d, &v) in dst.iter_mut().zip(acc_row) {
                    // SAFETY: `add` is set only for the depth slices after the first, and
                    // the first slice wrote this same tile.
                    d.write(unsafe { d.assume_init() } + v);
                }
            } else {
                for (d, &v) in dst.iter_mut().zip(acc_row) {
                    d.write(v);
                }
            }
        }
    }
}

/// The product with an `MR x NR` tile kernel.
#[inline(always)]
fn product<const MR: usize, const NR: usize>(
    x: &Args<'_>,
    c: &mut [Out],
    pack: &mut Vec<f64>,
    kernel: impl Fn(Tile<'_>, Dst<'_>),
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
    // Panels of A and B when not read in place.
    for (i, panel) in ap.chunks_exact_mut(MR * k).enumerate() {
        x.pack_a::<MR>(i * MR, MR.min(m - i * MR), 0, panel);
    }
    for (j, panel) in bp.chunks_exact_mut(NR * k).enumerate() {
        x.pack_b::<NR>(j, 0, panel);
    }
    for j in 0..np {
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
                    ahead: &[],
                }
            } else {
                Tile::packed::<MR>(k, &ap[i * MR * k..(i + 1) * MR * k], b, b_row)
            };
            kernel(tile, Dst::tile::<MR, NR>(c, n, (i, j), m, false));
        }
    }
}

/// The product blocked for the caches, in the loop order of OpenBLAS's Skylake-X kernels,
/// its tiles shared out among the threads as they go.
///
/// For each `KC`-deep slice of the shared dimension, A's rows are packed into `MR`-row
/// panels (one buffer for all threads; two buffers, alternating between slices, when there
/// are several). Then for each `NB`-wide block of columns, a thread packs B's block into
/// `NR`-wide panels in its own L2 and runs the kernel over (A panel, B panel) pairs, A panel
/// outermost: the A panel stays in L1 while the block's B panels stream from L2. The first
/// slice writes C, later ones add.
///
/// Who does what: the A panels of a slice, and the tiles' rows of each (slice, column
/// block), are each shared out as `Claims`, every thread starting on its own even share and
/// then taking from the back of the fullest other one. A thread held up (this machine's
/// virtual cores lose whole milliseconds to their neighbours) is relieved by the other:
/// with fixed bands, the product waited for the slower thread, and OpenBLAS's fixed
/// split was up to 10-20% faster than this one in such phases, and a percent slower in
/// quiet ones (measured alternating in one process; now alike in quiet phases, 5-20%
/// faster in busy ones).
///
/// Order between threads: a (slice, block) unit reads A panels packed by any thread, so a
/// slice starts once all its panels are packed; a unit adds to what the same tiles' unit of
/// the previous slice wrote, so a block starts once that block of the previous slice is
/// done; a slice's panels overwrite those of two slices before, so packing starts once
/// that slice is done. Every wait is for work already claimed, and a thread finishes
/// what it claims before it waits or claims again, so a wait is always for a thread that
/// is running (never for itself, nor for work nobody took): no deadlock, even when the
/// pool runs the workers one after another on one thread.
#[inline(always)]
fn blocked<const MR: usize, const NR: usize>(
    x: &Args<'_>,
    c: &mut [Out],
    kernel: impl Fn(Tile<'_>, Dst<'_>) + Sync,
) {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (m, n, k) = (x.m, x.n, x.k);
    let tiles = m.div_ceil(MR);
    let threads = rayon::current_num_threads().clamp(1, tiles);
    // Slices of equal depth, none deeper than KC.
    let kc_max = k.div_ceil(k.div_ceil(KC));
    let slices = k.div_ceil(kc_max);
    let blocks = n.div_ceil(NB);
    // Rows of A in place when contiguous and B has few panels (every tile but a ragged last
    // one): packing a panel pays only when it meets many B panels. (With n = 64, as in
    // attention's `P V`, packing A cost as much as the products.)
    let in_place = |i: usize| x.sa.cols == 1 && n < 8 * NR && (i + 1) * MR <= m;
    // The A panels of one slice; two slices' worth when there are several (at most k + 1
    // columns of A, as 2 * ceil(k / slices) <= k + 1 for slices >= 2). When rows are read
    // in place, only a ragged last panel is packed: one panel's room.
    let slot = |i: usize| if in_place(0) { 0 } else { i };
    let slots = slot(tiles - 1) + 1;
    let stride = slots * MR * kc_max;
    let mut panels_a = Scratch::take(stride * slices.min(2));
    let a_buf = Shared(panels_a.as_mut_ptr());
    let c_ptr = Shared(c.as_mut_ptr());
    let pack = (0..slices)
        .map(|_| Claims::new(tiles, threads))
        .collect::<Vec<_>>();
    let packed = (0..slices).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>();
    let units = (0..slices * blocks)
        .map(|_| Claims::new(tiles, threads))
        .collect::<Vec<_>>();
    let done = (0..slices * blocks)
        .map(|_| AtomicUsize::new(0))
        .collect::<Vec<_>>();
    // Set when a worker panics (a broken invariant), so the others stop waiting for work
    // it will never finish and the panic reaches the caller instead of a hang.
    let failed = AtomicBool::new(false);
    let block_done =
        |unit: usize| wait_for(&failed, || done[unit].load(Ordering::Acquire) == tiles);
    let worker = |t: usize| {
        let _flag = FlagOnPanic(&failed);
        let mut panels_b = Scratch::take(0);
        for s in 0..slices {
            let pc = s * kc_max;
            let kc = kc_max.min(k - pc);
            let base = (s % 2) * stride;
            if s >= 2 {
                (0..blocks).for_each(|jb| block_done((s - 2) * blocks + jb));
            }
            // Panel i holds rows i*MR.. as ap[i][p*MR + r]. Panels are rewritten, not
            // zeroed, for each slice: the rows a ragged panel leaves unwritten hold earlier
            // (finite or not) values whose products the kernels compute but never store.
            while let Some(i) = pack[s].claim(t) {
                if !in_place(i) {
                    // SAFETY: panel i's slot in this slice's buffer is inside `panels_a`
                    // (slot(i) < slots, kc <= kc_max; with rows in place only the
                    // last panel is packed, into slot 0), only the thread that claimed i
                    // writes it, and nobody reads it: readers of this buffer's previous
                    // slice are done (waited for above), this slice's readers wait for
                    // `packed`.
                    let panel = unsafe {
                        std::slice::from_raw_parts_mut(a_buf.at(base + slot(i) * MR * kc), MR * kc)
                    };
                    x.pack_a::<MR>(i * MR, MR.min(m - i * MR), pc, panel);
                }
                packed[s].fetch_add(1, Ordering::Release);
            }
            wait_for(&failed, || packed[s].load(Ordering::Acquire) == tiles);
            for jb in 0..blocks {
                let jc = jb * NB;
                let nb = NB.min(n - jc);
                let panels = nb.div_ceil(NR);
                if s >= 1 {
                    block_done((s - 1) * blocks + jb);
                }
                let unit = s * blocks + jb;
                // B's block is packed only by a thread that gets a unit of it.
                let Some(first) = units[unit].claim(t) else {
                    continue;
                };
                let bp = grown(&mut panels_b, panels * NR * kc);
                x.pack_block::<NR>(jc, nb, pc, kc, bp);
                let bp = &*bp;
                let rest = std::iter::from_fn(|| units[unit].claim(t));
                for i in std::iter::once(first).chain(rest) {
                    // SAFETY: every panel of the slice is written (`packed` counted them
                    // all, with release/acquire), and none is written again until every
                    // unit of this slice is done, this one included (`ap` lives only while
                    // it runs).
                    let ap = unsafe { std::slice::from_raw_parts(a_buf.at(base), slots * MR * kc) };
                    let a = &ap[slot(i) * MR * kc..(slot(i) + 1) * MR * kc];
                    let rows = MR.min(m - i * MR);
                    for (j, b) in bp.chunks_exact(NR * kc).enumerate() {
                        let tile = if in_place(i) {
                            Tile {
                                k: kc,
                                a: &x.a[i * MR * x.sa.rows + pc..],
                                a_row: x.sa.rows,
                                a_step: 1,
                                b,
                                b_row: NR,
                                ahead: &[],
                            }
                        } else {
                            // The next A panel, fetched into L2 a share at a time while
                            // this one meets the block's B panels (it is usually in neither
                            // L1 nor L2).
                            let next = ap.get((slot(i) + 1) * MR * kc..(slot(i) + 2) * MR * kc);
                            let share = (MR * kc).div_ceil(panels).next_multiple_of(8);
                            let ahead = next.map_or(&[][..], |next| {
                                &next
                                    [(j * share).min(next.len())..((j + 1) * share).min(next.len())]
                            });
                            Tile {
                                ahead,
                                ..Tile::packed::<MR>(kc, a, b, NR)
                            }
                        };
                        let width = NR.min(nb - j * NR);
                        let start = i * MR * n + jc + j * NR;
                        let dst = Dst {
                            // SAFETY: start + (rows - 1) * n + width <= m * n = c.len().
                            c: unsafe { c_ptr.at(start) },
                            len: (rows - 1) * n + width,
                            row: n,
                            rows,
                            width,
                            add: pc > 0,
                            _c: std::marker::PhantomData,
                        };
                        // The tile's elements are this unit's alone: tiles (i, *) of block
                        // jb are claimed once per slice, and the unit of the previous slice
                        // is done (waited for above); the next slice's waits for this one.
                        kernel(tile, dst);
                    }
                    done[unit].fetch_add(1, Ordering::Release);
                }
            }
        }
        Scratch::give(panels_b);
    };
    (0..threads).into_par_iter().for_each(worker);
    Scratch::give(panels_a);
}

/// Units `0..n` of some work shared out among threads: each starts on its own even share,
/// taken from the front, and when that is empty takes from the back of the fullest other
/// share (the unit its owner would reach last).
struct Claims(Vec<std::sync::Mutex<std::ops::Range<usize>>>);

impl Claims {
    fn new(units: usize, threads: usize) -> Self {
        Claims(
            (0..threads)
                .map(|t| std::sync::Mutex::new(t * units / threads..(t + 1) * units / threads))
                .collect(),
        )
    }

    /// The next unit for thread `t`, or `None` when every unit is taken.
    fn claim(&self, t: usize) -> Option<usize> {
        let lock = |o: usize| self.0[o].lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = lock(t).next() {
            return Some(u);
        }
        loop {
            let fullest = (0..self.0.len())
                .map(|o| (lock(o).len(), o))
                .max()
                .filter(|&(left, _)| left > 0)?;
            if let Some(u) = lock(fullest.1).next_back() {
                return Some(u);
            }
        }
    }
}

/// Sets its flag if dropped while its thread panics.
struct FlagOnPanic<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for FlagOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Waits until `done()`: spinning briefly (the usual wait is for the last unit of another
/// thread), then yielding the core. Panics if `failed` is set: the work waited for will
/// never be done.
fn wait_for(failed: &std::sync::atomic::AtomicBool, done: impl Fn() -> bool) {
    let mut spins = 0;
    while !done() {
        assert!(
            !failed.load(std::sync::atomic::Ordering::Relaxed),
            "another worker of the product panicked"
        );
        if spins < 100 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// A pointer the worker threads share; what each may do through it is argued where it is
/// used.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
impl<T> Shared<T> {
    /// The element `i` places past the pointer (a method, so closures capture the whole
    /// `Shared`, not its field).
    ///
    /// # Safety
    /// As `pointer::add`: the result is inside the allocation the pointer points into.
    unsafe fn at(self, i: usize) -> *mut T {
        // SAFETY: the caller's.
        unsafe { self.0.add(i) }
    }
}

// SAFETY: `Shared` only carries the address; every access through it states why no two
// threads touch the same element at once.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

/// Packing buffers kept between products: a fresh buffer is zeroed by the allocator on
/// every product (a tenth of a millisecond per megabyte, on the calling thread, before the
/// workers start: 5% of attention's time). At most `KEPT` buffers of at most `LARGEST`
/// bytes each are kept, so at most 64 MB stays allocated. A kept buffer holds earlier
/// values, which packing overwrites before any kernel reads them (or, in the rows a
/// ragged panel leaves unwritten, reads without storing).
struct Scratch;

impl Scratch {
    const KEPT: usize = 4;
    const LARGEST: usize = 16 << 20;

    fn pool() -> std::sync::MutexGuard<'static, Vec<Vec<f64>>> {
        static POOL: std::sync::Mutex<Vec<Vec<f64>>> = std::sync::Mutex::new(Vec::new());
        POOL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A buffer of at least `len` elements.
    fn take(len: usize) -> Vec<f64> {
        let mut buf = Self::pool().pop().unwrap_or_default();
        grown(&mut buf, len);
        buf
    }

    /// Keeps `buf` for a later `take`, unless it is large or enough are kept.
    fn give(buf: Vec<f64>) {
        if buf.capacity() * size_of::<f64>() <= Self::LARGEST {
            let mut pool = Self::pool();
            if pool.len() < Self::KEPT {
                pool.push(buf);
            }
        }
    }
}

/// The first `len` elements of `buf`, grown with zeros when shorter.
fn grown(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// The portable kernel: the `MR x NR` tile of the product.
#[inline(always)]
fn kernel<const MR: usize, const NR: usize>(t: Tile<'_>, dst: Dst<'_>) {
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
    dst.store(&acc);
}

/// Tile kernels written with x86 vector intrinsics: left to itself, the compiler
/// vectorised the portable kernel across the rows of the tile (with gathers), not along
/// them.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{blocked, product, Args, Dst, Out, Tile};

    #[target_feature(enable = "avx512f")]
    pub(super) fn wide512(x: &Args<'_>, c: &mut [Out], pack: &mut Vec<f64>, big: bool) {
        if big {
            blocked::<12, 16>(x, c, |t, d| kernel_12x16(t, d))
        } else {
            product::<8, 16>(x, c, pack, |t, d| kernel_8x16(t, d))
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn wide256(x: &Args<'_>, c: &mut [Out], pack: &mut Vec<f64>, big: bool) {
        if big {
            blocked::<6, 8>(x, c, |t, d| kernel_6x8(t, d))
        } else {
            product::<6, 8>(x, c, pack, |t, d| kernel_6x8(t, d))
        }
    }

    /// How far ahead (in f64) of the current row of a B panel the kernels prefetch: 8 rows
    /// of a 16-wide panel (64-256 measured alike; none, 10% slower).
    const B_AHEAD: usize = 128;

    /// Defines a tile kernel `$name` for `$feature`: `$mr` rows of the tile, each two
    /// vectors of `$lanes` f64 (so `NR` = 2 * `$lanes`), `2 * $mr` accumulators.
    macro_rules! tile_kernel {
        ($name:ident, $feature:literal, $mr:literal, $lanes:literal,
         $zero:ident, $load:ident, $set1:ident, $fma:ident, $add:ident, $store:ident) => {
            #[target_feature(enable = $feature)]
            fn $name(t: Tile<'_>, dst: Dst<'_>) {
                t.check::<$mr, { 2 * $lanes }>();
                if dst.whole::<$mr, { 2 * $lanes }>() {
                    // Fetch the tile of C while the products run: it is written (and, after
                    // the first depth slice, read) at the end, and is usually in neither L1
                    // nor L2 (the epilogue took a tenth of the kernel's time without this).
                    let c = dst.c.cast::<i8>();
                    for r in 0..$mr {
                        // SAFETY: `whole` proved (MR-1)*row + NR <= len: the first and last
                        // byte of row r, and each 64 bytes between, are C's.
                        unsafe {
                            let at = c.add(r * dst.row * 8);
                            _mm_prefetch::<_MM_HINT_T0>(at);
                            _mm_prefetch::<_MM_HINT_T0>(at.add(8 * $lanes * 2 - 1));
                            if $lanes == 8 {
                                _mm_prefetch::<_MM_HINT_T0>(at.add(64));
                            }
                        }
                    }
                }
                let mut acc = [[$zero(); 2]; $mr];
                // SAFETY (every loop): `check` proved (k-1)*b_row + NR <= b.len() and
                // (MR-1)*a_row + (k-1)*a_step < a.len(), so with p < k and r < MR every
                // load below is inside the slices.
                // One step of the shared dimension, A's element (r, p) read through `$a`.
                let ahead = t.ahead.as_ptr();
                let ahead_lines = t.ahead.len() / 8;
                macro_rules! run {
                    (|$p:ident, $r:ident| $a:expr) => {
                        // One step of the shared dimension.
                        macro_rules! step {
                            ($q:expr) => {{
                                let $p = $q;
                                // SAFETY: see above, p < k.
                                unsafe {
                                    let brow = t.b.as_ptr().add($p * t.b_row);
                                    // B's rows ahead into L1: the panel streams from L2, and the
                                    // hardware prefetchers left the loads waiting (10% of the
                                    // blocked product's time on 1024 x 1024). A prefetch never
                                    // faults, and `wrapping_add` keeps the address arithmetic
                                    // defined past the end of `b`.
                                    _mm_prefetch::<_MM_HINT_T0>(
                                        brow.wrapping_add(B_AHEAD).cast::<i8>(),
                                    );
                                    if 2 * $lanes == 16 {
                                        _mm_prefetch::<_MM_HINT_T0>(
                                            brow.wrapping_add(B_AHEAD + 8).cast::<i8>(),
                                        );
                                    }
                                    let b0 = $load(brow);
                                    let b1 = $load(brow.add($lanes));
                                    for ($r, acc_r) in acc.iter_mut().enumerate() {
                                        let ar = $set1(*$a);
                                        acc_r[0] = $fma(ar, b0, acc_r[0]);
                                        acc_r[1] = $fma(ar, b1, acc_r[1]);
                                    }
                                }
                            }};
                        }
                        // Eight steps at a time, with one line of `ahead` per eight (no
                        // per-step test): p < 8 * lines <= ahead.len(), so the prefetched
                        // address is inside `ahead`.
                        let mut p0 = 0;
                        while p0 + 8 <= t.k {
                            if p0 / 8 < ahead_lines {
                                // SAFETY: as just said.
                                unsafe { _mm_prefetch::<_MM_HINT_T1>(ahead.add(p0).cast::<i8>()) };
                            }
                            for p in p0..p0 + 8 {
                                step!(p);
                            }
                            p0 += 8;
                        }
                        for p in p0..t.k {
                            step!(p);
                        }
                    };
                }
                // The loops differ only in how they address A: with constant strides the
                // loads need no arithmetic of their own (the general loop's crowded the
                // FMAs out of the front end).
                if t.a_row == 1 && t.a_step == $mr {
                    // Packed A: one pointer, constant offsets.
                    let a = t.a.as_ptr();
                    run!(|p, r| a.add(p * $mr + r));
                } else if t.a_step == 1 {
                    // Rows of A in place: one pointer per row, indexed by p.
                    let rows: [*const f64; $mr] =
                        std::array::from_fn(|r| t.a[r * t.a_row..].as_ptr());
                    run!(|p, r| rows[r].add(p));
                } else {
                    let rows: [*const f64; $mr] =
                        std::array::from_fn(|r| t.a[r * t.a_row..].as_ptr());
                    run!(|p, r| rows[r].add(p * t.a_step));
                }
                if dst.whole::<$mr, { 2 * $lanes }>() {
                    let c = dst.c.cast::<f64>();
                    for (r, v) in acc.iter().enumerate() {
                        // SAFETY: `whole` proved (MR-1)*row + NR <= len, so row r's two
                        // vectors, c[r*row..][..NR], are C's, and no other thread touches
                        // them (the invariant of `Dst`); they are read only when `add`,
                        // which is set only after the first depth slice wrote this tile.
                        unsafe {
                            let at = c.add(r * dst.row);
                            let (mut v0, mut v1) = (v[0], v[1]);
                            if dst.add {
                                v0 = $add(v0, $load(at));
                                v1 = $add(v1, $load(at.add($lanes)));
                            }
                            $store(at, v0);
                            $store(at.add($lanes), v1);
                        }
                    }
                } else {
                    let mut out = [[0.0f64; 2 * $lanes]; $mr];
                    for (o, v) in out.iter_mut().zip(acc) {
                        // SAFETY: `o` is 2 * lanes writable f64; the stores write its two
                        // halves.
                        unsafe {
                            $store(o.as_mut_ptr(), v[0]);
                            $store(o.as_mut_ptr().add($lanes), v[1]);
                        }
                    }
                    dst.store(&out);
                }
            }
        };
    }

    /// An AVX-512 tile kernel of `$mr` rows.
    macro_rules! avx512_kernel {
        ($name:ident, $mr:literal) => {
            tile_kernel!(
                $name,
                "avx512f",
                $mr,
                8,
                _mm512_setzero_pd,
                _mm512_loadu_pd,
                _mm512_set1_pd,
                _mm512_fmadd_pd,
                _mm512_add_pd,
                _mm512_storeu_pd
            );
        };
    }

    avx512_kernel!(kernel_8x16, 8);
    avx512_kernel!(kernel_12x16, 12);
    tile_kernel!(
        kernel_6x8,
        "avx2,fma",
        6,
        4,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
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

    type Product = fn(&Args<'_>, &mut [Out], &mut Vec<f64>);

    /// Every tile kernel this CPU can run, whole (`product`) and blocked, under its name.
    fn variants() -> Vec<(&'static str, Product)> {
        let mut v: Vec<(&'static str, Product)> = vec![
            ("portable 4x4", |x, c, p| {
                product::<4, 4>(x, c, p, kernel::<4, 4>)
            }),
            ("portable 4x4 blocked", |x, c, _| {
                blocked::<4, 4>(x, c, kernel::<4, 4>)
            }),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY (both): the CPU supports AVX-512F (checked just above).
                v.push(("avx512 8x16", |x, c, p| unsafe {
                    x86::wide512(x, c, p, false)
                }));
                v.push(("avx512 12x16 blocked", |x, c, p| unsafe {
                    x86::wide512(x, c, p, true)
                }));
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY (both): the CPU supports AVX2 and FMA (checked just above).
                v.push(("avx2 6x8", |x, c, p| unsafe {
                    x86::wide256(x, c, p, false)
                }));
                v.push(("avx2 6x8 blocked", |x, c, p| unsafe {
                    x86::wide256(x, c, p, true)
                }));
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
                // Rows of A in place (n < 8 * NR), one or several depth slices, ragged edges.
                (150, 40, 300),
                (136, 64, 513),
                // A packed, three depth slices of 267 (KC = 384), two column blocks
                // (NB = 256), the second ragged.
                (40, 300, 800),
                // Five column blocks, the last one ragged.
                (20, 1030, 200),
            ] {
                let a: Vec<f64> = (0..m * k).map(|x| ((x * 7 % 13) as f64) - 6.0).collect();
                let b: Vec<f64> = (0..k * n).map(|x| ((x * 5 % 11) as f64) * 0.5).collect();
                for (sa, sb) in [
                    (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 }),
                    (Strides { rows: 1, cols: m }, Strides { rows: 1, cols: k }),
                    (Strides { rows: k, cols: 1 }, Strides { rows: 1, cols: k }),
                    (Strides { rows: 1, cols: m }, Strides { rows: n, cols: 1 }),
                ] {
                    agrees(run, (m, n, k), (&a, sa), (&b, sb), &mut pack, name);
                }
            }
        }
    }

    /// The blocked products share their tiles out among the threads as they go: with any
    /// number of threads (more than the cores, so some are held up and the others take
    /// their work), every tile is written once per slice, in slice order.
    #[test]
    fn blocked_products_agree_whatever_the_threads() {
        let mut pack = Vec::new();
        let blocked: Vec<_> = variants()
            .into_iter()
            .filter(|(name, _)| name.ends_with("blocked"))
            .collect();
        // Three depth slices (two panel buffers, the first reused), five column blocks, a
        // ragged last tile; and one slice with rows of A in place.
        for &(m, n, k) in &[(101, 1030, 800), (77, 48, 300)] {
            let a: Vec<f64> = (0..m * k).map(|x| ((x * 7 % 13) as f64) - 6.0).collect();
            let b: Vec<f64> = (0..k * n).map(|x| ((x * 5 % 11) as f64) * 0.5).collect();
            let (sa, sb) = (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 });
            for threads in [1, 2, 3, 7] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool");
                for (name, run) in &blocked {
                    for _ in 0..3 {
                        let what = format!("{name}, {threads} threads");
                        pool.install(|| {
                            agrees(*run, (m, n, k), (&a, sa), (&b, sb), &mut pack, &what)
                        });
                    }
                }
            }
        }
    }

    /// Blocked products inside parallel work (as `cov` runs them, one per batch point): a
    /// product's second worker may start only when the first has done everything, or
    /// run on the same thread after it; either way nothing waits for work nobody took.
    #[test]
    fn blocked_products_nested_in_parallel_work() {
        use rayon::prelude::*;
        // Past BLOCKED (2^24 multiply-adds), so `gemm` blocks it: two slices, two blocks.
        let (m, n, k) = (101, 300, 600);
        let a: Vec<f64> = (0..m * k).map(|x| ((x * 7 % 13) as f64) - 6.0).collect();
        let b: Vec<f64> = (0..k * n).map(|x| ((x * 5 % 11) as f64) * 0.5).collect();
        let (sa, sb) = (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 });
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(|| {
                (0..6).into_par_iter().for_each(|i| {
                    let what = format!("nested product {i}, {threads} threads");
                    agrees(
                        gemm_product,
                        (m, n, k),
                        (&a, sa),
                        (&b, sb),
                        &mut Vec::new(),
                        &what,
                    );
                })
            });
        }
    }

    /// A worker that panics (a broken invariant) makes the product panic, not wait
    /// forever for the unit it never finished.
    #[test]
    fn a_panicking_worker_fails_the_product() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (m, n, k) = (40, 300, 800);
        let a = vec![1.0; m * k];
        let b = vec![1.0; k * n];
        let (sa, sb) = (Strides { rows: k, cols: 1 }, Strides { rows: n, cols: 1 });
        let args = Args {
            m,
            n,
            k,
            a: &a,
            sa,
            b: &b,
            sb,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a thread pool");
        let calls = AtomicUsize::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut c = vec![MaybeUninit::new(0.0); m * n];
            pool.install(|| {
                blocked::<4, 4>(&args, &mut c, |t, d| {
                    assert!(
                        calls.fetch_add(1, Ordering::Relaxed) != 5,
                        "a broken kernel"
                    );
                    kernel::<4, 4>(t, d)
                })
            });
        }));
        assert!(outcome.is_err());
    }

    /// The product through `gemm`, as the executor calls it (blocked when large).
    fn gemm_product(x: &Args<'_>, c: &mut [Out], pack: &mut Vec<f64>) {
        gemm((x.m, x.n, x.k), x.a, x.sa, x.b, x.sb, c, pack);
    }

    /// Runs `run` on the operands and checks it against `naive`.
    fn agrees(
        run: Product,
        (m, n, k): (usize, usize, usize),
        (a, sa): (&[f64], Strides),
        (b, sb): (&[f64], Strides),
        pack: &mut Vec<f64>,
        what: &str,
    ) {
        let want = naive(m, n, k, a, sa, b, sb);
        // NaN where a kernel failed to write (initialised, so reading is defined).
        let mut got = vec![MaybeUninit::new(f64::NAN); m * n];
        let args = Args {
            m,
            n,
            k,
            a,
            sa,
            b,
            sb,
        };
        run(&args, &mut got, pack);
        // SAFETY: every element was initialised (NaN) before the call.
        let got: Vec<f64> = got.iter().map(|g| unsafe { g.assume_init() }).collect();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{what} {m}x{n}x{k}: {g} vs {w}"
            );
        }
    }

    #[test]
    fn empty_sides_and_zero_depth() {
        let mut pack = Vec::new();
        let s = Strides { rows: 1, cols: 1 };
        let mut c = vec![MaybeUninit::new(f64::NAN); 10];
        gemm((5, 2, 0), &[], s, &[], s, &mut c, &mut pack);
        // SAFETY: initialised (NaN) before the call.
        assert!(c.iter().all(|x| unsafe { x.assume_init() } == 0.0));
        let mut c: Vec<Out> = vec![];
        gemm((0, 3, 4), &[], s, &[0.0; 12], s, &mut c, &mut pack);
    }
}
