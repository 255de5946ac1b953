//! The operator's console (the `healthcare-admin` binary; "admin site" always means the staff
//! web pages): migrations, staff accounts, user activation, restoring archived patients,
//! clinics and their members, the audit trail, and a pre-flight check. Each returns a message for standard
//! output or an error for standard error. Changes made here are audited with no actor (the
//! operator at the console).

use std::collections::BTreeSet;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use healthcare_core::ports::{AuditFilter, AuditTrail};
use healthcare_core::services::{AuditService, Caller, ClinicService};
use healthcare_core::{Page, ServiceError};
use healthcare_domain::audit::{
    AuditAction, AuditOutcome, AuditRecord, DEFAULT_MAX_SKEW_SECONDS, Mac, RequestOrigin,
};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::patient::PatientId;
use healthcare_domain::registration::RegistrationInput;
use healthcare_domain::{Timestamp, UserId};
use healthcare_persistence::{DbPool, DieselAuditRepository, migrations};

use crate::clock::SystemClock;
use crate::settings::Settings;
use crate::wiring::{
    ImmediateAuditTrail, PoolProbe, auth_service, clinic_repository, clinic_service, database_pool,
    password_hasher, record_services, staff_sign_in,
};

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
    /// Operate on patient records.
    Patients {
        /// What to do with patients.
        #[command(subcommand)]
        action: PatientsAction,
    },
    /// List clinics and their members.
    Clinics {
        /// What to list.
        #[command(subcommand)]
        action: ClinicsAction,
    },
    /// Read, seal and verify the audit trail.
    Audit {
        /// What to do with the audit trail.
        #[command(subcommand)]
        action: AuditCommand,
    },
}

/// `patients` subcommands.
#[derive(Debug, Subcommand)]
pub enum PatientsAction {
    /// Un-archive a deleted patient; its former doctor assignments stay ended.
    Restore {
        /// The patient's id.
        id: i64,
    },
}

/// `clinics` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClinicsAction {
    /// Print every clinic: id, personal clinic's owner (or -), number of members, creation
    /// time, name.
    List,
    /// Print a clinic's members by name: user id, role, when they joined, e-mail, name.
    Members {
        /// The clinic's id.
        id: i64,
    },
}

/// How `audit list` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A JSON array.
    Json,
    /// CSV with a header line.
    Csv,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first row that was changed, deleted, inserted or
    /// back-dated, and every unsealed row the server did not write (exit 1 on any finding).
    Verify {
        /// After archiving a prefix: the sequence number of the last archived row…
        #[arg(long, requires = "resume_mac")]
        resume_seq: Option<i64>,
        /// …and its MAC (64 hex digits).
        #[arg(long, requires = "resume_seq")]
        resume_mac: Option<String>,
        /// How far, in seconds, a row may be dated before a row sealed ahead of it.
        #[arg(long, default_value_t = DEFAULT_MAX_SKEW_SECONDS)]
        max_skew_seconds: i64,
    },
    /// Seal the rows written since the server last sealed (the server does this every second).
    Seal,
    /// Print rows, newest first.
    List {
        /// Only rows about this patient id.
        #[arg(long)]
        patient: Option<i64>,
        /// Only rows whose actor is this user id.
        #[arg(long)]
        user: Option<i64>,
        /// Only this action, e.g. patient.read.
        #[arg(long, value_parser = parse_action)]
        action: Option<AuditAction>,
        /// Only this outcome: success, failure or denied.
        #[arg(long, value_parser = parse_outcome)]
        outcome: Option<AuditOutcome>,
        /// Only rows at or after this time (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        since: Option<Timestamp>,
        /// Only rows at or before this time (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        until: Option<Timestamp>,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
    },
}

fn parse_action(raw: &str) -> Result<AuditAction, String> {
    AuditAction::parse(raw).ok_or_else(|| {
        let names: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn parse_outcome(raw: &str) -> Result<AuditOutcome, String> {
    AuditOutcome::parse(raw).ok_or_else(|| "expected success, failure or denied".to_owned())
}

fn parse_time(raw: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|at| at.to_utc())
        .map_err(|e| format!("not an RFC 3339 time ({e})"))
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
    /// Make a user staff (may read the audit trail).
    GrantStaff {
        /// The user's id.
        id: i64,
    },
    /// Take staff rights away.
    RevokeStaff {
        /// The user's id.
        id: i64,
    },
    /// Enrol a second factor for a staff user and print its secret and recovery codes, once,
    /// to hand over in person (instead of enrolling at their first admin sign-in).
    EnrolSecondFactor {
        /// The user's id.
        id: i64,
    },
    /// Remove a staff user's second factor and recovery codes (a lost phone) and end their
    /// admin sessions; their next sign-in to the admin site enrols again.
    ResetSecondFactor {
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

fn console_trail(pool: &DbPool) -> Arc<dyn AuditTrail> {
    Arc::new(ImmediateAuditTrail(Arc::new(DieselAuditRepository::new(
        pool.clone(),
    ))))
}

/// Ids as a short list: the first few, then how many more.
fn ids(ids: &[i64]) -> String {
    const SHOWN: usize = 20;
    let listed: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    match ids.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{} and {more} more", listed.join(", ")),
        _ => listed.join(", "),
    }
}

fn describe(error: ServiceError) -> CommandError {
    match error {
        ServiceError::Validation(errors) => failure(
            healthcare_web::wording::messages(&errors)
                .into_iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => failure(other.to_string()),
    }
}

mod audit;
mod commands;

pub use commands::run;
