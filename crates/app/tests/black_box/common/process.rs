//! The server binary as a separate process, for tests that kill, signal or duplicate it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `healthcare-api` process.
pub struct ServerProcess {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Where its logs go.
    pub log: std::path::PathBuf,
    _folder: tempfile::TempDir,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl ServerProcess {
    /// Starts the binary on `database_url` with extra environment; does not wait for it.
    pub fn spawn(database_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let folder = tempfile::tempdir().expect("folder");
        let port = free_port();
        let log = folder.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_healthcare-api"));
        command
            .current_dir(folder.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("SECRET_KEY", super::TEST_SECRET)
            .env("AUDIT_HMAC_KEY", super::TEST_AUDIT_KEY)
            .env("BCRYPT_COST", "4")
            .env("LOG_FORMAT", "json")
            .env("BEHIND_TLS", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().expect("log file")))
            .stderr(Stdio::from(log_file));
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the server starts");
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
            _folder: folder,
        }
    }

    /// Starts the binary and waits until `/health/ready` answers 200.
    pub async fn start(database_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let server = Self::spawn(database_url, extra_env);
        server.wait_ready(Duration::from_secs(20)).await;
        server
    }

    /// Polls `/health/ready` until 200, failing after `deadline`.
    pub async fn wait_ready(&self, deadline: Duration) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(reply) = client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await
                && reply.status().as_u16() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < deadline,
                "server not ready in {deadline:?}; log:\n{}",
                self.logs()
            );
            tokio_sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, polling, failing after `deadline`.
    pub async fn wait_exit(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                started.elapsed() < deadline,
                "server did not exit in {deadline:?}"
            );
            tokio_sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sleeps on the test's runtime without blocking it.
pub async fn tokio_sleep(duration: Duration) {
    actix_web::rt::time::sleep(duration).await;
}
