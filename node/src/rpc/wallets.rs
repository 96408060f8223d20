//! Wallets by name: `createwallet`, `loadwallet`, `unloadwallet`, `listwallets`,
//! `getwalletinfo` (the trait methods in [`super::wallet`] call these).
//!
//! Each wallet is a directory `NETDIR/wallets/<name>/` holding its `wallet.json`. A wallet
//! loaded while the node runs is rescanned from its birth and joins the wallet service at the
//! point of the chain's event stream the rescan reached ([`crate::wallet_load`]). Which wallets
//! are loaded at start is kept in `settings.json` ([`crate::settings`]), changed by the
//! `load_on_startup` arguments as in Core.

use cairn_rpc::error::code;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::crypter::{Encryption, KdfParams};
use cairn_wallet::{Wallet, WalletError};
use jsonrpsee::Extensions;

use super::convert::{stopped, wallet_err};
use super::{RpcContext, endpoint_wallet};
use crate::clock::unix_now;
use crate::settings::{Settings, valid_wallet_name};
use crate::wallet_load::{AttachError, attach};

/// Core's warning when `settings.json` could not be changed.
const SETTINGS_WARNING: &str = "Wallet load on startup setting could not be updated, so wallet may not be loaded next node startup.";

/// Holds a name in [`RpcContext::loading`] while a wallet is created or loaded.
struct Loading<'a> {
    ctx: &'a RpcContext,
    name: String,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.ctx.loading.lock() {
            set.remove(&self.name);
        }
    }
}

fn attach_err(e: AttachError) -> RpcError {
    match e {
        AttachError::AlreadyLoaded(_) => RpcError::new(code::WALLET_ALREADY_LOADED, e.to_string()),
        AttachError::Stopped => RpcError::new(code::IN_WARMUP, "the node is shutting down"),
        AttachError::Store(_) => RpcError::new(code::DATABASE_ERROR, e.to_string()),
        _ => RpcError::new(code::WALLET_ERROR, e.to_string()),
    }
}

impl RpcContext {
    fn check_name(name: &str) -> RpcResult<()> {
        if valid_wallet_name(name) {
            Ok(())
        } else {
            Err(RpcError::invalid_parameter(format!(
                "Invalid wallet name {name:?}: use 1 to 64 letters, digits, spaces, '-', '_' or '.', not starting with '.'"
            )))
        }
    }

