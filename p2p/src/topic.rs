//! Gossip topics and the other protocol names Cairn puts on the wire, one set per network so that
//! regtest and testnet nodes never mix (each name is also what a js-libp2p node must use to join).

use cairn_chain::Network;
use libp2p::StreamProtocol;
use libp2p::gossipsub::{IdentTopic, TopicHash};

/// A gossip topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Blocks, in the canonical encoding.
    Blocks,
    /// Transactions, in the canonical encoding.
    Transactions,
}

impl Topic {
    /// Both topics.
    pub const ALL: [Topic; 2] = [Topic::Blocks, Topic::Transactions];

    /// The topic string, e.g. `/cairn/regtest/blocks/1`.
    pub fn name(self, network: Network) -> String {
        let kind = match self {
            Topic::Blocks => "blocks",
            Topic::Transactions => "txs",
        };
        format!("/cairn/{}/{kind}/1", network.as_str())
    }

    /// The gossipsub topic.
    pub fn ident(self, network: Network) -> IdentTopic {
        IdentTopic::new(self.name(network))
    }

    /// Which of ours a received topic hash is, if any.
    pub fn from_hash(hash: &TopicHash, network: Network) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.ident(network).hash() == *hash)
    }
}

/// Kademlia's protocol name, e.g. `/cairn/regtest/kad/1.0.0`.
pub fn kad_protocol(network: Network) -> StreamProtocol {
    match network {
        Network::Regtest => StreamProtocol::new("/cairn/regtest/kad/1.0.0"),
        Network::Testnet => StreamProtocol::new("/cairn/testnet/kad/1.0.0"),
    }
}

/// identify's protocol version string, e.g. `/cairn/regtest/1.0.0`.
pub fn identify_protocol(network: Network) -> String {
    format!("/cairn/{}/1.0.0", network.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_per_network_and_recognised() {
        assert_eq!(Topic::Blocks.name(Network::Regtest), "/cairn/regtest/blocks/1");
        assert_eq!(Topic::Transactions.name(Network::Testnet), "/cairn/testnet/txs/1");
        let h = Topic::Transactions.ident(Network::Regtest).hash();
        assert_eq!(Topic::from_hash(&h, Network::Regtest), Some(Topic::Transactions));
        assert_eq!(Topic::from_hash(&h, Network::Testnet), None);
        assert_eq!(kad_protocol(Network::Testnet).as_ref(), "/cairn/testnet/kad/1.0.0");
    }
}
