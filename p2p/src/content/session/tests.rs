//! Unit tests of one session, driven by hand.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::sim::{file, peer};
use super::*;
use crate::content::manifest::BLOCK_SIZE;
use crate::content::message::MAX_PEX_PEERS;

fn manifest() -> (Vec<u8>, Manifest) {
    let bytes = file(4 * 32768, 9);
    let m = Manifest::from_reader("t", bytes.len() as u64, 32768, &bytes[..]).unwrap();
    (bytes, m)
}

fn block(piece: u32, offset: u32) -> BlockRequest {
    BlockRequest {
        piece: PieceIndex(piece),
        offset,
        len: BLOCK_SIZE,
    }
}

struct Harness {
    s: FileSession,
    t0: Instant,
    rng: StdRng,
}

impl Harness {
    fn feed(&mut self, input: Input, after: Duration) -> Vec<Output> {
        self.s.handle(input, self.t0 + after, &mut self.rng)
    }
}

/// A seed of the 4-piece file, with no member yet.
fn seed() -> (Harness, Manifest) {
    let (_, m) = manifest();
    let t0 = Instant::now();
    let (s, out) = FileSession::open(m.clone(), peer(0), t0);
    assert_eq!(out, vec![Output::Open(m.clone())]);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(1),
    };
    let out = h.feed(
        Input::Opened {
            have: Bitfield::full(4),
            selected: None,
        },
        Duration::ZERO,
    );
    assert_eq!(out, vec![Output::Announce]);
    assert!(matches!(h.s.phase(), Phase::Seeding));
    (h, m)
}

/// A fetch that found `m` and opened an empty store, with `providers` as candidates.
fn leecher(providers: &[usize]) -> (Harness, Vec<Output>) {
    let (_, m) = manifest();
    let t0 = Instant::now();
    let (s, out) = FileSession::fetch(m.content_id(), peer(100), t0);
    assert_eq!(out, vec![Output::FindProviders]);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(2),
    };
    let found: Vec<PeerId> = providers.iter().map(|&i| peer(i)).collect();
    let out = h.feed(Input::Found(found), Duration::ZERO);
    assert_eq!(out, vec![Output::AskManifest(peer(providers[0]))]);
    let out = h.feed(
        Input::Manifest {
            from: peer(providers[0]),
            bytes: m.encode(),
        },
        Duration::ZERO,
    );
    assert_eq!(out, vec![Output::Open(m.clone())]);
    let out = h.feed(
        Input::Opened {
            have: Bitfield::new(4),
            selected: None,
        },
        Duration::ZERO,
    );
    (h, out)
}

fn has_ban(out: &[Output], who: PeerId) -> bool {
    out.iter().any(|o| matches!(o, Output::Ban(p, _) if *p == who))
}

#[test]
fn a_fetch_asks_providers_in_turn_for_the_manifest_and_bans_a_forger() {
    let (_, m) = manifest();
    let t0 = Instant::now();
    let (s, _) = FileSession::fetch(m.content_id(), peer(100), t0);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(3),
    };
    let out = h.feed(Input::Found(vec![peer(1), peer(2), peer(3)]), Duration::ZERO);
    assert_eq!(out, vec![Output::AskManifest(peer(1))]);
    // Peer 1 has nothing: peer 2 is asked.
    let out = h.feed(Input::ManifestFailed { from: peer(1) }, Duration::ZERO);
    assert_eq!(out, vec![Output::AskManifest(peer(2))]);
    // Peer 2 sends another file's manifest: banned, peer 3 is asked.
    let other = Manifest::from_reader("x", 5, 32768, &b"hello"[..]).unwrap();
    let out = h.feed(
        Input::Manifest {
            from: peer(2),
            bytes: other.encode(),
        },
        Duration::ZERO,
    );
    assert!(has_ban(&out, peer(2)), "{out:?}");
    assert!(out.contains(&Output::AskManifest(peer(3))), "{out:?}");
    let out = h.feed(
        Input::Manifest {
            from: peer(3),
            bytes: m.encode(),
        },
        Duration::ZERO,
    );
    assert_eq!(out, vec![Output::Open(m)]);
    assert!(matches!(h.s.phase(), Phase::Opening));
}

