//! The answer every access rule gives (`access`, `clinic`): its own module, so that the rules
//! of each kind of thing can share it without importing one another.

/// The answer to "may this actor do this with this record".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Go ahead.
    Granted,
    /// Not there for this operation (archived, ended, or not archived for a restore):
    /// "not found", and not a denial.
    Absent,
    /// Not the actor's to see: answered exactly like [`Access::Absent`], recorded as denied.
    Hidden,
    /// Visible to the actor but not theirs to change: refused openly (403).
    Forbidden,
}
