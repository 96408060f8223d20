//! From chain types to the JSON shapes of `cairn_rpc::types`, and the errors the chain and wallet
//! raise mapped to Core's codes.

use std::collections::HashMap;

use cairn_chain::encode::{Encodable, write_var_bytes};
use cairn_chain::pow::U256;
use cairn_chain::store::IndexRecord;
use cairn_chain::transaction::Lock;
use cairn_chain::utxo::Coin;
use cairn_chain::{Amount, Block, Chainstate, Network, OutPoint, StoreError, Transaction, TxError};
use cairn_rpc::error::code;
use cairn_rpc::types::{BlockHeaderInfo, CoinAmount, FINAL_SEQUENCE, PrevOut, ScriptPubKey, ScriptSig, TxInInfo, TxInfo, TxOutInfo};
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::{Address, WalletError};

use crate::service::ServiceStopped;

/// Core's name for a network (`getblockchaininfo.chain`).
pub fn chain_name(network: Network) -> &'static str {
    match network {
        Network::Regtest => "regtest",
        Network::Testnet => "test",
    }
}

/// A 256-bit value as a float (for difficulty and hash rates).
pub fn u256_to_f64(v: U256) -> f64 {
    v.to_be_bytes().iter().fold(0.0, |acc, b| acc * 256.0 + f64::from(*b))
}

/// Difficulty: the network's easiest target over this one (1.0 at the minimum).
pub fn difficulty(bits: u32, pow_limit: U256) -> f64 {
    match U256::from_compact(bits) {
        Ok(t) if !t.is_zero() => u256_to_f64(pow_limit) / u256_to_f64(t),
        _ => 0.0,
    }
}

/// A compact target as Core shows `bits`: 8 hex digits.
pub fn bits_hex(bits: u32) -> String {
    format!("{bits:08x}")
}

/// The full target of compact `bits`, 64 hex digits.
pub fn target_hex(bits: u32) -> String {
    U256::from_compact(bits).map(|t| t.to_string()).unwrap_or_else(|_| "0".repeat(64))
}

/// Store failures as RPC errors.
pub fn store_err(e: StoreError) -> RpcError {
    RpcError::new(code::DATABASE_ERROR, format!("database error: {e}"))
}

/// The service stopped: the node is shutting down.
pub fn stopped(_: ServiceStopped) -> RpcError {
    RpcError::internal("the node is shutting down")
}

/// A rejected transaction with Core's code for the reason.
pub fn tx_rejected(e: &TxError) -> RpcError {
    let c = match e {
        TxError::MissingOrSpent(_) => code::VERIFY_ERROR,
        _ => code::VERIFY_REJECTED,
    };
    RpcError::new(c, e.to_string())
}

/// Wallet failures with Core's codes.
pub fn wallet_err(e: WalletError) -> RpcError {
    match &e {
        WalletError::InsufficientFunds { needed, available } => {
            let missing = needed.checked_sub(*available).unwrap_or(Amount::ZERO);
            RpcError::new(
                code::WALLET_INSUFFICIENT_FUNDS,
                format!("Insufficient funds: {missing} more needed (needed {needed} including the fee, available {available})"),
            )
        }
        WalletError::Locked => RpcError::new(
            code::WALLET_UNLOCK_NEEDED,
            "Error: Please enter the wallet passphrase with walletpassphrase first.",
        ),
        WalletError::PassphraseIncorrect => RpcError::new(
            code::WALLET_PASSPHRASE_INCORRECT,
            "Error: The wallet passphrase entered was incorrect.",
        ),
        WalletError::WrongEncState(_) => RpcError::new(code::WALLET_WRONG_ENC_STATE, format!("Error: {e}")),
        _ => RpcError::new(code::WALLET_ERROR, e.to_string()),
    }
}

/// Parses an address of `network`, or `-5 Invalid address` with the reason.
pub fn parse_address(text: &str, network: Network) -> RpcResult<Address> {
    Address::parse(text, network).map_err(|e| RpcError::not_found(format!("Invalid address: {e}")))
}

/// A lock in Core's `scriptPubKey` shape.
pub fn script_pub_key(lock: &Lock, network: Network) -> ScriptPubKey {
    let hex = hex::encode(lock.encode());
    let address = Address::from_lock(lock, network).map(|a| a.to_string());
    ScriptPubKey {
        asm: match lock {
            Lock::PubkeyHash(h) => format!("OP_DUP OP_HASH160 {} OP_EQUALVERIFY OP_CHECKSIG", hex::encode(h.to_byte_array())),
            Lock::DataCarrier(data) => format!("OP_RETURN {}", hex::encode(data)),
        },
        desc: cairn_rpc::descriptor::with_checksum(&match &address {
            Some(a) => format!("addr({a})"),
            None => format!("raw({hex})"),
        }),
        hex,
        address,
        kind: match lock {
            Lock::PubkeyHash(_) => "pubkeyhash",
            Lock::DataCarrier(_) => "nulldata",
        }
        .to_string(),
    }
}