#[test]
fn an_opened_fetch_announces_itself_and_connects_to_the_providers() {
    let (h, out) = leecher(&[1, 2]);
    assert!(matches!(h.s.phase(), Phase::Downloading(_)));
    assert!(out.contains(&Output::Announce));
    assert!(out.contains(&Output::Connect(peer(1))));
    assert!(out.contains(&Output::Connect(peer(2))));
    assert!(h.s.hello(h.t0).is_some(), "a downloading session takes members");
}

#[test]
fn a_fetch_without_providers_fails_after_the_search_timeout() {
    let (_, m) = manifest();
    let t0 = Instant::now();
    let (s, _) = FileSession::fetch(m.content_id(), peer(100), t0);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(4),
    };
    h.feed(Input::Found(Vec::new()), Duration::ZERO);
    // Again after 250 ms, then twice as long each time, up to SEARCH_AGAIN.
    let mut at = Duration::ZERO;
    for wait in [250, 500, 1000, 2000, 4000, 5000, 5000] {
        let wait = Duration::from_millis(wait);
        assert!(
            h.feed(Input::Tick, at + wait - Duration::from_millis(100)).is_empty(),
            "not before {wait:?}"
        );
        at += wait;
        assert_eq!(
            h.feed(Input::Tick, at),
            vec![Output::FindProviders],
            "searches again after {wait:?}"
        );
        h.feed(Input::LookupFailed, at);
    }
    let out = h.feed(Input::Tick, SEARCH_TIMEOUT);
    assert!(
        out.contains(&Output::Failed(Failure::NoProvider(SEARCH_TIMEOUT.as_secs()))),
        "{out:?}"
    );
    assert_eq!(h.s.status(t0 + SEARCH_TIMEOUT).state, "failed");
}

#[test]
fn requests_are_served_only_to_unchoked_members_for_blocks_held() {
    let (mut h, m) = seed();
    let p = peer(7);
    let out = h.feed(
        Input::Connected {
            peer: p,
            bitfield: Bitfield::new(4).as_bytes().to_vec(),
        },
        Duration::ZERO,
    );
    assert!(out.is_empty(), "{out:?}");
    // Choked: refused.
    let out = h.feed(Input::Message(p, PeerMessage::Request(block(0, 0))), Duration::ZERO);
    assert_eq!(out, vec![Output::Send(p, PeerMessage::Reject(block(0, 0)))]);
    // Interested: a seed has a free slot, so it is unchoked at once.
    let out = h.feed(Input::Message(p, PeerMessage::Interested), Duration::ZERO);
    assert_eq!(out, vec![Output::Send(p, PeerMessage::Unchoke)]);
    // A block past the piece's end, and a piece past the file's end: refused.
    let past = BlockRequest {
        piece: PieceIndex(0),
        offset: m.piece_len(PieceIndex(0)) - 100,
        len: BLOCK_SIZE,
    };
    let out = h.feed(Input::Message(p, PeerMessage::Request(past)), Duration::ZERO);
    assert_eq!(out, vec![Output::Send(p, PeerMessage::Reject(past))]);
    let out = h.feed(Input::Message(p, PeerMessage::Request(block(9, 0))), Duration::ZERO);
    assert_eq!(out, vec![Output::Send(p, PeerMessage::Reject(block(9, 0)))]);
    // A good one is queued and handed out under the limit.
    let out = h.feed(Input::Message(p, PeerMessage::Request(block(1, 16384))), Duration::ZERO);
    assert!(out.is_empty());
    let mut free = TokenBucket::new(None, h.t0);
    assert_eq!(h.s.next_upload(&mut free, h.t0, |_| false), Err(None), "its send queue is full");
    assert_eq!(h.s.next_upload(&mut free, h.t0, |_| true), Ok((p, block(1, 16384))));
    assert_eq!(h.s.status(h.t0).uploaded, u64::from(BLOCK_SIZE));
    // A cancelled request is not served.
    h.feed(Input::Message(p, PeerMessage::Request(block(2, 0))), Duration::ZERO);
    h.feed(Input::Message(p, PeerMessage::Cancel(block(2, 0))), Duration::ZERO);
    assert_eq!(h.s.next_upload(&mut free, h.t0, |_| true), Err(None));
}

