//! `ereje commission add`, `ereje user add` and `ereje audit verify`: the first setup of the
//! district commission's app without hand-written SQL, and the check of its audit log. Each
//! opens the service's database (an SQLite file or a `postgres://` URL) directly, applying the
//! migrations it lacks; a running `ereje serve` on the same database sees the change at once.

use std::io::Read as _;

use ereje_server::commission::audit::{self, Verdict};
use ereje_server::commission::{self, UserRole};
use ereje_server::storage::open_database;
use ereje_server::DEFAULT_DATABASE;

use crate::{print_stderr, print_stdout, EXIT_IO, EXIT_OK, EXIT_POLICY_ERRORS};

/// The audit log's actor for the setup commands.
const ADMIN_ACTOR: &str = "admin (command line)";

/// `ereje commission …`
#[derive(clap::Subcommand, Debug)]
pub enum CommissionCommand {
    /// Create a district commission (its members are added with `ereje user add`).
    Add {
        /// The commission's name, unique (e.g. `almaly-3`).
        #[arg(long)]
        name: String,
        /// The district it serves.
        #[arg(long)]
        district: String,
        /// The database: an SQLite file path or a postgres:// URL.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        db: String,
    },
}

/// `ereje user …`
#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user of the commission's app; the password is read from stdin (one line) and
    /// kept only as an argon2 hash.
    Add {
        /// The sign-in name, unique.
        #[arg(long)]
        login: String,
        /// The full name, as signatures show it.
        #[arg(long)]
        name: String,
        /// member, chair (one per commission), analyst or admin.
        #[arg(long, value_parser = parse_role, default_value = "member")]
        role: UserRole,
        /// The commission of a member, chair or analyst (its name).
        #[arg(long)]
        commission: Option<String>,
        /// The database: an SQLite file path or a postgres:// URL.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        db: String,
    },
}

/// `ereje audit …`
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the audit log's hash chain and every row it recorded; exit 0 when intact, 1 where
    /// it breaks.
    Verify {
        /// The database: an SQLite file path or a postgres:// URL.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        db: String,
    },
}

fn parse_role(text: &str) -> Result<UserRole, String> {
    UserRole::parse(text)
        .ok_or_else(|| format!("`{text}` is not a role: member, chair, analyst or admin"))
}

fn open(db: &str) -> Result<Box<dyn ereje_server::storage::Database>, u8> {
    open_database(db).map_err(|error| {
        print_stderr(&format!("error: cannot open the database: {error}\n"));
        EXIT_IO
    })
}

/// Runs `ereje commission …`.
pub fn commission_command(command: &CommissionCommand) -> u8 {
    let CommissionCommand::Add { name, district, db } = command;
    let mut database = match open(db) {
        Ok(database) => database,
        Err(code) => return code,
    };
    match commission::add_commission(database.as_mut(), name, district, ADMIN_ACTOR) {
        Ok(id) => {
            print_stdout(&format!("commission {id} `{name}` ({district})\n"));
            EXIT_OK
        }
        Err(error) => {
            print_stderr(&format!("error: {error}\n"));
            EXIT_IO
        }
    }
}

/// Runs `ereje user …`.
pub fn user_command(command: &UserCommand) -> u8 {
    let UserCommand::Add {
        login,
        name,
        role,
        commission,
        db,
    } = command;
    let mut password = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut password) {
        print_stderr(&format!(
            "error: cannot read the password from stdin: {error}\n"
        ));
        return EXIT_IO;
    }
    let password = password.lines().next().unwrap_or_default();
    if password.chars().count() < 8 {
        print_stderr("error: the password (on stdin) must have at least 8 characters\n");
        return EXIT_IO;
    }
    let mut database = match open(db) {
        Ok(database) => database,
        Err(code) => return code,
    };
    match commission::add_user(
        database.as_mut(),
        login,
        name,
        password,
        *role,
        commission.as_deref(),
        ADMIN_ACTOR,
    ) {
        Ok(id) => {
            print_stdout(&format!("user {id} `{login}` ({})\n", role.name()));
            EXIT_OK
        }
        Err(error) => {
            print_stderr(&format!("error: {error}\n"));
            EXIT_IO
        }
    }
}

/// Runs `ereje audit …`.
pub fn audit_command(command: &AuditCommand) -> u8 {
    let AuditCommand::Verify { db } = command;
    let mut database = match open(db) {
        Ok(database) => database,
        Err(code) => return code,
    };
    match audit::verify(database.as_mut()) {
        Ok(Verdict::Intact { entries, rows }) => {
            print_stdout(&format!(
                "the audit log is intact: {entries} entries, {rows} rows as they recorded them\n"
            ));
            EXIT_OK
        }
        Ok(Verdict::Broken { entry, reason }) => {
            print_stdout(&format!(
                "the audit log is broken at entry {entry}: {reason}\n"
            ));
            EXIT_POLICY_ERRORS
        }
        Err(error) => {
            print_stderr(&format!("error: cannot read the audit log: {error}\n"));
            EXIT_IO
        }
    }
}
