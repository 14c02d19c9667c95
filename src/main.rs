// jemalloc keeps freed memory for reuse (as ruff does on Linux): the runtime's large
// buffers come back without fresh page faults, and the linter allocates many small
// objects across threads.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: transparent huge pages for its memory (large
/// arrays fault in 2 MiB at a time, as NumPy advises for its own), and freed memory is
/// never handed back to the kernel while the process runs (a one-shot command; handing it
/// back made every reuse fault its pages in again, which cost as much as the arithmetic).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: Option<&'static std::ffi::c_char> = {
    const CONF: &std::ffi::CStr = c"thp:always,dirty_decay_ms:-1,muzzy_decay_ms:-1";
    // SAFETY: a C string literal's pointer is valid for the whole program.
    Some(unsafe { &*CONF.as_ptr() })
};

fn main() -> std::process::ExitCode {
    overt::cli::main()
}
