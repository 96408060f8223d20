//! Network parameters: one [`Params`] per [`Network`], each with its own genesis block.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::amount::Amount;
use crate::block::{Block, Header, merkle_root};
use crate::hash::{BlockHash, MerkleRoot};
use crate::pow::{U256, asert_target, check_proof_of_work};
use crate::transaction::{Lock, OutPoint, Transaction, TxIn, TxOut};

/// The networks Cairn knows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Network {
    /// Local regression testing: trivial proof of work, blocks on demand.
    Regtest,
    /// A shared test network: real difficulty adjustment, about one block every 10 seconds.
    Testnet,
}

impl Network {
    /// The lower-case name (also the data directory name).
    pub fn as_str(&self) -> &'static str {
        match self {
            Network::Regtest => "regtest",
            Network::Testnet => "testnet",
        }
    }

    /// This network's parameters.
    pub fn params(&self) -> &'static Params {
        static REGTEST: OnceLock<Params> = OnceLock::new();
        static TESTNET: OnceLock<Params> = OnceLock::new();
        match self {
            Network::Regtest => REGTEST.get_or_init(|| Params::new(Network::Regtest)),
            Network::Testnet => TESTNET.get_or_init(|| Params::new(Network::Testnet)),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "regtest" => Ok(Network::Regtest),
            "testnet" => Ok(Network::Testnet),
            other => Err(format!("unknown network {other:?} (expected regtest or testnet)")),
        }
    }
}

/// How the target of the next block is chosen.
/// Testnet's ASERT half-life in seconds: the difficulty doubles or halves for every half-life
/// the chain runs behind or ahead of its schedule.
pub const TESTNET_HALF_LIFE: i64 = 600;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DifficultyRule {
    /// Every block uses the proof-of-work limit.
    Fixed,
    /// ASERT anchored at block 1 (see [`crate::pow`]).
    Asert {
        /// Target of block 1, the anchor.
        anchor_bits: u32,
        /// Seconds of schedule deviation that double or halve the target.
        half_life: i64,
    },
}

/// Consensus parameters of one network.
#[derive(Debug)]
pub struct Params {
    /// Which network.
    pub network: Network,
    /// The easiest allowed target.
    pub pow_limit: U256,
    /// `pow_limit` in compact form.
    pub pow_limit_bits: u32,
    /// The difficulty rule.
    pub difficulty: DifficultyRule,
    /// Intended seconds between blocks.
    pub target_spacing: u32,
    /// Blocks between subsidy halvings.
    pub halving_interval: u32,
    /// Confirmations before a coinbase output may be spent.
    pub coinbase_maturity: u32,
    /// Largest encoded block.
    pub max_block_size: usize,
    /// Largest encoded transaction.
    pub max_tx_size: usize,
    /// How far ahead of the local clock a block's time may be.
    pub max_future_block_time: u32,
    /// The least cumulative work a chain must have before headers-first sync downloads its
    /// blocks (Core's `nMinimumChainWork`): below it, a peer's headers are only counted, never
    /// turned into downloads. A release pins it to the work of the network's known chain; both
    /// networks here start from nothing (regtest by design, testnet because each local testnet
    /// is a new chain), so it is zero, and the working threshold is our own tip's work.
    pub min_chain_work: U256,
    genesis: Block,
    genesis_hash: BlockHash,
}

impl Params {
    fn new(network: Network) -> Params {
        let pow_limit_bits = 0x207f_ffff;
        let pow_limit = U256::from_compact(pow_limit_bits).expect("constant is a valid compact target");
        // How far ahead of our clock a block's time may be: Bitcoin's two hours, except where the
        // difficulty rule would let a block at the limit ease the next ones by more than 2× (see
        // `crate::pow`): on testnet the limit is one ASERT half-life.
        let (difficulty, target_spacing, halving_interval, time, message, max_future_block_time): (_, _, _, u32, &[u8], u32) = match network
        {
            Network::Regtest => (
                DifficultyRule::Fixed,
                600,
                150,
                1_763_769_600,
                b"Cairn regtest genesis",
                2 * 60 * 60,
            ),
            // 2^231: about 2^25 hashes per block, a few seconds for a CPU miner; ASERT then adapts.
            Network::Testnet => (
                DifficultyRule::Asert {
                    anchor_bits: 0x1e00_8000,
                    half_life: TESTNET_HALF_LIFE,
                },
                10,
                210_000,
                1_795_305_600,
                b"Cairn testnet genesis 2026-11-22",
                TESTNET_HALF_LIFE as u32,
            ),
        };
        let genesis = Self::make_genesis(time, pow_limit_bits, message, pow_limit);
        Params {
            network,
            pow_limit,
            pow_limit_bits,
            difficulty,
            target_spacing,
            halving_interval,
            coinbase_maturity: 100,
            max_block_size: 1_000_000,
            max_tx_size: 100_000,
            max_future_block_time,
            min_chain_work: U256::ZERO,
            genesis_hash: genesis.block_hash(),
            genesis,
        }
    }

