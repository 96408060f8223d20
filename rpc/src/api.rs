//! The RPC interface: one jsonrpsee trait per area, with Bitcoin Core's method and parameter
//! names (parameters can be given by position or by name). The node implements the traits; this
//! crate only fixes the interface, the JSON shapes ([`crate::types`]) and the errors.

// `sendtoaddress` has Core's eleven parameters, and the code jsonrpsee generates for it inherits
// no item-level attribute.
#![allow(clippy::too_many_arguments)]

use cairn_chain::{BlockHash, Txid};
use jsonrpsee::proc_macros::rpc;

use crate::error::RpcResult;
use crate::types::*;

/// Blocks, the UTXO set and the mempool.
#[rpc(server)]
pub trait BlockchainApi {
    /// State of the chain.
    #[method(name = "getblockchaininfo")]
    async fn getblockchaininfo(&self) -> RpcResult<BlockchainInfo>;
    /// Height of the tip.
    #[method(name = "getblockcount")]
    fn getblockcount(&self) -> RpcResult<u32>;
    /// Every tip of the block tree: the active one and each branch's.
    #[method(name = "getchaintips")]
    async fn getchaintips(&self) -> RpcResult<Vec<ChainTipInfo>>;
    /// Hash of the tip.
    #[method(name = "getbestblockhash")]
    fn getbestblockhash(&self) -> RpcResult<BlockHash>;
    /// Hash of the active-chain block at `height`.
    #[method(name = "getblockhash")]
    async fn getblockhash(&self, height: Int<i64>) -> RpcResult<BlockHash>;
    /// A block: hex (0), with txids (1, default) or with decoded transactions (2).
    #[method(name = "getblock")]
    async fn getblock(&self, blockhash: BlockHash, verbosity: Option<Verbosity>) -> RpcResult<GetBlockResult>;
    /// A block header: decoded (default) or hex.
    #[method(name = "getblockheader")]
    async fn getblockheader(&self, blockhash: BlockHash, verbose: Option<bool>) -> RpcResult<GetBlockHeaderResult>;
    /// An unspent output, or null.
    #[method(name = "gettxout")]
    async fn gettxout(&self, txid: Txid, n: Int<u32>, include_mempool: Option<bool>) -> RpcResult<Option<TxOutResult>>;
    /// Statistics and digest of the UTXO set.
    #[method(name = "gettxoutsetinfo")]
    async fn gettxoutsetinfo(
        &self,
        hash_type: Option<String>,
        hash_or_height: Option<serde_json::Value>,
        use_index: Option<bool>,
    ) -> RpcResult<TxOutSetInfo>;
    /// Proof-of-work difficulty of the tip relative to the network's minimum.
    #[method(name = "getdifficulty")]
    async fn getdifficulty(&self) -> RpcResult<f64>;
    /// Figures of one block (`stats` names those wanted; default all).
    #[method(name = "getblockstats")]
    async fn getblockstats(&self, hash_or_height: serde_json::Value, stats: Option<Vec<String>>) -> RpcResult<serde_json::Value>;
    /// Treats a block as invalid, leaving its branch.
    #[method(name = "invalidateblock")]
    async fn invalidateblock(&self, blockhash: BlockHash) -> RpcResult<()>;
    /// Clears the invalid marks of a block, its ancestors and descendants.
    #[method(name = "reconsiderblock")]
    async fn reconsiderblock(&self, blockhash: BlockHash) -> RpcResult<()>;
    /// Checks the last blocks against the store.
    #[method(name = "verifychain")]
    async fn verifychain(&self, checklevel: Option<Int<i64>>, nblocks: Option<Int<i64>>) -> RpcResult<bool>;
    /// Transaction counts and rate over the `nblocks` blocks ending at `blockhash`.
    #[method(name = "getchaintxstats")]
    async fn getchaintxstats(&self, nblocks: Option<Int<i64>>, blockhash: Option<BlockHash>) -> RpcResult<ChainTxStats>;
    /// The indexes the node keeps (none: an empty object).
    #[method(name = "getindexinfo")]
    fn getindexinfo(&self, index_name: Option<String>) -> RpcResult<serde_json::Value>;
}

