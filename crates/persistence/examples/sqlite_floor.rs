//! The SQLite floor of the benchmark harness (`scripts/bench/run.sh`): the SQL statements one
//! API request of a scenario runs, executed directly on the SQLite file by many threads at once,
//! with no HTTP, no token, no JSON and no domain conversion. Each thread has its own connection
//! with the pragmas `connection.rs` sets; statements are prepared once and cached, as Diesel
//! does in the server (whose pool checks no connection before use).
//!
//! ```text
//! cargo run --release --example sqlite_floor -p healthcare_persistence -- \
//!     DB_FILE SCENARIO THREADS SECONDS USER_ID CLINIC_ID PATIENT_ID_LO PATIENT_ID_HI PAGES
//! ```
//!
//! SCENARIO is S1 (doctor list), S2 (one patient), S3 (a patient page), S4 (a new patient) or
//! S5 (a patient's doctors). Prints one JSON line: requests, requests/s, p50 and p99 in ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{LoadConnection, SimpleConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::{Field, Row};
use diesel::sql_types::{BigInt, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{Connection, QueryResult, SqliteConnection};

/// The pragmas `ConnectionManager` sets on every SQLite connection, in its order: the busy
/// timeout (5 s) first, so 64 workers switching to WAL at once wait instead of failing.
const PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

const PATIENT_COLUMNS: &str = "`patients`.`id`, `patients`.`owner_id`, `patients`.`name`, \
     `patients`.`age`, `patients`.`gender`, `patients`.`phone`, `patients`.`email`, \
     `patients`.`address`, `patients`.`medical_history`, `patients`.`created_at`, \
     `patients`.`updated_at`, `patients`.`version`, `patients`.`archived_at`, \
     `patients`.`clinic_id`";

const DOCTOR_COLUMNS: &str = "`doctors`.`id`, `doctors`.`created_by`, `doctors`.`name`, \
     `doctors`.`specialization`, `doctors`.`phone`, `doctors`.`email`, \
     `doctors`.`experience_years`, `doctors`.`qualification`, `doctors`.`consultation_fee_cents`, \
     `doctors`.`is_available`, `doctors`.`created_at`, `doctors`.`updated_at`, \
     `doctors`.`version`, `doctors`.`archived_at`, `doctors`.`linked_user_id`, \
     `doctors`.`patient_count`";

/// The statements of one scenario, built once per thread.
struct Statements {
    /// The SQL of each statement, in order.
    steps: Vec<String>,
}

fn statements(scenario: &str) -> Result<Statements, String> {
    let patient_by_id =
        format!("SELECT {PATIENT_COLUMNS} FROM `patients` WHERE (`patients`.`id` = ?) LIMIT ?");
    let steps = match scenario {
        // DoctorRepository::list: one page (patient_count is a column) with the kept total.
        "S1" => vec![format!(
            "SELECT {DOCTOR_COLUMNS}, \
             (SELECT CAST(COALESCE(SUM(live * ? + archived * ?), 0) AS BIGINT) FROM doctor_totals) \
             FROM `doctors` \
             WHERE (`doctors`.`archived_at` IS NULL) \
             ORDER BY `doctors`.`name` ASC, `doctors`.`id` ASC LIMIT ? OFFSET ?"
        )],
        // PatientRepository::find.
        "S2" => vec![patient_by_id],
        // PatientRepository::list in the caller's clinic: one page with the kept total.
        "S3" => vec![format!(
            "SELECT {PATIENT_COLUMNS}, \
             (SELECT CAST(COALESCE(SUM(live * ? + archived * ?), 0) AS BIGINT) \
             FROM clinic_patient_totals WHERE clinic_id = ?) FROM `patients` \
             WHERE ((`patients`.`clinic_id` = ?) AND (`patients`.`archived_at` IS NULL)) \
             ORDER BY `patients`.`created_at` DESC, `patients`.`id` DESC LIMIT ? OFFSET ?"
        )],
        // PatientRepository::insert: the patient and its audit row in one write transaction.
        "S4" => vec![
            "BEGIN IMMEDIATE".to_owned(),
            format!(
                "INSERT INTO `patients` (`owner_id`, `name`, `name_lower`, `name_folded`, `age`, \
                 `gender`, `phone`, `email`, `address`, `medical_history`, `created_at`, \
                 `updated_at`, `version`, `clinic_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 RETURNING {PATIENT_COLUMNS}"
            ),
            "INSERT INTO `audit_events` (`at`, `actor_user_id`, `action`, `resource_type`, \
             `resource_id`, `patient_id`, `outcome`, `client_address`, `request_id`, \
             `row_nonce`, `row_mac`, `break_glass`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                .to_owned(),
            "COMMIT".to_owned(),
        ],
        // MappingRepository::patient_with_active: the patient, its active mappings and their
        // doctors in one statement.
        "S5" => vec![format!(
            "SELECT {PATIENT_COLUMNS}, `patient_doctor_mappings`.`id`, \
             `patient_doctor_mappings`.`patient_id`, `patient_doctor_mappings`.`doctor_id`, \
             `patient_doctor_mappings`.`assigned_by`, `patient_doctor_mappings`.`assigned_date`, \
             `patient_doctor_mappings`.`notes`, `patient_doctor_mappings`.`is_active`, \
             `patient_doctor_mappings`.`updated_at`, `patient_doctor_mappings`.`removed_at`, \
             {DOCTOR_COLUMNS} \
             FROM ((`patients` LEFT OUTER JOIN `patient_doctor_mappings` \
             ON ((`patient_doctor_mappings`.`patient_id` = `patients`.`id`) \
             AND (`patient_doctor_mappings`.`is_active` = ?))) \
             LEFT OUTER JOIN `doctors` ON (`doctors`.`id` = `patient_doctor_mappings`.`doctor_id`)) \
             WHERE (`patients`.`id` = ?) \
             ORDER BY `patient_doctor_mappings`.`assigned_date` ASC, \
             `patient_doctor_mappings`.`id` ASC"
        )],
        other => return Err(format!("unknown scenario {other:?} (S1..S5)")),
    };
    // The authentication's account and membership lookups are cached by the server (10 s),
    // so they are not here.
    Ok(Statements { steps })
}

/// A bound value.
enum Bind {
    Int(i64),
    Text(String),
}

/// A raw SQL statement whose `?` placeholders take `binds` in order. Unlike `sql_query`, it
/// lets Diesel cache the prepared statement (keyed by its SQL), as the server's queries do.
struct Raw<'a> {
    sql: &'a str,
    binds: &'a [Bind],
}