#[test]
fn protocol_abuse_gets_a_member_banned() {
    let (mut h, _) = seed();
    let p = peer(7);
    let hello = |b: Vec<u8>| Input::Connected { peer: p, bitfield: b };
    // A bitfield of the wrong length.
    let out = h.feed(hello(vec![0xff, 0xff]), Duration::ZERO);
    assert!(has_ban(&out, p), "{out:?}");
    assert!(!h.s.is_member(&p));
    // A HAVE past the end.
    h.feed(hello(vec![0]), Duration::ZERO);
    let out = h.feed(Input::Message(p, PeerMessage::Have(PieceIndex(4))), Duration::ZERO);
    assert!(has_ban(&out, p), "{out:?}");
    // A second hello.
    h.feed(hello(vec![0]), Duration::ZERO);
    let again = PeerMessage::Hello {
        cid: h.s.cid(),
        bitfield: vec![0],
    };
    let out = h.feed(Input::Message(p, again), Duration::ZERO);
    assert!(has_ban(&out, p), "{out:?}");
    assert_eq!(h.s.member_count(), 0);
}

#[test]
fn blocks_arrive_are_checked_off_the_loop_written_then_announced() {
    let (bytes, m) = manifest();
    let (mut h, _) = leecher(&[1]);
    let full = Bitfield::full(4).as_bytes().to_vec();
    let out = h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full,
        },
        Duration::ZERO,
    );
    assert_eq!(out, vec![Output::Send(peer(1), PeerMessage::Interested)]);
    let out = h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO);
    let asked: Vec<BlockRequest> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(_, PeerMessage::Request(b)) => Some(*b),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 8, "the whole 4-piece file is asked at once (queue of {})", asked.len());
    // The dashboard's view: every piece on its way, each held by the one member, which unchokes us.
    let view = h.s.swarm(h.t0);
    assert_eq!(
        (view.pieces.as_str(), view.availability.as_slice()),
        ("dddd", [1, 1, 1, 1].as_slice())
    );
    assert_eq!(view.peers.len(), 1);
    assert_eq!(
        (view.peers[0].peer, view.peers[0].unchokes_us, view.peers[0].pieces),
        (peer(1), Some(true), Some(4))
    );
    // An unrequested block is dropped.
    let stray = PeerMessage::Piece {
        piece: PieceIndex(0),
        offset: 0,
        data: vec![1; 100],
    };
    assert!(h.feed(Input::Message(peer(1), stray), Duration::ZERO).is_empty());
    let mut writes = Vec::new();
    for b in asked {
        let at = (m.piece_offset(b.piece) + u64::from(b.offset)) as usize;
        let data = bytes[at..at + b.len as usize].to_vec();
        let out = h.feed(
            Input::Message(
                peer(1),
                PeerMessage::Piece {
                    piece: b.piece,
                    offset: b.offset,
                    data,
                },
            ),
            Duration::ZERO,
        );
        for o in out {
            if let Output::Check { piece, data } = o {
                let good = m.verify(piece, &data);
                for o in h.feed(Input::Checked { piece, data, good }, Duration::ZERO) {
                    if let Output::Write { piece, .. } = o {
                        writes.push(piece);
                    }
                }
            }
        }
    }
    writes.sort();
    assert_eq!(writes, (0..4).map(PieceIndex).collect::<Vec<_>>());
    assert_eq!(h.s.have().count(), 0, "nothing is held before it is written");
    for (n, piece) in writes.iter().enumerate() {
        let out = h.feed(
            Input::Written {
                piece: *piece,
                result: Ok(()),
            },
            Duration::ZERO,
        );
        assert!(out.contains(&Output::Send(peer(1), PeerMessage::Have(*piece))), "{out:?}");
        if n == 3 {
            assert!(out.contains(&Output::Sync), "durable before complete: {out:?}");
        }
    }
    assert_eq!(h.feed(Input::Synced(Ok(())), Duration::ZERO), vec![Output::Completed]);
    assert!(matches!(h.s.phase(), Phase::Seeding));
    assert_eq!(h.s.status(h.t0).bytes, bytes.len() as u64);
    assert_eq!(h.s.swarm(h.t0).pieces, "hhhh");
}