/// The mempool.
#[rpc(server)]
pub trait MempoolApi {
    /// Transaction ids in the mempool, or details per transaction.
    #[method(name = "getrawmempool")]
    async fn getrawmempool(&self, verbose: Option<bool>, mempool_sequence: Option<bool>) -> RpcResult<RawMempool>;
    /// Mempool size and limits.
    #[method(name = "getmempoolinfo")]
    async fn getmempoolinfo(&self) -> RpcResult<MempoolInfo>;
    /// One mempool entry.
    #[method(name = "getmempoolentry")]
    async fn getmempoolentry(&self, txid: Txid) -> RpcResult<MempoolEntryInfo>;
    /// The in-pool ancestors of a mempool transaction.
    #[method(name = "getmempoolancestors")]
    async fn getmempoolancestors(&self, txid: Txid, verbose: Option<bool>) -> RpcResult<RawMempool>;
    /// The in-pool descendants of a mempool transaction.
    #[method(name = "getmempooldescendants")]
    async fn getmempooldescendants(&self, txid: Txid, verbose: Option<bool>) -> RpcResult<RawMempool>;
}

/// Raw transactions.
#[rpc(server)]
pub trait RawTransactionApi {
    /// A transaction from the mempool, or from the block `blockhash`.
    #[method(name = "getrawtransaction")]
    async fn getrawtransaction(
        &self,
        txid: Txid,
        verbose: Option<Verbosity>,
        blockhash: Option<BlockHash>,
    ) -> RpcResult<GetRawTransactionResult>;
    /// Decodes a transaction given in hex.
    #[method(name = "decoderawtransaction")]
    async fn decoderawtransaction(&self, hexstring: String) -> RpcResult<TxInfo>;
    /// Submits a transaction to the mempool.
    #[method(name = "sendrawtransaction")]
    async fn sendrawtransaction(&self, hexstring: String, maxfeerate: Option<AmountParam>) -> RpcResult<Txid>;
    /// Whether the mempool would accept each transaction (nothing is admitted).
    #[method(name = "testmempoolaccept")]
    async fn testmempoolaccept(&self, rawtxs: Vec<String>, maxfeerate: Option<AmountParam>) -> RpcResult<Vec<serde_json::Value>>;
    /// An unsigned transaction spending `inputs` and paying `outputs` (an object of address →
    /// amount, in key order, or an array of one-entry objects, in array order), in hex.
    #[method(name = "createrawtransaction")]
    async fn createrawtransaction(
        &self,
        inputs: Vec<RawTxInput>,
        outputs: serde_json::Value,
        locktime: Option<Int<u32>>,
    ) -> RpcResult<String>;
}

/// Mining.
#[rpc(server)]
pub trait MiningApi {
    /// Mining state.
    #[method(name = "getmininginfo")]
    async fn getmininginfo(&self) -> RpcResult<MiningInfo>;
    /// Mines `nblocks` blocks to `address` right away; returns their hashes.
    #[method(name = "generatetoaddress")]
    async fn generatetoaddress(&self, nblocks: Int<u32>, address: String, maxtries: Option<Int<u64>>) -> RpcResult<Vec<BlockHash>>;
    /// Turns continuous mining on or off (Core up to 0.12): `genproclimit` threads (default 1,
    /// -1 for one per core).
    #[method(name = "setgenerate", with_extensions)]
    async fn setgenerate(&self, generate: bool, genproclimit: Option<Int<i64>>) -> RpcResult<()>;
    /// Whether the node mines continuously (Core up to 0.12).
    #[method(name = "getgenerate")]
    fn getgenerate(&self) -> RpcResult<bool>;
    /// Hashes per second the network did over `nblocks` blocks ending at `height`.
    #[method(name = "getnetworkhashps")]
    async fn getnetworkhashps(&self, nblocks: Option<Int<i64>>, height: Option<Int<i64>>) -> RpcResult<f64>;
    /// A block template for external miners (BIP 22/23, template mode).
    #[method(name = "getblocktemplate")]
    async fn getblocktemplate(&self, template_request: Option<serde_json::Value>) -> RpcResult<serde_json::Value>;
    /// Submits a mined block; null if accepted, else BIP 22's reason.
    #[method(name = "submitblock")]
    async fn submitblock(&self, hexdata: String, dummy: Option<String>) -> RpcResult<Option<String>>;
    /// Mines one block with exactly these transactions (txids from the mempool or raw hex).
    #[method(name = "generateblock")]
    async fn generateblock(&self, output: String, transactions: Vec<String>, submit: Option<bool>) -> RpcResult<serde_json::Value>;
    /// Changes the fee a transaction is ranked by for mining and eviction.
    #[method(name = "prioritisetransaction")]
    async fn prioritisetransaction(&self, txid: Txid, dummy: Option<serde_json::Value>, fee_delta: Int<i64>) -> RpcResult<bool>;
}

