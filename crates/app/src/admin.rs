//! The admin CLI's commands: migrations, staff accounts, user activation, and a pre-flight
//! check. Each returns a message for standard output or an error for standard error.

use clap::{Parser, Subcommand};
use healthcare_domain::UserId;
use healthcare_domain::registration::RegistrationInput;
use healthcare_persistence::{DbPool, migrations};
use healthcare_ports::ServiceError;

use crate::settings::Settings;
use crate::wiring::{PoolProbe, auth_service, database_pool};

/// The environment variable read for `createsuperuser`'s password before prompting.
pub const PASSWORD_VARIABLE: &str = "HEALTHCARE_ADMIN_PASSWORD";

/// healthcare-admin: operate the healthcare records service's database.
#[derive(Debug, Parser)]
#[command(name = "healthcare-admin", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and print what ran.
    Migrate,
    /// Create an active staff user; the password comes from HEALTHCARE_ADMIN_PASSWORD or a
    /// prompt (asked twice, not echoed).
    Createsuperuser {
        /// E-mail address (the login).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Check the configuration, the database connection and that migrations are up to date.
    Check,
    /// List, activate or deactivate users.
    Users {
        /// What to do with users.
        #[command(subcommand)]
        action: UsersAction,
    },
}

/// `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Print every user.
    List,
    /// Stop a user from signing in; their refresh tokens are revoked at once.
    Deactivate {
        /// The user's id.
        id: i64,
    },
    /// Let a deactivated user sign in again.
    Activate {
        /// The user's id.
        id: i64,
    },
}

/// A failed command: the message and the exit code.
#[derive(Debug)]
pub struct CommandError {
    /// One sentence for standard error.
    pub message: String,
    /// 1 for a failed operation, 2 for bad configuration.
    pub exit_code: u8,
}

fn failure(message: impl Into<String>) -> CommandError {
    CommandError {
        message: message.into(),
        exit_code: 1,
    }
}

/// Where a password comes from.
pub trait PasswordSource {
    /// The password, asked twice when interactive.
    fn password(&self) -> Result<String, CommandError>;
}

/// The environment variable, else a terminal prompt.
pub struct EnvironmentOrPrompt;

impl PasswordSource for EnvironmentOrPrompt {
    fn password(&self) -> Result<String, CommandError> {
        if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
            return Ok(password);
        }
        let first = rpassword::prompt_password("Password: ").map_err(|e| {
            failure(format!(
                "cannot read the password: {e} (or set {PASSWORD_VARIABLE})"
            ))
        })?;
        let second = rpassword::prompt_password("Password (again): ")
            .map_err(|e| failure(format!("cannot read the password: {e}")))?;
        if first != second {
            return Err(failure("the passwords do not match"));
        }
        Ok(first)
    }
}

/// Runs one command with loaded settings.
pub fn run(
    command: Command,
    settings: &Settings,
    passwords: &dyn PasswordSource,
) -> Result<String, CommandError> {
    let pool = database_pool(settings, Default::default()).map_err(|e| failure(e.to_string()))?;
    match command {
        Command::Migrate => {
            let applied = migrations::run_pending(&pool).map_err(|e| failure(e.to_string()))?;
            if applied.is_empty() {
                Ok("No pending migrations.".to_owned())
            } else {
                Ok(applied
                    .iter()
                    .map(|v| format!("Applied {v}"))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        }
        Command::Check => check(settings, &pool),
        Command::Createsuperuser { email, name } => {
            require_migrated(&pool)?;
            let input = RegistrationInput {
                name: Some(name),
                email: Some(email),
                password: Some(passwords.password()?),
                ..Default::default()
            };
            let user = auth_service(settings, &pool)
                .create_staff_user(input)
                .map_err(describe)?;
            Ok(format!(
                "Created staff user {} <{}> with id {}",
                user.name, user.email, user.id.0
            ))
        }
        Command::Users { action } => {
            require_migrated(&pool)?;
            let auth = auth_service(settings, &pool);
            match action {
                UsersAction::List => {
                    let users = auth.list_users().map_err(describe)?;
                    let mut lines = vec![format!(
                        "{:>6}  {:<6}  {:<5}  {:<32}  name",
                        "id", "active", "staff", "email"
                    )];
                    lines.extend(users.iter().map(|u| {
                        format!(
                            "{:>6}  {:<6}  {:<5}  {:<32}  {}",
                            u.id.0, u.is_active, u.is_staff, u.email, u.name
                        )
                    }));
                    Ok(lines.join("\n"))
                }
                UsersAction::Deactivate { id } => set_active(&auth, id, false),
                UsersAction::Activate { id } => set_active(&auth, id, true),
            }
        }
    }
}

fn set_active(
    auth: &healthcare_ports::services::AuthService,
    id: i64,
    active: bool,
) -> Result<String, CommandError> {
    let found = auth.set_user_active(UserId(id), active).map_err(describe)?;
    let verb = if active { "activated" } else { "deactivated" };
    if found {
        Ok(format!("User {id} {verb}."))
    } else {
        Err(failure(format!("No user with id {id}.")))
    }
}

fn check(settings: &Settings, pool: &DbPool) -> Result<String, CommandError> {
    use healthcare_http::state::DatabaseProbe;
    PoolProbe(pool.clone())
        .ping()
        .map_err(|e| failure(format!("the database is not reachable: {e}")))?;
    require_migrated(pool)?;
    Ok(format!(
        "OK: configuration valid, {} reachable, migrations up to date.",
        settings.database.describe()
    ))
}

fn require_migrated(pool: &DbPool) -> Result<(), CommandError> {
    match migrations::has_pending(pool) {
        Ok(false) => Ok(()),
        Ok(true) => Err(failure(
            "the database has pending migrations: run `healthcare-admin migrate`",
        )),
        Err(e) => Err(failure(e.to_string())),
    }
}

fn describe(error: ServiceError) -> CommandError {
    match error {
        ServiceError::Validation(errors) => failure(
            errors
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => failure(other.to_string()),
    }
}
