//! Appending and listing, sealing into one gapless chain, and rows that can never change.

use super::*;

contract!(
    list_filters_orders_newest_first_and_counts,
    list_costs_the_same_statements_whatever_the_page_size,
    sealing_numbers_rows_in_id_order_and_the_chain_verifies,
    concurrent_sealers_and_appenders_keep_one_gapless_chain,
    recorded_rows_cannot_be_deleted_changed_or_resealed,
);

// b. append + list

struct Sample {
    events: Vec<AuditEvent>,
}

/// Six events appended one call at a time, in an order unlike their times, so ids and times
/// disagree; two share a time.
fn append_sample(audit: &DieselAuditRepository) -> Sample {
    let make = |second, actor: Option<i64>, patient: Option<i64>, action, outcome| AuditEvent {
        at: at(second),
        actor: actor.map(UserId),
        action,
        resource_id: patient,
        patient_id: patient.map(PatientId),
        outcome,
        origin: RequestOrigin {
            client_address: (second % 2 == 0).then(|| format!("192.0.2.{second}")),
            request_id: actor.map(|a| format!("r-{a}-{second}")),
        },
        break_glass: false,
    };
    use AuditAction::*;
    use AuditOutcome::*;
    let events = vec![
        make(1, Some(1), Some(10), PatientRead, Success), // e0
        make(2, Some(2), Some(10), PatientUpdate, Failure), // e1
        make(3, Some(1), Some(20), PatientRead, Denied),  // e2
        make(3, None, None, AuthLogin, Failure),          // e3
        make(5, Some(2), Some(20), PatientRead, Success), // e4
        make(7, Some(1), None, AuditRead, Success),       // e5
    ];
    // Appended as e4, e0, e3, e2, e5, e1: e3 gets a smaller id than e2.
    for index in [4, 0, 3, 2, 5, 1] {
        audit
            .append(std::slice::from_ref(&events[index]))
            .expect("appended");
    }
    Sample { events }
}