/// The wallet.
#[rpc(server)]
pub trait WalletApi {
    /// Signs the inputs of a raw transaction with this wallet's keys.
    #[method(name = "signrawtransactionwithwallet", with_extensions)]
    async fn signrawtransactionwithwallet(&self, hexstring: String) -> RpcResult<SignRawTransactionResult>;
    /// A fresh receiving address.
    #[method(name = "getnewaddress", with_extensions)]
    async fn getnewaddress(&self, label: Option<String>, address_type: Option<String>) -> RpcResult<String>;
    /// The trusted balance (coins with at least `minconf` confirmations).
    #[method(name = "getbalance", with_extensions)]
    async fn getbalance(
        &self,
        dummy: Option<String>,
        minconf: Option<Int<u32>>,
        include_watchonly: Option<bool>,
        avoid_reuse: Option<bool>,
    ) -> RpcResult<CoinAmount>;
    /// Trusted, pending and immature balances.
    #[method(name = "getbalances", with_extensions)]
    async fn getbalances(&self) -> RpcResult<Balances>;
    /// The wallet's unspent outputs.
    #[method(name = "listunspent", with_extensions)]
    async fn listunspent(
        &self,
        minconf: Option<Int<u32>>,
        maxconf: Option<Int<u32>>,
        addresses: Option<Vec<String>>,
        include_unsafe: Option<bool>,
    ) -> RpcResult<Vec<UnspentEntry>>;
    /// Pays `amount` to `address`; returns the txid.
    #[method(name = "sendtoaddress", with_extensions)]
    async fn sendtoaddress(
        &self,
        address: String,
        amount: AmountParam,
        comment: Option<String>,
        comment_to: Option<String>,
        subtractfeefromamount: Option<bool>,
        replaceable: Option<bool>,
        conf_target: Option<Int<u32>>,
        estimate_mode: Option<String>,
        avoid_reuse: Option<bool>,
        fee_rate: Option<RateParam>,
        verbose: Option<bool>,
    ) -> RpcResult<serde_json::Value>;
    /// Pays several addresses in one transaction; returns the txid (or, verbose, an object).
    #[method(name = "sendmany", with_extensions)]
    async fn sendmany(
        &self,
        dummy: Option<String>,
        amounts: serde_json::Map<String, serde_json::Value>,
        minconf: Option<Int<i64>>,
        comment: Option<String>,
        subtractfeefrom: Option<Vec<String>>,
        replaceable: Option<bool>,
        conf_target: Option<Int<u32>>,
        estimate_mode: Option<String>,
        fee_rate: Option<RateParam>,
        verbose: Option<bool>,
    ) -> RpcResult<serde_json::Value>;
    /// A wallet transaction.
    #[method(name = "gettransaction", with_extensions)]
    async fn gettransaction(&self, txid: Txid, include_watchonly: Option<bool>, verbose: Option<bool>) -> RpcResult<WalletTransaction>;
    /// Recent wallet history.
    #[method(name = "listtransactions", with_extensions)]
    async fn listtransactions(
        &self,
        label: Option<String>,
        count: Option<Int<i64>>,
        skip: Option<Int<i64>>,
        include_watchonly: Option<bool>,
    ) -> RpcResult<Vec<WalletTxEntry>>;
    /// Creates a wallet and loads it.
    #[method(name = "createwallet")]
    async fn createwallet(
        &self,
        wallet_name: String,
        disable_private_keys: Option<bool>,
        blank: Option<bool>,
        passphrase: Option<String>,
        avoid_reuse: Option<bool>,
        descriptors: Option<bool>,
        load_on_startup: Option<bool>,
        external_signer: Option<bool>,
    ) -> RpcResult<LoadWalletResult>;
    /// Loads a wallet from the wallet directory.
    #[method(name = "loadwallet")]
    async fn loadwallet(&self, filename: String, load_on_startup: Option<bool>) -> RpcResult<LoadWalletResult>;
    /// Unloads the wallet named, or the endpoint's.
    #[method(name = "unloadwallet", with_extensions)]
    async fn unloadwallet(&self, wallet_name: Option<String>, load_on_startup: Option<bool>) -> RpcResult<UnloadWalletResult>;
    /// The loaded wallets' names.
    #[method(name = "listwallets")]
    async fn listwallets(&self) -> RpcResult<Vec<String>>;
    /// State of the wallet.
    #[method(name = "getwalletinfo", with_extensions)]
    async fn getwalletinfo(&self) -> RpcResult<WalletInfo>;
    /// Encrypts the wallet's keys with a passphrase; the wallet is locked afterwards.
    #[method(name = "encryptwallet", with_extensions)]
    async fn encryptwallet(&self, passphrase: String) -> RpcResult<String>;
    /// Unlocks the wallet's keys for `timeout` seconds.
    #[method(name = "walletpassphrase", with_extensions)]
    async fn walletpassphrase(&self, passphrase: String, timeout: Int<i64>) -> RpcResult<()>;
    /// Locks the wallet's keys.
    #[method(name = "walletlock", with_extensions)]
    async fn walletlock(&self) -> RpcResult<()>;
    /// Changes the wallet's passphrase.
    #[method(name = "walletpassphrasechange", with_extensions)]
    async fn walletpassphrasechange(&self, oldpassphrase: String, newpassphrase: String) -> RpcResult<()>;
    /// Adds inputs and change from the wallet to a transaction's outputs; unsigned.
    #[method(name = "fundrawtransaction", with_extensions)]
    async fn fundrawtransaction(
        &self,
        hexstring: String,
        options: Option<serde_json::Value>,
        iswitness: Option<bool>,
    ) -> RpcResult<serde_json::Value>;
    /// Wallet transactions since a block (all without one), and those a reorg removed.
    #[method(name = "listsinceblock", with_extensions)]
    async fn listsinceblock(
        &self,
        blockhash: Option<BlockHash>,
        target_confirmations: Option<Int<i64>>,
        include_watchonly: Option<bool>,
        include_removed: Option<bool>,
        include_change: Option<bool>,
        label: Option<String>,
    ) -> RpcResult<ListSinceBlock>;
    /// Locks or unlocks coins out of coin selection.
    #[method(name = "lockunspent", with_extensions)]
    async fn lockunspent(&self, unlock: bool, transactions: Option<Vec<serde_json::Value>>, persistent: Option<bool>) -> RpcResult<bool>;
    /// The locked coins.
    #[method(name = "listlockunspent", with_extensions)]
    async fn listlockunspent(&self) -> RpcResult<Vec<LockedCoin>>;
    /// Gives up an unconfirmed transaction that is not in the mempool.
    #[method(name = "abandontransaction", with_extensions)]
    async fn abandontransaction(&self, txid: Txid) -> RpcResult<()>;
    /// The total received by an address.
    #[method(name = "getreceivedbyaddress", with_extensions)]
    async fn getreceivedbyaddress(
        &self,
        address: String,
        minconf: Option<Int<i64>>,
        include_immature_coinbase: Option<bool>,
    ) -> RpcResult<CoinAmount>;
    /// What each receiving address got.
    #[method(name = "listreceivedbyaddress", with_extensions)]
    async fn listreceivedbyaddress(
        &self,
        minconf: Option<Int<i64>>,
        include_empty: Option<bool>,
        include_watchonly: Option<bool>,
        address_filter: Option<String>,
        include_immature_coinbase: Option<bool>,
    ) -> RpcResult<Vec<ReceivedByAddress>>;
    /// What the wallet knows of an address.
    #[method(name = "getaddressinfo", with_extensions)]
    async fn getaddressinfo(&self, address: String) -> RpcResult<AddressInfo>;
    /// Signs a message with an address's key.
    #[method(name = "signmessage", with_extensions)]
    async fn signmessage(&self, address: String, message: String) -> RpcResult<String>;
    /// Checks a signed message.
    #[method(name = "verifymessage")]
    async fn verifymessage(&self, address: String, signature: String, message: String) -> RpcResult<bool>;
    /// Copies the wallet file to `destination`.
    #[method(name = "backupwallet", with_extensions)]
    async fn backupwallet(&self, destination: String) -> RpcResult<()>;
    /// Sets the wallet's fee rate (coins per 1000 bytes; 0: the default).
    #[method(name = "settxfee", with_extensions)]
    async fn settxfee(&self, amount: AmountParam) -> RpcResult<bool>;
    /// Checks an address.
    #[method(name = "validateaddress")]
    async fn validateaddress(&self, address: String) -> RpcResult<ValidateAddress>;
}

