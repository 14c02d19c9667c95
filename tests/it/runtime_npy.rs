//! .npy/.npz interchange with real NumPy: files NumPy writes are read exactly, files overt
//! writes are read back by NumPy, and malformed files get clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use overt::runtime::npy::{read_npy, read_npz, write_npy, write_npz, NpyError};
use overt::runtime::{MemoryBudget, Tensor};

fn python() -> String {
    std::env::var("OVERT_PYTHON")
        .expect("OVERT_PYTHON must name a python with numpy (scripts/test.sh sets it)")
}

fn run_python(dir: &Path, code: &str) -> String {
    let out = Command::new(python())
        .current_dir(dir)
        .args(["-c", code])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("overt-npy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn load(path: &Path) -> Result<Tensor, NpyError> {
    let bytes = std::fs::read(path).unwrap();
    read_npy(
        &bytes[..],
        "x",
        Some(bytes.len() as u64),
        &MemoryBudget::unlimited(),
    )
}

/// Reads the file NumPy wrote for `expr` and compares its repr of every element.
fn check(expr: &str, expected: Result<&str, &str>) {
    let dir = temp_dir("read");
    run_python(
        &dir,
        &format!("import numpy as np; np.save('a.npy', {expr})"),
    );
    match (load(&dir.join("a.npy")), expected) {
        (Ok(t), Ok(want)) => {
            let got = format!("{} {:?} {}", t.dtype(), t.shape(), render(&t));
            assert_eq!(got, want, "{expr}");
        }
        (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{expr}: {e}"),
        (got, want) => panic!("{expr}: got {got:?}, want {want:?}"),
    }
}

fn render(t: &Tensor) -> String {
    (0..t.len())
        .map(|i| match t.data().get(i) {
            Some(s) => format!("{}", s.to_f64()),
            None => "?".into(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn reads_what_numpy_writes() {
    check("np.arange(6.0).reshape(2, 3)", Ok("f64 [2, 3] 0,1,2,3,4,5"));
    check("np.arange(6).reshape(2, 3).T", Ok("i64 [3, 2] 0,3,1,4,2,5"));
    check(
        "np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))[:, :, 1]",
        Ok("f64 [2, 3] 1,5,9,13,17,21"),
    );
    check(
        "np.asfortranarray(np.arange(6.0).reshape(2, 3))",
        Ok("f64 [2, 3] 0,1,2,3,4,5"),
    );
    check("np.array([1.5, -2], dtype='>f8')", Ok("f64 [2] 1.5,-2"));
    check("np.array([7, -1], dtype='>i8')", Ok("i64 [2] 7,-1"));
    check("np.array([True, False, True])", Ok("bool [3] 1,0,1"));
    check(
        "np.float32(0.5) * np.ones((1, 2), np.float32)",
        Ok("f32 [1, 2] 0.5,0.5"),
    );
    check("np.array(3.25)", Ok("f64 [] 3.25"));
    check("np.zeros((0, 4))", Ok("f64 [0, 4] "));
    check(
        "np.arange(3, dtype=np.int32)",
        Err("unsupported dtype int32 ('<i4')"),
    );
    check(
        "np.arange(3, dtype=np.uint8)",
        Err("unsupported dtype uint8"),
    );
    check("np.array(['a'])", Err("unsupported dtype str"));
    check("np.zeros(2, dtype=[('a', 'f8')])", Err("structured"));
    check("np.array([1+2j])", Err("unsupported dtype complex128"));
}

#[test]
fn numpy_reads_what_overt_writes() {
    let dir = temp_dir("write");
    let a = Tensor::from_f64(vec![2, 3], vec![1.0, 2.5, -3.0, 1e300, f64::INFINITY, -0.0]).unwrap();
    let b = Tensor::from_i64(vec![4], vec![i64::MIN, -1, 0, i64::MAX]).unwrap();
    let c = Tensor::from_bool(vec![1, 2, 1], vec![true, false]).unwrap();
    let d = Tensor::from_f32(vec![], vec![0.1]).unwrap();
    for (name, t) in [("a", &a), ("b", &b), ("c", &c), ("d", &d)] {
        write_npy(
            std::fs::File::create(dir.join(format!("{name}.npy"))).unwrap(),
            t,
        )
        .unwrap();
    }
    let file = std::fs::File::create(dir.join("all.npz")).unwrap();
    write_npz(file, &[("a", &a), ("b", &b), ("c", &c), ("d", &d)]).unwrap();
    let out = run_python(
        &dir,
        "import numpy as np\n\
         z = np.load('all.npz')\n\
         for n in 'abcd':\n\
         \x20   x = np.load(n + '.npy')\n\
         \x20   assert np.array_equal(x, z[n]) and x.dtype == z[n].dtype\n\
         \x20   print(n, x.dtype, x.shape, x.ravel().tolist())\n",
    );
    assert_eq!(
        out,
        "a float64 (2, 3) [1.0, 2.5, -3.0, 1e+300, inf, -0.0]\n\
         b int64 (4,) [-9223372036854775808, -1, 0, 9223372036854775807]\n\
         c bool (1, 2, 1) [True, False]\n\
         d float32 () [0.10000000149011612]\n"
    );
}

#[test]
fn reads_npz_plain_and_compressed() {
    let dir = temp_dir("npz");
    run_python(
        &dir,
        "import numpy as np\n\
         np.savez('p.npz', x=np.arange(3.0), n=np.array([4, 5]))\n\
         np.savez_compressed('c.npz', x=np.arange(3.0), n=np.array([4, 5]))\n",
    );
    for file in ["p.npz", "c.npz"] {
        let f = std::fs::File::open(dir.join(file)).unwrap();
        let arrays = read_npz(f, &MemoryBudget::unlimited(), |_| true).unwrap();
        let got: Vec<String> = arrays
            .iter()
            .map(|(n, t)| format!("{n}:{}:{}", t.dtype(), render(t)))
            .collect();
        assert_eq!(got, ["x:f64:0,1,2", "n:i64:4,5"], "{file}");
        let f = std::fs::File::open(dir.join(file)).unwrap();
        let only = read_npz(f, &MemoryBudget::unlimited(), |n| n == "n").unwrap();
        assert_eq!(only.len(), 1);
    }
}

/// A .npy file whose header claims `shape` for float64 data, followed by `data`.
fn npy_claiming(shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn malformed_files_get_clear_errors() {
    let dir = temp_dir("bad");
    run_python(&dir, "import numpy as np; np.save('a.npy', np.arange(100.0)); np.savez('z.npz', a=np.arange(100.0))");
    let good = std::fs::read(dir.join("a.npy")).unwrap();
    let budget = MemoryBudget::unlimited();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            good[..good.len() - 1].to_vec(),
            "truncated file: the header promises 800 B of data but only 799 B follow",
        ),
        (good[..20].to_vec(), "the header is cut off"),
        (good[..4].to_vec(), "shorter than a .npy header"),
        (
            npy_claiming("(99999999999, 99999999999)", &good[128..]),
            "too many elements",
        ),
        (
            b"PK\x03\x04 not npy".to_vec(),
            "missing the \\x93NUMPY magic",
        ),
        (
            {
                let mut g = good.clone();
                g[6] = 9;
                g
            },
            "unknown format version 9",
        ),
        (
            npy_claiming("(99999999, 99999999)", &good[128..]),
            "promises 72759.6 TiB",
        ),
    ];
    for (bytes, msg) in cases {
        let err = read_npy(&bytes[..], "x", Some(bytes.len() as u64), &budget).unwrap_err();
        assert!(err.to_string().contains(msg), "want {msg:?}, got {err}");
    }
    // A header claiming far more data than the file holds fails before allocating.
    let lying = npy_claiming("(1000000000,)", &good[128..]);
    let err = read_npy(&lying[..], "x", Some(lying.len() as u64), &budget).unwrap_err();
    assert!(err.to_string().contains("promises 7.5 GiB"), "{err}");
    let limited = MemoryBudget::new(1 << 30);
    let err = read_npy(&lying[..], "x", Some(lying.len() as u64), &limited).unwrap_err();
    assert!(
        err.to_string()
            .contains("`x` needs 7.5 GiB but only 1.0 GiB of the memory limit of 1.0 GiB is left"),
        "{err}"
    );
    let zip = std::fs::read(dir.join("z.npz")).unwrap();
    let err = read_npz(std::io::Cursor::new(&zip[..zip.len() / 2]), &budget, |_| {
        true
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("not a valid .npy/.npz file"),
        "{err}"
    );
}
