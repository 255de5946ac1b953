//! The application core: the use cases every inbound adapter runs (`services`), and the ports
//! they need from the outside world (`ports`: storage, password hashing, tokens, time).
//!
//! Ports are synchronous: Diesel and bcrypt block, so callers run services on a blocking pool.

pub mod errors;
pub mod pagination;
pub mod ports;
pub mod queueing;
pub mod services;

pub use errors::{RepoError, Resource, ServiceError, TokenProblem};
pub use pagination::{Page, PageOf};
