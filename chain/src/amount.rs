//! Money: an amount of base units that is always within `0..=MAX_MONEY`.
//!
//! The field is private and every constructor and arithmetic operation checks the range, so an
//! overflowing sum is an error the caller must handle (a consensus failure), never a panic or a
//! silent wrap. JSON shows amounts as coins with eight decimals, as Bitcoin Core does.

use std::fmt;
use std::iter::Sum;

use crate::error::AmountError;

/// An amount of money in base units (1 coin = 100,000,000 units).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Amount(u64);

impl Amount {
    /// Base units in one coin.
    pub const COIN: u64 = 100_000_000;
    /// No amount.
    pub const ZERO: Amount = Amount(0);
    /// The most money that can ever exist: 21 million coins, as in Bitcoin.
    pub const MAX_MONEY: Amount = Amount(21_000_000 * Self::COIN);

    /// An amount in base units, if within `0..=MAX_MONEY`.
    pub const fn from_units(units: u64) -> Result<Amount, AmountError> {
        if units > Self::MAX_MONEY.0 {
            Err(AmountError::OutOfRange(units))
        } else {
            Ok(Amount(units))
        }
    }

    /// Whole coins, if within range.
    pub const fn from_coins(coins: u64) -> Result<Amount, AmountError> {
        match coins.checked_mul(Self::COIN) {
            Some(u) => Self::from_units(u),
            None => Err(AmountError::Overflow),
        }
    }

    /// The amount in base units.
    pub const fn to_units(self) -> u64 {
        self.0
    }

    /// The sum, if it stays within range.
    pub fn checked_add(self, rhs: Amount) -> Result<Amount, AmountError> {
        self.0.checked_add(rhs.0).ok_or(AmountError::Overflow).and_then(Amount::from_units)
    }

    /// The difference, if not negative.
    pub fn checked_sub(self, rhs: Amount) -> Result<Amount, AmountError> {
        self.0.checked_sub(rhs.0).map(Amount).ok_or(AmountError::Negative)
    }

    /// Sums amounts, failing on the first step out of range.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(iter: I) -> Result<Amount, AmountError> {
        iter.into_iter().try_fold(Amount::ZERO, Amount::checked_add)
    }

    /// Parses a decimal coin amount such as `"1.5"` or `"0.00000001"` (at most 8 decimals).
    pub fn from_coin_str(s: &str) -> Result<Amount, AmountError> {
        let bad = || AmountError::Parse(s.to_owned());
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || frac.len() > 8
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let int: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
        let mut frac_units: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_units += u64::from(b - b'0') * 10u64.pow(7 - i as u32);
        }
        let units = int
            .checked_mul(Self::COIN)
            .and_then(|u| u.checked_add(frac_units))
            .ok_or(AmountError::Overflow)?;
        Amount::from_units(units)
    }
}

impl fmt::Display for Amount {
    /// Coins with eight decimals, as Bitcoin Core prints amounts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:08}", self.0 / Self::COIN, self.0 % Self::COIN)
    }
}

/// Summing amounts that are already known to be small (for statistics only) saturates at
/// `MAX_MONEY`; consensus code uses [`Amount::checked_sum`].
impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount(iter.fold(0u64, |a, b| a.saturating_add(b.0)).min(Amount::MAX_MONEY.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_enforced() {
        assert!(Amount::from_units(Amount::MAX_MONEY.to_units()).is_ok());
        assert_eq!(
            Amount::from_units(Amount::MAX_MONEY.to_units() + 1),
            Err(AmountError::OutOfRange(2_100_000_000_000_001))
        );
        assert!(Amount::MAX_MONEY.checked_add(Amount::from_units(1).unwrap()).is_err());
        assert_eq!(Amount::ZERO.checked_sub(Amount::from_units(1).unwrap()), Err(AmountError::Negative));
        assert!(Amount::from_coins(u64::MAX).is_err());
    }

    #[test]
    fn display_and_parse_coins() {
        let a = Amount::from_units(150_000_001).unwrap();
        assert_eq!(a.to_string(), "1.50000001");
        assert_eq!(Amount::from_coin_str("1.50000001").unwrap(), a);
        assert_eq!(Amount::from_coin_str("50").unwrap(), Amount::from_coins(50).unwrap());
        assert_eq!(Amount::from_coin_str(".5").unwrap().to_units(), 50_000_000);
        for bad in ["", ".", "1.123456789", "-1", "1e3", "abc", "99999999999999999999"] {
            assert!(Amount::from_coin_str(bad).is_err(), "{bad}");
        }
    }
}
