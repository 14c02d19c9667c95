//! The .npy and .npz formats: decoding into `Tensor`s and encoding from them, on readers and
//! writers (the CLI owns the files). Sizes are checked against the `MemoryBudget` and the
//! bytes actually available before anything is allocated.
//!
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.
//! Written by hand rather than through `npyz` so every malformed input gets a precise error
//! and no allocation is made from an unchecked header.

use std::fmt;
use std::io::{self, Read, Seek, Write};

use super::tensor::{
    human_bytes, reserve_huge, Dtype, MemoryBudget, Tensor, TensorData, TensorError,
};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy refuses headers over 10000 bytes by default; allow more, but stay bounded.
const MAX_HEADER_LEN: usize = 1 << 20;
/// Bytes converted per step when reading or writing element data.
const CHUNK: usize = 1 << 16;

/// Why an array could not be read or written.
#[derive(Debug)]
pub enum NpyError {
    Io(io::Error),
    /// Not a valid .npy/.npz: the message says what is wrong.
    Corrupt(String),
    /// A valid file whose element type overt does not handle.
    UnsupportedDtype {
        descr: String,
        numpy_name: String,
    },
    /// The data ends before the header's shape is filled.
    Truncated {
        expected: u64,
        found: u64,
    },
    Size(TensorError),
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::Io(e) => write!(f, "{e}"),
            NpyError::Corrupt(msg) => write!(f, "not a valid .npy/.npz file: {msg}"),
            NpyError::UnsupportedDtype { descr, numpy_name } => write!(
                f,
                "unsupported dtype {numpy_name} ('{descr}'): overt reads bool, int64, float32 \
                 and float64 (convert with `a.astype(np.float64)` or `np.int64`)"
            ),
            NpyError::Truncated { expected, found } => write!(
                f,
                "truncated file: the header promises {} of data but only {} follow",
                human_bytes(*expected),
                human_bytes(*found)
            ),
            NpyError::Size(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NpyError {}

impl From<io::Error> for NpyError {
    fn from(e: io::Error) -> NpyError {
        NpyError::Io(e)
    }
}

impl From<TensorError> for NpyError {
    fn from(e: TensorError) -> NpyError {
        NpyError::Size(e)
    }
}

fn corrupt(msg: impl Into<String>) -> NpyError {
    NpyError::Corrupt(msg.into())
}

/// What a .npy header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub dtype: Dtype,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

/// Reads one .npy array. `name` names it in budget errors; `available` is the number of
/// bytes left in the source when known (a file's length), so a lying header is caught
/// before allocating.
pub fn read_npy<R: Read>(
    mut reader: R,
    name: &str,
    available: Option<u64>,
    budget: &MemoryBudget,
) -> Result<Tensor, NpyError> {
    let (header, header_bytes) = read_header(&mut reader)?;
    let count = budget.reserve(name, header.dtype, &header.shape)?;
    let expected = (count as u64).saturating_mul(header.dtype.item_size() as u64);
    if let Some(total) = available {
        let found = total.saturating_sub(header_bytes);
        if found < expected {
            return Err(NpyError::Truncated { expected, found });
        }
    }
    let data = read_elements(
        &mut reader,
        header.dtype,
        header.big_endian,
        count,
        expected,
    )?;
    let data = if header.fortran_order && header.shape.len() > 1 {
        fortran_to_c(&header.shape, data)
    } else {
        data
    };
    Ok(Tensor::new(header.shape, data)?)
}

/// Parses the magic, version and header dict; returns the header and its length in bytes.
pub fn read_header<R: Read>(reader: &mut R) -> Result<(NpyHeader, u64), NpyError> {
    let mut prefix = [0u8; 8];
    read_exact_or(
        reader,
        &mut prefix,
        "the file is shorter than a .npy header",
    )?;
    if &prefix[..6] != MAGIC {
        return Err(corrupt("missing the \\x93NUMPY magic string"));
    }
    let major = prefix[6];
    let (len, prefix_len) = match major {
        1 => {
            let mut b = [0u8; 2];
            read_exact_or(reader, &mut b, "the header length is cut off")?;
            (usize::from(u16::from_le_bytes(b)), 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            read_exact_or(reader, &mut b, "the header length is cut off")?;
            let len = usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX);
            (len, 12u64)
        }
        v => return Err(corrupt(format!("unknown format version {v}"))),
    };
    if len > MAX_HEADER_LEN {
        return Err(corrupt(format!(
            "header of {len} bytes is implausibly long"
        )));
    }
    let mut text = vec![0u8; len];
    read_exact_or(reader, &mut text, "the header is cut off")?;
    let text = std::str::from_utf8(&text).map_err(|_| corrupt("the header is not text"))?;
    Ok((parse_header(text)?, prefix_len + len as u64))
}

fn read_exact_or<R: Read>(reader: &mut R, buf: &mut [u8], what: &str) -> Result<(), NpyError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt(what),
        _ => NpyError::Io(e),
    })
}

