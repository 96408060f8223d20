//! Where the providers of a file are found: one small interface, so that the Chord ring can take
//! the place of Kademlia's provider records without touching the swarm code.

use cairn_p2p::content::ContentId;
use cairn_p2p::{NetworkHandle, PeerId};
use futures::future::BoxFuture;

/// A directory of who provides which file.
pub trait Providers: Send + Sync + std::fmt::Debug + 'static {
    /// Announces this node as a provider of `cid` (kept up to date by the directory).
    fn announce(&self, cid: ContentId);
    /// Stops announcing `cid`.
    fn withdraw(&self, cid: ContentId);
    /// Looks up the providers of `cid` (a bounded wait; may be empty).
    fn find(&self, cid: ContentId) -> BoxFuture<'static, Result<Vec<PeerId>, String>>;
}

/// Kademlia provider records (the key is the CID's 32 bytes); Kademlia republishes them.
#[derive(Clone, Debug)]
pub struct KademliaProviders(pub NetworkHandle);

impl Providers for KademliaProviders {
    fn announce(&self, cid: ContentId) {
        self.0.provide(cid.as_bytes().to_vec(), true);
    }

    fn withdraw(&self, cid: ContentId) {
        self.0.provide(cid.as_bytes().to_vec(), false);
    }

    fn find(&self, cid: ContentId) -> BoxFuture<'static, Result<Vec<PeerId>, String>> {
        let net = self.0.clone();
        Box::pin(async move { net.find_providers(cid.as_bytes().to_vec()).await.map_err(|e| e.to_string()) })
    }
}
