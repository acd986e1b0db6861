//! How long a registration may take: its deadline and its body's time to arrive.

use std::time::Duration;

use platform::vars;

/// A registration's deadline when `registration_deadline_seconds` is unset: under the 30 s
/// a hosted platform (Fermyon Cloud, Akamai Functions) gives a request before it ends it,
/// so the client hears the app's own 503 rather than the platform's.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(25);

/// The part of a registration's time kept for its writes: TinyPNG, the last step before
/// them, may only use the time before it.
pub const WRITES_SHARE: u32 = 5;

/// The time limits of one registration, from the component's variables.
pub struct Limits {
    /// From the request's arrival to the registration performed
    /// (`registration_deadline_seconds`).
    pub deadline: Duration,
    /// For the body alone (`registration_body_timeout_seconds`; unset: the deadline). It
    /// must also arrive before the writes' share of the deadline begins, so a body too slow
    /// is the client's `408`, never the app's `503`.
    pub body: Duration,
}

impl Limits {
    /// Reads both limits; an unset or unusable value is its default.
    pub async fn read() -> Self {
        let deadline = seconds(vars::REGISTRATION_DEADLINE_SECONDS)
            .await
            .unwrap_or(DEFAULT_DEADLINE);
        let body = seconds(vars::REGISTRATION_BODY_TIMEOUT_SECONDS)
            .await
            .unwrap_or(deadline);
        Self { deadline, body }
    }

    /// Time kept for the writes: the last [`WRITES_SHARE`]th of the deadline.
    pub fn writes_reserve(&self) -> Duration {
        self.deadline / WRITES_SHARE
    }
}

/// A positive whole number of seconds from the variable `name`, if it holds one.
async fn seconds(name: &str) -> Option<Duration> {
    platform::setting_or(name, "")
        .await
        .trim()
        .parse()
        .ok()
        .filter(|&s: &u64| s > 0)
        .map(Duration::from_secs)
}
