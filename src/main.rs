// jemalloc keeps freed memory for reuse (as ruff does on Linux): the runtime's large
// buffers come back without fresh page faults, and the linter allocates many small
// objects across threads.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    overt::cli::main()
}