#[test]
fn a_failed_write_fails_the_session_and_leaves_the_swarm() {
    let (mut h, _) = leecher(&[1]);
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: vec![0xf0],
        },
        Duration::ZERO,
    );
    let out = h.feed(
        Input::Written {
            piece: PieceIndex(0),
            result: Err("disk full".into()),
        },
        Duration::ZERO,
    );
    assert!(out.contains(&Output::Close(peer(1))), "{out:?}");
    assert!(out.contains(&Output::Withdraw));
    assert!(matches!(h.s.phase(), Phase::Failed(Failure::Disk(_))));
    assert!(h.s.hello(h.t0).is_none(), "a failed session takes no member");
}

#[test]
fn a_member_that_keeps_rejecting_what_it_announced_is_dropped() {
    let (mut h, _) = leecher(&[1]);
    let full = Bitfield::full(4).as_bytes().to_vec();
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full,
        },
        Duration::ZERO,
    );
    let out = h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO);
    let requests = |out: &[Output]| -> Vec<BlockRequest> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(_, PeerMessage::Request(b)) => Some(*b),
                _ => None,
            })
            .collect()
    };
    // Every request refused; each refused block is asked again (the only peer has it).
    let mut asked = requests(&out);
    let mut rejects = 0;
    let mut closed = false;
    while let Some(b) = asked.pop() {
        let out = h.feed(Input::Message(peer(1), PeerMessage::Reject(b)), Duration::ZERO);
        rejects += 1;
        if out.contains(&Output::Close(peer(1))) {
            closed = true;
            break;
        }
        asked.extend(requests(&out));
    }
    assert_eq!(rejects, MAX_REJECTS + 1);
    assert!(closed);
    assert!(!h.s.is_member(&peer(1)));
}

#[test]
fn members_tell_each_other_the_swarm_once_then_only_news() {
    let (mut h, _) = seed();
    let join = |h: &mut Harness, i: usize, at: Duration| {
        h.feed(
            Input::Connected {
                peer: peer(i),
                bitfield: vec![0],
            },
            at,
        )
    };
    join(&mut h, 1, Duration::ZERO);
    join(&mut h, 2, Duration::ZERO);
    // Before PEX_FIRST: nothing.
    let out = h.feed(Input::Tick, PEX_FIRST / 2);
    assert!(!out.iter().any(|o| matches!(o, Output::Send(_, PeerMessage::Peers(_)))), "{out:?}");
    let out = h.feed(Input::Tick, PEX_FIRST);
    assert!(out.contains(&Output::Send(peer(1), PeerMessage::Peers(vec![peer(2)]))), "{out:?}");
    assert!(out.contains(&Output::Send(peer(2), PeerMessage::Peers(vec![peer(1)]))), "{out:?}");
    // A third member: told the two after PEX_FIRST; the others hear of it only after PEX_EVERY.
    join(&mut h, 3, PEX_FIRST);
    let out = h.feed(Input::Tick, PEX_FIRST * 2);
    let to = |i: usize| {
        out.iter()
            .find(|o| matches!(o, Output::Send(p, PeerMessage::Peers(_)) if *p == peer(i)))
    };
    assert!(to(3).is_some() && to(1).is_none() && to(2).is_none(), "{out:?}");
    let out = h.feed(Input::Tick, PEX_FIRST + PEX_EVERY);
    assert!(
        out.contains(&Output::Send(peer(1), PeerMessage::Peers(vec![peer(3)]))),
        "only the news: {out:?}"
    );
}

#[test]
fn peer_lists_are_rate_limited_and_capped() {
    let (mut h, _) = leecher(&[1]);
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: vec![0],
        },
        Duration::ZERO,
    );
    let list = |from: usize| -> Vec<PeerId> { (from..from + MAX_PEX_PEERS).map(peer).collect() };
    let out = h.feed(Input::Message(peer(1), PeerMessage::Peers(list(1000))), Duration::ZERO);
    let connects = out.iter().filter(|o| matches!(o, Output::Connect(_))).count();
    assert_eq!(connects, MAX_CONNECTING, "bounded by the streams being opened: {out:?}");
    // Too soon: ignored.
    h.feed(Input::Message(peer(1), PeerMessage::Peers(list(2000))), Duration::from_secs(1));
    // Later lists fill the candidates taken from exchange only up to their share.
    h.feed(Input::Message(peer(1), PeerMessage::Peers(list(2000))), PEX_HEARD_EVERY);
    h.feed(Input::Message(peer(1), PeerMessage::Peers(list(3000))), PEX_HEARD_EVERY * 2);
    assert_eq!(
        h.s.candidates.len(),
        1 + MAX_PEX_CANDIDATES,
        "the index's provider plus the exchange's share"
    );
    assert!(!h.s.candidates.contains(&peer(3000)));
}

