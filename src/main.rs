//! The `mongrate` binary: parse arguments, run, print the error chain, map to an exit code.

use clap::Parser;

fn main() {
    let cli = mongrate::cli::Cli::parse();
    let code = match mongrate::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            mongrate::commands::exit::ERROR
        }
    };
    std::process::exit(code);
}
