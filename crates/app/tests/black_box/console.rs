//! The `healthcare-admin` binary, run as an operator would, on SQLite and PostgreSQL.

use std::process::{Command, Output};

use crate::common::Backend;

struct Admin {
    database_url: String,
    folder: tempfile::TempDir,
    _database: healthcare_test_support::DatabaseGuard,
}

impl Admin {
    fn new(backend: Backend) -> Option<Self> {
        let (database_url, database) = crate::common::database_url(backend)?;
        Some(Self {
            database_url,
            folder: tempfile::tempdir().expect("folder"),
            _database: database,
        })
    }

    /// A pool of the test's own on the admin's database (it writes no audit row).
    fn direct_pool(&self) -> healthcare_persistence::DbPool {
        let database =
            healthcare_persistence::DatabaseTarget::parse(&self.database_url).expect("url");
        let unused = healthcare_domain::audit::ChainKey::new("no audit row is written here");
        crate::common::direct_pool(&database, &unused)
    }

    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> (i32, String, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_healthcare-admin"));
        command
            .args(args)
            .current_dir(self.folder.path())
            .env_remove("APP_ENV")
            .env_remove("SECRET_KEY")
            .env_remove("HEALTHCARE_ADMIN_PASSWORD")
            .env("DATABASE_URL", &self.database_url)
            .env("BCRYPT_COST", "4");
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().expect("the binary runs");
        (
            status.code().expect("exited"),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }
}

fn each_backend(test: impl Fn(Admin)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(admin) = Admin::new(backend) {
            test(admin);
        }
    }
}

#[test]
fn migrate_applies_once_and_check_follows_the_state() {
    each_backend(|admin| {
        let (code, _, stderr) = admin.run(&["check"], &[]);
        assert_eq!(code, 1, "an unmigrated database fails the check");
        assert!(stderr.contains("pending migrations"), "{stderr}");

        let (code, stdout, _) = admin.run(&["migrate"], &[]);
        assert_eq!(code, 0);
        assert!(stdout.starts_with("Applied "), "{stdout}");
        let (code, stdout, _) = admin.run(&["migrate"], &[]);
        assert_eq!((code, stdout.trim()), (0, "No pending migrations."));

        let (code, stdout, _) = admin.run(&["check"], &[]);
        assert_eq!(code, 0);
        assert!(stdout.starts_with("OK: configuration valid"), "{stdout}");
    });
}

#[test]
fn createsuperuser_applies_the_password_rules_and_creates_staff() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = [
            "createsuperuser",
            "--email",
            "Admin@Clinic.org",
            "--name",
            "Clinic Admin",
        ];
        let (code, _, stderr) = admin.run(&args, &[("HEALTHCARE_ADMIN_PASSWORD", "password")]);
        assert_eq!(code, 1);
        assert!(
            stderr.contains("password: This password is too common."),
            "{stderr}"
        );

        let (code, stdout, stderr) = admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("Created staff user Clinic Admin <Admin@Clinic.org> with id "),
            "{stdout}"
        );

        let (code, _, stderr) = admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        assert_eq!(code, 1);
        assert!(
            stderr.contains("A user with this email already exists."),
            "{stderr}"
        );

        let (_, listing, _) = admin.run(&["users", "list"], &[]);
        let row = listing
            .lines()
            .find(|line| line.contains("Admin@Clinic.org"))
            .expect("listed");
        assert!(row.contains("true    true"), "active staff: {row}");
    });
}

#[test]
fn users_can_be_deactivated_and_activated() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        assert_eq!(
            admin.run(&["users", "deactivate", "1"], &[]).1.trim(),
            "User 1 deactivated."
        );
        assert_eq!(
            admin.run(&["users", "activate", "1"], &[]).1.trim(),
            "User 1 activated."
        );
        let (code, _, stderr) = admin.run(&["users", "deactivate", "999"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (1, "healthcare-admin: No user with id 999.")
        );
    });
}

