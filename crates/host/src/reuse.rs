//! Spin 4's instance-reuse settings, with its flags' syntax and defaults.
//!
//! Spin serves a WASI 0.3 component from instances that live across requests: each
//! instance takes up to `max_instance_reuse_count` requests in its life, up to
//! `max_instance_concurrent_reuse_count` at once, and is dropped after
//! `idle_instance_timeout` without work. Every setting is a value or a range `a..b`, from
//! which each new instance picks its own value, so a deployment can spread instance
//! turnover. These are the values of Spin's `crates/trigger-http` (`--max-instance-reuse-count`
//! and friends).

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use rand::RngExt as _;
use rand::distr::uniform::SampleUniform;

/// Requests one instance serves in its life, by default (Spin's WASI 0.3 default).
pub const DEFAULT_MAX_INSTANCE_REUSE_COUNT: usize = 128;
/// Requests one instance serves at once, by default (Spin's WASI 0.3 default).
pub const DEFAULT_MAX_INSTANCE_CONCURRENT_REUSE_COUNT: usize = 16;
/// How long an idle instance is kept for the next request, by default.
pub const DEFAULT_IDLE_INSTANCE_TIMEOUT: Duration = Duration::from_secs(1);

/// A setting's value, or a half-open range `a..b` to pick from for each instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range<T> {
    /// Always this value.
    Value(T),
    /// A value in `[low, high)`, picked at random per instance.
    Bounds(T, T),
}

impl<T: SampleUniform + PartialOrd + Copy> Range<T> {
    /// The value for one new instance.
    pub fn pick(&self) -> T {
        match *self {
            Self::Value(value) => value,
            Self::Bounds(low, high) => rand::rng().random_range(low..high),
        }
    }
}

/// How instances live and serve, as Spin's HTTP trigger configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReuse {
    /// `--max-instance-reuse-count`: requests per instance in its life.
    pub max_instance_reuse_count: Range<usize>,
    /// `--max-instance-concurrent-reuse-count`: requests per instance at once.
    pub max_instance_concurrent_reuse_count: Range<usize>,
    /// `--request-timeout`: how long a request may take to produce its response; `None`
    /// (Spin's default) waits forever.
    pub request_timeout: Option<Range<Duration>>,
    /// `--idle-instance-timeout`: how long an instance with nothing to do is kept.
    pub idle_instance_timeout: Range<Duration>,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self {
            max_instance_reuse_count: Range::Value(DEFAULT_MAX_INSTANCE_REUSE_COUNT),
            max_instance_concurrent_reuse_count: Range::Value(
                DEFAULT_MAX_INSTANCE_CONCURRENT_REUSE_COUNT,
            ),
            request_timeout: None,
            idle_instance_timeout: Range::Value(DEFAULT_IDLE_INSTANCE_TIMEOUT),
        }
    }
}

impl InstanceReuse {
    /// One fresh instance per request (`--max-instance-reuse-count 1`).
    pub fn one_instance_per_request() -> Self {
        Self {
            max_instance_reuse_count: Range::Value(1),
            max_instance_concurrent_reuse_count: Range::Value(1),
            ..Self::default()
        }
    }
}

fn parse_range<T: PartialOrd>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Range<T>, String> {
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (parse(low.trim())?, parse(high.trim())?);
            if low < high {
                Ok(Range::Bounds(low, high))
            } else {
                Err(format!(
                    "the range `{text}` is empty (it excludes its upper end)"
                ))
            }
        }
        None => Ok(Range::Value(parse(text.trim())?)),
    }
}

fn parse_number<T: FromStr>(text: &str) -> Result<T, String>
where
    T::Err: Display,
{
    text.parse()
        .map_err(|e| format!("expected an integer or a range `a..b`, got `{text}`: {e}"))
}

/// Parses a count: `16` or `8..32`.
pub fn parse_count_range(text: &str) -> Result<Range<usize>, String> {
    let range = parse_range(text, parse_number::<usize>)?;
    match range {
        Range::Value(0) | Range::Bounds(0, _) => Err("a count must be at least 1".to_owned()),
        range => Ok(range),
    }
}

/// Parses a duration as Spin does: a number of seconds, or a number with `s`, `ms`, `us`
/// (`μs`) or `ns`; or a range `a..b` of those, each end read on its own (so `1..8s` is one
/// to eight seconds).
pub fn parse_duration_range(text: &str) -> Result<Range<Duration>, String> {
    parse_range(text, parse_duration)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = |e: &dyn Display| {
        format!("expected a number with `s`, `ms`, `us`, `μs` or `ns`, got `{text}`: {e}")
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    type Unit = fn(u64) -> Duration;
    let units: [(&str, Unit); 5] = [
        ("ms", Duration::from_millis),
        ("us", Duration::from_micros),
        ("μs", Duration::from_micros),
        ("ns", Duration::from_nanos),
        ("s", Duration::from_secs),
    ];
    for (suffix, unit) in units {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse().map(unit).map_err(|e| error(&e));
        }
    }
    Err(error(&"no unit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_spins() {
        let reuse = InstanceReuse::default();
        assert_eq!(reuse.max_instance_reuse_count, Range::Value(128));
        assert_eq!(reuse.max_instance_concurrent_reuse_count, Range::Value(16));
        assert_eq!(reuse.request_timeout, None);
        assert_eq!(
            reuse.idle_instance_timeout,
            Range::Value(Duration::from_secs(1))
        );
    }

    #[test]
    fn counts_are_values_or_ranges() {
        assert_eq!(parse_count_range("1"), Ok(Range::Value(1)));
        assert_eq!(parse_count_range("8..32"), Ok(Range::Bounds(8, 32)));
        assert!(parse_count_range("0").is_err());
        assert!(parse_count_range("32..8").is_err());
        assert!(parse_count_range("8..8").is_err());
        assert!(parse_count_range("many").is_err());
    }

    #[test]
    fn durations_take_spins_units() {
        let d = |text| parse_duration_range(text).map_err(|e| e.to_string());
        assert_eq!(d("30"), Ok(Range::Value(Duration::from_secs(30))));
        assert_eq!(d("30s"), Ok(Range::Value(Duration::from_secs(30))));
        assert_eq!(d("250ms"), Ok(Range::Value(Duration::from_millis(250))));
        assert_eq!(d("5us"), Ok(Range::Value(Duration::from_micros(5))));
        assert_eq!(d("5μs"), Ok(Range::Value(Duration::from_micros(5))));
        assert_eq!(d("7ns"), Ok(Range::Value(Duration::from_nanos(7))));
        assert_eq!(
            d("1s..8s"),
            Ok(Range::Bounds(
                Duration::from_secs(1),
                Duration::from_secs(8)
            ))
        );
        assert!(d("1m").is_err());
        assert!(d("soon").is_err());
    }

    #[test]
    fn a_range_picks_inside_itself() {
        let range = Range::Bounds(3usize, 6);
        for _ in 0..100 {
            assert!((3..6).contains(&range.pick()));
        }
        assert_eq!(Range::Value(7usize).pick(), 7);
    }
}