#[test]
fn a_newer_stream_with_a_member_starts_it_over() {
    let (mut h, _) = leecher(&[1]);
    let full = Bitfield::full(4).as_bytes().to_vec();
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full.clone(),
        },
        Duration::ZERO,
    );
    let first = h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO);
    assert!(first.iter().any(|o| matches!(o, Output::Send(_, PeerMessage::Request(_)))));
    // The stream is replaced: the member starts choked again, interested anew.
    let out = h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full,
        },
        Duration::ZERO,
    );
    assert_eq!(out, vec![Output::Send(peer(1), PeerMessage::Interested)]);
    assert!(!h.s.is_requested(&peer(1), &block(0, 0)) || h.s.member_count() == 1);
}

#[test]
fn requests_stop_while_too_much_data_waits_for_the_disk() {
    // 320 pieces of 32 KiB (10 MiB): more than MAX_HELD_BYTES can wait for their writes.
    let bytes = file(320 * 32768, 11);
    let m = Manifest::from_reader("big", bytes.len() as u64, 32768, &bytes[..]).unwrap();
    let t0 = Instant::now();
    let (s, _) = FileSession::open(m.clone(), peer(100), t0);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(12),
    };
    h.feed(
        Input::Opened {
            have: Bitfield::new(320),
            selected: None,
        },
        Duration::ZERO,
    );
    let full = Bitfield::full(320).as_bytes().to_vec();
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full,
        },
        Duration::ZERO,
    );
    let mut asked: Vec<BlockRequest> = Vec::new();
    let requests = |out: &[Output]| -> Vec<BlockRequest> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(_, PeerMessage::Request(b)) => Some(*b),
                _ => None,
            })
            .collect()
    };
    asked.extend(requests(&h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO)));
    // Answer every request; check every piece as good but never finish a write.
    let mut waiting: Vec<PieceIndex> = Vec::new();
    let mut answered = 0;
    while let Some(b) = asked.pop() {
        answered += 1;
        let at = (m.piece_offset(b.piece) + u64::from(b.offset)) as usize;
        let data = bytes[at..at + b.len as usize].to_vec();
        let out = h.feed(
            Input::Message(
                peer(1),
                PeerMessage::Piece {
                    piece: b.piece,
                    offset: b.offset,
                    data,
                },
            ),
            Duration::ZERO,
        );
        asked.extend(requests(&out));
        for o in out {
            if let Output::Check { piece, data } = o {
                let more = h.feed(Input::Checked { piece, data, good: true }, Duration::ZERO);
                asked.extend(requests(&more));
                waiting.push(piece);
            }
        }
        assert!(answered < 2 * 640, "requests never stop");
    }
    let held = waiting.len() as u64 * 32768;
    assert!(
        (MAX_HELD_BYTES..MAX_HELD_BYTES + (2 << 20)).contains(&held),
        "stopped near the limit: {held} bytes wait"
    );
    assert!(waiting.len() < 320);
    // The writes finish: requests resume once less than the limit waits.
    let mut resumed_at = None;
    for (n, piece) in waiting.iter().enumerate() {
        let out = h.feed(
            Input::Written {
                piece: *piece,
                result: Ok(()),
            },
            Duration::ZERO,
        );
        if !requests(&out).is_empty() {
            resumed_at = Some(n + 1);
            break;
        }
    }
    let left = waiting.len() - resumed_at.expect("requests resume");
    assert!(
        (left as u64) * 32768 < MAX_HELD_BYTES,
        "resumed only below the limit ({left} pieces wait)"
    );
    assert!(
        (left as u64 + 1) * 32768 >= MAX_HELD_BYTES,
        "resumed as soon as below the limit ({left} pieces wait)"
    );
}