#[test]
fn clinics_and_their_members_are_listed() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = [
            "createsuperuser",
            "--email",
            "a@clinic.org",
            "--name",
            "Ada Admin",
        ];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        let (code, listed, _) = admin.run(&["clinics", "list"], &[]);
        let lines: Vec<Vec<&str>> = listed
            .lines()
            .map(|line| line.split_whitespace().collect())
            .collect();
        assert_eq!(code, 0);
        assert_eq!(
            lines[0],
            vec!["id", "personal", "members", "created_at", "name"]
        );
        assert_eq!(lines.len(), 2, "{listed}");
        let clinic = lines[1][0];
        assert_eq!(
            (lines[1][1], lines[1][2], &lines[1][4..]),
            ("1", "1", &["Ada", "Admin"][..]),
            "the account's personal clinic, with it as its one member: {listed}"
        );
        let (code, members, _) = admin.run(&["clinics", "members", clinic], &[]);
        let member: Vec<&str> = members
            .lines()
            .nth(1)
            .expect("one member")
            .split_whitespace()
            .collect();
        assert_eq!(code, 0);
        assert_eq!(
            (member[0], member[1], member[3], &member[4..]),
            ("1", "admin", "a@clinic.org", &["Ada", "Admin"][..])
        );
        let (code, _, stderr) = admin.run(&["clinics", "members", "999"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (1, "healthcare-admin: No clinic with id 999.")
        );
    });
}

#[test]
fn staff_rights_can_be_granted_and_revoked_and_each_change_is_audited() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        let staff_column = |admin: &Admin| {
            let (_, listing, _) = admin.run(&["users", "list"], &[]);
            let row = listing.lines().nth(1).expect("one user").to_owned();
            row.split_whitespace()
                .nth(2)
                .expect("staff column")
                .to_owned()
        };
        assert_eq!(
            admin.run(&["users", "revoke-staff", "1"], &[]).1.trim(),
            "User 1 is no longer staff."
        );
        assert_eq!(staff_column(&admin), "false");
        assert_eq!(
            admin.run(&["users", "grant-staff", "1"], &[]).1.trim(),
            "User 1 is now staff."
        );
        assert_eq!(staff_column(&admin), "true");
        let (code, _, stderr) = admin.run(&["users", "grant-staff", "999"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (1, "healthcare-admin: No user with id 999.")
        );
        let (_, json, _) = admin.run(&["audit", "list", "--action", "user.update"], &[]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
        let summary: Vec<(i64, &str)> = rows
            .iter()
            .map(|row| {
                (
                    row["resource_id"].as_i64().expect("resource"),
                    row["outcome"].as_str().expect("outcome"),
                )
            })
            .collect();
        assert_eq!(summary, [(999, "failure"), (1, "success"), (1, "success")]);
    });
}

#[test]
fn a_second_factor_is_enrolled_at_the_console_once() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        let (code, stdout, stderr) = admin.run(&["users", "enrol-second-factor", "1"], &[]);
        assert_eq!(code, 0, "{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[0], "Second factor of user 1 enrolled.");
        let secret = lines[1].strip_prefix("secret: ").expect("the secret");
        assert!(healthcare_domain::staff::TotpSecret::from_base32(secret).is_some());
        assert!(lines[2].starts_with("uri: otpauth://totp/"), "{stdout}");
        let codes: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.strip_prefix("recovery code: "))
            .collect();
        assert_eq!(codes.len(), 10, "{stdout}");

        let (code, _, stderr) = admin.run(&["users", "enrol-second-factor", "1"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (
                1,
                "healthcare-admin: User 1 has a second factor already; reset it first."
            )
        );
        let (code, _, stderr) = admin.run(&["users", "enrol-second-factor", "99"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (1, "healthcare-admin: User 99 is not an active staff user.")
        );
        assert_eq!(admin.run(&["users", "reset-second-factor", "1"], &[]).0, 0);
        assert_eq!(admin.run(&["users", "enrol-second-factor", "1"], &[]).0, 0);
    });
}

