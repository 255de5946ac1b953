//! The API server: `cargo run --release` starts it on an SQLite file with nothing else set up.

use std::process::ExitCode;

use healthcare_app::{Application, Settings, telemetry};

/// Rust's allocations (`healthcare_app::memory` says why, and how both allocators are tuned).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before the runtime starts any thread: mimalloc's options are plain writes.
    healthcare_app::memory::configure_allocator();
    actix_web::rt::System::new().block_on(serve())
}

async fn serve() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("healthcare-api: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("healthcare-api: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match application.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
