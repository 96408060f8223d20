//! Who may hold a place on the ring: a peer whose id meets the ring puzzle
//! ([`crate::identity::meets_puzzle`]), with a virtual-node index below [`MAX_VNODES`] (each
//! index is another place for the same key, so it is capped as the node's own setting is).
//!
//! Requests from a peer below the puzzle are refused; nodes below it named in an answer are
//! never adopted: a lookup step naming one counts as a failed hop (the lookup backs up and
//! excludes the hop, as for any misroute), and they are dropped from successor lists.

use libp2p::PeerId;

use super::MAX_VNODES;
use crate::chord::message::{NodeEntry, PeerAddr};
use crate::chord::{Request, Response, Step};
use crate::identity::meets_puzzle;

/// Whether `peer` may take part in the ring at all.
pub(super) fn peer_admitted(peer: &PeerId, bits: u8) -> bool {
    meets_puzzle(peer, bits)
}

/// Whether `node` may hold a place on the ring.
pub(super) fn admitted(node: &NodeEntry, bits: u8) -> bool {
    node.addr.vnode < MAX_VNODES && peer_admitted(&node.addr.peer, bits)
}

/// Drops the nodes below the puzzle from what `request` tells about third parties (a leaving
/// node's neighbours); false if the node it speaks for may not be on the ring.
pub(super) fn sift_request(request: &mut Request<PeerAddr>, bits: u8) -> bool {
    match request {
        Request::Notify { node } | Request::TakeOver { node } => admitted(node, bits),
        Request::Leaving {
            node,
            predecessor,
            successors,
        } => {
            if predecessor.as_ref().is_some_and(|p| !admitted(p, bits)) {
                *predecessor = None;
            }
            successors.retain(|s| admitted(s, bits));
            admitted(node, bits)
        }
        Request::FindSuccessor { .. } | Request::GetState | Request::Store { .. } | Request::Get { .. } => true,
    }
}

/// `response` without the nodes below the puzzle; `None` if it names one as a lookup step (the
/// asker then treats the hop as failed).
pub(super) fn sift_response(response: Response<PeerAddr>, bits: u8) -> Option<Response<PeerAddr>> {
    match response {
        Response::Step(Step::Next(n) | Step::Done(n)) if !admitted(&n, bits) => None,
        Response::State {
            predecessor,
            mut successors,
        } => {
            successors.retain(|s| admitted(s, bits));
            Some(Response::State {
                predecessor: predecessor.filter(|p| admitted(p, bits)),
                successors,
            })
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::message::node_entry;
    use crate::identity::{Keypair, grind};

    fn weak_peer(bits: u8) -> PeerId {
        loop {
            let p = Keypair::generate_ed25519().public().to_peer_id();
            if !meets_puzzle(&p, bits) {
                return p;
            }
        }
    }

    #[test]
    fn nodes_below_the_puzzle_are_never_adopted() {
        let bits = 6;
        let strong = grind(bits).public().to_peer_id();
        let weak = weak_peer(bits);
        let (good, bad) = (node_entry(strong, 0, Vec::new()), node_entry(weak, 0, Vec::new()));
        assert!(admitted(&good, bits) && !admitted(&bad, bits));
        assert!(
            !admitted(&node_entry(strong, MAX_VNODES, Vec::new()), bits),
            "vnode index past the cap"
        );
        assert!(admitted(&bad, 0), "no puzzle: anyone");

        for n in [Step::Next(bad.clone()), Step::Done(bad.clone())] {
            assert_eq!(sift_response(Response::Step(n), bits), None);
        }
        assert!(sift_response(Response::Step(Step::Done(good.clone())), bits).is_some());
        let state = Response::State {
            predecessor: Some(bad.clone()),
            successors: vec![bad.clone(), good.clone(), bad.clone()],
        };
        assert_eq!(
            sift_response(state, bits),
            Some(Response::State {
                predecessor: None,
                successors: vec![good.clone()],
            })
        );

        let mut leaving = Request::Leaving {
            node: good.clone(),
            predecessor: Some(bad.clone()),
            successors: vec![bad.clone(), good.clone()],
        };
        assert!(sift_request(&mut leaving, bits));
        assert_eq!(
            leaving,
            Request::Leaving {
                node: good.clone(),
                predecessor: None,
                successors: vec![good.clone()],
            }
        );
        assert!(!sift_request(&mut Request::Notify { node: bad.clone() }, bits));
        assert!(sift_request(&mut Request::Notify { node: good }, bits));
        assert!(!sift_request(&mut Request::TakeOver { node: bad }, bits));
    }
}
