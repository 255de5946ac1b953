//! Black-box tests of the real application: the server on a random port (or as a process) and
//! the console (`healthcare-admin`), on SQLite and on PostgreSQL. One test binary, so the
//! whole application is linked once; each module is one area of the contract.

#[macro_use]
mod common;

mod admin_site;
mod api_docs;
mod audit_api;
mod auth_api;
mod authorization_matrix;
mod clinic_roles_api;
mod clinics_api;
mod console;
mod doctors_api;
mod faults;
mod fhir_api;
mod http_rules;
mod isolation;
mod mappings_api;
mod observability;
mod patients_api;
mod security_api;
mod throttling;
mod tls;
