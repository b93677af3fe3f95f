//! Fixed-point money and rates. Never `f64`: a CNY amount is an `i64` count of 1/10000 yuan,
//! which is exact for every amount the back office reports (they use at most 4 decimals) and
//! covers ±922 trillion yuan.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An amount of CNY in 1/10000 of a yuan. Signed: P&L and net inflow may be negative.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Minor units per yuan.
    pub const SCALE: i64 = 10_000;
    pub const DECIMALS: u32 = 4;
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Self(minor)
    }

    /// Whole yuan; `None` on overflow.
    pub const fn from_yuan(yuan: i64) -> Option<Self> {
        match yuan.checked_mul(Self::SCALE) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    /// Sums a sequence, `None` if any partial sum overflows.
    pub fn checked_sum<'a>(items: impl IntoIterator<Item = &'a Money>) -> Option<Money> {
        items
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(*m))
    }

    /// `self × rate`, rounded half away from zero to the nearest minor unit.
    pub fn apply_rate(self, rate: Rate) -> Option<Money> {
        let product = i128::from(self.0).checked_mul(i128::from(rate.0))?;
        let scale = i128::from(Rate::SCALE);
        let half = scale / 2;
        let rounded = if product >= 0 {
            (product + half) / scale
        } else {
            (product - half) / scale
        };
        i64::try_from(rounded).ok().map(Money)
    }

    /// Parses a decimal string such as `"1234.5678"`, `"-0.5"` or `"100"` (at most 4 decimals).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        parse_fixed(input, Self::DECIMALS, "money").map(Self)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_fixed(f, self.0, Self::SCALE, Self::DECIMALS as usize)
    }
}

/// A rate such as a commission rate (佣金率), in 1/100_000_000 (so 万分之2.5 = 0.00025 = 25_000).
/// Eight decimals cover exchange fees quoted to 7 decimals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rate(i64);

impl Rate {
    pub const SCALE: i64 = 100_000_000;
    pub const DECIMALS: u32 = 8;
    pub const ZERO: Rate = Rate(0);
    pub const ONE: Rate = Rate(Self::SCALE);

    pub const fn from_units(units: i64) -> Self {
        Self(units)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    /// Parses `"0.00025"`; a rate must lie in 0..=1.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let v = parse_fixed(input, Self::DECIMALS, "rate")?;
        if !(0..=Self::SCALE).contains(&v) {
            return Err(ValidationError::new("rate", "must be between 0 and 1"));
        }
        Ok(Self(v))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_fixed(f, self.0, Self::SCALE, Self::DECIMALS as usize)
    }
}

fn write_fixed(f: &mut fmt::Formatter<'_>, v: i64, scale: i64, decimals: usize) -> fmt::Result {
    // unsigned_abs avoids the overflow of `-i64::MIN`.
    let abs = v.unsigned_abs();
    let scale = scale.unsigned_abs();
    let sign = if v < 0 { "-" } else { "" };
    write!(f, "{sign}{}.{:0decimals$}", abs / scale, abs % scale)
}

fn parse_fixed(input: &str, decimals: u32, field: &'static str) -> Result<i64, ValidationError> {
    let err = |reason: &str| ValidationError::new(field, reason);
    let s = input.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return Err(err("is empty")),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err("has no digits"));
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err("must be a decimal number like 1234.5678"));
    }
    if frac_part.len() > decimals as usize {
        return Err(err(&format!("has more than {decimals} decimals")));
    }
    let overflow = || err("is too large");
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    for i in 0..decimals as usize {
        let digit = frac_part
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(overflow)?;
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<&str, &str>) {
        let got = Money::parse(input)
            .map(|m| m.to_string())
            .map_err(|e| e.reason);
        assert_eq!(
            got.as_ref().map(String::as_str).map_err(String::as_str),
            expect,
            "{input:?}"
        );
    }

    #[test]
    fn money_parses_and_displays_decimal_strings() {
        check("1234.5678", Ok("1234.5678"));
        check("1234.5", Ok("1234.5000"));
        check("-0.5", Ok("-0.5000"));
        check("+7", Ok("7.0000"));
        check(".25", Ok("0.2500"));
        check(" 100 ", Ok("100.0000"));
        check("922337203685477.5807", Ok("922337203685477.5807"));
        check("", Err("is empty"));
        check("-", Err("has no digits"));
        check("1.23456", Err("has more than 4 decimals"));
        check("1,000", Err("must be a decimal number like 1234.5678"));
        check("1e5", Err("must be a decimal number like 1234.5678"));
        check("922337203685477.5808", Err("is too large"));
    }

    #[test]
    fn money_displays_the_most_negative_value_without_overflow() {
        assert_eq!(
            Money::from_minor(i64::MIN).to_string(),
            "-922337203685477.5808"
        );
    }

    #[test]
    fn money_arithmetic_is_checked() {
        assert_eq!(
            Money::from_minor(i64::MAX).checked_add(Money::from_minor(1)),
            None
        );
        assert_eq!(Money::from_minor(i64::MIN).checked_neg(), None);
        assert_eq!(
            Money::from_minor(5).checked_sub(Money::from_minor(7)),
            Some(Money::from_minor(-2))
        );
    }

    #[test]
    fn commission_is_turnover_times_rate_rounded_half_away_from_zero() {
        let turnover = Money::parse("100000").expect("literal is valid");
        let rate = Rate::parse("0.00025").expect("literal is valid");
        assert_eq!(turnover.apply_rate(rate), Money::parse("25").ok());
        let small = Money::from_minor(2); // 0.0002 yuan
        assert_eq!(
            small.apply_rate(Rate::parse("0.25").expect("valid")),
            Some(Money::from_minor(1))
        );
        assert_eq!(
            Money::from_minor(-2).apply_rate(Rate::parse("0.25").expect("valid")),
            Some(Money::from_minor(-1))
        );
        assert_eq!(
            Money::from_minor(i64::MAX).apply_rate(Rate::ONE),
            Some(Money::from_minor(i64::MAX))
        );
    }

    #[test]
    fn rates_must_lie_between_zero_and_one() {
        assert_eq!(Rate::parse("0.0003").map(|r| r.units()), Ok(30_000));
        assert!(Rate::parse("1.5").is_err());
        assert!(Rate::parse("-0.1").is_err());
        assert!(Rate::parse("0.000000001").is_err());
    }
}
