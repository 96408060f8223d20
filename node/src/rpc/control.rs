//! `ControlApi`: help, stop, uptime, getmemoryinfo.

use cairn_rpc::api::ControlApiServer;
use cairn_rpc::error::code;
use cairn_rpc::spec::help_text;
use cairn_rpc::types::{ActiveCommand, LockedMemory, MemoryInfo, RpcInfo};
use cairn_rpc::{RpcError, RpcResult};

use super::RpcContext;

impl ControlApiServer for RpcContext {
    fn help(&self, command: Option<String>) -> RpcResult<String> {
        Ok(help_text(command.as_deref()))
    }

    fn logging(&self, include: Option<Vec<String>>, exclude: Option<Vec<String>>) -> RpcResult<serde_json::Value> {
        let logging = crate::logging::get().ok_or_else(|| RpcError::misc("logging is not set up in this process"))?;
        let states = logging
            .change(&include.unwrap_or_default(), &exclude.unwrap_or_default())
            .map_err(|e| RpcError::invalid_parameter(e.to_string()))?;
        Ok(serde_json::Value::Object(
            states
                .into_iter()
                .map(|(name, on)| (name.to_string(), serde_json::Value::Bool(on)))
                .collect(),
        ))
    }

    fn stop(&self) -> RpcResult<String> {
        tracing::info!("stop requested over RPC");
        self.shutdown.trigger();
        Ok("Cairn server stopping".to_string())
    }

    fn getrpcinfo(&self) -> RpcResult<RpcInfo> {
        Ok(RpcInfo {
            active_commands: self
                .active
                .list()
                .into_iter()
                .map(|(method, d)| ActiveCommand {
                    method,
                    duration: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                })
                .collect(),
            // Cairn writes its log to standard error (cairn-testnet: to each node's node.log).
            logpath: crate::logging::get()
                .and_then(|l| l.file_path())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        })
    }

    fn uptime(&self) -> RpcResult<u64> {
        Ok(self.started.elapsed().as_secs())
    }

    fn getmemoryinfo(&self, mode: Option<String>) -> RpcResult<MemoryInfo> {
        match mode.as_deref().unwrap_or("stats") {
            // Core's locked pool holds key material in mlock'ed pages; Cairn has no such pool,
            // so its figures are all 0 (README, RPC).
            "stats" => Ok(MemoryInfo {
                locked: LockedMemory::default(),
            }),
            "mallocinfo" => Err(RpcError::new(code::INVALID_PARAMETER, "mallocinfo mode not available")),
            other => Err(RpcError::new(code::INVALID_PARAMETER, format!("unknown mode {other}"))),
        }
    }
}
