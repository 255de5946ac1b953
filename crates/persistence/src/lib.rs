//! The Diesel persistence adapter: one connection type over SQLite and PostgreSQL, chosen by
//! the database URL's scheme; embedded migrations per dialect; the repositories.

pub mod connection;
pub mod errors;
pub mod migrations;
pub mod refresh_tokens;
mod schema;
pub mod users;

mod time;

pub use connection::{DatabaseTarget, DbConnection, DbPool, PoolSettings, build_pool};
pub use refresh_tokens::DieselRefreshTokenRepository;
pub use users::DieselUserRepository;
