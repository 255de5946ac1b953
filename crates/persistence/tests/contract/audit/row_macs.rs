//! Row MACs: only rows the server wrote enter the chain; upgrading a trail written before them.

use super::*;

contract!(
    every_stored_row_carries_the_servers_row_mac,
    a_row_inserted_straight_into_the_table_is_refused_and_left_unsealed,
    forged_rows_never_stall_the_sealer,
    a_genuine_row_cannot_be_inserted_twice,
);

// e. Row MACs: only rows the server wrote enter the chain

/// Inserts a row straight into the table, as someone with write access but without the key
/// would, and returns its id.
fn insert_forged_row(pool: &DbPool, at: &str, row_seal: Option<(&str, &str)>) -> i64 {
    let (nonce, mac) = row_seal.map_or(("NULL".to_owned(), "NULL".to_owned()), |(n, m)| {
        (format!("'{n}'"), format!("'{m}'"))
    });
    let mut conn = connection(pool);
    conn.batch_execute(&format!(
        "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
         patient_id, outcome, client_address, request_id, row_nonce, row_mac) VALUES \
         ('{at}', 41, 'patient.read', 'patient', 7, 7, 'success', '10.0.0.9', 'forged', \
         {nonce}, {mac})"
    ))
    .expect("the intruder's insert runs");
    let repository = DieselAuditRepository::new(pool.clone());
    all_rows(&repository)
        .into_iter()
        .map(|row| row.id)
        .max()
        .expect("a row")
}

fn every_stored_row_carries_the_servers_row_mac(db: &Database) {
    let r = repos(&db.pool);
    let key = key();
    r.audit
        .append(&[
            event(AuditAction::PatientRead, 1),
            event(AuditAction::AuthLogin, 2),
        ])
        .expect("appended");
    r.patients
        .insert(
            crate::personal_clinic(&db.pool, r.owner),
            r.owner,
            &patient_details("Jane Roe"),
            at(3),
            &event(AuditAction::PatientCreate, 3),
        )
        .expect("created with its row");
    let rows = all_rows(&r.audit);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let row_seal = row.row_seal.expect("a row MAC");
        assert!(key.row_verifies(&row_seal, &row.event), "{row:?}");
    }
    let mut nonces: Vec<_> = rows.iter().filter_map(|row| row.row_seal).collect();
    nonces.dedup_by_key(|seal| seal.nonce);
    assert_eq!(nonces.len(), 3, "a fresh nonce per row");
}

fn a_row_inserted_straight_into_the_table_is_refused_and_left_unsealed(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    audit
        .append(&[event(AuditAction::PatientRead, 1)])
        .expect("appended");
    let copied = all_rows(&audit)[0].row_seal.expect("a row MAC");
    // Back-dated, with no row MAC, and with a genuine row's MAC on other content.
    let without = insert_forged_row(&db.pool, "2026-01-15 08:00:00", None);
    let (nonce, mac) = (hex(&[9; 16]), copied.mac.to_hex());
    let copied_mac = insert_forged_row(&db.pool, "2026-11-26 10:00:02", Some((&nonce, &mac)));
    audit
        .append(&[event(AuditAction::PatientList, 3)])
        .expect("appended");

    let mut refused = BTreeSet::new();
    let round = audit.seal_pending(&key, 10, &refused).expect("sealed");
    assert_eq!(round.sealed, 2, "the two genuine rows");
    assert_eq!(round.refused, vec![without, copied_mac]);
    refused.extend(round.refused);
    let again = audit.seal_pending(&key, 10, &refused).expect("sealed");
    assert_eq!((again.sealed, again.refused), (0, vec![]), "passed over");

    let unsealed: Vec<i64> = audit
        .unsealed_after(0, 100)
        .expect("listed")
        .iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(unsealed, vec![without, copied_mac], "left out of the chain");
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((2, round.head.expect("head")))
    );
}

fn forged_rows_never_stall_the_sealer(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    for _ in 0..5 {
        insert_forged_row(&db.pool, "2026-11-26 10:00:00", None);
    }
    let genuine: Vec<AuditEvent> = (1..=3)
        .map(|second| event(AuditAction::PatientRead, second))
        .collect();
    audit.append(&genuine).expect("appended");
    let mut refused = BTreeSet::new();
    let mut sealed = 0;
    for _ in 0..10 {
        let round = audit.seal_pending(&key, 2, &refused).expect("a round");
        sealed += round.sealed;
        refused.extend(round.refused);
    }
    assert_eq!((sealed, refused.len()), (3, 5));
}

