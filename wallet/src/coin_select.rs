//! Coin selection: which of the wallet's coins a payment spends. Pure: no I/O, no clock, no RNG.
//!
//! Sizes are exact, not estimated: every input of a signed transaction is [`INPUT_SIZE`] bytes
//! (the signature is always a 64-byte compact signature and the key a 33-byte compressed key),
//! so a [`SizeModel`] gives the final encoded size for any number of inputs, with or without a
//! change output, and the fee is `ceil(size × rate / 1000)`, the rounding the mempool's relay
//! minimum uses.
//!
//! Strategy (deterministic: candidates are ordered by value, then outpoint):
//! 1. Branch and bound (Bitcoin Core's `SelectCoinsBnB`) over effective values (value minus the
//!    fee its input costs) looks for a changeless selection whose excess over amount + fee is at
//!    most the cost of a change output, trying at most [`BNB_MAX_TRIES`] branches and keeping the
//!    smallest excess. Such an excess goes to the fee: cheaper than creating change.
//! 2. Otherwise, largest first: coins are added, biggest first, until they cover amount + fee;
//!    then the smallest selected coins that are not needed are dropped again. Change below
//!    [`DUST_UNITS`] is not worth an output and is left to the fee.
//!
//! Coins whose value does not pay for their own input are not used unless nothing else suffices.
//! When the fee is subtracted from the amount, the selection only has to cover the amount; a
//! leftover too small for change goes to the recipient (see [`Selection`]).

use cairn_chain::encode::compact_size_len;
use cairn_chain::{Amount, OutPoint};

use crate::error::WalletError;

/// Encoded size of one signed input: 36-byte outpoint, 64-byte compact signature and 33-byte
/// compressed public key, each byte string behind a one-byte length prefix.
pub const INPUT_SIZE: usize = 36 + (1 + 64) + (1 + 33);
/// Outputs below this many units are not created (Bitcoin's dust threshold for P2PKH).
pub const DUST_UNITS: u64 = 546;

/// [`DUST_UNITS`] as an [`Amount`] (a function: `Amount` has no infallible `const` constructor).
pub fn dust() -> Amount {
    // 546 is far below MAX_MONEY, so the fallback is never taken.
    Amount::from_units(DUST_UNITS).unwrap_or(Amount::ZERO)
}
/// Most branches branch and bound explores before giving up.
pub const BNB_MAX_TRIES: usize = 100_000;

/// A coin the selection may spend.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Candidate {
    /// Where the coin is.
    pub outpoint: OutPoint,
    /// Its value.
    pub value: Amount,
}

/// The exact encoded size of the transaction being built, as a function of its input count.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SizeModel {
    /// Bytes independent of inputs and change: version, lock time and the encoded payment outputs.
    pub fixed: usize,
    /// How many outputs there are besides change.
    pub outputs: usize,
    /// Bytes per signed input ([`INPUT_SIZE`]).
    pub input: usize,
    /// Bytes of the change output.
    pub change_output: usize,
}

impl SizeModel {
    /// Encoded size with `inputs` signed inputs and, if `with_change`, a change output.
    pub fn tx_size(&self, inputs: usize, with_change: bool) -> usize {
        let outputs = self.outputs + usize::from(with_change);
        self.fixed
            + compact_size_len(inputs as u64)
            + inputs.saturating_mul(self.input)
            + compact_size_len(outputs as u64)
            + if with_change { self.change_output } else { 0 }
    }
}

/// The chosen coins and what they pay besides the amount.
///
/// The inputs total `amount + fee + change` when the fee is paid on top of the amount. When it
/// is subtracted from the amount the recipient receives `inputs − fee − change`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Selection {
    /// The coins to spend, largest first.
    pub inputs: Vec<Candidate>,
    /// The fee (never below `ceil(rate × size / 1000)` for the resulting size).
    pub fee: Amount,
    /// The change output's value, or zero for none (never between 1 and `DUST_UNITS − 1`).
    pub change: Amount,
}

/// `ceil(size × rate / 1000)` in units (u128: no overflow for any input).
pub fn fee_units(size: usize, fee_rate_per_kb: u64) -> u128 {
    (size as u128 * u128::from(fee_rate_per_kb)).div_ceil(1000)
}

