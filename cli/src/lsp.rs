//! `ereje lsp`: the language server of `ereje-language-server`, over stdin and stdout.

use ereje_runtime::value::Date;

/// The arguments of `ereje lsp`.
#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Show parameter values on this date in hovers instead of today's (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date)]
    today: Option<Date>,
}

/// Serves one editor until it exits; 0 after a clean shutdown, 1 when the connection failed.
pub fn command(args: &LspArgs) -> u8 {
    let options = match args.today {
        Some(today) => ereje_language_server::Options { today },
        None => ereje_language_server::Options::today(),
    };
    match ereje_language_server::run_stdio(options) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}
