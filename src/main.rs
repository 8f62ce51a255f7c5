//! The `mongrate` binary: parse arguments, run, report the error, map to an exit code
//! (0 ok, 1 error of any kind, usage errors included; 2 differences or pending work).

use clap::{CommandFactory, FromArgMatches};
use mongrate::cli::{Cli, SettingArgs};
use mongrate::commands::{self, exit, out};

/// Does the raw command line ask for JSON (so that even a usage error is JSON)?
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json")
}

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
    let json = wants_json(&args);
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, SettingArgs::from_matches(&m))));
    let (cli, given) = match parsed {
        Ok(both) => both,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                out::stdout(&text);
                std::process::exit(exit::OK);
            }
            if json {
                let message = text
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_string();
                commands::print_json(
                    "",
                    &serde_json::json!({ "error": { "message": message, "kind": "usage" } }),
                );
            } else {
                out::stderr(&text);
            }
            std::process::exit(exit::ERROR);
        }
    };
    let format = cli.global.format;
    let command = commands::command_name(&cli.command);
    let code = match commands::run(cli, &given) {
        Ok(code) => code,
        Err(e) => commands::report_error(&e, format, command),
    };
    std::process::exit(code);
}
