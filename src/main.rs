fn main() -> std::process::ExitCode {
    overt::cli::main()
}