/// Parses `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(text: &str) -> Result<NpyHeader, NpyError> {
    let mut p = DictParser {
        s: text.as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" => {
                p.skip_ws();
                if p.peek() == Some(b'[') {
                    return Err(NpyError::UnsupportedDtype {
                        descr: "[...]".into(),
                        numpy_name: "structured".into(),
                    });
                }
                descr = Some(p.string()?);
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(corrupt(format!("unexpected header key '{other}'"))),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    let descr = descr.ok_or_else(|| corrupt("the header has no 'descr'"))?;
    let (dtype, big_endian) = parse_descr(&descr)?;
    Ok(NpyHeader {
        dtype,
        big_endian,
        fortran_order: fortran.ok_or_else(|| corrupt("the header has no 'fortran_order'"))?,
        shape: shape.ok_or_else(|| corrupt("the header has no 'shape'"))?,
    })
}

/// `'<f8'` -> (F64, little endian). Anything else is named in NumPy's words.
fn parse_descr(descr: &str) -> Result<(Dtype, bool), NpyError> {
    let bytes = descr.as_bytes();
    let (order, rest) = match bytes.first() {
        Some(&c @ (b'<' | b'>' | b'|' | b'=')) => (c, &descr[1..]),
        _ => (b'|', descr),
    };
    let dtype = match rest {
        "b1" | "?" => Some(Dtype::Bool),
        "i8" => Some(Dtype::I64),
        "f4" => Some(Dtype::F32),
        "f8" => Some(Dtype::F64),
        _ => None,
    };
    match dtype {
        Some(d) => Ok((d, order == b'>' && d.item_size() > 1)),
        None => Err(NpyError::UnsupportedDtype {
            descr: descr.to_string(),
            numpy_name: numpy_name_of(rest),
        }),
    }
}

fn numpy_name_of(code: &str) -> String {
    let (kind, size) = code.split_at(code.len().min(1));
    let bits = size.parse::<u32>().map(|b| b * 8).ok();
    let base = match kind {
        "i" => "int",
        "u" => "uint",
        "f" => "float",
        "c" => "complex",
        "U" => return "str".into(),
        "S" => return "bytes".into(),
        "O" => return "object".into(),
        "M" => return "datetime64".into(),
        "m" => return "timedelta64".into(),
        "V" => return "void".into(),
        _ => return format!("'{code}'"),
    };
    match bits {
        Some(b) => format!("{base}{b}"),
        None => format!("'{code}'"),
    }
}

struct DictParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl DictParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(corrupt(format!(
                "malformed header: expected '{}' at byte {}",
                c as char, self.i
            )))
        }
    }

    fn string(&mut self) -> Result<String, NpyError> {
        self.skip_ws();
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(corrupt(format!(
                    "malformed header: expected a string at byte {}",
                    self.i
                )))
            }
        };
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == quote {
                let s = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                return Ok(s);
            }
            self.i += 1;
        }
        Err(corrupt("malformed header: unterminated string"))
    }

    fn boolean(&mut self) -> Result<bool, NpyError> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            Ok(true)
        } else if rest.starts_with(b"False") {
            self.i += 5;
            Ok(false)
        } else {
            Err(corrupt(
                "malformed header: 'fortran_order' is not True or False",
            ))
        }
    }

    fn tuple(&mut self) -> Result<Vec<usize>, NpyError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(b')') {
                return Ok(dims);
            }
            self.skip_ws();
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            // Python 2 era files may write `3L`.
            if self.peek() == Some(b'L') {
                self.i += 1;
            }
            let dim = digits
                .parse::<usize>()
                .map_err(|_| corrupt("malformed header: 'shape' holds a non-integer"))?;
            dims.push(dim);
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Reads `count` elements (`expected` bytes) of `dtype`.
fn read_elements<R: Read>(
    reader: &mut R,
    dtype: Dtype,
    big_endian: bool,
    count: usize,
    expected: u64,
) -> Result<TensorData, NpyError> {
    let item = dtype.item_size();
    let mut data = TensorData::zeros(dtype, 0);
    match &mut data {
        TensorData::Bool(v) => reserve_huge(v, count),
        TensorData::I64(v) => reserve_huge(v, count),
        TensorData::F32(v) => reserve_huge(v, count),
        TensorData::F64(v) => reserve_huge(v, count),
    }
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0usize;
    while done < count {
        let n = (count - done).min(CHUNK / item);
        let bytes = &mut buf[..n * item];
        let mut filled = 0;
        while filled < bytes.len() {
            match reader.read(&mut bytes[filled..]) {
                Ok(0) => {
                    let found = (done * item + filled) as u64;
                    return Err(NpyError::Truncated { expected, found });
                }
                Ok(k) => filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(NpyError::Io(e)),
            }
        }
        decode_chunk(&mut data, bytes, big_endian)?;
        done += n;
    }
    Ok(data)
}