fn list_filters_orders_newest_first_and_counts(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    audit.append(&[]).expect("an empty batch is fine");
    assert_eq!(
        audit
            .list(&AuditFilter::default(), page(1, 20))
            .expect("listed")
            .total,
        0
    );
    let sample = append_sample(&audit);
    let e = &sample.events;

    let listed = |filter: &AuditFilter, page: Page| {
        let found = audit.list(filter, page).expect("listed");
        for row in &found.items {
            assert_eq!(row.seal, None, "unsealed");
        }
        (
            found
                .items
                .into_iter()
                .map(|row| row.event)
                .collect::<Vec<_>>(),
            found.total,
        )
    };
    let expect = |indexes: &[usize]| indexes.iter().map(|&i| e[i].clone()).collect::<Vec<_>>();

    // Newest first; the tie at 3 s broken by id, newest (e2, appended after e3) first.
    let everything = AuditFilter::default();
    assert_eq!(
        listed(&everything, page(1, 100)),
        (expect(&[5, 4, 2, 3, 1, 0]), 6),
        "every field round-trips; newest first"
    );
    let all_rows = audit.list(&everything, page(1, 100)).expect("listed").items;
    assert!(
        all_rows
            .windows(2)
            .all(|w| (w[0].event.at, w[0].id) > (w[1].event.at, w[1].id)),
        "(at, id) strictly descending"
    );
    assert_eq!(listed(&everything, page(1, 2)), (expect(&[5, 4]), 6));
    assert_eq!(listed(&everything, page(2, 2)), (expect(&[2, 3]), 6));
    assert_eq!(listed(&everything, page(3, 2)), (expect(&[1, 0]), 6));
    assert_eq!(listed(&everything, page(4, 2)), (vec![], 6), "past the end");

    let filter = |f: fn(&mut AuditFilter)| {
        let mut filter = AuditFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(
        listed(&filter(|f| f.patient = Some(PatientId(10))), page(1, 100)),
        (expect(&[1, 0]), 2),
        "patient"
    );
    assert_eq!(
        listed(&filter(|f| f.actor = Some(UserId(1))), page(1, 100)),
        (expect(&[5, 2, 0]), 3),
        "actor"
    );
    assert_eq!(
        listed(
            &filter(|f| f.action = Some(AuditAction::PatientRead)),
            page(1, 100)
        ),
        (expect(&[4, 2, 0]), 3),
        "action"
    );
    assert_eq!(
        listed(
            &filter(|f| f.outcome = Some(AuditOutcome::Failure)),
            page(1, 100)
        ),
        (expect(&[3, 1]), 2),
        "outcome"
    );
    assert_eq!(
        listed(&filter(|f| f.since = Some(at(3))), page(1, 100)),
        (expect(&[5, 4, 2, 3]), 4),
        "since is inclusive"
    );
    assert_eq!(
        listed(&filter(|f| f.until = Some(at(3))), page(1, 100)),
        (expect(&[2, 3, 1, 0]), 4),
        "until is inclusive"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.since = Some(at(2));
                f.until = Some(at(5));
            }),
            page(1, 100)
        ),
        (expect(&[4, 2, 3, 1]), 4),
        "a window"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.actor = Some(UserId(1));
                f.action = Some(AuditAction::PatientRead);
            }),
            page(1, 100)
        ),
        (expect(&[2, 0]), 2),
        "every filter given must match"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.patient = Some(PatientId(20));
                f.outcome = Some(AuditOutcome::Success);
                f.since = Some(at(4));
            }),
            page(1, 1)
        ),
        (expect(&[4]), 1)
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.patient = Some(PatientId(10));
                f.actor = Some(UserId(1));
            }),
            page(2, 1)
        ),
        (vec![], 1),
        "a later page keeps the total"
    );
    assert_eq!(
        listed(
            &filter(|f| f.outcome = Some(AuditOutcome::Denied)),
            page(1, 100)
        ),
        (expect(&[2]), 1)
    );
    assert_eq!(
        listed(&filter(|f| f.since = Some(at(8))), page(1, 100)),
        (vec![], 0),
        "nothing matches"
    );
    // By id, by any of several actions, and after a row in the trail's order (what FHIR's
    // AuditEvent read and stable pages use). all_rows holds e5, e4, e2, e3, e1, e0.
    let by_ids = AuditFilter {
        ids: Some(vec![all_rows[1].id, all_rows[4].id]),
        ..AuditFilter::default()
    };
    assert_eq!(listed(&by_ids, page(1, 100)), (expect(&[4, 1]), 2));
    assert_eq!(
        listed(
            &filter(|f| f.any_action = Some(vec![AuditAction::AuditRead, AuditAction::AuthLogin])),
            page(1, 100)
        ),
        (expect(&[5, 3]), 2)
    );
    let after = |row: usize| AuditFilter {
        older_than: Some((all_rows[row].event.at, all_rows[row].id)),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(&after(2), page(1, 100)),
        (expect(&[3, 1, 0]), 6),
        "the row sharing e2's time but older by id comes next; the total counts every match"
    );
    assert_eq!(
        listed(&after(5), page(1, 100)),
        (vec![], 6),
        "after the oldest"
    );
}

fn list_costs_the_same_statements_whatever_the_page_size(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    append_sample(&audit);
    let filter = AuditFilter {
        since: Some(at(1)),
        ..AuditFilter::default()
    };
    let cost = |size: u64| {
        let before = db.statements.count();
        let found = audit.list(&filter, page(1, size)).expect("listed");
        let spent = db.statements.count() - before;
        assert_eq!(found.total, 6);
        assert_eq!(found.items.len() as u64, size.min(6));
        spent
    };
    cost(1); // warms the pool: opening a connection costs set-up statements
    let small = cost(1);
    let large = cost(100);
    assert_eq!(small, large, "page size 1 and 100 cost the same");
    // Two queries, plus the pool's check of the connection when it is checked out.
    assert!(small <= 3, "list ran {small} statements");
}

// ---------------------------------------------------------------------------------------------
// c. sealing