    fn begin_loading(&self, name: &str) -> RpcResult<Loading<'_>> {
        let mut set = self
            .loading
            .lock()
            .map_err(|_| RpcError::internal("wallet loading lock poisoned"))?;
        if !set.insert(name.to_string()) {
            return Err(RpcError::new(code::WALLET_ERROR, "Wallet already loading."));
        }
        Ok(Loading {
            ctx: self,
            name: name.to_string(),
        })
    }

    async fn is_loaded(&self, name: &str) -> RpcResult<bool> {
        let name = name.to_string();
        self.wallet.run(move |s| s.is_loaded(&name)).await.map_err(stopped)
    }

    /// Applies `load_on_startup`; a failure is a warning, as Core.
    async fn remember(&self, name: &str, load_on_startup: Option<bool>, warnings: &mut Vec<String>) {
        let Some(on) = load_on_startup else { return };
        let (settings, name) = (Settings::new(&self.net_dir), name.to_string());
        match tokio::task::spawn_blocking(move || settings.set_load_on_startup(&name, on)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "updating settings.json");
                warnings.push(SETTINGS_WARNING.into());
            }
            Err(_) => warnings.push(SETTINGS_WARNING.into()),
        }
    }

    /// Offers the mempool the wallet's transactions that are in no block and not in the pool.
    async fn resubmit_wallet(&self, name: String) {
        let txs = self
            .wallet
            .run(move |s| {
                s.select(Some(&name))
                    .map(|w| w.wallet.transactions_to_resubmit())
                    .unwrap_or_default()
            })
            .await
            .unwrap_or_default();
        for tx in txs {
            let txid = tx.compute_txid();
            if let Ok(Err(e)) = self.chain.submit_tx(tx).await {
                tracing::debug!(%txid, error = %e, "wallet transaction not resubmitted");
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn create_wallet(
        &self,
        name: String,
        disable_private_keys: Option<bool>,
        _blank: Option<bool>,
        passphrase: Option<String>,
        avoid_reuse: Option<bool>,
        _descriptors: Option<bool>,
        load_on_startup: Option<bool>,
        external_signer: Option<bool>,
    ) -> RpcResult<LoadWalletResult> {
        Self::check_name(&name)?;
        if disable_private_keys == Some(true) {
            return Err(RpcError::new(
                code::WALLET_ERROR,
                "Cairn wallets hold their keys: disable_private_keys=true is not supported",
            ));
        }
        if avoid_reuse == Some(true) {
            return Err(RpcError::new(code::WALLET_ERROR, "avoid_reuse=true is not supported"));
        }
        if external_signer == Some(true) {
            return Err(RpcError::new(
                code::WALLET_ERROR,
                "Compiled without external signing support (required for external signing)",
            ));
        }
        let mut warnings = Vec::new();
        let passphrase = match passphrase {
            Some(p) if p.is_empty() => {
                warnings.push("Empty string given as passphrase, wallet will not be encrypted.".to_string());
                None
            }
            other => other,
        };
        let _loading = self.begin_loading(&name)?;
        let exists = RpcError::new(code::WALLET_ALREADY_EXISTS, format!("Wallet \"{name}\" already exists."));
        if self.is_loaded(&name).await? {
            return Err(exists);
        }
        let (dir, network, height) = (self.net_dir.join("wallets").join(&name), self.network, self.chain.tip().height);
        let wallet = tokio::task::spawn_blocking(move || {
            let mut wallet = Wallet::create(&dir, network, height, unix_now())?;
            // Encrypted before it holds a key (the KDF runs here, off the runtime); locked. If
            // that fails, the new (empty) wallet goes: no unencrypted wallet stays behind.
            if let Some(p) = passphrase {
                let encrypted = Encryption::create(&p, KdfParams::DEFAULT)
                    .ok_or(WalletError::WrongEncState("encryption failed"))
                    .and_then(|(encryption, master)| wallet.encrypt(encryption, &master));
                if let Err(e) = encrypted {
                    drop(wallet);
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
            Ok::<_, WalletError>(wallet)
        })
        .await
        .map_err(|e| RpcError::internal(e.to_string()))?
        .map_err(|e| match e {
            WalletError::AlreadyExists { .. } => exists,
            other => wallet_err(other),
        })?;
        attach(&self.chain, &self.wallet, name.clone(), wallet).await.map_err(attach_err)?;
        self.remember(&name, load_on_startup, &mut warnings).await;
        Ok(LoadWalletResult { name, warnings })
    }

    pub(super) async fn load_wallet(&self, name: String, load_on_startup: Option<bool>) -> RpcResult<LoadWalletResult> {
        Self::check_name(&name)?;
        let _loading = self.begin_loading(&name)?;
        if self.is_loaded(&name).await? {
            return Err(RpcError::new(
                code::WALLET_ALREADY_LOADED,
                format!("Wallet \"{name}\" is already loaded."),
            ));
        }
        let (dir, network) = (self.net_dir.join("wallets").join(&name), self.network);
        let shown = dir.display().to_string();
        let wallet = tokio::task::spawn_blocking(move || Wallet::open(&dir, network))
            .await
            .map_err(|e| RpcError::internal(e.to_string()))?
            .map_err(|e| RpcError::new(code::WALLET_ERROR, format!("Wallet file verification failed. {e}")))?
            .ok_or_else(|| {
                RpcError::new(
                    code::WALLET_NOT_FOUND,
                    format!("Wallet file verification failed. Failed to load database path '{shown}'. Path does not exist."),
                )
            })?;
        attach(&self.chain, &self.wallet, name.clone(), wallet).await.map_err(attach_err)?;
        self.resubmit_wallet(name.clone()).await;
        let mut warnings = Vec::new();
        self.remember(&name, load_on_startup, &mut warnings).await;
        Ok(LoadWalletResult { name, warnings })
    }

    pub(super) async fn unload_wallet(
        &self,
        ext: &Extensions,
        wallet_name: Option<String>,
        load_on_startup: Option<bool>,
    ) -> RpcResult<UnloadWalletResult> {
        let name = match (endpoint_wallet(ext), wallet_name) {
            (Some(a), Some(b)) if a != b => {
                return Err(RpcError::invalid_parameter(
                    "RPC endpoint wallet and wallet_name parameter specify different wallets",
                ));
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(RpcError::invalid_parameter(
                    "Either the RPC endpoint wallet or the wallet name parameter must be provided",
                ));
            }
        };
        // A payment in progress finishes (and is recorded) before its wallet goes.
        let _no_payment = self.send_lock.lock().await;
        let removed = {
            let name = name.clone();
            self.wallet
                .run(move |s| {
                    let i = s.wallets.iter().position(|(n, _)| *n == name)?;
                    Some(s.wallets.remove(i))
                })
                .await
                .map_err(stopped)?
        };
        let Some((_, wallet)) = removed else {
            return Err(RpcError::new(
                code::WALLET_NOT_FOUND,
                "Requested wallet does not exist or is not loaded",
            ));
        };
        tracing::info!(wallet = %name, "wallet unloaded");
        // Every change was written when it was made; dropping the wallet only frees memory.
        drop(wallet);
        let mut warnings = Vec::new();
        self.remember(&name, load_on_startup, &mut warnings).await;
        Ok(UnloadWalletResult { warnings })
    }

    pub(super) async fn list_wallets(&self) -> RpcResult<Vec<String>> {
        self.wallet
            .run(|s| s.wallets.iter().map(|(n, _)| n.clone()).collect())
            .await
            .map_err(stopped)
    }

    pub(super) async fn wallet_info(&self, ext: &Extensions) -> RpcResult<WalletInfo> {
        self.with_wallet(ext, |s| {
            Ok(WalletInfo {
                walletname: s.name.to_string(),
                walletversion: 169_900,
                format: "json".into(),
                txcount: s.wallet.tx_count(),
                keypoolsize: 0,
                unlocked_until: s.wallet.unlocked_until(unix_now()),
                private_keys_enabled: true,
                avoid_reuse: false,
                scanning: NotScanning,
                descriptors: false,
                external_signer: false,
                blank: false,
                birthtime: s.wallet.birth_time(),
                flags: Vec::new(),
                lastprocessedblock: BlockRef {
                    hash: s.tip_hash,
                    height: s.tip_height,
                },
            })
        })
        .await
    }
}
