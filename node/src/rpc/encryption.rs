//! `encryptwallet`, `walletpassphrase`, `walletpassphrasechange` (and the errors `walletlock`
//! shares): the key derivation (Argon2id, tens of MiB and a fraction of a second by design) runs
//! on a blocking thread, never on the wallet's thread or the runtime, so a caller guessing
//! passphrases holds up neither. The wallet is chosen once, by the endpoint, and later steps name
//! it, so a wallet loaded in between cannot change which one they reach.

use cairn_rpc::error::code;
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::crypter::{Encryption, KdfParams, MasterKey};
use jsonrpsee::Extensions;

use super::RpcContext;
use super::convert::wallet_err;
use crate::clock::unix_now;

/// Longest unlock (Core's cap: about three years).
pub const MAX_UNLOCK_SECONDS: i64 = 100_000_000;

/// Core's error for an encryption command on an unencrypted wallet.
pub fn not_encrypted(method: &str) -> RpcError {
    RpcError::new(
        code::WALLET_WRONG_ENC_STATE,
        format!("Error: running with an unencrypted wallet, but {method} was called."),
    )
}

fn empty_passphrase() -> RpcError {
    RpcError::invalid_parameter("passphrase cannot be empty")
}

fn incorrect() -> RpcError {
    RpcError::new(
        code::WALLET_PASSPHRASE_INCORRECT,
        "Error: The wallet passphrase entered was incorrect.",
    )
}

/// Key derivations running at once: each takes the KDF's memory (64 MiB by default, up to the
/// 1 GiB a wallet file may ask for), so callers queue rather than exhaust the machine.
const KDF_AT_ONCE: usize = 2;

/// Runs the slow KDF step `f` on a blocking thread, at most [`KDF_AT_ONCE`] at a time.
async fn off_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> RpcResult<R> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(KDF_AT_ONCE);
    let _slot = SLOTS.acquire().await.map_err(|e| RpcError::internal(e.to_string()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| RpcError::internal(e.to_string()))
}

impl RpcContext {
    /// The endpoint's wallet: its name and how its master key is sealed (`None`: unencrypted).
    async fn encryption_of(&self, ext: &Extensions) -> RpcResult<(String, Option<Encryption>)> {
        self.with_wallet(ext, |s| Ok((s.name.to_string(), s.wallet.encryption().cloned())))
            .await
    }

    pub(super) async fn encrypt_wallet(&self, ext: &Extensions, passphrase: String) -> RpcResult<String> {
        if passphrase.is_empty() {
            return Err(empty_passphrase());
        }
        let (name, encryption) = self.encryption_of(ext).await?;
        if encryption.is_some() {
            return Err(RpcError::new(
                code::WALLET_WRONG_ENC_STATE,
                "Error: running with an encrypted wallet, but encryptwallet was called.",
            ));
        }
        let (encryption, master) = off_thread(move || Encryption::create(&passphrase, KdfParams::DEFAULT))
            .await?
            .ok_or_else(|| RpcError::new(code::WALLET_ENCRYPTION_FAILED, "Error: Failed to encrypt the wallet."))?;
        self.on_named(name, move |w| w.encrypt(encryption, &master).map_err(wallet_err))
            .await?;
        Ok("wallet encrypted; the wallet is locked now: use walletpassphrase to send or make addresses. Backups made before hold the keys unencrypted: make a new backup and destroy the old ones.".into())
    }

    pub(super) async fn unlock_wallet(&self, ext: &Extensions, passphrase: String, timeout: i64) -> RpcResult<()> {
        let (name, encryption) = self.encryption_of(ext).await?;
        let Some(encryption) = encryption else {
            return Err(not_encrypted("walletpassphrase"));
        };
        if timeout < 0 {
            return Err(RpcError::invalid_parameter("Timeout cannot be negative."));
        }
        if passphrase.is_empty() {
            return Err(empty_passphrase());
        }
        let seconds = timeout.min(MAX_UNLOCK_SECONDS) as u64;
        let master: MasterKey = off_thread(move || encryption.unlock(&passphrase)).await?.ok_or_else(incorrect)?;
        self.on_named(name, move |w| w.unlock(master, unix_now() + seconds).map_err(wallet_err))
            .await
    }

    pub(super) async fn change_passphrase(&self, ext: &Extensions, old: String, new: String) -> RpcResult<()> {
        let (name, encryption) = self.encryption_of(ext).await?;
        let Some(encryption) = encryption else {
            return Err(not_encrypted("walletpassphrasechange"));
        };
        if old.is_empty() || new.is_empty() {
            return Err(empty_passphrase());
        }
        let unlocked = encryption.clone();
        let resealed = off_thread(move || {
            let master = unlocked.unlock(&old)?;
            Encryption::reseal(&master, &new, KdfParams::DEFAULT)
        })
        .await?
        .ok_or_else(incorrect)?;
        // Only over the sealing the old passphrase opened: a change made meanwhile stands, and
        // this one is refused rather than silently undoing it.
        self.on_named(name, move |w| {
            if w.encryption() != Some(&encryption) {
                return Err(incorrect());
            }
            w.replace_encryption(resealed).map_err(wallet_err)
        })
        .await
    }
}
