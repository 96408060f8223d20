//! `ControlApi`: help, stop, uptime.

use cairn_rpc::api::ControlApiServer;
use cairn_rpc::help::help_text;
use cairn_rpc::{RpcError, RpcResult};

use super::RpcContext;

impl ControlApiServer for RpcContext {
    fn help(&self, command: Option<String>) -> RpcResult<String> {
        help_text(command.as_deref()).ok_or_else(|| RpcError::misc(format!("help: unknown command: {}", command.unwrap_or_default())))
    }

    fn stop(&self) -> RpcResult<String> {
        tracing::info!("stop requested over RPC");
        self.shutdown.trigger();
        Ok("Cairn server stopping".to_string())
    }

    fn uptime(&self) -> RpcResult<u64> {
        Ok(self.started.elapsed().as_secs())
    }
}
