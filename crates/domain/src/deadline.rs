//! A registration's deadline: one instant, fixed when the request arrives, by which it must
//! have been performed or not at all.
//!
//! It is an instant of the wall clock, in Unix milliseconds, rather than a timer, because
//! it has to cross into the database: the statement that registers a user carries it and
//! writes nothing once the database's clock has passed it (`storage`), so an insert held up
//! on the way cannot take effect after its client was told it failed. Everything before
//! that statement measures the time left against the same instant.

use std::time::Duration;

/// The instant by which a registration must have been performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    unix_millis: u64,
}

impl Deadline {
    /// The deadline `limit` after `now_millis` (Unix milliseconds).
    pub fn after(now_millis: u64, limit: Duration) -> Self {
        let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        Self {
            unix_millis: now_millis.saturating_add(limit),
        }
    }

    /// The deadline in Unix milliseconds, as the database compares it with its clock.
    pub fn unix_millis(self) -> u64 {
        self.unix_millis
    }

    /// The time left at `now_millis`; `None` once the deadline has passed (at the deadline
    /// itself no time is left).
    pub fn remaining(self, now_millis: u64) -> Option<Duration> {
        self.unix_millis
            .checked_sub(now_millis)
            .filter(|&left| left > 0)
            .map(Duration::from_millis)
    }

    /// Of the time left at `now_millis`, what a step that is not the last may take: all
    /// but `reserve`, which is kept for the writes that follow it. `None` when no more than
    /// the reserve is left.
    pub fn remaining_before(self, now_millis: u64, reserve: Duration) -> Option<Duration> {
        self.remaining(now_millis)
            .and_then(|left| left.checked_sub(reserve))
            .filter(|left| !left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_780_000_000_000;

    #[test]
    fn the_time_left_runs_down_to_none_at_the_deadline() {
        let deadline = Deadline::after(NOW, Duration::from_secs(2));
        assert_eq!(deadline.unix_millis(), NOW + 2_000);
        assert_eq!(deadline.remaining(NOW), Some(Duration::from_secs(2)));
        assert_eq!(
            deadline.remaining(NOW + 1_999),
            Some(Duration::from_millis(1))
        );
        assert_eq!(deadline.remaining(NOW + 2_000), None);
        assert_eq!(deadline.remaining(NOW + 60_000), None);
    }

    #[test]
    fn a_clock_before_the_start_leaves_more_time_not_less() {
        // The wall clock may step back (NTP) between two readings.
        let deadline = Deadline::after(NOW, Duration::from_secs(2));
        assert_eq!(
            deadline.remaining(NOW - 500),
            Some(Duration::from_millis(2_500))
        );
    }

    #[test]
    fn a_step_before_the_writes_leaves_them_their_reserve() {
        let deadline = Deadline::after(NOW, Duration::from_secs(10));
        let reserve = Duration::from_secs(2);
        assert_eq!(
            deadline.remaining_before(NOW, reserve),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            deadline.remaining_before(NOW + 7_999, reserve),
            Some(Duration::from_millis(1))
        );
        assert_eq!(deadline.remaining_before(NOW + 8_000, reserve), None);
        assert_eq!(deadline.remaining_before(NOW + 9_000, reserve), None);
        assert_eq!(deadline.remaining_before(NOW + 11_000, reserve), None);
    }

    #[test]
    fn limits_beyond_the_clock_saturate() {
        let deadline = Deadline::after(u64::MAX - 1, Duration::MAX);
        assert_eq!(deadline.unix_millis(), u64::MAX);
        assert_eq!(deadline.remaining(u64::MAX), None);
    }
}
