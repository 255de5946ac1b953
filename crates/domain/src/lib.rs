//! The healthcare records domain: entities, value types valid by construction, and the rules
//! that govern them (ownership, soft delete, password policy, refresh-token rotation). No I/O, no framework, no clock:
//! time always comes in as an argument.

pub mod access;
pub mod assignment;
pub mod audit;
pub mod break_glass;
pub mod clinic;
pub mod decision;
pub mod doctor;
pub mod errors;
pub mod fields;
pub mod mapping;
pub mod money;
pub mod password;
pub mod patient;
pub mod record_search;
pub mod registration;
pub mod staff;
pub mod throttle;
pub mod tokens;
pub mod user;

mod common_passwords;

pub use errors::{FieldErrors, FieldProblem};
pub use user::{Email, NewUser, User, UserId, UserName};

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