fn sealing_numbers_rows_in_id_order_and_the_chain_verifies(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    // The empty chain.
    let round = seal(&audit, &key, 10);
    assert_eq!((round.sealed, round.head), (0, None));
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 0,
            oldest: None
        })
    );
    assert_eq!(audit.sealed_after(0, 10), Ok(vec![]));

    // Times out of id order: the chain follows ids, not times.
    let seconds = [9, 4, 6, 2, 8];
    let events: Vec<_> = seconds
        .iter()
        .map(|&s| event(AuditAction::PatientRead, s))
        .collect();
    audit.append(&events).expect("appended");
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 5,
            oldest: Some(at(2))
        })
    );

    let first = seal(&audit, &key, 3);
    assert_eq!(first.sealed, 3);
    assert_eq!(first.head.map(|h| h.seq), Some(3));
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 2,
            oldest: Some(at(2))
        }),
        "the ids appended last (2 s and 8 s) are still pending"
    );
    let second = seal(&audit, &key, 100);
    assert_eq!(second.sealed, 2);
    assert_eq!(second.head.map(|h| h.seq), Some(5));
    let idle = seal(&audit, &key, 100);
    assert_eq!((idle.sealed, idle.head), (0, second.head), "nothing left");
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 0,
            oldest: None
        })
    );

    let sealed = audit.sealed_after(0, 100).expect("sealed rows");
    assert_eq!(
        sealed
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(
        sealed.windows(2).all(|w| w[0].id < w[1].id),
        "seq follows id order"
    );
    assert_eq!(
        sealed.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        events,
        "the sealed rows are the appended events, in append order"
    );
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((5, second.head.expect("head")))
    );
    assert!(
        matches!(
            verify_chain(&audit, &ChainKey::new(*b"another key of thirty-two bytes!")),
            Err(ChainBreak::Changed { seq: 1, .. })
        ),
        "another key does not verify"
    );
    let middle = audit.sealed_after(2, 2).expect("sealed rows");
    assert_eq!(
        middle
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![3, 4]
    );
    // list shows the seals too.
    assert!(
        all_rows(&audit).iter().all(|row| row.seal.is_some()),
        "every listed row is sealed"
    );

    // Later rows continue the chain at 6.
    let later = vec![
        event(AuditAction::AuthLogin, 10),
        event(AuditAction::AuthLogout, 11),
    ];
    audit.append(&later).expect("appended");
    assert_eq!(audit.pending_seal().expect("pending").rows, 2);
    let third = seal(&audit, &key, 100);
    assert_eq!(third.sealed, 2);
    assert_eq!(third.head.map(|h| h.seq), Some(7));
    let tail = audit.sealed_after(5, 100).expect("sealed rows");
    assert_eq!(
        tail.iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![6, 7]
    );
    assert_eq!(
        tail.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        later
    );
    let mut resumed = ChainVerifier::resuming(
        key.clone(),
        policy(&audit),
        6,
        second.head.expect("head").mac,
    );
    for row in &tail {
        resumed
            .check(row, &row.seal.expect("sealed"))
            .expect("continues the chain");
    }
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((7, third.head.expect("head")))
    );
}

