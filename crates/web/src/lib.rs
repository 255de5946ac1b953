//! What both web adapters (the JSON API and the staff admin site) need and neither owns: running
//! use cases on the blocking pool, who the client is and where the request came from, the
//! security headers, and reading form values and bodies; and the access token's check that the
//! JSON API shares with FHIR.

pub mod blocking;
pub mod client;
pub mod forms;
pub mod headers;
pub mod session;
pub mod wording;

pub use blocking::{run_blocking, run_password_work, tallying_queue_waits};
pub use client::WebConfig;
