//! The `healthcare-admin` binary, run as an operator would, on SQLite and PostgreSQL.

mod common;

use std::process::{Command, Output};

use common::Backend;

struct Admin {
    database_url: String,
    folder: tempfile::TempDir,
    _sqlite_folder: Option<tempfile::TempDir>,
}

impl Admin {
    fn new(backend: Backend) -> Option<Self> {
        let (database_url, sqlite_folder) = common::database_url(backend)?;
        Some(Self {
            database_url,
            folder: tempfile::tempdir().expect("folder"),
            _sqlite_folder: sqlite_folder,
        })
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
            &[("HEALTHCARE_ADMIN_PASSWORD", common::STRONG_PASSWORD)],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("Created staff user Clinic Admin <Admin@Clinic.org> with id "),
            "{stdout}"
        );

        let (code, _, stderr) = admin.run(
            &args,
            &[("HEALTHCARE_ADMIN_PASSWORD", common::STRONG_PASSWORD)],
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
            &[("HEALTHCARE_ADMIN_PASSWORD", common::STRONG_PASSWORD)],
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
