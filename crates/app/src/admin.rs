//! The admin CLI's commands: migrations, staff accounts, user activation, restoring archived
//! patients, the audit trail, and a pre-flight check. Each returns a message for standard
//! output or an error for standard error. Changes made here are audited with no actor (the
//! operator at the console).

use std::collections::BTreeSet;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use healthcare_domain::audit::{
    AuditAction, AuditOutcome, AuditRecord, DEFAULT_MAX_SKEW_SECONDS, Mac, RequestOrigin,
};
use healthcare_domain::patient::PatientId;
use healthcare_domain::registration::RegistrationInput;
use healthcare_domain::{Timestamp, UserId};
use healthcare_persistence::{DbPool, DieselAuditRepository, migrations};
use healthcare_ports::ports::{AuditFilter, AuditTrail};
use healthcare_ports::services::AuditService;
use healthcare_ports::{Page, ServiceError};

use crate::clock::SystemClock;
use crate::settings::Settings;
use crate::wiring::{
    ImmediateAuditTrail, PoolProbe, auth_service, database_pool, password_hasher, record_services,
    staff_sign_in,
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
            let user = auth_service(settings, &pool, console_trail(&pool))
                .create_staff_user(input)
                .map_err(describe)?;
            Ok(format!(
                "Created staff user {} <{}> with id {}",
                user.name, user.email, user.id.0
            ))
        }
        Command::Users { action } => {
            require_migrated(&pool)?;
            let auth = auth_service(settings, &pool, console_trail(&pool));
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
                UsersAction::GrantStaff { id } => set_staff(&auth, id, true),
                UsersAction::RevokeStaff { id } => set_staff(&auth, id, false),
                UsersAction::EnrolSecondFactor { id } => {
                    let sign_in = staff_sign_in(
                        settings,
                        &pool,
                        console_trail(&pool),
                        password_hasher(settings),
                    );
                    match sign_in.enrol_at_console(UserId(id)) {
                        Ok(enrolled) => {
                            let mut lines = vec![
                                format!("Second factor of user {id} enrolled."),
                                format!("secret: {}", enrolled.secret_base32),
                                format!("uri: {}", enrolled.provisioning_uri),
                            ];
                            lines.extend(
                                enrolled
                                    .recovery_codes
                                    .iter()
                                    .map(|code| format!("recovery code: {}", code.as_str())),
                            );
                            Ok(lines.join("\n"))
                        }
                        Err(ServiceError::NotFound(_)) => {
                            Err(failure(format!("User {id} is not an active staff user.")))
                        }
                        Err(ServiceError::Forbidden) => Err(failure(format!(
                            "User {id} has a second factor already; reset it first."
                        ))),
                        Err(other) => Err(describe(other)),
                    }
                }
                UsersAction::ResetSecondFactor { id } => {
                    let sign_in = staff_sign_in(
                        settings,
                        &pool,
                        console_trail(&pool),
                        password_hasher(settings),
                    );
                    let reset = sign_in
                        .reset_second_factor(None, &RequestOrigin::default(), UserId(id))
                        .map_err(describe)?;
                    if reset {
                        Ok(format!(
                            "Second factor of user {id} removed; their next admin sign-in enrols a new one."
                        ))
                    } else {
                        Err(failure(format!("User {id} has no second factor.")))
                    }
                }
            }
        }
        Command::Patients {
            action: PatientsAction::Restore { id },
        } => {
            require_migrated(&pool)?;
            let (patients, _, _) = record_services(&pool, &console_trail(&pool));
            patients
                .restore_patient(None, &RequestOrigin::default(), PatientId(id))
                .map_err(|error| match error {
                    ServiceError::NotFound(_) => {
                        failure(format!("No archived patient with id {id}."))
                    }
                    other => describe(other),
                })?;
            Ok(format!(
                "Patient {id} restored; its former assignments stay ended."
            ))
        }
        Command::Audit { action } => {
            require_migrated(&pool)?;
            let audit = AuditService::new(
                Arc::new(DieselAuditRepository::new(pool.clone())),
                console_trail(&pool),
                Arc::new(SystemClock),
            );
            match action {
                AuditCommand::Verify {
                    resume_seq,
                    resume_mac,
                    max_skew_seconds,
                } => verify(
                    settings,
                    &audit,
                    resume_seq,
                    resume_mac.as_deref(),
                    max_skew_seconds,
                ),
                AuditCommand::Seal => {
                    let round = audit
                        .seal_pending(&settings.audit_key.key, 500, &mut BTreeSet::new())
                        .map_err(describe)?;
                    let sealed = match round.head {
                        Some(head) => format!(
                            "Sealed {} rows; chain head: seq {} mac {}",
                            round.sealed,
                            head.seq,
                            head.mac.to_hex()
                        ),
                        None => "Nothing to seal: the audit trail is empty.".to_owned(),
                    };
                    if round.refused.is_empty() {
                        Ok(sealed)
                    } else {
                        Err(failure(format!(
                            "{sealed}. Left unsealed, not written by the server: rows {}.",
                            ids(&round.refused)
                        )))
                    }
                }
                AuditCommand::List {
                    patient,
                    user,
                    action,
                    outcome,
                    since,
                    until,
                    format,
                } => {
                    let filter = AuditFilter {
                        patient: patient.map(PatientId),
                        actor: user.map(UserId),
                        action,
                        outcome,
                        since,
                        until,
                    };
                    export(&audit, filter, format)
                }
            }
        }
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