/// Peers.
#[rpc(server)]
pub trait NetworkApi {
    /// Network state.
    #[method(name = "getnetworkinfo")]
    async fn getnetworkinfo(&self) -> RpcResult<NetworkInfo>;
    /// Connected peers.
    #[method(name = "getpeerinfo")]
    async fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>>;
    /// Number of connected peers.
    #[method(name = "getconnectioncount")]
    async fn getconnectioncount(&self) -> RpcResult<usize>;
    /// Bytes sent and received since the start.
    #[method(name = "getnettotals")]
    fn getnettotals(&self) -> RpcResult<NetTotals>;
    /// The peers added with `addnode add` and whether they are connected.
    #[method(name = "getaddednodeinfo")]
    async fn getaddednodeinfo(&self, node: Option<String>) -> RpcResult<Vec<AddedNodeEntry>>;
    /// Turns all network activity off or on; returns the new state.
    #[method(name = "setnetworkactive")]
    async fn setnetworkactive(&self, state: bool) -> RpcResult<bool>;
    /// Asks for fresh ping times (libp2p pings every peer every 10 s anyway).
    #[method(name = "ping")]
    fn ping(&self) -> RpcResult<()>;
    /// Adds, removes or tries once a peer (`add|remove|onetry`).
    #[method(name = "addnode")]
    async fn addnode(&self, node: String, command: String) -> RpcResult<()>;
    /// Peers banned for misbehaviour.
    #[method(name = "listbanned")]
    async fn listbanned(&self) -> RpcResult<Vec<BannedPeer>>;
    /// Bans (`add`) or unbans (`remove`) a peer id for `bantime` seconds (default 86400), or
    /// until the Unix time `bantime` if `absolute`.
    #[method(name = "setban")]
    async fn setban(&self, subnet: String, command: String, bantime: Option<Int<u64>>, absolute: Option<bool>) -> RpcResult<()>;
    /// Lifts every ban.
    #[method(name = "clearbanned")]
    async fn clearbanned(&self) -> RpcResult<()>;
    /// Disconnects a peer, by peer id or address, or by the `id` of `getpeerinfo`.
    #[method(name = "disconnectnode")]
    async fn disconnectnode(&self, address: Option<String>, nodeid: Option<Int<u64>>) -> RpcResult<()>;
}