#[test]
fn a_paused_fetch_leaves_the_swarm_and_resumes_from_the_store() {
    let (mut h, _) = leecher(&[1]);
    let full = Bitfield::full(4).as_bytes().to_vec();
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: full,
        },
        Duration::ZERO,
    );
    let out = h.s.pause();
    assert!(
        out.contains(&Output::Close(peer(1))) && out.contains(&Output::Withdraw) && out.contains(&Output::Sync),
        "{out:?}"
    );
    assert!(matches!(h.s.phase(), Phase::Paused));
    assert_eq!(h.s.status(h.t0).state, "paused");
    assert!(h.s.hello(h.t0).is_none(), "no member while paused");
    assert!(
        h.feed(Input::Tick, Duration::from_secs(30)).is_empty(),
        "no lookup, no rechoke while paused"
    );
    assert!(h.s.pause().is_empty(), "pausing twice does nothing");
    // A write that finishes while paused does not count: the store says what is held.
    h.feed(
        Input::Written {
            piece: PieceIndex(0),
            result: Ok(()),
        },
        Duration::ZERO,
    );
    let (_, m) = manifest();
    let out = h.s.resume(h.t0 + Duration::from_secs(40));
    assert_eq!(out, vec![Output::Open(m)]);
    let mut held = Bitfield::new(4);
    held.set(PieceIndex(0));
    held.set(PieceIndex(2));
    let out = h.feed(
        Input::Opened {
            have: held,
            selected: None,
        },
        Duration::from_secs(40),
    );
    assert!(
        out.contains(&Output::Announce) && out.contains(&Output::Connect(peer(1))),
        "{out:?}"
    );
    assert_eq!(h.s.have().count(), 2, "the verified pieces are kept");
}

#[test]
fn a_session_restored_paused_shows_its_pieces_and_resumes() {
    let (_, m) = manifest();
    let t0 = Instant::now();
    let mut held = Bitfield::new(4);
    held.set(PieceIndex(3));
    let mut s = FileSession::paused(m.content_id(), Some(m.clone()), Some(held), peer(100), t0);
    assert_eq!((s.status(t0).state, s.status(t0).pieces_have), ("paused", 1));
    assert_eq!(s.resume(t0), vec![Output::Open(m.clone())]);
    // Without a manifest, resuming searches.
    let mut s = FileSession::paused(m.content_id(), None, None, peer(100), t0);
    assert_eq!(s.resume(t0), vec![Output::FindProviders]);
}

#[test]
fn a_folder_fetch_asks_only_for_the_selected_files_and_completes_with_them() {
    // Three files of 2, 1 and 3 pieces of 32 KiB; only the middle one is wanted.
    let parts = [("a", file(2 * 32768, 1)), ("b", file(32768 - 7, 2)), ("c", file(3 * 32768, 3))];
    let list = parts.iter().map(|(p, d)| (p.to_string(), d.len() as u64)).collect();
    let m = Manifest::from_folder("f", 32768, list, |p| Ok(&parts.iter().find(|x| x.0 == p).unwrap().1[..])).unwrap();
    let t0 = Instant::now();
    let (s, _) = FileSession::open(m.clone(), peer(100), t0);
    let mut h = Harness {
        s,
        t0,
        rng: StdRng::seed_from_u64(21),
    };
    h.feed(
        Input::Opened {
            have: Bitfield::new(6),
            selected: Some(vec![false, true, false]),
        },
        Duration::ZERO,
    );
    assert!(matches!(h.s.phase(), Phase::Downloading(_)));
    h.feed(
        Input::Connected {
            peer: peer(1),
            bitfield: Bitfield::full(6).as_bytes().to_vec(),
        },
        Duration::ZERO,
    );
    let out = h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO);
    let asked: Vec<BlockRequest> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(_, PeerMessage::Request(b)) => Some(*b),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 2, "the two blocks of b's one short piece: {asked:?}");
    assert!(asked.iter().all(|b| b.piece == PieceIndex(2)));
    assert_eq!(asked[1].len, 32768 - 7 - BLOCK_SIZE);
    let mut checks = Vec::new();
    for b in asked {
        let data = parts[1].1[b.offset as usize..(b.offset + b.len) as usize].to_vec();
        let msg = PeerMessage::Piece {
            piece: b.piece,
            offset: b.offset,
            data,
        };
        checks.extend(h.feed(Input::Message(peer(1), msg), Duration::ZERO));
    }
    let Some(Output::Check { piece, data }) = checks.into_iter().find(|o| matches!(o, Output::Check { .. })) else {
        panic!("the piece is checked once complete");
    };
    assert!(m.verify(piece, &data));
    let out = h.feed(Input::Checked { piece, data, good: true }, Duration::ZERO);
    assert!(out.iter().any(|o| matches!(o, Output::Write { .. })));
    let out = h.feed(Input::Written { piece, result: Ok(()) }, Duration::ZERO);
    assert!(out.contains(&Output::Sync), "the selection is complete: {out:?}");
    h.feed(Input::Synced(Ok(())), Duration::ZERO);
    assert!(matches!(h.s.phase(), Phase::Seeding));
    let st = h.s.status(t0);
    assert_eq!((st.wanted_have, st.wanted_total, st.pieces_have, st.pieces_total), (1, 1, 1, 6));
    let files: Vec<(&str, bool, u64)> = st.files.iter().map(|f| (f.0.as_str(), f.2, f.3)).collect();
    assert_eq!(files, [("a", false, 0), ("b", true, 32768 - 7), ("c", false, 0)]);
}

