//! Admin site sessions.

use super::*;

contract!(
    sessions_insert_find_touch_and_delete,
    sessions_end_per_user_and_when_idle,
);

// Sessions

fn sessions_insert_find_touch_and_delete(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    let precise = at(1) + chrono::Duration::microseconds(123_456);
    let stored = AdminSession {
        second_factor_done: true,
        ..session("hash-1", user, precise, precise)
    };
    r.sessions.insert(&stored).expect("inserted");
    assert_eq!(r.sessions.find("hash-1"), Ok(Some(stored.clone())));
    assert_eq!(r.sessions.find("unknown"), Ok(None));
    assert_eq!(
        r.sessions.insert(&session("hash-1", user, at(2), at(2))),
        Err(RepoError::Conflict),
        "a token hash is unique"
    );

    let later = at(30) + chrono::Duration::microseconds(7);
    r.sessions.touch("hash-1", later).expect("touched");
    assert_eq!(
        r.sessions.find("hash-1"),
        Ok(Some(AdminSession {
            last_seen_at: later,
            ..stored.clone()
        }))
    );
    r.sessions.touch("unknown", later).expect("harmless");

    r.sessions.delete("hash-1").expect("deleted");
    assert_eq!(r.sessions.find("hash-1"), Ok(None));
    r.sessions.delete("hash-1").expect("harmless");
    r.sessions.delete("unknown").expect("harmless");
}

fn sessions_end_per_user_and_when_idle(db: &Database) {
    let r = repos(&db.pool);
    let ann = r.user("Ann", "ann@example.com", true);
    let bob = r.user("Bob", "bob@example.com", true);
    for (token, who, seen) in [
        ("a1", ann, at(10)),
        ("a2", ann, at(20)),
        ("b1", bob, at(10)),
        ("b2", bob, at(20)),
        ("b3", bob, at(30)),
    ] {
        r.sessions
            .insert(&session(token, who, at(0), seen))
            .expect("inserted");
    }
    r.sessions.delete_for_user(ann).expect("deleted");
    assert_eq!(r.sessions.find("a1"), Ok(None));
    assert_eq!(r.sessions.find("a2"), Ok(None));
    assert!(r.sessions.find("b1").expect("ok").is_some());
    r.sessions.delete_for_user(UserId(999)).expect("harmless");

    // Strictly before: the session last seen at the cut-off stays.
    assert_eq!(r.sessions.delete_idle(at(20)), Ok(1));
    assert_eq!(r.sessions.find("b1"), Ok(None));
    assert!(r.sessions.find("b2").expect("ok").is_some());
    assert_eq!(r.sessions.delete_idle(at(20)), Ok(0));
    assert_eq!(r.sessions.delete_idle(at(59)), Ok(2));
    assert_eq!(r.sessions.find("b3"), Ok(None));
}
