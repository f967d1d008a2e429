fn main() -> std::process::ExitCode {
    kmigrate_cli::main()
}