#[test]
fn the_status_says_when_super_seeding_is_on() {
    let (mut h, _) = seed();
    assert!(!h.s.status(h.t0).super_seeding);
    h.s.set_super_seeding(true);
    assert!(h.s.status(h.t0).super_seeding);
    h.s.set_super_seeding(false);
    assert!(!h.s.status(h.t0).super_seeding);
}

#[test]
fn members_that_give_nothing_make_way_for_a_newcomer_after_a_grace() {
    let (bytes, m) = manifest();
    let (mut h, _) = leecher(&[1]);
    let full = Bitfield::full(4).as_bytes().to_vec();
    let connect = |h: &mut Harness, who: usize, after: Duration| {
        h.feed(
            Input::Connected {
                peer: peer(who),
                bitfield: full.clone(),
            },
            after,
        )
    };
    // Peer 1, a real provider, delivers a block; then Sybils that never unchoke fill the swarm.
    connect(&mut h, 1, Duration::ZERO);
    let out = h.feed(Input::Message(peer(1), PeerMessage::Unchoke), Duration::ZERO);
    let b = out
        .iter()
        .find_map(|o| match o {
            Output::Send(_, PeerMessage::Request(b)) => Some(*b),
            _ => None,
        })
        .expect("a request to peer 1");
    let at = (m.piece_offset(b.piece) + u64::from(b.offset)) as usize;
    let data = bytes[at..at + b.len as usize].to_vec();
    h.feed(
        Input::Message(
            peer(1),
            PeerMessage::Piece {
                piece: b.piece,
                offset: b.offset,
                data,
            },
        ),
        Duration::ZERO,
    );
    for sybil in 200..200 + MAX_SWARM - 1 {
        connect(&mut h, sybil, Duration::ZERO);
    }
    assert_eq!(h.s.member_count(), MAX_SWARM);
    // Within the grace, a newcomer is refused.
    let early = Duration::from_secs(10);
    assert!(h.s.hello(h.t0 + early).is_none());
    let out = connect(&mut h, 500, early);
    assert!(out.contains(&Output::Close(peer(500))), "{out:?}");
    // After it, one member that gave nothing makes way; the one that gave stays.
    let late = MEMBER_GRACE + Duration::from_secs(1);
    assert!(h.s.hello(h.t0 + late).is_some());
    let out = connect(&mut h, 500, late);
    assert!(!out.contains(&Output::Close(peer(500))), "{out:?}");
    let closed: Vec<&Output> = out.iter().filter(|o| matches!(o, Output::Close(_))).collect();
    assert_eq!(closed.len(), 1, "{out:?}");
    assert!(h.s.is_member(&peer(500)) && h.s.is_member(&peer(1)));
    assert_eq!(h.s.member_count(), MAX_SWARM);
}
