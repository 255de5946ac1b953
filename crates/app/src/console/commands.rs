//! Running a parsed command.

use super::audit::{export, verify};
use super::*;

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
            // Names a previous release changed during a rolling upgrade, folded again.
            let refolded = migrations::refold_names(&pool).map_err(|e| failure(e.to_string()))?;
            let mut report: Vec<String> = applied.iter().map(|v| format!("Applied {v}")).collect();
            if report.is_empty() {
                report.push("No pending migrations.".to_owned());
            }
            if refolded > 0 {
                report.push(format!("Folded {refolded} names for search again."));
            }
            Ok(report.join("\n"))
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
                .restore_patient(&Caller::operator(RequestOrigin::default()), PatientId(id))
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
        Command::Clinics { action } => {
            require_migrated(&pool)?;
            let clinics = clinic_service(&pool, clinic_repository(&pool), console_trail(&pool));
            let operator = Caller::operator(RequestOrigin::default());
            match action {
                ClinicsAction::List => list_clinics(&clinics, &operator),
                ClinicsAction::Members { id } => list_members(&clinics, &operator, ClinicId(id)),
            }
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
                        clinic: None,
                        patient: patient.map(PatientId),
                        actor: user.map(UserId),
                        action,
                        outcome,
                        since,
                        until,
                        ..AuditFilter::default()
                    };
                    export(&audit, filter, format)
                }
            }
        }
    }
}

/// Every page of a listing, one after the other.
fn every_page<T>(
    mut fetch: impl FnMut(Page) -> Result<healthcare_core::PageOf<T>, CommandError>,
) -> Result<Vec<T>, CommandError> {
    let mut items = Vec::new();
    for number in 1.. {
        let page = fetch(Page {
            number,
            size: Page::MAX_SIZE,
        })?;
        let last = page.items.len() < Page::MAX_SIZE as usize;
        items.extend(page.items);
        if last {
            break;
        }
    }
    Ok(items)
}

fn list_clinics(clinics: &ClinicService, operator: &Caller) -> Result<String, CommandError> {
    let all = every_page(|page| clinics.all_clinics(operator, page).map_err(describe))?;
    let mut lines = vec![format!(
        "{:>6}  {:>8}  {:>7}  {:<20}  name",
        "id", "personal", "members", "created_at"
    )];
    lines.extend(all.iter().map(|(clinic, members)| {
        let owner = clinic
            .personal_owner
            .map_or_else(|| "-".to_owned(), |owner| owner.0.to_string());
        format!(
            "{:>6}  {:>8}  {:>7}  {:<20}  {}",
            clinic.id.0,
            owner,
            members,
            clinic.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
            clinic.name
        )
    }));
    Ok(lines.join("\n"))
}

fn list_members(
    clinics: &ClinicService,
    operator: &Caller,
    id: ClinicId,
) -> Result<String, CommandError> {
    let members = every_page(|page| {
        clinics
            .members_of_any(operator, id, page)
            .map_err(|error| match error {
                ServiceError::NotFound(_) => failure(format!("No clinic with id {}.", id.0)),
                other => describe(other),
            })
    })?;
    let mut lines = vec![format!(
        "{:>6}  {:<10}  {:<20}  {:<32}  name",
        "user", "role", "joined_at", "email"
    )];
    lines.extend(members.iter().map(|member| {
        format!(
            "{:>6}  {:<10}  {:<20}  {:<32}  {}",
            member.user.0,
            member.role.as_str(),
            member.joined_at.format("%Y-%m-%dT%H:%M:%SZ"),
            member.email,
            member.name
        )
    }));
    Ok(lines.join("\n"))
}

fn set_active(
    auth: &healthcare_core::services::AuthService,
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
    auth: &healthcare_core::services::AuthService,
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
    use healthcare_json_api::state::DatabaseProbe;
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