    /// The genesis block pays nothing spendable: its only output carries the network's message
    /// (like Bitcoin's, its coinbase never enters the UTXO set). The nonce is the first that
    /// meets the (trivial) genesis target, found deterministically at start-up.
    fn make_genesis(time: u32, bits: u32, message: &[u8], pow_limit: U256) -> Block {
        let mut data = 0u32.to_le_bytes().to_vec();
        data.extend_from_slice(message);
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::NULL,
                signature: data,
                pubkey: vec![],
            }],
            outputs: vec![TxOut {
                value: Amount::ZERO,
                lock: Lock::DataCarrier(message.to_vec()),
            }],
            lock_time: 0,
        };
        let (root, _) = merkle_root(&[coinbase.compute_txid()]);
        let mut header = Header {
            version: 1,
            prev_blockhash: BlockHash::ZERO,
            merkle_root: MerkleRoot::ZERO,
            time,
            bits,
            nonce: 0,
        };
        header.merkle_root = root;
        while check_proof_of_work(&header.block_hash(), bits, pow_limit).is_err() {
            header.nonce += 1;
        }
        Block {
            header,
            txdata: vec![coinbase],
        }
    }

    /// The genesis block.
    pub fn genesis_block(&self) -> &Block {
        &self.genesis
    }

    /// The genesis block's hash.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis_hash
    }

    /// The new coins a block at `height` may create: 50 coins, halved every `halving_interval`.
    pub fn block_subsidy(&self, height: u32) -> Amount {
        let halvings = height / self.halving_interval;
        if halvings >= 64 {
            return Amount::ZERO;
        }
        Amount::from_units((50 * Amount::COIN) >> halvings).expect("subsidy is within the money range")
    }

    /// The compact target required of the block after `parent_height`, whose time is
    /// `parent_time`; `anchor_time` is the time of block 1 on that chain (absent when the parent
    /// is genesis).
    pub fn next_bits(&self, parent_height: u32, parent_time: u32, anchor_time: Option<u32>) -> u32 {
        match self.difficulty {
            DifficultyRule::Fixed => self.pow_limit_bits,
            DifficultyRule::Asert { anchor_bits, half_life } => match anchor_time {
                // Block 1 is the anchor and uses the anchor target.
                None => anchor_bits,
                Some(anchor_time) => {
                    let anchor_target = U256::from_compact(anchor_bits).expect("constant is a valid compact target");
                    let time_diff = i64::from(parent_time) - i64::from(anchor_time);
                    let height_diff = i64::from(parent_height) - 1;
                    asert_target(
                        anchor_target,
                        i64::from(self.target_spacing),
                        half_life,
                        time_diff,
                        height_diff,
                        self.pow_limit,
                    )
                    .to_compact()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_have_distinct_valid_genesis_blocks() {
        let r = Network::Regtest.params();
        let t = Network::Testnet.params();
        assert_ne!(r.genesis_hash(), t.genesis_hash());
        for p in [r, t] {
            let g = p.genesis_block();
            assert!(check_proof_of_work(&g.block_hash(), g.header.bits, p.pow_limit).is_ok());
            assert_eq!(g.compute_merkle_root().0, g.header.merkle_root);
        }
        assert_eq!("testnet".parse::<Network>().unwrap(), Network::Testnet);
        assert!("mainnet".parse::<Network>().is_err());
    }

    #[test]
    fn subsidy_halves() {
        let p = Network::Regtest.params();
        assert_eq!(p.block_subsidy(0), Amount::from_coins(50).unwrap());
        assert_eq!(p.block_subsidy(149), Amount::from_coins(50).unwrap());
        assert_eq!(p.block_subsidy(150).to_units(), 25 * Amount::COIN);
        assert_eq!(p.block_subsidy(300).to_units(), 1_250_000_000);
        assert_eq!(p.block_subsidy(150 * 64), Amount::ZERO);
    }

    #[test]
    fn difficulty_rules() {
        let r = Network::Regtest.params();
        assert_eq!(r.next_bits(500, 1, Some(0)), 0x207fffff);
        let t = Network::Testnet.params();
        assert_eq!(t.next_bits(0, 0, None), 0x1e008000);
        // On schedule after 100 blocks: anchor target.
        assert_eq!(t.next_bits(101, 1_000, Some(0)), 0x1e008000);
        // Blocks coming twice as fast as intended for a half-life: harder.
        let harder = U256::from_compact(t.next_bits(121, 600, Some(0))).unwrap();
        assert_eq!(harder, U256::from_compact(0x1e008000).unwrap() >> 1);
    }

    /// A block dated at the far end of the future-time window must not ease the next block by
    /// more than 2× compared with one dated now (the finding: +2 h was 12 half-lives, 4,096×).
    #[test]
    fn no_allowed_timestamp_eases_the_target_more_than_twofold() {
        for network in [Network::Regtest, Network::Testnet] {
            let p = network.params();
            let (now_parent, height) = (1_800_000_000u32, 1_001u32);
            let anchor = now_parent - p.target_spacing * (height - 1);
            let on_time = U256::from_compact(p.next_bits(height, now_parent, Some(anchor))).unwrap();
            let future = now_parent + p.max_future_block_time;
            let eased = U256::from_compact(p.next_bits(height, future, Some(anchor))).unwrap();
            assert!(eased >= on_time);
            assert!(
                eased <= on_time << 1,
                "{network}: a block at the future limit eases the target more than 2×"
            );
            if let DifficultyRule::Asert { half_life, .. } = p.difficulty {
                assert!(i64::from(p.max_future_block_time) <= half_life);
            }
        }
    }
}