fn a_genuine_row_cannot_be_inserted_twice(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    audit
        .append(&[event(AuditAction::PatientRead, 1)])
        .expect("appended");
    let mut conn = connection(&db.pool);
    let copy = conn.batch_execute(
        "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
         patient_id, outcome, client_address, request_id, row_nonce, row_mac) \
         SELECT at, actor_user_id, action, resource_type, resource_id, patient_id, outcome, \
         client_address, request_id, row_nonce, row_mac FROM audit_events",
    );
    assert!(copy.is_err(), "the nonce is unique");
    drop(conn);
    assert_eq!(row_count(&audit), 1);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// f. Upgrading a trail written by the previous release

/// The last migration of the release before row MACs.
const BEFORE_ROW_MACS: &str = "2026-11-26-000007";

fn rows_written_before_row_macs_stay_valid_after_the_upgrade(url: &str) {
    let key = key();
    let pool = open_unmigrated(url);
    migrations::run_up_to(&pool, BEFORE_ROW_MACS).expect("the previous release's schema");
    // What the previous release left: a user, three sealed rows and two it had not sealed
    // yet when it stopped (a crash between batch and seal).
    let mut conn = connection(&pool);
    conn.batch_execute(
        "INSERT INTO users (name, email, email_lower, password_hash, is_active, is_staff, \
         created_at) VALUES ('Ann Lee', 'ann@example.com', 'ann@example.com', '$2b$04$x', \
         TRUE, FALSE, '2026-11-26 10:00:00')",
    )
    .expect("a user");
    let mut previous = Mac::GENESIS;
    for n in 1..=5_i64 {
        let event = event(AuditAction::PatientRead, n as u32);
        let seal = (n <= 3).then(|| {
            let mac = key.seal(&previous, n, n, &event);
            previous = mac;
            format!("{n}, '{}'", mac.to_hex())
        });
        conn.batch_execute(&format!(
            "INSERT INTO audit_events (id, at, actor_user_id, action, resource_type, \
             resource_id, patient_id, outcome, client_address, request_id, seq, mac) VALUES \
             ({n}, '2026-11-26 10:00:{n:02}', 41, 'patient.read', 'patient', NULL, NULL, \
             'success', '10.0.0.7', 'req-patient.read-{n}', {})",
            seal.unwrap_or_else(|| "NULL, NULL".to_owned())
        ))
        .expect("a row of the previous release");
    }
    if matches!(&*conn, DbConnection::Pg(_)) {
        // Explicit ids leave the identity sequence behind; the previous release's own
        // inserts would have advanced it.
        conn.batch_execute("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 5)")
            .expect("sequence");
    }
    drop(conn);

    migrations::run_pending(&pool).expect("the upgrade");
    let audit = DieselAuditRepository::new(pool.clone());
    assert_eq!(row_count(&audit), 5, "every row kept");
    assert_eq!(
        DieselUserRepository::new(pool.clone())
            .find_credentials_by_email("ann@example.com")
            .expect("found")
            .map(|found| found.user.name.as_str().to_owned()),
        Some("Ann Lee".to_owned())
    );
    let boundary = audit.row_seals_from().expect("recorded");
    assert!(boundary.first_id > 5, "{boundary:?}");

    // The two rows left unsealed are chained like any row of theirs; a new row carries its
    // MAC; a MAC-less row claiming a later id is refused.
    audit
        .append(&[event(AuditAction::PatientList, 6)])
        .expect("appended");
    let forged = insert_forged_row(&pool, "2026-11-26 10:00:07", None);
    let round = audit
        .seal_pending(&key, 100, &BTreeSet::new())
        .expect("sealed");
    assert_eq!((round.sealed, round.refused), (3, vec![forged]));
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((6, round.head.expect("head")))
    );
}

fn open_unmigrated(url: &str) -> DbPool {
    build_pool(
        &DatabaseTarget::parse(url).expect("valid url"),
        &PoolSettings {
            max_size: 2,
            checkout_timeout: Duration::from_secs(10),
            statements: StatementCounter::default(),
            audit_key: key(),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: healthcare_persistence::connection::SqliteCache::Standard,
        },
    )
    .expect("pool")
}

#[test]
fn upgrade_keeps_rows_written_before_row_macs_on_sqlite() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    rows_written_before_row_macs_stay_valid_after_the_upgrade(&url);
}

#[test]
fn upgrade_keeps_rows_written_before_row_macs_on_postgres() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        rows_written_before_row_macs_stay_valid_after_the_upgrade(&url);
    }
}
