//! The `mongrate` binary: parse arguments, run, report the error, map to an exit code
//! (0 ok, 1 error of any kind, usage errors included; 2 differences or pending work).

use clap::{CommandFactory, FromArgMatches};
use mongrate::cli::{Cli, SettingArgs};
use mongrate::commands::{self, exit, out};

/// mimalloc: a run allocates many small objects (parsed files, the catalog, the model of both
/// sides); with it `check` of 1,000 collections spends markedly less CPU in the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A panic is a bug: say so in one line, never with exit code 101.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        out::stderr(&format!(
            "error: internal error{at}: {message}; this is a bug in mongrate, please report it\n"
        ));
        std::process::exit(exit::ERROR);
    }));
    let args = mongrate::cli::hoist(std::env::args_os().collect());
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, SettingArgs::from_matches(&m))));
    let (cli, given) = match parsed {
        Ok(both) => both,
        Err(e) => std::process::exit(commands::usage_error(&args, &e)),
    };
    std::process::exit(commands::run(cli, &given));
}
