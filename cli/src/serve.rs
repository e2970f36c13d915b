//! `ereje serve`: the engine as an HTTP service (the `ereje-server` crate does the work).

use std::net::SocketAddr;
use std::path::PathBuf;

use ereje_server::auth::Role;
use ereje_server::{RequestLimits, ServeConfig, DEFAULT_DATABASE};

use crate::{print_stderr, print_stdout, EXIT_IO, EXIT_OK, EXIT_POLICY_ERRORS};

pub const SERVE_HELP: &str = "\
The API (JSON; the OpenAPI document at GET /v1/openapi.json):
  POST /v1/evaluate                    decide a case (application/json) or a stream of cases
                                       (application/x-ndjson); nothing is kept
  POST /v1/decisions                   decide a case and keep the record (201 once durable)
  GET  /v1/decisions/{id}[/explanation?lang=ru|kk|en&format=text|json|html]
  GET  /v1/decisions?case_id=ID        the records of a case, newest first
  GET  /v1/policies, /v1/parameters?date=YYYY-MM-DD, /v1/health
  POST /v1/admin/reload                compile the policy again (also on SIGHUP)

Without --tokens the service listens on loopback only and anyone there may use it. With
--tokens FILE every request needs `Authorization: Bearer <token>`; make an entry of the file
with `ereje serve --new-token NAME --roles evaluate,record,read,admin >> FILE`
(the table goes to stdout; the token itself to stderr, and it is kept nowhere).

Exit codes:
  0  stopped on SIGTERM or SIGINT after answering the requests in flight
  1  the policy has errors
  2  the database, the token file or the address cannot be used";

/// The arguments of `ereje serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The policy directory (holding `ereje.toml`).
    #[arg(required_unless_present = "new_token")]
    pub policy_dir: Option<PathBuf>,
    /// The address to listen on (port 0: a free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: an SQLite file path or a postgres:// URL.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub db: String,
    /// The token file (TOML, [[token]] tables with name, roles and an argon2 hash).
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// The largest request of one case, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_case_bytes: Option<usize>,
    /// The largest NDJSON request, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_stream_bytes: Option<usize>,
    /// The time limit of every request, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub request_time_ms: Option<u64>,
    /// Print a new token and its [[token]] table for the token file, then stop.
    #[arg(long, value_name = "NAME")]
    pub new_token: Option<String>,
    /// The roles of --new-token.
    #[arg(long, value_delimiter = ',', value_parser = parse_role, default_value = "evaluate,read")]
    pub roles: Vec<Role>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text {
        "evaluate" => Ok(Role::Evaluate),
        "record" => Ok(Role::Record),
        "read" => Ok(Role::Read),
        "admin" => Ok(Role::Admin),
        other => Err(format!(
            "`{other}` is not a role: evaluate, record, read or admin"
        )),
    }
}

/// Runs `ereje serve`.
pub fn command(args: &ServeArgs) -> u8 {
    if let Some(name) = &args.new_token {
        return match ereje_server::auth::new_token(name, &args.roles) {
            Ok((secret, table)) => {
                // The table goes to stdout (`>> tokens.toml`), the secret to stderr alone.
                print_stdout(&table);
                print_stderr(&format!("{secret}\n"));
                EXIT_OK
            }
            Err(error) => {
                print_stderr(&format!("error: cannot make a token: {error}\n"));
                EXIT_IO
            }
        };
    }
    let Some(policy_dir) = args.policy_dir.clone() else {
        print_stderr("error: give the policy directory\n");
        return EXIT_IO;
    };
    let defaults = RequestLimits::default();
    let config = ServeConfig {
        policy_dir,
        listen: args.listen,
        database: args.db.clone(),
        token_file: args.tokens.clone(),
        limits: RequestLimits {
            max_case_bytes: args.max_case_bytes.unwrap_or(defaults.max_case_bytes),
            max_stream_bytes: args.max_stream_bytes.unwrap_or(defaults.max_stream_bytes),
            request_time: args
                .request_time_ms
                .map_or(defaults.request_time, std::time::Duration::from_millis),
            ..defaults
        },
        native_code: ereje_kz_native::POLICIES,
    };
    match ereje_server::run(config) {
        Ok(()) => EXIT_OK,
        Err(error @ ereje_server::ServeError::Policy(_)) => {
            print_stderr(&format!("error: {error}\n"));
            EXIT_POLICY_ERRORS
        }
        Err(error) => {
            print_stderr(&format!("error: {error}\n"));
            EXIT_IO
        }
    }
}
