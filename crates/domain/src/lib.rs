//! The healthcare records domain: entities, value types valid by construction, and the rules
//! that govern them (password policy, refresh-token rotation). No I/O, no framework, no clock:
//! time always comes in as an argument.

pub mod errors;
pub mod password;
pub mod registration;
pub mod tokens;
pub mod user;

mod common_passwords;

pub use common_passwords::preload as preload_common_passwords;
pub use errors::FieldErrors;
pub use user::{Email, NewUser, User, UserId, UserName};

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
