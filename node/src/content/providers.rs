//! Where the providers of a file are found: one small interface between the swarm code and the
//! content index (the Chord ring).

use cairn_p2p::content::ContentId;
use cairn_p2p::{IndexHandle, LocalFile, PeerId};
use futures::future::BoxFuture;

/// A directory of who provides which file.
pub trait Providers: Send + Sync + std::fmt::Debug + 'static {
    /// Announces this node as a provider of `file` (kept up to date by the directory), and
    /// files it under its keywords.
    fn announce(&self, file: LocalFile);
    /// Stops announcing `cid`.
    fn withdraw(&self, cid: ContentId);
    /// Looks up the providers of `cid` (a bounded wait; may be empty).
    fn find(&self, cid: ContentId) -> BoxFuture<'static, Result<Vec<PeerId>, String>>;
}

/// The Chord ring: provider records under the CID, keyword postings under each keyword,
/// republished by the index service.
#[derive(Clone, Debug)]
pub struct ChordProviders(pub IndexHandle);

impl Providers for ChordProviders {
    fn announce(&self, file: LocalFile) {
        self.0.provide(file);
    }

    fn withdraw(&self, cid: ContentId) {
        self.0.withdraw(cid);
    }

    fn find(&self, cid: ContentId) -> BoxFuture<'static, Result<Vec<PeerId>, String>> {
        let index = self.0.clone();
        Box::pin(async move { index.find_providers(cid).await.map_err(|e| e.to_string()) })
    }
}
