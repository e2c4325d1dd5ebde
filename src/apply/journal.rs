//! The intent journal as apply uses it: an intent is durable before the Proxmox write it
//! describes, gets the task's UPID once known, and is closed when the change is committed. A
//! later plan or apply finds the open ones (see `recover`).

use std::sync::{Arc, Mutex};

use crate::addr::ResourceAddress;
use crate::state::Store;

/// An open intent's id.
#[derive(Debug, Clone)]
pub struct IntentId(pub String);

pub struct Journal {
    pub store: Arc<Mutex<Store>>,
    pub run: i64,
}

impl Journal {
    pub fn begin(
        &self,
        address: &ResourceAddress,
        cluster: &str,
        action: &str,
        vmid: Option<u32>,
        node: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<IntentId, String> {
        let mut s = self.store.lock().map_err(|_| "state store lock poisoned".to_string())?;
        s.begin_intent(Some(self.run), address, cluster, action, vmid, node, detail)
            .map(IntentId)
            .map_err(|e| format!("cannot record the intent in state: {e}"))
    }

    pub fn started(&self, id: &IntentId, upid: &str) -> Result<(), String> {
        let mut s = self.store.lock().map_err(|_| "state store lock poisoned".to_string())?;
        s.intent_started(&id.0, upid).map_err(|e| format!("cannot record the task in state: {e}"))
    }

    pub fn finish(&self, id: &IntentId) -> Result<(), String> {
        let mut s = self.store.lock().map_err(|_| "state store lock poisoned".to_string())?;
        s.finish_intent(&id.0).map_err(|e| format!("cannot close the intent in state: {e}"))
    }

    pub fn abandon(&self, id: &IntentId, why: &str) {
        if let Ok(mut s) = self.store.lock() {
            let _ = s.abandon_intent(&id.0, why);
        }
    }
}
