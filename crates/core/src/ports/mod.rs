//! The traits the core needs. Each method's documentation states what an adapter MUST do;
//! the persistence contract tests check exactly those sentences on both databases.
//!
//! One module per concern; everything is re-exported here, so a port is named
//! `crate::ports::Name` wherever it lives.

mod accounts;
mod audit;
mod clinics;
mod records;
mod staff;
mod system;

pub use accounts::*;
pub use audit::*;
pub use clinics::*;
pub use records::*;
pub use staff::*;
pub use system::*;
