//! Gossipsub peer scoring (finding 11): invalid messages and many peer ids on one address get a
//! sender's messages dropped before the node spends anything on them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cairn_p2p::{Limits, NetworkEvent, PeerId, Topic, Verdict};

use super::{Peer, WAIT, peer, peer_with};

/// Waits until `victim` has `n` peers connected, answering nothing on the way.
async fn connected(victim: &mut Peer, n: usize) {
    let mut seen = HashSet::new();
    tokio::time::timeout(WAIT, async {
        while seen.len() < n {
            if let Some(NetworkEvent::PeerConnected { peer, .. }) = victim.events.recv().await {
                seen.insert(peer);
            }
        }
    })
    .await
    .expect("peers connected");
}

/// Collects the gossip `victim` is handed for `period`, judging each with `verdict`.
async fn gossip_received(victim: &mut Peer, period: Duration, verdict: Verdict) -> Vec<PeerId> {
    let mut from = Vec::new();
    let end = Instant::now() + period;
    while let Ok(Some(event)) = tokio::time::timeout_at(end.into(), victim.events.recv()).await {
        if let NetworkEvent::Gossip { id, source, topic, .. } = event {
            victim.net.report(id, source, topic, verdict).await;
            from.push(source);
        }
    }
    from
}

/// Each sender publishes a fresh message every 100 ms for `period`.
fn publish_for(senders: &[Peer], period: Duration) {
    for (i, s) in senders.iter().enumerate() {
        let net = s.net.clone();
        tokio::spawn(async move {
            let end = Instant::now() + period;
            let mut n = 0u32;
            while Instant::now() < end {
                net.publish(Topic::Blocks, format!("junk {i} {n}").into_bytes());
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

/// Twelve peer ids from one address, against a node that allows four per address: every one of
/// them is graylisted and nothing they send reaches the node. The same twelve against the
/// default (loopback exempt, as on a local testnet) are heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_peer_ids_on_one_address_are_graylisted_together() {
    for exempt in [false, true] {
        let limits = Limits {
            gossip_ids_per_ip: 4,
            exempt_loopback: exempt,
            ..Limits::default()
        };
        let mut victim = peer_with(vec![], limits).await;
        let mut sybils = Vec::new();
        for _ in 0..12 {
            sybils.push(peer(vec![victim.addr.clone()]).await);
        }
        connected(&mut victim, 12).await;
        publish_for(&sybils, Duration::from_secs(4));
        let heard = gossip_received(&mut victim, Duration::from_secs(5), Verdict::Ignore).await;
        if exempt {
            assert!(!heard.is_empty(), "loopback exempt: the messages are heard");
        } else {
            assert!(
                heard.is_empty(),
                "12 ids on one address, 4 allowed: all dropped unheard, got {}",
                heard.len()
            );
        }
    }
}

/// A peer whose messages the node rejects is graylisted after its third: what it sends next is
/// dropped before validation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_invalid_messages_is_graylisted_after_three() {
    let mut victim = peer(vec![]).await;
    let liar = peer(vec![victim.addr.clone()]).await;
    connected(&mut victim, 1).await;
    publish_for(std::slice::from_ref(&liar), Duration::from_secs(4));
    let heard = gossip_received(&mut victim, Duration::from_secs(5), Verdict::Reject).await;
    assert!(heard.len() >= 3, "the first ones are judged: {}", heard.len());
    assert!(heard.len() <= 5, "then the sender is graylisted (40 sent, {} judged)", heard.len());
}