/// File sharing by content hash.
#[rpc(server)]
pub trait FilesApi {
    /// Shares a file or a folder: hashes it into pieces, announces this node as a provider and files it
    /// under its keywords (default: the words of its name).
    /// With `anchor`, also anchors it in the chain (as `anchorfile`, paid by the wallet the call
    /// names).
    #[method(name = "publishfile", with_extensions)]
    async fn publishfile(
        &self,
        path: String,
        name: Option<String>,
        keywords: Option<Vec<String>>,
        anchor: Option<bool>,
    ) -> RpcResult<PublishFileResult>;
    /// Anchors a content id in the chain: a wallet transaction whose data output commits to it
    /// ([`cairn_chain::anchor`]), broadcast at once.
    #[method(name = "anchorfile", with_extensions)]
    async fn anchorfile(&self, cid: String) -> RpcResult<AnchorFileResult>;
    /// The earliest anchor of a content id in the active chain (or, if none is mined yet, one
    /// waiting in the mempool): proof that the content existed no later than that block's time.
    #[method(name = "verifyanchor")]
    async fn verifyanchor(&self, cid: String) -> RpcResult<AnchorInfo>;
    /// Finds files: by keywords on the Chord ring (every word must match), or with
    /// `{"flood": true, "ttl": n}` by a substring of the name among the nodes within n hops.
    #[method(name = "searchfiles")]
    async fn searchfiles(&self, query: serde_json::Value, options: Option<SearchOptions>) -> RpcResult<Vec<SearchFileResult>>;
    /// Everything this node shares or fetches.
    #[method(name = "listfiles")]
    async fn listfiles(&self) -> RpcResult<Vec<FileStatus>>;
    /// Starts fetching a file or folder by content id or share link (`magnet:?xt=urn:cairn:…`,
    /// whose peers are asked at once); returns at once. `files` chooses files or sub-folders of a
    /// folder (default: all).
    #[method(name = "fetchfile")]
    async fn fetchfile(&self, cid: String, dest: Option<String>, files: Option<Vec<String>>) -> RpcResult<FileStatus>;
    /// Progress of a fetch (or state of a published file).
    #[method(name = "getfetchstatus")]
    async fn getfetchstatus(&self, cid: String) -> RpcResult<FileStatus>;
    /// Stops sharing or fetching a file (its data file stays on disk).
    #[method(name = "removefile")]
    async fn removefile(&self, cid: String) -> RpcResult<()>;
    /// Pauses a fetch or a shared file: out of its swarm and not announced, its verified pieces
    /// kept (also across restarts) until `resumefile`.
    #[method(name = "pausefile")]
    async fn pausefile(&self, cid: String) -> RpcResult<FileStatus>;
    /// Resumes a paused file (or retries a failed fetch) from the pieces it holds.
    #[method(name = "resumefile")]
    async fn resumefile(&self, cid: String) -> RpcResult<FileStatus>;
}

