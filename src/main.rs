use clap::Parser;

fn main() {
    // Rust ignores SIGPIPE, so a print to a closed pipe (`surge run x | head`) panicked. Restore
    // the default: the process ends silently, as `cat` or `grep` would.
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; setting a signal's
    // disposition to SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match surge::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                surge::error::EXIT_BAD_INPUT
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(surge::cli::main_with(cli));
}