/// The fee for `size` bytes at `fee_rate_per_kb`, if within the money range.
pub fn fee_for_size(size: usize, fee_rate_per_kb: u64) -> Option<Amount> {
    u64::try_from(fee_units(size, fee_rate_per_kb))
        .ok()
        .and_then(|u| Amount::from_units(u).ok())
}

fn amount(units: u128) -> Result<Amount, WalletError> {
    let units = u64::try_from(units).unwrap_or(u64::MAX);
    Ok(Amount::from_units(units)?)
}

fn total(coins: &[Candidate]) -> u128 {
    coins.iter().map(|c| u128::from(c.value.to_units())).sum()
}

/// Selects coins paying `target` at `fee_rate_per_kb` (units per 1000 bytes), with the fee on
/// top of `target` or, if `subtract_fee`, taken from it.
///
/// # Errors
/// [`WalletError::InsufficientFunds`] when even every candidate is not enough: `needed` is the
/// target plus the fee of a changeless transaction spending all of them (just the target when
/// the fee is subtracted) and `available` their total. [`WalletError::Amount`] when the amount
/// needed is beyond the money supply.
pub fn select_coins(
    candidates: &[Candidate],
    target: Amount,
    fee_rate_per_kb: u64,
    sizes: &SizeModel,
    subtract_fee: bool,
) -> Result<Selection, WalletError> {
    let mut pool: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if !pool.iter().any(|p| p.outpoint == c.outpoint) {
            pool.push(*c);
        }
    }
    pool.sort_by(|a, b| b.value.cmp(&a.value).then(a.outpoint.cmp(&b.outpoint)));
    let target = u128::from(target.to_units());
    let rate = fee_rate_per_kb;
    let input_cost_milli = sizes.input as u128 * u128::from(rate);
    let economic: Vec<Candidate> = pool
        .iter()
        .copied()
        .filter(|c| u128::from(c.value.to_units()) * 1000 > input_cost_milli)
        .collect();
    // What the chosen coins must cover (without change) for a given input count.
    let need = |n: usize| {
        if subtract_fee {
            target
        } else {
            target + fee_units(sizes.tx_size(n, false), rate)
        }
    };

    let chosen = if subtract_fee {
        None
    } else {
        branch_and_bound(&economic, target, rate, sizes).filter(|s| total(s) >= need(s.len()))
    };
    let chosen = match chosen {
        Some(c) => c,
        None => match largest_first(&economic, &need) {
            Some(c) => c,
            None if total(&pool) >= need(pool.len()) => pool.clone(),
            None => {
                return Err(WalletError::InsufficientFunds {
                    needed: amount(need(pool.len()))?,
                    available: amount(total(&pool))?,
                });
            }
        },
    };
    let n = chosen.len();
    let sum = total(&chosen);
    let leftover = sum - need(n);
    let fee_plain = fee_units(sizes.tx_size(n, false), rate);
    let fee_change = fee_units(sizes.tx_size(n, true), rate);
    let dust = u128::from(DUST_UNITS);
    let (fee, change) = if subtract_fee {
        if leftover >= dust { (fee_change, leftover) } else { (fee_plain, 0) }
    } else {
        match (sum - target).checked_sub(fee_change) {
            Some(change) if change >= dust => (fee_change, change),
            _ => (sum - target, 0),
        }
    };
    Ok(Selection {
        inputs: chosen,
        fee: amount(fee)?,
        change: amount(change)?,
    })
}

/// Coins, largest first, until `need(count)` is covered; then the smallest unneeded ones are
/// dropped. `coins` is sorted largest first.
fn largest_first(coins: &[Candidate], need: &dyn Fn(usize) -> u128) -> Option<Vec<Candidate>> {
    let mut chosen = Vec::new();
    let mut sum = 0u128;
    for c in coins {
        chosen.push(*c);
        sum += u128::from(c.value.to_units());
        if sum >= need(chosen.len()) {
            break;
        }
    }
    if sum < need(chosen.len()) {
        return None;
    }
    let mut i = chosen.len();
    while i > 0 {
        i -= 1;
        let v = u128::from(chosen[i].value.to_units());
        if sum - v >= need(chosen.len() - 1) {
            sum -= v;
            chosen.remove(i);
        }
    }
    Some(chosen)
}