/// The Chord ring that indexes shared files.
#[rpc(server)]
pub trait ChordApi {
    /// This node's place on the ring: id, predecessor, successors, fingers, keys stored.
    #[method(name = "getchordinfo")]
    async fn getchordinfo(&self) -> RpcResult<ChordInfo>;
    /// The node responsible for a key (a 64-hex-digit id such as a cid, or a keyword).
    #[method(name = "chordlookup")]
    async fn chordlookup(&self, key: String) -> RpcResult<ChordLookupResult>;
}

/// Utilities.
#[rpc(server)]
pub trait UtilApi {
    /// The fee rate (coins per kvB) that should get a transaction confirmed within
    /// `conf_target` blocks, from what this node watched confirm.
    #[method(name = "estimatesmartfee")]
    async fn estimatesmartfee(&self, conf_target: Int<i64>, estimate_mode: Option<String>) -> RpcResult<FeeEstimate>;
}

/// The server itself.
#[rpc(server)]
pub trait ControlApi {
    /// Turns log categories on (`include`) or off (`exclude`); returns every category's state.
    #[method(name = "logging")]
    fn logging(&self, include: Option<Vec<String>>, exclude: Option<Vec<String>>) -> RpcResult<serde_json::Value>;
    /// Lists the methods, or explains one.
    #[method(name = "help")]
    fn help(&self, command: Option<String>) -> RpcResult<String>;
    /// The calls being served and where the log goes.
    #[method(name = "getrpcinfo")]
    fn getrpcinfo(&self) -> RpcResult<RpcInfo>;
    /// Shuts the node down cleanly.
    #[method(name = "stop")]
    fn stop(&self) -> RpcResult<String>;
    /// Seconds since the node started.
    #[method(name = "uptime")]
    fn uptime(&self) -> RpcResult<u64>;
    /// Memory use, as Core reports its locked pool (`mode`: `stats`, default; `mallocinfo` is
    /// refused as on a Core built without glibc).
    #[method(name = "getmemoryinfo")]
    fn getmemoryinfo(&self, mode: Option<String>) -> RpcResult<MemoryInfo>;
}
