//! The runtime's array value (`Tensor`: a dtype, a shape and contiguous row-major data),
//! and the memory budget every allocation of user-sized data is checked against.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The element type, defined by the language (`bool i64 f32 f64`).
pub use crate::overt::Dtype;

/// One element of any dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    I64(i64),
    F32(f32),
    F64(f64),
}

impl Scalar {
    pub fn dtype(self) -> Dtype {
        match self {
            Scalar::Bool(_) => Dtype::Bool,
            Scalar::I64(_) => Dtype::I64,
            Scalar::F32(_) => Dtype::F32,
            Scalar::F64(_) => Dtype::F64,
        }
    }

    /// The value as f64 (exact for bool, f32, f64; rounded for |i| > 2^53).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::I64(i) => i as f64,
            Scalar::F32(x) => f64::from(x),
            Scalar::F64(x) => x,
        }
    }
}

/// Contiguous row-major element storage, one variant per dtype.
#[derive(Debug, PartialEq)]
pub enum TensorData {
    Bool(Vec<bool>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A copy lives in memory of the same kind as a freshly read input (huge pages advised for
/// a large buffer), so a copy computes as fast as the original.
impl Clone for TensorData {
    fn clone(&self) -> TensorData {
        fn copy<T: Copy>(v: &[T]) -> Vec<T> {
            let mut out = Vec::new();
            reserve_huge(&mut out, v.len());
            out.extend_from_slice(v);
            out
        }
        match self {
            TensorData::Bool(v) => TensorData::Bool(copy(v)),
            TensorData::I64(v) => TensorData::I64(copy(v)),
            TensorData::F32(v) => TensorData::F32(copy(v)),
            TensorData::F64(v) => TensorData::F64(copy(v)),
        }
    }
}

impl TensorData {
    pub fn dtype(&self) -> Dtype {
        match self {
            TensorData::Bool(_) => Dtype::Bool,
            TensorData::I64(_) => Dtype::I64,
            TensorData::F32(_) => Dtype::F32,
            TensorData::F64(_) => Dtype::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TensorData::Bool(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `len` zero elements of `dtype`. The caller has checked the size against a budget.
    pub fn zeros(dtype: Dtype, len: usize) -> TensorData {
        match dtype {
            Dtype::Bool => TensorData::Bool(zeroed(len)),
            Dtype::I64 => TensorData::I64(zeroed(len)),
            Dtype::F32 => TensorData::F32(zeroed(len)),
            Dtype::F64 => TensorData::F64(zeroed(len)),
        }
    }

    /// The element at flat position `i`, or None when out of range.
    pub fn get(&self, i: usize) -> Option<Scalar> {
        Some(match self {
            TensorData::Bool(v) => Scalar::Bool(*v.get(i)?),
            TensorData::I64(v) => Scalar::I64(*v.get(i)?),
            TensorData::F32(v) => Scalar::F32(*v.get(i)?),
            TensorData::F64(v) => Scalar::F64(*v.get(i)?),
        })
    }
}

/// Buffers at least this large ask the kernel for transparent huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// `len` zero (default) elements. Large buffers come zeroed from the allocator (`calloc`
/// maps fresh pages without touching them) and are advised to use transparent huge pages,
/// as NumPy does: first-touch page faults on a fresh 4 KiB-paged buffer otherwise cost more
/// than the arithmetic that fills it. The caller has checked the size against a budget.
pub(crate) fn zeroed<T: Copy + Default + Clone>(len: usize) -> Vec<T> {
    let v = vec![T::default(); len];
    advise_huge_pages(&v);
    v
}

/// A buffer of `len` elements written by `fill` into memory not zeroed first (an extra pass
/// over memory that every element is about to be written anyway), with the huge-page
/// advice of `zeroed`. An error from `fill` is passed on and the buffer dropped unread.
///
/// # Safety
/// When `fill` returns Ok it must have written every element of the slice it was given.
pub(crate) unsafe fn written<T, E>(
    len: usize,
    fill: impl FnOnce(&mut [std::mem::MaybeUninit<T>]) -> Result<(), E>,
) -> Result<Vec<T>, E> {
    let mut v = Vec::new();
    reserve_huge(&mut v, len);
    fill(&mut v.spare_capacity_mut()[..len])?;
    // SAFETY: `fill` returned Ok, so it wrote all `len` elements (this function's contract);
    // the capacity is at least `len`.
    unsafe { v.set_len(len) };
    Ok(v)
}

/// Reserves room for `additional` more elements, with the same huge-page advice as
/// `zeroed` for a large reservation (the reader of a large input fills it next).
pub(crate) fn reserve_huge<T>(v: &mut Vec<T>, additional: usize) {
    v.reserve_exact(additional);
    let spare = v.spare_capacity_mut();
    advise_range(spare.as_ptr() as usize, std::mem::size_of_val(spare));
}

fn advise_huge_pages<T>(v: &[T]) {
    advise_range(v.as_ptr() as usize, std::mem::size_of_val(v));
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_start: usize, _bytes: usize) {}

#[cfg(target_os = "linux")]
fn advise_range(start: usize, bytes: usize) {
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    const PAGE: usize = 4096;
    let first = start.div_ceil(PAGE) * PAGE;
    let end = (start + bytes) / PAGE * PAGE;
    if end > first {
        // SAFETY: madvise only gives advice about the page-aligned range [first, end), which
        // lies inside the caller's live allocation; MADV_HUGEPAGE never changes the contents or the
        // validity of the mapping, and a failure (e.g. THP disabled) is harmless, so the
        // result is ignored.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

/// An n-dimensional array: `data.len()` is always the product of `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Pairs a shape with data; fails when the element counts disagree.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor, TensorError> {
        let count = element_count(&shape).ok_or_else(|| TensorError::SizeOverflow {
            shape: shape.clone(),
        })?;
        if count != data.len() {
            return Err(TensorError::DataLength {
                shape,
                len: data.len(),
            });
        }
        Ok(Tensor { shape, data })
    }

    /// A zero-filled array, charged to `budget` first.
    pub fn zeros(
        what: &str,
        dtype: Dtype,
        shape: Vec<usize>,
        budget: &MemoryBudget,
    ) -> Result<Tensor, TensorError> {
        let count = budget.reserve(what, dtype, &shape)?;
        Ok(Tensor {
            shape,
            data: TensorData::zeros(dtype, count),
        })
    }

    pub fn from_f64(shape: Vec<usize>, data: Vec<f64>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, TensorData::F64(data))
    }

    pub fn from_i64(shape: Vec<usize>, data: Vec<i64>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, TensorData::I64(data))
    }

    pub fn from_f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, TensorData::F32(data))
    }

    pub fn from_bool(shape: Vec<usize>, data: Vec<bool>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, TensorData::Bool(data))
    }

    /// A 0-d array.
    pub fn scalar(value: Scalar) -> Tensor {
        let data = match value {
            Scalar::Bool(b) => TensorData::Bool(vec![b]),
            Scalar::I64(i) => TensorData::I64(vec![i]),
            Scalar::F32(x) => TensorData::F32(vec![x]),
            Scalar::F64(x) => TensorData::F64(vec![x]),
        };
        Tensor {
            shape: Vec::new(),
            data,
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dtype(&self) -> Dtype {
        self.data.dtype()
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// Mutable element access; the shape (and so the length) stays fixed.
    pub fn data_mut(&mut self) -> &mut TensorData {
        &mut self.data
    }

    pub fn into_parts(self) -> (Vec<usize>, TensorData) {
        (self.shape, self.data)
    }

    /// Element strides (not bytes) of the row-major layout.
    pub fn strides(&self) -> Vec<usize> {
        row_major_strides(&self.shape)
    }

    /// The element at a multi-index, or None when the index is out of bounds.
    pub fn get(&self, index: &[usize]) -> Option<Scalar> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut flat = 0usize;
        for (&i, &n) in index.iter().zip(&self.shape) {
            if i >= n {
                return None;
            }
            flat = flat * n + i;
        }
        self.data.get(flat)
    }

    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            TensorData::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            TensorData::I64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<&[bool]> {
        match &self.data {
            TensorData::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// Bytes of element data.
    pub fn byte_size(&self) -> usize {
        self.len() * self.dtype().item_size()
    }
}

/// Product of a shape, or None on overflow.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n))
}

/// Element strides of a row-major layout (the last axis has stride 1).
pub fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1].saturating_mul(shape[k + 1]);
    }
    strides
}

/// Total bytes the program may allocate for arrays. Every allocation whose size comes from
/// user input is reserved here first, so an absurd size fails with a message naming the
/// array instead of aborting the process.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    pub fn new(limit_bytes: u64) -> MemoryBudget {
        MemoryBudget {
            limit: limit_bytes,
            used: AtomicU64::new(0),
        }
    }

    /// No limit beyond what the address space allows (for tests and embedding).
    pub fn unlimited() -> MemoryBudget {
        MemoryBudget::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Reserves room for an array of `dtype` and `shape` named `what`; returns its element
    /// count.
    pub fn reserve(&self, what: &str, dtype: Dtype, shape: &[usize]) -> Result<usize, TensorError> {
        let overflow = || TensorError::SizeOverflow {
            shape: shape.to_vec(),
        };
        let count = element_count(shape).ok_or_else(overflow)?;
        let bytes = (count as u64)
            .checked_mul(dtype.item_size() as u64)
            .ok_or_else(overflow)?;
        self.reserve_bytes(what, bytes)?;
        Ok(count)
    }

    /// Reserves `bytes` for `what`.
    pub fn reserve_bytes(&self, what: &str, bytes: u64) -> Result<(), TensorError> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let total = used.saturating_add(bytes);
            // isize::MAX is the hard ceiling of any Rust allocation.
            if total > self.limit || bytes > isize::MAX as u64 {
                return Err(TensorError::OverBudget {
                    what: what.to_string(),
                    bytes,
                    used,
                    limit: self.limit,
                });
            }
            match self
                .used
                .compare_exchange_weak(used, total, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }

    /// Returns `bytes` to the budget when an array is dropped early.
    pub fn release_bytes(&self, bytes: u64) {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let next = used.saturating_sub(bytes);
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => used = now,
            }
        }
    }
}

