//! The composition root: settings, telemetry, the security adapters, and the wiring of the
//! adapters to the core. Only this crate knows every concrete type.

pub mod audit;
pub mod clock;
pub mod console;
pub mod memory;
pub mod security;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod tls;
pub mod wiring;

pub use settings::Settings;
pub use startup::Application;