#[test]
fn a_lost_second_factor_is_reset_from_the_console() {
    use healthcare_core::ports::{AdminSession, AdminSessionRepository, SecondFactorRepository};
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        let (code, _, stderr) = admin.run(&["users", "reset-second-factor", "1"], &[]);
        assert_eq!(
            (code, stderr.trim()),
            (1, "healthcare-admin: User 1 has no second factor.")
        );
        // Enrolled and signed in, as the admin site would leave it.
        let pool = admin.direct_pool();
        let factors = healthcare_persistence::DieselSecondFactorRepository::new(pool.clone());
        let sessions = healthcare_persistence::DieselAdminSessionRepository::new(pool);
        let user = healthcare_domain::UserId(1);
        let now = chrono::Utc::now();
        let secret = healthcare_domain::staff::TotpSecret::from_bytes(vec![9; 20]).expect("secret");
        assert!(
            factors
                .start_enrolment(user, &secret, "sign-in", now)
                .expect("enrol")
        );
        let event = healthcare_domain::audit::AuditEvent {
            at: now,
            actor: Some(user),
            action: healthcare_domain::audit::AuditAction::AdminLogin,
            resource_id: Some(1),
            patient_id: None,
            outcome: healthcare_domain::audit::AuditOutcome::Success,
            origin: Default::default(),
            break_glass: false,
        };
        assert!(
            factors
                .confirm_enrolment(user, "sign-in", 1, &["h".into()], now, &event)
                .expect("confirm")
        );
        sessions
            .insert(&AdminSession {
                token_hash: "session".into(),
                user_id: user,
                csrf_token: "csrf".into(),
                second_factor_done: true,
                created_at: now,
                last_seen_at: now,
            })
            .expect("session");

        let (code, stdout, _) = admin.run(&["users", "reset-second-factor", "1"], &[]);
        assert_eq!(code, 0);
        assert_eq!(
            stdout.trim(),
            "Second factor of user 1 removed; their next admin sign-in enrols a new one."
        );
        assert_eq!(factors.find(user).expect("find"), None);
        assert_eq!(
            sessions.find("session").expect("find"),
            None,
            "sessions ended"
        );
        let (_, json, _) = admin.run(&["audit", "list", "--action", "user.update"], &[]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
        let outcomes: Vec<&str> = rows
            .iter()
            .map(|row| row["outcome"].as_str().expect("outcome"))
            .collect();
        assert_eq!(outcomes, ["success", "failure"], "{json}");
    });
}

#[test]
fn bad_configuration_exits_2_with_one_sentence() {
    let admin = Admin::new(Backend::Sqlite).expect("sqlite");
    let (code, _, stderr) = admin.run(&["check"], &[("DATABASE_URL", "mysql://localhost/db")]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "healthcare-admin: configuration error: DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got \"mysql\")"
    );
    let (code, _, stderr) = admin.run(&["check"], &[("APP_ENV", "production")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("SECRET_KEY must be set"), "{stderr}");
}

#[test]
fn an_unreachable_database_fails_the_check() {
    let admin = Admin::new(Backend::Sqlite).expect("sqlite");
    let (code, _, stderr) = admin.run(
        &["check"],
        &[
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            ("DATABASE_POOL_TIMEOUT_SECONDS", "0.5"),
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("the database is not reachable"), "{stderr}");
}

/// Runs raw SQL on the admin's database, as an intruder with write access would.
fn tamper(admin: &Admin, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut connection =
        healthcare_persistence::connection::checkout(&admin.direct_pool()).expect("connection");
    connection.batch_execute(sql).expect("tampering SQL runs");
}

fn verify(admin: &Admin) -> (i32, String) {
    let (code, stdout, stderr) = admin.run(&["audit", "verify"], &[]);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn audit_verify_reports_the_first_changed_deleted_or_inserted_row() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        for _ in 0..3 {
            assert_eq!(admin.run(&["users", "deactivate", "1"], &[]).0, 0);
            assert_eq!(admin.run(&["users", "activate", "1"], &[]).0, 0);
        }
        let (code, stdout, _) = admin.run(&["audit", "verify"], &[]);
        assert_eq!(code, 0);
        assert!(stdout.contains("6 rows not sealed yet"), "{stdout}");
        let (code, stdout, _) = admin.run(&["audit", "seal"], &[]);
        assert_eq!(code, 0);
        assert!(
            stdout.starts_with("Sealed 6 rows; chain head: seq 6 mac "),
            "{stdout}"
        );
        let (code, report) = verify(&admin);
        assert_eq!(code, 0, "{report}");
        assert!(
            report.starts_with("Audit chain intact: 6 sealed rows verified; head seq 6"),
            "{report}"
        );

        // The rows, as an auditor exports them.
        let (code, json, _) = admin.run(&["audit", "list", "--action", "user.update"], &[]);
        assert_eq!(code, 0);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|row| row["actor_user_id"].is_null()
            && row["resource_id"] == 1
            && row["outcome"] == "success"
            && row["seq"].is_i64()));
        assert!(
            rows[0]["seq"].as_i64() > rows[5]["seq"].as_i64(),
            "newest first"
        );
        let (code, csv, _) = admin.run(&["audit", "list", "--user", "1", "--format", "csv"], &[]);
        assert_eq!(code, 0);
        assert_eq!(
            csv.lines().count(),
            1,
            "only the header: the console has no actor: {csv}"
        );
        assert!(csv.starts_with(
            "id,at,actor_user_id,action,resource_type,resource_id,patient_id,outcome"
        ));
        let (code, csv, _) = admin.run(&["audit", "list", "--format", "csv"], &[]);
        assert_eq!((code, csv.lines().count()), (0, 7));

        // The application's own triggers refuse changes; an intruder who owns the table drops
        // them first.
        let protections = if admin.database_url.starts_with("sqlite") {
            "DROP TRIGGER audit_events_seal_once; DROP TRIGGER audit_events_no_delete;"
        } else {
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;"
        };
        tamper(&admin, protections);

        tamper(
            &admin,
            "UPDATE audit_events SET outcome = 'failure' WHERE seq = 3",
        );
        let (code, report) = verify(&admin);
        assert_eq!(code, 1, "{report}");
        assert!(report.contains("(seq 3) was changed or forged"), "{report}");
        tamper(
            &admin,
            "UPDATE audit_events SET outcome = 'success' WHERE seq = 3",
        );
        assert_eq!(verify(&admin).0, 0, "the original content verifies again");

        tamper(
            &admin,
            "UPDATE audit_events SET seq = 70 WHERE seq = 6; \
            INSERT INTO audit_events (at, action, resource_type, outcome, seq, mac) \
            SELECT at, action, resource_type, outcome, 6, mac FROM audit_events WHERE seq = 70",
        );
        let (code, report) = verify(&admin);
        assert_eq!(code, 1, "{report}");
        assert!(report.contains("(seq 6) was changed or forged"), "{report}");
        tamper(
            &admin,
            "DELETE FROM audit_events WHERE seq = 6; UPDATE audit_events SET seq = 6 WHERE seq = 70",
        );
        assert_eq!(verify(&admin).0, 0);

        tamper(&admin, "DELETE FROM audit_events WHERE seq = 4");
        let (code, report) = verify(&admin);
        assert_eq!(code, 1, "{report}");
        assert!(
            report.contains("rows with seq 4 to 4 were deleted"),
            "{report}"
        );
        assert!(report.contains("The 3 rows before it verified"), "{report}");
    });
}