/// Depth-first search for a changeless selection whose effective value lands in
/// `[target + fixed fee, target + fixed fee + change cost]`, in milli-units so that per-input
/// fees add up exactly. `coins` is sorted largest first and every effective value is positive.
fn branch_and_bound(coins: &[Candidate], target: u128, rate: u64, sizes: &SizeModel) -> Option<Vec<Candidate>> {
    // Up to 252 inputs the input count's prefix is one byte, so the fee is linear in the count.
    let coins = &coins[..coins.len().min(252)];
    let rate = u128::from(rate);
    let values: Vec<u128> = coins
        .iter()
        .map(|c| u128::from(c.value.to_units()) * 1000 - sizes.input as u128 * rate)
        .collect();
    let low = target * 1000 + sizes.tx_size(0, false) as u128 * rate;
    let high = low + sizes.change_output as u128 * rate;
    let mut suffix = vec![0u128; values.len() + 1];
    for i in (0..values.len()).rev() {
        suffix[i] = suffix[i + 1] + values[i];
    }
    let mut selected: Vec<usize> = Vec::new();
    let mut current = 0u128;
    let mut next = 0usize;
    let mut best: Option<(u128, Vec<usize>)> = None;
    for _ in 0..BNB_MAX_TRIES {
        let backtrack = if current + suffix[next] < low || current > high {
            true
        } else if current >= low {
            let excess = current - low;
            if best.as_ref().is_none_or(|(b, _)| excess < *b) {
                best = Some((excess, selected.clone()));
            }
            true
        } else {
            false
        };
        if backtrack {
            // Exclude the last included coin and continue after it, skipping coins of equal
            // value (including one of them would repeat the subtree just explored).
            let Some(last) = selected.pop() else { break };
            current -= values[last];
            next = last + 1;
            while next < values.len() && values[next] == values[last] {
                next += 1;
            }
        } else {
            // Not below reach and not yet at `low`: coins remain (else the first test fires).
            current += values[next];
            selected.push(next);
            next += 1;
        }
    }
    best.map(|(_, idx)| idx.into_iter().map(|i| coins[i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::Txid;

    fn candidate(n: u8, units: u64) -> Candidate {
        Candidate {
            outpoint: OutPoint::new(Txid::from_byte_array([n; 32]), 0),
            value: Amount::from_units(units).unwrap(),
        }
    }

    fn model() -> SizeModel {
        SizeModel {
            fixed: 8 + 29,
            outputs: 1,
            input: INPUT_SIZE,
            change_output: 29,
        }
    }

    #[test]
    fn branch_and_bound_finds_an_exact_pair() {
        let s = model();
        let rate = 1_000;
        let target = 300_000;
        // Two inputs cost exactly this fee; 100,000 + 200,000 + fee is a changeless match.
        let fee = fee_units(s.tx_size(2, false), rate) as u64;
        let coins: Vec<Candidate> = [1_000_000, 200_000, 150_000, 120_000, 100_000 + fee, 90_000]
            .iter()
            .enumerate()
            .map(|(i, v)| candidate(i as u8, *v))
            .collect();
        let sel = select_coins(&coins, Amount::from_units(target).unwrap(), rate, &s, false).unwrap();
        assert_eq!(sel.change, Amount::ZERO);
        assert_eq!(sel.fee.to_units(), fee);
        let mut picked: Vec<u64> = sel.inputs.iter().map(|c| c.value.to_units()).collect();
        picked.sort_unstable();
        assert_eq!(picked, vec![100_000 + fee, 200_000]);
    }

    #[test]
    fn largest_first_stops_once_covered() {
        let s = model();
        // No changeless subset exists; largest first takes 60k, then 50k covers the rest, and
        // the 5k coin is never touched.
        let coins = [candidate(1, 5_000), candidate(2, 60_000), candidate(3, 50_000)];
        let sel = select_coins(&coins, Amount::from_units(70_000).unwrap(), 1_000, &s, false).unwrap();
        let picked: Vec<u64> = sel.inputs.iter().map(|c| c.value.to_units()).collect();
        assert_eq!(picked, vec![60_000, 50_000]);
        assert!(sel.change >= dust());
    }

    #[test]
    fn empty_pool_is_insufficient() {
        let err = select_coins(&[], Amount::from_units(1_000).unwrap(), 1_000, &model(), false).unwrap_err();
        assert!(matches!(err, WalletError::InsufficientFunds { available, .. } if available == Amount::ZERO));
    }
}
