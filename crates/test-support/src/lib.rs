//! Test-only helpers: a throwaway PostgreSQL server, started once per test process from a local
//! installation (or taken from `TEST_DATABASE_URL`), and a fresh database per test.
//!
//! Where no PostgreSQL exists the PostgreSQL tests report themselves skipped, loudly, unless
//! `REQUIRE_POSTGRES=1`, which makes that a failure.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The admin URL of the server every PostgreSQL test of this process uses, or why there is none.
static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// A new, empty PostgreSQL database, dropped when the test is done with it, or `None` (with a
/// loud notice) when no PostgreSQL is available and `REQUIRE_POSTGRES` is not `1`.
pub fn fresh_postgres_database() -> Option<TestDatabase> {
    match SERVER.get_or_init(find_or_start_server) {
        Ok(admin_url) => {
            let name = create_database(admin_url);
            Some(TestDatabase {
                url: replace_database(admin_url, &name),
                name,
                admin_url: admin_url.clone(),
            })
        }
        Err(reason) => {
            skip_or_fail(reason);
            None
        }
    }
}

/// A test's own PostgreSQL database, which reads as its URL (`&database` is a `&str`). Dropped
/// with it, connections and all (`WITH (FORCE)`), so that test runs leave nothing behind on a
/// server given by `TEST_DATABASE_URL` (they left about 200 databases each, whose autovacuum
/// then kept the server busy).
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

impl std::ops::Deref for TestDatabase {
    type Target = str;

    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|error| error.to_string())
            .and_then(|mut admin| {
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .map_err(|error| error.to_string())
            });
        if let Err(error) = dropped {
            eprintln!("warning: the test database {} was left: {error}", self.name);
        }
    }
}

/// What keeps a test's database until the test is done with it.
#[derive(Debug)]
pub enum DatabaseGuard {
    /// The temporary folder of a SQLite file, removed when dropped.
    SqliteFolder(tempfile::TempDir),
    /// A PostgreSQL database, dropped when dropped.
    Postgres(TestDatabase),
}

/// A fresh SQLite database URL in its own temporary folder, kept alive by the returned guard.
pub fn fresh_sqlite_database() -> (String, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", folder.path().join("test.db").display());
    (url, folder)
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

fn find_or_start_server() -> Result<String, String> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(url);
    }
    let server = PostgresServer::start()?;
    let url = server.admin_url();
    // The shared server lives as long as the test process; a watcher cleans it up after.
    server.stop_when_this_process_exits();
    std::mem::forget(server);
    Ok(url)
}

/// A PostgreSQL server of its own, for tests that stop and restart the database. Stopped and
/// deleted when dropped.
#[derive(Debug)]
pub struct PostgresServer {
    bin_dir: PathBuf,
    root: PathBuf,
    port: u16,
}

impl PostgresServer {
    /// Initialises and starts a server on a free port from the local installation.
    pub fn start() -> Result<Self, String> {
        let bin_dir = find_bin_dir().ok_or(
            "no initdb/pg_ctl found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)",
        )?;
        let root = tempfile::Builder::new()
            .prefix("healthcare-test-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&root)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("cannot give the data folder to the postgres user".into());
            }
        }
        let output = pg_command(&bin_dir, "initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(root.join("data"))
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let server = Self {
            bin_dir,
            root,
            port,
        };
        server.resume()?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The URL of a new, empty database on this server (deleted with the server).
    pub fn create_database(&self) -> String {
        let admin_url = self.admin_url();
        replace_database(&admin_url, &create_database(&admin_url))
    }

    /// Stops the server at once, as a crash or an outage would (`-m immediate`).
    pub fn halt(&self) -> Result<(), String> {
        self.pg_ctl(&["-m", "immediate", "stop"])
    }

    /// Starts the server (again), on the same port and data.
    pub fn resume(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300",
            self.port,
            self.root.display()
        );
        self.pg_ctl(&[
            "-o",
            &options,
            "-l",
            &self.root.join("server.log").display().to_string(),
            "-w",
            "start",
        ])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let output = pg_command(&self.bin_dir, "pg_ctl")
            .arg("-D")
            .arg(self.root.join("data"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Test processes exit without running destructors, so a detached watcher stops the
    /// server and deletes its folder once this process is gone.
    fn stop_when_this_process_exits(&self) {
        let runuser = if running_as_root() {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {runuser}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            pg_ctl = self.bin_dir.join("pg_ctl").display(),
            data = self.root.join("data").display(),
            root = self.root.display(),
        );
        let spawned = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(error) = spawned {
            eprintln!("warning: the test PostgreSQL will outlive this process: {error}");
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.halt();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A dedicated server for a test that stops and restarts PostgreSQL, or `None` (with a loud
/// notice) when no PostgreSQL is installed and `REQUIRE_POSTGRES` is not `1`.
pub fn dedicated_postgres_server() -> Option<PostgresServer> {
    match PostgresServer::start() {
        Ok(server) => Some(server),
        Err(reason) => {
            skip_or_fail(&reason);
            None
        }
    }
}

fn skip_or_fail(reason: &str) {
    if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("REQUIRE_POSTGRES=1 but PostgreSQL is not available: {reason}");
    }
    eprintln!(
        "\n*** SKIPPED: PostgreSQL test (no PostgreSQL: {reason}). \
         Set TEST_DATABASE_URL or install PostgreSQL; REQUIRE_POSTGRES=1 makes this fail. ***\n"
    );
}

/// Creates a database with a fresh name on the server; its name.
fn create_database(admin_url: &str) -> String {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(admin_url)
        .unwrap_or_else(|error| panic!("cannot connect to the test PostgreSQL: {error}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|error| panic!("cannot create a test database: {error}"));
    name
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    installed.sort();
    installed.reverse();
    from_path
        .chain(from_pg_config)
        .chain(installed)
        .find(|dir| has_tools(dir))
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (PostgreSQL refuses root).
fn pg_command(bin_dir: &Path, tool: &str) -> Command {
    let program = bin_dir.join(tool);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    use super::{fresh_postgres_database, replace_database};

    /// Whether the server at `admin_url` has a database called `name`.
    fn exists(admin_url: &str, name: &str) -> bool {
        let mut admin = PgConnection::establish(admin_url).expect("the admin database");
        admin
            .batch_execute(&format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}') \
                 THEN RAISE EXCEPTION 'no such database'; END IF; END $$"
            ))
            .is_ok()
    }

    #[test]
    fn a_test_database_is_dropped_with_its_guard_even_while_connected() {
        let Some(database) = fresh_postgres_database() else {
            return;
        };
        let (name, admin_url) = (database.name.clone(), database.admin_url.clone());
        let mut connected = PgConnection::establish(&database).expect("the test database");
        connected
            .batch_execute("CREATE TABLE kept (id INT)")
            .expect("usable");
        assert!(exists(&admin_url, &name));
        drop(database);
        assert!(!exists(&admin_url, &name), "{name} was left");
        assert!(
            connected.batch_execute("SELECT 1").is_err(),
            "still connected"
        );
    }

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            replace_database("postgres://u:p@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:5", "t1"),
            "postgres://h:5/t1"
        );
    }
}