/// Someone with write access to the database but not the key inserts a row, back-dated ten
/// months: the sealer leaves it out of the chain and `verify` reports it.
#[test]
fn a_row_inserted_straight_into_the_table_is_refused_and_reported() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        admin.run(&["users", "deactivate", "1"], &[]);
        tamper(
            &admin,
            "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
             patient_id, outcome, client_address) VALUES ('2026-02-03 09:15:00', 1, \
             'patient.read', 'patient', 12, 12, 'success', '10.1.2.3')",
        );
        admin.run(&["users", "activate", "1"], &[]);

        let (code, stdout, stderr) = admin.run(&["audit", "seal"], &[]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        let forged = stderr
            .trim()
            .strip_prefix("healthcare-admin: Sealed 2 rows; chain head: seq 2 mac ")
            .and_then(|rest| rest.split_once(". Left unsealed, not written by the server: rows "))
            .map(|(_, id)| id.trim_end_matches('.').to_owned())
            .unwrap_or_else(|| panic!("the two genuine rows sealed, one refused: {stderr}"));
        let (code, report) = verify(&admin);
        assert_eq!(code, 1, "{report}");
        assert!(
            report.contains("Audit chain intact up to seq 2")
                && report.contains(&format!(
                    "FORGED: 1 unsealed rows were not written by the server (no valid row MAC): {forged}."
                )),
            "{report}"
        );
    });
}

#[test]
fn audit_verify_refuses_another_key() {
    each_backend(|admin| {
        admin.run(&["migrate"], &[]);
        let args = ["createsuperuser", "--email", "a@clinic.org", "--name", "A"];
        admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", crate::common::STRONG_PASSWORD)],
        );
        admin.run(&["users", "deactivate", "1"], &[]);
        admin.run(&["audit", "seal"], &[]);
        assert_eq!(verify(&admin).0, 0);
        let (code, _, stderr) = admin.run(
            &["audit", "verify"],
            &[("AUDIT_HMAC_KEY", "someone-elses-key-of-enough-length!!")],
        );
        assert_eq!(code, 1);
        assert!(stderr.contains("(seq 1) was changed or forged"), "{stderr}");
    });
}
