//! The ports of the healthcare core: the traits it needs from the outside world (storage,
//! password hashing, tokens, time) and the use-case services written against them.
//!
//! Ports are synchronous: Diesel and bcrypt block, so callers run services on a blocking pool.

pub mod errors;
pub mod pagination;
pub mod ports;
pub mod services;

pub use errors::{RepoError, Resource, ServiceError, TokenProblem};
pub use pagination::{Page, PageOf};