impl QueryId for Raw<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Raw<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Sqlite> for Raw<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        for (part, bind) in parts.zip(self.binds) {
            match bind {
                Bind::Int(value) => out.push_bind_param::<BigInt, _>(value)?,
                Bind::Text(value) => out.push_bind_param::<Text, _>(value)?,
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

/// xorshift64*: enough randomness for picking ids, without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

struct Config {
    db: String,
    scenario: String,
    threads: usize,
    duration: Duration,
    user: i64,
    clinic: i64,
    id_lo: i64,
    id_hi: i64,
    pages: i64,
}

fn parse_args() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [
        db,
        scenario,
        threads,
        seconds,
        user,
        clinic,
        id_lo,
        id_hi,
        pages,
    ] = args.as_slice()
    else {
        return Err(
            "usage: sqlite_floor DB_FILE SCENARIO THREADS SECONDS USER_ID CLINIC_ID \
                    PATIENT_ID_LO PATIENT_ID_HI PAGES"
                .to_owned(),
        );
    };
    let number = |name: &str, value: &str| {
        value
            .parse::<i64>()
            .map_err(|_| format!("{name} must be an integer, got {value:?}"))
    };
    Ok(Config {
        db: db.clone(),
        scenario: scenario.clone(),
        threads: usize::try_from(number("THREADS", threads)?).map_err(|e| e.to_string())?,
        duration: Duration::from_secs_f64(
            seconds
                .parse::<f64>()
                .map_err(|_| format!("SECONDS must be a number, got {seconds:?}"))?,
        ),
        user: number("USER_ID", user)?,
        clinic: number("CLINIC_ID", clinic)?,
        id_lo: number("PATIENT_ID_LO", id_lo)?,
        id_hi: number("PATIENT_ID_HI", id_hi)?,
        pages: number("PAGES", pages)?,
    })
}

/// The binds of statement `index` of the scenario for one request.
fn binds_for(config: &Config, index: usize, patient: i64, page: i64, rng: &mut Rng) -> Vec<Bind> {
    let now = chrono::Utc::now()
        .naive_utc()
        .format("%F %T%.f")
        .to_string();
    match (config.scenario.as_str(), index) {
        // The kept total's weights: live rows 1, archived 0.
        ("S1", _) => vec![Bind::Int(1), Bind::Int(0), Bind::Int(20), Bind::Int(0)],
        ("S2", _) => vec![Bind::Int(patient), Bind::Int(1)],
        ("S5", _) => vec![Bind::Int(1), Bind::Int(patient)],
        ("S3", _) => vec![
            Bind::Int(1),
            Bind::Int(0),
            Bind::Int(config.clinic),
            Bind::Int(config.clinic),
            Bind::Int(20),
            Bind::Int((page - 1) * 20),
        ],
        ("S4", 2) => vec![
            Bind::Text(now),
            Bind::Int(config.user),
            Bind::Text("patient.create".to_owned()),
            Bind::Text("patient".to_owned()),
            Bind::Int(patient),
            Bind::Int(patient),
            Bind::Text("success".to_owned()),
            Bind::Text("127.0.0.1".to_owned()),
            Bind::Text(format!("floor-{}", rng.below(u64::MAX))),
            // A unique nonce and a MAC-sized value, as `new_row` stores.
            Bind::Text(format!(
                "{:032x}",
                u128::from(rng.below(u64::MAX)) << 64 | u128::from(rng.below(u64::MAX))
            )),
            Bind::Text(format!("{:064x}", rng.below(u64::MAX))),
            Bind::Int(0),
        ],
        ("S4", 1) => {
            let number = rng.below(10_000_000);
            vec![
                Bind::Int(config.user),
                Bind::Text("Emma Silva".to_owned()),
                Bind::Text("emma silva".to_owned()),
                Bind::Text("emma silva".to_owned()),
                Bind::Int(i64::try_from(rng.below(100)).unwrap_or_default()),
                Bind::Text("F".to_owned()),
                Bind::Text(format!("+1555{number:07}")),
                Bind::Text(format!("bench{number}@example.org")),
                Bind::Text("12 Harbour Road, Springfield".to_owned()),
                Bind::Text(
                    "Seasonal allergies; no known drug allergies. Annual check-up.".to_owned(),
                ),
                Bind::Text(now.clone()),
                Bind::Text(now),
                Bind::Int(1),
                Bind::Int(config.clinic),
            ]
        }
        _ => vec![],
    }
}

/// Runs one request's statements; returns the rows read.
fn one_request(
    connection: &mut SqliteConnection,
    config: &Config,
    steps: &Statements,
    rng: &mut Rng,
) -> QueryResult<usize> {
    let span = u64::try_from(config.id_hi - config.id_lo + 1).unwrap_or(1);
    let patient = config.id_lo + i64::try_from(rng.below(span)).unwrap_or_default();
    let page =
        1 + i64::try_from(rng.below(u64::try_from(config.pages).unwrap_or(1))).unwrap_or_default();
    let mut rows = 0;
    for (index, sql) in steps.steps.iter().enumerate() {
        let binds = binds_for(config, index, patient, page, rng);
        let query = Raw { sql, binds: &binds };
        for row in connection.load(query)? {
            let row = row?;
            // Touch every column, as deserialising would.
            for column in 0..row.field_count() {
                if row.get(column).is_some_and(|field| field.value().is_some()) {
                    rows += 1;
                }
            }
        }
    }
    Ok(rows)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn main() {
    let config = match parse_args() {
        Ok(config) => Arc::new(config),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = statements(&config.scenario) {
        eprintln!("{message}");
        std::process::exit(2);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..config.threads)
        .map(|thread| {
            let config = Arc::clone(&config);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || -> Result<(Vec<u32>, u64), String> {
                let mut connection =
                    SqliteConnection::establish(&config.db).map_err(|e| e.to_string())?;
                connection
                    .batch_execute(PRAGMAS)
                    .map_err(|e| e.to_string())?;
                let steps = statements(&config.scenario)?;
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((thread as u64 + 1) * 0x1000_0001));
                let mut latencies = Vec::with_capacity(1 << 16);
                let mut errors = 0;
                while !stop.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    match one_request(&mut connection, &config, &steps, &mut rng) {
                        Ok(_) => latencies
                            .push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX)),
                        Err(error) => {
                            if errors == 0 {
                                eprintln!("thread {thread}: {error}");
                            }
                            errors += 1;
                        }
                    }
                }
                Ok((latencies, errors))
            })
        })
        .collect();
    std::thread::sleep(config.duration);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        match worker.join() {
            Ok(Ok((mut mine, failed))) => {
                latencies.append(&mut mine);
                errors += failed;
            }
            Ok(Err(message)) => {
                eprintln!("worker failed: {message}");
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!("worker panicked");
                std::process::exit(1);
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "{{\"requests\": {}, \"errors\": {}, \"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
}
