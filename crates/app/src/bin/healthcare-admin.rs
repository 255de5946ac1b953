//! healthcare-admin: migrations, staff accounts, user activation and a pre-flight check.

use std::process::ExitCode;

use clap::Parser;
use healthcare_app::Settings;
use healthcare_app::console::{Cli, EnvironmentOrPrompt, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("healthcare-admin: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command, &settings, &EnvironmentOrPrompt) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("healthcare-admin: {}", error.message);
            ExitCode::from(error.exit_code)
        }
    }
}