/// Errors about array sizes and layouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorError {
    /// The shape's element count does not fit in memory addresses.
    SizeOverflow { shape: Vec<usize> },
    /// Data length and shape disagree.
    DataLength { shape: Vec<usize>, len: usize },
    /// Allocating `what` would exceed the memory limit.
    OverBudget {
        what: String,
        bytes: u64,
        used: u64,
        limit: u64,
    },
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::SizeOverflow { shape } => {
                write!(
                    f,
                    "array of shape {shape:?} has too many elements to address"
                )
            }
            TensorError::DataLength { shape, len } => {
                write!(f, "{len} elements do not fill an array of shape {shape:?}")
            }
            TensorError::OverBudget {
                what,
                bytes,
                used,
                limit,
            } => write!(
                f,
                "`{what}` needs {} but only {} of the memory limit of {} is left \
                 (raise it with --max-memory)",
                human_bytes(*bytes),
                human_bytes(limit.saturating_sub(*used)),
                human_bytes(*limit)
            ),
        }
    }
}

impl std::error::Error for TensorError {}

/// `1.5 GiB`-style sizes for messages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length_and_get_checks_bounds() {
        let t = Tensor::from_f64(vec![2, 3], (0..6).map(f64::from).collect()).unwrap();
        assert_eq!(t.get(&[1, 2]), Some(Scalar::F64(5.0)));
        assert_eq!(t.get(&[2, 0]), None);
        assert_eq!(t.strides(), vec![3, 1]);
        assert!(Tensor::from_f64(vec![2, 2], vec![1.0]).is_err());
        assert!(Tensor::from_f64(vec![usize::MAX, 2], vec![]).is_err());
    }

    #[test]
    fn budget_refuses_before_allocating() {
        let budget = MemoryBudget::new(1000);
        assert!(Tensor::zeros("a", Dtype::F64, vec![100], &budget).is_ok());
        let err = Tensor::zeros("b", Dtype::F64, vec![100], &budget).unwrap_err();
        assert!(err.to_string().contains("`b` needs 800 B"), "{err}");
        let huge = Tensor::zeros("c", Dtype::F64, vec![1 << 40, 1 << 40], &budget);
        assert!(matches!(huge, Err(TensorError::SizeOverflow { .. })));
    }
}
