//! Temporary: the intent journal's API until migration 2 lands (state-identity branch).

use super::error::Result;
use super::store::Store;
use crate::addr::ResourceAddress;

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub fn begin_intent(
        &mut self,
        _run: Option<i64>,
        _address: &ResourceAddress,
        _cluster: &str,
        _action: &str,
        _vmid: Option<u32>,
        _node: Option<&str>,
        _detail: serde_json::Value,
    ) -> Result<String> {
        Ok(uuid::Uuid::new_v4().to_string())
    }
    pub fn intent_started(&mut self, _id: &str, _upid: &str) -> Result<()> {
        Ok(())
    }
    pub fn finish_intent(&mut self, _id: &str) -> Result<()> {
        Ok(())
    }
    pub fn abandon_intent(&mut self, _id: &str, _why: &str) -> Result<()> {
        Ok(())
    }
}
