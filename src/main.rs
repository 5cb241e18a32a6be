//! The `visionflow` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    visionflow::cli::main()
}
