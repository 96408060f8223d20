//! `UtilApi`: fee estimation.

use cairn_chain::Amount;
use cairn_rpc::api::UtilApiServer;
use cairn_rpc::types::{CoinAmount, FeeEstimate, Int};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use crate::fees::MAX_TARGET;

#[async_trait]
impl UtilApiServer for RpcContext {
    async fn estimatesmartfee(&self, conf_target: Int<i64>, estimate_mode: Option<String>) -> RpcResult<FeeEstimate> {
        let target = conf_target.get("conf_target")?;
        if !(1..=i64::from(MAX_TARGET)).contains(&target) {
            return Err(RpcError::invalid_parameter(format!(
                "Invalid conf_target, must be between 1 and {MAX_TARGET}"
            )));
        }
        let threshold = match estimate_mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("unset") | Some("economical") => 0.85,
            Some("conservative") => 0.95,
            Some(_) => {
                return Err(RpcError::invalid_parameter(
                    "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"",
                ));
            }
        };
        self.with_state(move |s| {
            // Core answers at least 2 blocks: the next block is not a target an estimate can keep.
            let target = (target as u32).max(2);
            Ok(match s.fees.estimate(target, threshold, s.chain.height()) {
                Some(e) => {
                    // Never below what the pool takes now.
                    let rate = e.rate_per_kb.max(s.mempool.min_fee_rate());
                    FeeEstimate {
                        feerate: Some(CoinAmount(Amount::from_units(rate).unwrap_or(Amount::MAX_MONEY))),
                        errors: Vec::new(),
                        blocks: e.blocks,
                    }
                }
                None => FeeEstimate {
                    feerate: None,
                    errors: vec!["Insufficient data or no feerate found".into()],
                    blocks: target,
                },
            })
        })
        .await
    }
}
