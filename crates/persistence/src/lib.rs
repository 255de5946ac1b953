//! The Diesel persistence adapter: one connection type over SQLite and PostgreSQL, chosen by
//! the database URL's scheme; embedded migrations per dialect; the repositories.

pub mod admin_sessions;
pub mod audit;
pub mod break_glass;
pub mod cached_clinics;
pub mod cached_users;
mod care_teams;
pub mod clinics;
pub mod connection;
mod doctor_rows;
pub mod doctors;
pub mod errors;
mod folded_names;
mod kept_totals;
pub mod mappings;
pub mod migrations;
mod one_round_trip;
mod patient_rows;
pub mod patients;
pub mod refresh_tokens;
pub mod second_factors;
pub mod staff_directory;
pub mod throttle;
pub mod users;

mod read_cache;
mod record_search;
mod schema;
mod search;
mod time;

pub use admin_sessions::DieselAdminSessionRepository;
pub use audit::DieselAuditRepository;
pub use break_glass::DieselBreakGlassRepository;
pub use cached_clinics::CachedClinicRepository;
pub use cached_users::CachedUserRepository;
pub use clinics::DieselClinicRepository;
pub use connection::{
    DatabaseTarget, DbConnection, DbPool, PoolSettings, StatementCounter, build_pool,
};
pub use doctors::DieselDoctorRepository;
pub use mappings::DieselMappingRepository;
pub use patients::DieselPatientRepository;
pub use refresh_tokens::DieselRefreshTokenRepository;
pub use second_factors::DieselSecondFactorRepository;
pub use staff_directory::DieselStaffDirectory;
pub use throttle::DieselThrottleRepository;
pub use users::DieselUserRepository;
