//! The repository contract suite: every sentence a port's documentation says an adapter MUST
//! do, checked by one set of functions run on SQLite and on PostgreSQL. One test binary; each
//! module covers a group of ports.

mod audit;
mod records;
mod staff;