fn verify(
    settings: &Settings,
    audit: &AuditService,
    resume_seq: Option<i64>,
    resume_mac: Option<&str>,
    max_skew_seconds: i64,
) -> Result<String, CommandError> {
    let resume = match (resume_seq, resume_mac) {
        (Some(seq), Some(mac)) => Some((
            seq,
            Mac::from_hex(mac).ok_or_else(|| failure("--resume-mac must be 64 hex digits"))?,
        )),
        _ => None,
    };
    let report = audit
        .verify(&settings.audit_key.key, resume, max_skew_seconds)
        .map_err(describe)?;
    let pending = match report.pending.oldest {
        Some(oldest) if report.pending.rows > 0 => format!(
            "{} rows not sealed yet (oldest at {}).",
            report.pending.rows,
            oldest.to_rfc3339()
        ),
        _ => "No rows waiting to be sealed.".to_owned(),
    };
    let (head_seq, head_mac) = report.head;
    let forged = if report.unauthenticated.is_empty() {
        String::new()
    } else {
        format!(
            " FORGED: {} unsealed rows were not written by the server (no valid row MAC): {}.",
            report.unauthenticated.len(),
            ids(&report.unauthenticated)
        )
    };
    match report.broken {
        None if forged.is_empty() => Ok(format!(
            "Audit chain intact: {} sealed rows verified; head seq {head_seq} mac {}. {pending}",
            report.checked,
            head_mac.to_hex()
        )),
        None => Err(failure(format!(
            "Audit chain intact up to seq {head_seq} ({} sealed rows verified).{forged}",
            report.checked
        ))),
        Some(broken) => Err(failure(format!(
            "Audit chain BROKEN: {broken}. The {} rows before it verified (up to seq {head_seq}).{forged}",
            report.checked
        ))),
    }
}

/// Every matching row, newest first, up to the moment the export started (rows recorded
/// during the export would shift the pages).
fn export(
    audit: &AuditService,
    mut filter: AuditFilter,
    format: ExportFormat,
) -> Result<String, CommandError> {
    let started = chrono::Utc::now();
    filter.until = Some(filter.until.map_or(started, |until| until.min(started)));
    let mut rows: Vec<AuditRecord> = Vec::new();
    for number in 1.. {
        let page = Page {
            number,
            size: Page::MAX_SIZE,
        };
        let found = audit.export(&filter, page).map_err(describe)?;
        let done = found.items.len() < Page::MAX_SIZE as usize;
        rows.extend(found.items);
        if done {
            break;
        }
    }
    let records: Vec<ExportRow> = rows.into_iter().map(ExportRow::from).collect();
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(&records)
            .map_err(|e| failure(format!("cannot encode JSON: {e}"))),
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            // Written by hand so that an empty export still has its header line.
            writer
                .write_record(EXPORT_COLUMNS)
                .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            for record in &records {
                writer
                    .serialize(record)
                    .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            }
            let bytes = writer
                .into_inner()
                .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            Ok(String::from_utf8_lossy(&bytes).trim_end().to_owned())
        }
    }
}

/// The CSV header: [`ExportRow`]'s fields, in order.
const EXPORT_COLUMNS: [&str; 12] = [
    "id",
    "at",
    "actor_user_id",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "client_address",
    "request_id",
    "seq",
    "mac",
];

/// One exported row: the API's fields plus the row's place in the chain.
#[derive(serde::Serialize)]
struct ExportRow {
    id: i64,
    at: String,
    actor_user_id: Option<i64>,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<i64>,
    patient_id: Option<i64>,
    outcome: &'static str,
    client_address: Option<String>,
    request_id: Option<String>,
    seq: Option<i64>,
    mac: Option<String>,
}

impl From<AuditRecord> for ExportRow {
    fn from(record: AuditRecord) -> Self {
        let event = record.event;
        Self {
            id: record.id,
            at: event
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_user_id: event.actor.map(|user| user.0),
            action: event.action.as_str(),
            resource_type: event.action.resource_type(),
            resource_id: event.resource_id,
            patient_id: event.patient_id.map(|patient| patient.0),
            outcome: event.outcome.as_str(),
            client_address: event.origin.client_address,
            request_id: event.origin.request_id,
            seq: record.seal.map(|seal| seal.seq),
            mac: record.seal.map(|seal| seal.mac.to_hex()),
        }
    }
}

fn set_active(
    auth: &healthcare_ports::services::AuthService,
    id: i64,
    active: bool,
) -> Result<String, CommandError> {
    let found = auth
        .set_user_active(None, &RequestOrigin::default(), UserId(id), active)
        .map_err(describe)?;
    let verb = if active { "activated" } else { "deactivated" };
    if found {
        Ok(format!("User {id} {verb}."))
    } else {
        Err(failure(format!("No user with id {id}.")))
    }
}

fn set_staff(
    auth: &healthcare_ports::services::AuthService,
    id: i64,
    staff: bool,
) -> Result<String, CommandError> {
    let found = auth
        .set_user_staff(None, &RequestOrigin::default(), UserId(id), staff)
        .map_err(describe)?;
    let verb = if staff {
        "is now staff"
    } else {
        "is no longer staff"
    };
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