/// A transaction decoded; `spent` gives input values when known (for the fee).
pub fn tx_info(tx: &Transaction, network: Network, spent: Option<&HashMap<OutPoint, Amount>>) -> TxInfo {
    let txid = tx.compute_txid();
    let size = tx.size();
    let vin = tx
        .inputs
        .iter()
        .map(|i| {
            if tx.is_coinbase() {
                TxInInfo::Coinbase {
                    coinbase: hex::encode(&i.signature),
                    sequence: FINAL_SEQUENCE,
                }
            } else {
                let mut raw = Vec::new();
                write_var_bytes(&mut raw, &i.signature);
                write_var_bytes(&mut raw, &i.pubkey);
                TxInInfo::Spend {
                    txid: i.prevout.txid,
                    vout: i.prevout.vout,
                    prevout: None,
                    script_sig: ScriptSig {
                        asm: format!("{} {}", hex::encode(&i.signature), hex::encode(&i.pubkey)),
                        hex: hex::encode(raw),
                    },
                    sequence: FINAL_SEQUENCE,
                }
            }
        })
        .collect();
    let vout = tx
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| TxOutInfo {
            value: CoinAmount(o.value),
            n: n as u32,
            script_pub_key: script_pub_key(&o.lock, network),
        })
        .collect();
    let fee = match spent {
        Some(values) if !tx.is_coinbase() => {
            let inputs: Option<Vec<Amount>> = tx.inputs.iter().map(|i| values.get(&i.prevout).copied()).collect();
            inputs
                .and_then(|v| Amount::checked_sum(v).ok())
                .and_then(|total| {
                    total
                        .checked_sub(Amount::checked_sum(tx.outputs.iter().map(|o| o.value)).ok()?)
                        .ok()
                })
                .map(CoinAmount)
        }
        _ => None,
    };
    TxInfo {
        txid,
        hash: txid,
        version: tx.version,
        size,
        vsize: size,
        weight: size * 4,
        locktime: tx.lock_time,
        vin,
        vout,
        fee,
        hex: None,
        blockhash: None,
        confirmations: None,
        time: None,
        blocktime: None,
    }
}

/// Whether `record` is on the active chain.
pub fn in_active_chain(chain: &Chainstate, record: &IndexRecord) -> bool {
    chain.block_hash_at(record.height) == Some(record.hash())
}

/// A header as `getblockheader` shows it; `n_tx` comes from the stored block.
pub fn header_info(chain: &Chainstate, record: &IndexRecord, n_tx: usize) -> BlockHeaderInfo {
    let hash = record.hash();
    let active = in_active_chain(chain, record);
    let h = &record.header;
    BlockHeaderInfo {
        hash,
        confirmations: if active {
            i64::from(chain.height()) - i64::from(record.height) + 1
        } else {
            -1
        },
        height: record.height,
        version: h.version,
        version_hex: format!("{:08x}", h.version),
        merkleroot: h.merkle_root.to_string(),
        time: h.time,
        mediantime: chain.median_time_past(&hash),
        nonce: h.nonce,
        bits: bits_hex(h.bits),
        target: target_hex(h.bits),
        difficulty: difficulty(h.bits, chain.params().pow_limit),
        chainwork: record.chain_work.to_string(),
        n_tx,
        previousblockhash: (record.height > 0).then_some(h.prev_blockhash),
        nextblockhash: if active { chain.block_hash_at(record.height + 1) } else { None },
    }
}

/// Input values of a stored block's transactions: from its undo data and from earlier outputs
/// of the same block.
/// Every coin `block` spends, from its undo data and, for outputs spent in the block that
/// created them, from the block itself.
pub fn spent_coins(block: &Block, height: u32, undo: &cairn_chain::utxo::BlockUndo) -> HashMap<OutPoint, Coin> {
    let mut coins: HashMap<OutPoint, Coin> = undo.spent.iter().cloned().collect();
    for (i, tx) in block.txdata.iter().enumerate() {
        let txid = tx.compute_txid();
        for (n, o) in tx.outputs.iter().enumerate() {
            coins.entry(OutPoint::new(txid, n as u32)).or_insert_with(|| Coin {
                output: o.clone(),
                height,
                is_coinbase: i == 0,
            });
        }
    }
    coins
}

/// Fills each input's `prevout` (`getblock` verbosity 3) from `coins`.
pub fn add_prevouts(info: &mut TxInfo, coins: &HashMap<OutPoint, Coin>, network: Network) {
    for input in &mut info.vin {
        if let TxInInfo::Spend { txid, vout, prevout, .. } = input
            && let Some(coin) = coins.get(&OutPoint::new(*txid, *vout))
        {
            *prevout = Some(PrevOut {
                generated: coin.is_coinbase,
                height: coin.height,
                value: CoinAmount(coin.output.value),
                script_pub_key: script_pub_key(&coin.output.lock, network),
            });
        }
    }
}

pub fn spent_values(block: &Block, undo: Option<&cairn_chain::utxo::BlockUndo>) -> HashMap<OutPoint, Amount> {
    let mut values: HashMap<OutPoint, Amount> = HashMap::new();
    if let Some(u) = undo {
        for (op, coin) in &u.spent {
            values.insert(*op, coin.output.value);
        }
    }
    for tx in &block.txdata {
        let txid = tx.compute_txid();
        for (n, o) in tx.outputs.iter().enumerate() {
            values.insert(OutPoint::new(txid, n as u32), o.value);
        }
    }
    values
}