macro_rules! decode_into {
    ($vec:expr, $bytes:expr, $big:expr, $ty:ty, $n:literal) => {{
        let conv = |c: &[u8]| {
            let mut a = [0u8; $n];
            a.copy_from_slice(c);
            if $big {
                <$ty>::from_be_bytes(a)
            } else {
                <$ty>::from_le_bytes(a)
            }
        };
        $vec.extend($bytes.chunks_exact($n).map(conv));
    }};
}

fn decode_chunk(data: &mut TensorData, bytes: &[u8], big: bool) -> Result<(), NpyError> {
    match data {
        TensorData::Bool(v) => {
            for &b in bytes {
                match b {
                    0 => v.push(false),
                    1 => v.push(true),
                    _ => return Err(corrupt(format!("boolean element holds the byte {b}"))),
                }
            }
        }
        TensorData::I64(v) => decode_into!(v, bytes, big, i64, 8),
        TensorData::F32(v) => decode_into!(v, bytes, big, f32, 4),
        TensorData::F64(v) => decode_into!(v, bytes, big, f64, 8),
    }
    Ok(())
}

/// Reorders column-major data into row-major.
fn fortran_to_c(shape: &[usize], data: TensorData) -> TensorData {
    fn permute<T: Copy>(shape: &[usize], src: &[T]) -> Vec<T> {
        let n = src.len();
        let mut out = Vec::with_capacity(n);
        // Fortran strides: the first axis has stride 1.
        let mut fstrides = vec![1usize; shape.len()];
        for k in 1..shape.len() {
            fstrides[k] = fstrides[k - 1] * shape[k - 1];
        }
        let mut index = vec![0usize; shape.len()];
        for _ in 0..n {
            let off: usize = index.iter().zip(&fstrides).map(|(i, s)| i * s).sum();
            out.push(src[off]);
            for k in (0..shape.len()).rev() {
                index[k] += 1;
                if index[k] < shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        out
    }
    match data {
        TensorData::Bool(v) => TensorData::Bool(permute(shape, &v)),
        TensorData::I64(v) => TensorData::I64(permute(shape, &v)),
        TensorData::F32(v) => TensorData::F32(permute(shape, &v)),
        TensorData::F64(v) => TensorData::F64(permute(shape, &v)),
    }
}

/// The header bytes (magic through padding) NumPy writes for `tensor`.
fn header_bytes(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let descr = match dtype {
        Dtype::Bool => "|b1",
        Dtype::I64 => "<i8",
        Dtype::F32 => "<f4",
        Dtype::F64 => "<f8",
    };
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Version 1.0 holds headers up to 65535 bytes; 2.0 beyond. Data starts 64-byte aligned.
    let v1 = dict.len() + 64 < usize::from(u16::MAX);
    let prefix = if v1 { 10 } else { 12 };
    let pad = (64 - (prefix + dict.len() + 1) % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(prefix + dict.len());
    out.extend_from_slice(MAGIC);
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `tensor` as .npy (little endian, C order).
pub fn write_npy<W: Write>(mut writer: W, tensor: &Tensor) -> io::Result<()> {
    writer.write_all(&header_bytes(tensor.dtype(), tensor.shape()))?;
    let mut buf = Vec::with_capacity(CHUNK);
    macro_rules! encode {
        ($v:expr, $f:expr) => {
            for chunk in $v.chunks(CHUNK / 8) {
                buf.clear();
                for &x in chunk {
                    buf.extend_from_slice(&$f(x));
                }
                writer.write_all(&buf)?;
            }
        };
    }
    match tensor.data() {
        TensorData::Bool(v) => encode!(v, |b: bool| [u8::from(b)]),
        TensorData::I64(v) => encode!(v, i64::to_le_bytes),
        TensorData::F32(v) => encode!(v, f32::to_le_bytes),
        TensorData::F64(v) => encode!(v, f64::to_le_bytes),
    }
    writer.flush()
}

/// Reads the arrays of an .npz archive for which `wanted(name)` holds, in archive order.
pub fn read_npz<R: Read + Seek>(
    reader: R,
    budget: &MemoryBudget,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Tensor)>, NpyError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(zip_error)?;
        let Some(name) = member.name().strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        if !wanted(&name) {
            continue;
        }
        let size = member.size();
        let tensor = read_npy(member, &name, Some(size), budget).map_err(|e| match e {
            NpyError::Corrupt(msg) => corrupt(format!("member '{name}.npy': {msg}")),
            other => other,
        })?;
        out.push((name, tensor));
    }
    Ok(out)
}

/// The array names in an .npz archive.
pub fn npz_names<R: Read + Seek>(reader: R) -> Result<Vec<String>, NpyError> {
    let archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    Ok(archive
        .file_names()
        .filter_map(|n| n.strip_suffix(".npy").map(str::to_string))
        .collect())
}

fn zip_error(e: zip::result::ZipError) -> NpyError {
    match e {
        zip::result::ZipError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            corrupt("the .npz archive is truncated")
        }
        zip::result::ZipError::Io(e) => NpyError::Io(e),
        other => corrupt(format!("bad .npz archive: {other}")),
    }
}

/// Writes `arrays` as an uncompressed .npz archive (what `np.savez` writes).
pub fn write_npz<W: Write + Seek>(writer: W, arrays: &[(&str, &Tensor)]) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new(writer);
    for (name, tensor) in arrays {
        let large = tensor.byte_size() as u64 + 4096 >= u64::from(u32::MAX);
        let options = zip::write::FileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(large);
        zip.start_file(format!("{name}.npy"), options)
            .map_err(io::Error::other)?;
        write_npy(&mut zip, tensor)?;
    }
    zip.finish().map_err(io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_header(text: &str, expected: Result<(&str, bool, &[usize]), &str>) {
        let got = parse_header(text);
        match (got, expected) {
            (Ok(h), Ok((dtype, fortran, shape))) => {
                assert_eq!(
                    (h.dtype.name(), h.fortran_order, h.shape.as_slice()),
                    (dtype, fortran, shape)
                );
            }
            (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{e}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn headers() {
        check_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
            Ok(("f64", false, &[3, 4])),
        );
        check_header(
            "{'descr': '|b1', 'fortran_order': True, 'shape': (5,)}",
            Ok(("bool", true, &[5])),
        );
        check_header(
            "{'shape': (), 'descr': '<i8', 'fortran_order': False}",
            Ok(("i64", false, &[])),
        );
        check_header(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
            Err("unsupported dtype int32"),
        );
        check_header(
            "{'descr': '<U3', 'fortran_order': False, 'shape': (3,), }",
            Err("unsupported dtype str"),
        );
        check_header(
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            Err("structured"),
        );
        check_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }",
            Err("non-integer"),
        );
        check_header(
            "{'descr': '<f8', 'fortran_order': False}",
            Err("no 'shape'"),
        );
        check_header("{'descr': '<f8", Err("unterminated"));
    }

    #[test]
    fn round_trip_and_truncation() {
        let t = Tensor::from_f64(vec![2, 3], vec![1.0, -2.5, 3.0, 4.0, 5.0, f64::NAN]).unwrap();
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &t).unwrap();
        assert_eq!((bytes.len() - 48) % 64, 0, "data starts 64-byte aligned");
        let budget = MemoryBudget::unlimited();
        let back = read_npy(&bytes[..], "t", Some(bytes.len() as u64), &budget).unwrap();
        assert_eq!(back.shape(), t.shape());
        assert_eq!(back.as_f64().unwrap()[..5], t.as_f64().unwrap()[..5]);
        let cut = &bytes[..bytes.len() - 3];
        let err = read_npy(cut, "t", None, &budget).unwrap_err();
        assert!(
            matches!(
                err,
                NpyError::Truncated {
                    expected: 48,
                    found: 45
                }
            ),
            "{err}"
        );
        let err = read_npy(cut, "t", Some(cut.len() as u64), &budget).unwrap_err();
        assert!(matches!(err, NpyError::Truncated { .. }), "{err}");
        let small = MemoryBudget::new(10);
        let err = read_npy(&bytes[..], "t", None, &small).unwrap_err();
        assert!(err.to_string().contains("`t` needs 48 B"), "{err}");
    }

    #[test]
    fn fortran_order_is_reordered() {
        let f = TensorData::I64(vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(
            fortran_to_c(&[2, 3], f),
            TensorData::I64(vec![0, 1, 2, 3, 4, 5])
        );
    }
}