fn concurrent_sealers_and_appenders_keep_one_gapless_chain(db: &Database) {
    const APPENDERS: usize = 4;
    const SEALERS: usize = 4;
    const BATCHES: usize = 15;
    const BATCH: usize = 3;
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    let appending = AtomicBool::new(true);
    let rounds: Vec<usize> = std::thread::scope(|scope| {
        let sealers: Vec<_> = (0..SEALERS)
            .map(|_| {
                let (audit, key, appending) = (audit.clone(), key.clone(), &appending);
                scope.spawn(move || {
                    let mut sealed = 0;
                    loop {
                        let done = !appending.load(Ordering::SeqCst);
                        sealed += audit
                            .seal_pending(&key, 4, &BTreeSet::new())
                            .expect("a sealing round")
                            .sealed;
                        if done {
                            return sealed;
                        }
                        // Leave the write lock to the appenders now and then: SQLite's busy
                        // handler is not fair, and four sealers in a tight loop can starve them.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                })
            })
            .collect();
        let appenders: Vec<_> = (0..APPENDERS)
            .map(|thread| {
                let audit = audit.clone();
                scope.spawn(move || {
                    for batch in 0..BATCHES {
                        let events: Vec<_> = (0..BATCH)
                            .map(|i| AuditEvent {
                                resource_id: Some((thread * 1000 + batch * 10 + i) as i64),
                                ..event(AuditAction::PatientRead, (batch % 60) as u32)
                            })
                            .collect();
                        audit.append(&events).expect("appended");
                    }
                })
            })
            .collect();
        for appender in appenders {
            appender.join().expect("joined");
        }
        appending.store(false, Ordering::SeqCst);
        sealers
            .into_iter()
            .map(|s| s.join().expect("joined"))
            .collect()
    });
    let final_round = audit
        .seal_pending(&key, 10_000, &BTreeSet::new())
        .expect("final round");
    let total = APPENDERS * BATCHES * BATCH;
    assert_eq!(
        rounds.iter().sum::<usize>() + final_round.sealed,
        total,
        "every row sealed exactly once"
    );
    assert_eq!(audit.pending_seal().expect("pending").rows, 0);

    let sealed = audit.sealed_after(0, 100_000).expect("sealed rows");
    assert_eq!(
        sealed
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        (1..=total as i64).collect::<Vec<_>>(),
        "1..N without gaps or duplicates"
    );
    let mut ids: Vec<i64> = sealed.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "each row once");
    let mut resources: Vec<_> = sealed.iter().map(|r| r.event.resource_id).collect();
    resources.sort_unstable();
    resources.dedup();
    assert_eq!(
        resources.len(),
        total,
        "every appended event is in the chain"
    );
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((total as i64, final_round.head.expect("head")))
    );
}

// ---------------------------------------------------------------------------------------------
// d. append-only

fn recorded_rows_cannot_be_deleted_changed_or_resealed(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    let events = vec![
        AuditEvent {
            outcome: AuditOutcome::Denied,
            ..event(AuditAction::PatientRead, 1)
        },
        AuditEvent {
            outcome: AuditOutcome::Failure,
            ..event(AuditAction::PatientUpdate, 2)
        },
    ];
    audit.append(&events).expect("appended");
    let round = seal(&audit, &key, 1);
    assert_eq!(round.sealed, 1, "one sealed row, one unsealed");
    let before = all_rows(&audit);

    let mut conn = connection(&db.pool);
    let run = |conn: &mut DbConnection, sql: &str| diesel::sql_query(sql).execute(conn);
    for sql in [
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE seq IS NULL",
        "DELETE FROM audit_events WHERE seq IS NOT NULL",
        "UPDATE audit_events SET outcome = 'success'",
        "UPDATE audit_events SET outcome = 'success' WHERE seq IS NULL",
        "UPDATE audit_events SET outcome = 'success' WHERE seq IS NOT NULL",
        "UPDATE audit_events SET patient_id = 1 WHERE seq IS NULL",
        "UPDATE audit_events SET at = at WHERE seq IS NULL",
        // Re-sealing, or un-sealing, a sealed row.
        "UPDATE audit_events SET seq = 99, mac = \
         '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 1",
        "UPDATE audit_events SET mac = \
         '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 1",
        "UPDATE audit_events SET seq = seq, mac = mac WHERE seq = 1",
        "UPDATE audit_events SET seq = NULL, mac = NULL WHERE seq = 1",
    ] {
        assert!(run(&mut conn, sql).is_err(), "refused: {sql}");
    }
    // Row triggers do not fire on TRUNCATE (PostgreSQL only; SQLite has none): refused too.
    if matches!(&*conn, DbConnection::Pg(_)) {
        assert!(
            run(&mut conn, "TRUNCATE audit_events").is_err(),
            "refused: TRUNCATE"
        );
    }
    drop(conn);

    assert_eq!(all_rows(&audit), before, "nothing changed");
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((1, round.head.expect("head")))
    );
    // The sealer's own update of the unsealed row is still allowed, once.
    let next = seal(&audit, &key, 10);
    assert_eq!(next.sealed, 1);
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((2, next.head.expect("head")))
    );
    let mut conn = connection(&db.pool);
    assert!(
        run(
            &mut conn,
            "UPDATE audit_events SET seq = 3, mac = \
             '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 2"
        )
        .is_err(),
        "sealed once"
    );
}
