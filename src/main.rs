//! The `visionflow` binary; everything lives in the library.

/// Keeps freed buffers in the process heap instead of returning them to the OS: every
/// model pass allocates and frees activation buffers of up to ~26 MB, and with glibc's
/// defaults each one is mmapped, faulted in page by page and unmapped again (measured
/// ../shared/candle-cpu.md: ~40 ms of system time a pass; `visionflow bench` here: the
/// vehicles model 160 → 148 ms, people 283 → 265 ms). The mmap threshold is raised to
/// glibc's maximum (32 MiB on 64-bit) and the trim threshold to 1 GiB.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called once, before any
    // other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    visionflow::cli::main()
}
