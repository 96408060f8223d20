//! Cairn's peer layer: one libp2p Swarm owned by one event loop (gossip of blocks and
//! transactions, Kademlia, sync, content swarming and the Chord ring). Built in the network issue;
//! empty until then.
