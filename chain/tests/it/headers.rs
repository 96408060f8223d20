//! Headers-first sync: locators, serving headers to a peer, and checking a peer's headers
//! before downloading their blocks.

use cairn_chain::pow::U256;
use cairn_chain::*;

use crate::common::*;

/// Seconds between a block and its parent, in a cycle: some blocks are earlier than their
/// parent (allowed while above the median time past), so the median is not simply "five back".
const REGTEST_GAPS: [i64; 10] = [600, 900, -300, 50, 1_200, -100, 400, 700, -200, 300];

/// Builds, solves and submits one block on `parent` at `time`; the clock follows the newest
/// block so that the future-time rule never bites.
fn add_block(h: &mut Harness, parent: BlockHash, time: u32, salt: u8) -> Block {
    let mut b = h.build_unsolved(parent, vec![], Amount::ZERO, salt);
    b.header.time = time;
    let b = if h.network == Network::Regtest {
        solve(&mut b);
        b
    } else {
        mine_hard(b)
    };
    h.now = h.now.max(u64::from(time));
    let r = h.submit(b.clone()).unwrap();
    assert_eq!(r.status, BlockStatus::Accepted);
    b
}

/// A regtest chain of `n` blocks on the tip of `h` with irregular times.
fn irregular_chain(h: &mut Harness, n: usize, salt: u8) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::with_capacity(n);
    for i in 0..n {
        let parent = h.chain.tip_hash();
        let parent_time = h.chain.tip().header.time;
        let time = (i64::from(parent_time) + REGTEST_GAPS[i % REGTEST_GAPS.len()]) as u32;
        blocks.push(add_block(h, parent, time, salt));
    }
    blocks
}

/// A peer with a 40-block regtest chain, and a node that has its first 10 blocks.
fn peer_and_node() -> (Harness, Harness, Vec<Block>) {
    let mut peer = Harness::regtest();
    let blocks = irregular_chain(&mut peer, 40, 0);
    let mut node = Harness::regtest();
    node.now = peer.now;
    for b in &blocks[..10] {
        node.submit(b.clone()).unwrap();
    }
    assert_eq!(node.chain.height(), 10);
    (peer, node, blocks)
}

fn headers_of(blocks: &[Block]) -> Vec<Header> {
    blocks.iter().map(|b| b.header).collect()
}

fn heights(h: &Harness, hashes: &[BlockHash]) -> Vec<u32> {
    hashes.iter().map(|x| h.chain.index_record(x).unwrap().height).collect()
}

/// Re-solves a header after it was changed (regtest targets).
fn resolve(header: &mut Header) {
    let limit = Network::Regtest.params().pow_limit;
    while cairn_chain::pow::check_proof_of_work(&header.block_hash(), header.bits, limit).is_err() {
        header.nonce += 1;
    }
}

#[test]
fn locator_of_fifty_blocks_is_dense_then_sparse_and_ends_at_genesis() {
    let mut h = Harness::regtest();
    assert_eq!(h.chain.locator(), vec![h.chain.params().genesis_hash()]);
    h.mine(50);
    let locator = h.chain.locator();
    let hs = heights(&h, &locator);
    // As Core: the tip and the 11 blocks below it, then steps of 2, 4, 8, 16, then genesis.
    assert_eq!(hs, vec![50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 37, 33, 25, 9, 0]);
    assert_eq!(locator[0], h.chain.tip_hash());
    assert_eq!(*locator.last().unwrap(), h.chain.params().genesis_hash());
    assert!(hs.windows(2).all(|w| w[0] > w[1]), "strictly decreasing, so no duplicates");
    for (hash, height) in locator.iter().zip(&hs) {
        assert_eq!(h.chain.block_hash_at(*height), Some(*hash), "every entry is on the active chain");
    }
}

/// Node A has 20 blocks; node B shares the first 12 and has 3 of its own. B's locator leads A to
/// the fork, A answers with its 8 later headers, B checks them and, once it has the blocks,
/// reorganises onto A's chain.
#[test]
fn find_fork_and_headers_after_serve_a_peer_on_another_branch() {
    let mut a = Harness::regtest();
    a.mine(20);
    let mut b = Harness::regtest();
    b.now = a.now;
    for height in 1..=12 {
        let block = a.chain.get_block(&a.chain.block_hash_at(height).unwrap()).unwrap().unwrap();
        b.submit(block).unwrap();
    }
    let fork = a.chain.block_hash_at(12).unwrap();
    for _ in 0..3 {
        let tip = b.chain.tip_hash();
        let block = b.build_on(tip, vec![], Amount::ZERO, 9);
        b.submit(block).unwrap();
    }
    assert_eq!(b.chain.height(), 15);
    let b_own = b.chain.block_hash_at(13).unwrap();
    assert!(a.chain.index_record(&b_own).is_none());

    let locator = b.chain.locator();
    assert_eq!(a.chain.find_fork(&locator), fork);
    let a_heights = |hs: &[Header]| heights(&a, &hs.iter().map(Header::block_hash).collect::<Vec<_>>());
    let headers = a.chain.headers_after(&locator, None, 2_000);
    assert_eq!(a_heights(&headers), (13..=20).collect::<Vec<_>>());
    assert_eq!(headers[0].prev_blockhash, fork);
    // At most `max`, and nothing after `stop`.
    assert_eq!(a_heights(&a.chain.headers_after(&locator, None, 3)), vec![13, 14, 15]);
    let stop = a.chain.block_hash_at(16);
    assert_eq!(a_heights(&a.chain.headers_after(&locator, stop, 2_000)), vec![13, 14, 15, 16]);
    assert_eq!(a_heights(&a.chain.headers_after(&locator, stop, 2)), vec![13, 14]);
    assert_eq!(a_heights(&a.chain.headers_after(&locator, Some(b_own), 2_000)).len(), 8);
    assert!(a.chain.headers_after(&locator, None, 0).is_empty());
    // A locator with nothing A knows on its active chain starts after genesis; A's own, after its tip.
    let genesis = a.chain.params().genesis_hash();
    assert_eq!(a.chain.find_fork(&[b_own]), genesis);
    assert_eq!(a.chain.find_fork(&[]), genesis);
    assert_eq!(a.chain.headers_after(&[b_own], None, 2_000).len(), 20);
    assert!(a.chain.headers_after(&a.chain.locator(), None, 2_000).is_empty());

    // B checks the headers against its index (the fork is on a branch B left) and learns the work.
    let summary = b.chain.check_headers(&headers, b.now).unwrap();
    assert_eq!(summary.last_hash, a.chain.tip_hash());
    assert_eq!(summary.last_height, 20);
    assert_eq!(summary.new_headers, 8);
    assert_eq!(summary.chain_work, a.chain.tip_chain_work());
    assert!(summary.chain_work > b.chain.tip_chain_work());
    for header in &headers {
        let hash = header.block_hash();
        assert!(!b.chain.contains_block(&hash));
        // Downloaded as sync does (asked for): the first ones have less work than B's tip.
        b.submit_requested(a.chain.get_block(&hash).unwrap().unwrap()).unwrap();
        assert!(b.chain.contains_block(&hash));
    }
    assert_eq!(b.chain.tip_hash(), a.chain.tip_hash());
    assert_eq!(b.chain.tip_chain_work(), summary.chain_work);
}

#[test]
fn check_headers_accepts_a_regtest_extension_with_the_work_it_will_have() {
    let (peer, mut node, blocks) = peer_and_node();
    let now = node.now;
    let summary = node.chain.check_headers(&headers_of(&blocks[10..]), now).unwrap();
    let expected = HeaderChainSummary {
        last_hash: peer.chain.tip_hash(),
        last_height: 40,
        chain_work: peer.chain.tip_chain_work(),
        new_headers: 30,
    };
    assert_eq!(summary, expected);
    // Headers the node already has may lead in; they are not counted as new.
    assert_eq!(node.chain.check_headers(&headers_of(&blocks[4..]), now).unwrap(), expected);
    let known = node.chain.check_headers(&headers_of(&blocks[..10]), now).unwrap();
    assert_eq!(known.new_headers, 0);
    assert_eq!((known.last_height, known.chain_work), (10, node.chain.tip_chain_work()));
    // The blocks, once processed, get exactly the work the headers promised.
    for b in &blocks[10..] {
        node.submit(b.clone()).unwrap();
    }
    assert_eq!(node.chain.index_record(&summary.last_hash).unwrap().chain_work, summary.chain_work);
    assert_eq!(node.chain.tip_chain_work(), summary.chain_work);
}

#[test]
fn check_headers_rejects_empty_unconnected_and_broken_lists() {
    let (_peer, node, blocks) = peer_and_node();
    let now = node.now;
    assert_eq!(node.chain.check_headers(&[], now), Err(HeadersError::Empty));
    // Block 12's parent (11) is unknown to the node.
    assert_eq!(
        node.chain.check_headers(&headers_of(&blocks[11..20]), now),
        Err(HeadersError::Unconnected {
            parent: blocks[10].block_hash()
        })
    );
    // Heights 11..=20 without 15: the header at position 4 (height 16) does not follow 14.
    let mut gap = headers_of(&blocks[10..20]);
    gap.remove(4);
    assert_eq!(node.chain.check_headers(&gap, now), Err(HeadersError::NotContinuous { index: 4 }));
    let mut swapped = headers_of(&blocks[10..20]);
    swapped.swap(7, 8);
    assert_eq!(
        node.chain.check_headers(&swapped, now),
        Err(HeadersError::NotContinuous { index: 7 })
    );
}

/// Heights 11..=20 with the last header changed by `edit`: the error it gets, if any.
fn check_with_last(node: &Harness, blocks: &[Block], now: u64, edit: impl FnOnce(&mut Header)) -> Result<HeaderChainSummary, HeadersError> {
    let mut headers = headers_of(&blocks[10..20]);
    edit(headers.last_mut().unwrap());
    node.chain.check_headers(&headers, now)
}

fn invalid(headers_err: Result<HeaderChainSummary, HeadersError>) -> (usize, BlockError) {
    match headers_err {
        Err(HeadersError::Invalid { index, error, .. }) => (index, *error),
        other => panic!("expected an invalid header, got {other:?}"),
    }
}

#[test]
fn check_headers_rejects_bad_proof_of_work_and_wrong_bits() {
    let (_peer, node, blocks) = peer_and_node();
    let now = node.now;
    let limit = Network::Regtest.params().pow_limit;
    let high_hash = check_with_last(&node, &blocks, now, |h| {
        while cairn_chain::pow::check_proof_of_work(&h.block_hash(), h.bits, limit).is_ok() {
            h.nonce += 1;
        }
    });
    assert_eq!(invalid(high_hash), (9, BlockError::HighHash));
    let too_easy = check_with_last(&node, &blocks, now, |h| {
        h.bits = 0x2100_ffff;
    });
    assert_eq!(invalid(too_easy), (9, BlockError::BadTarget(0x2100_ffff)));
    let wrong_bits = check_with_last(&node, &blocks, now, |h| {
        h.bits = 0x2000_ffff;
        resolve(h);
    });
    let expected = BlockError::WrongBits {
        expected: 0x207f_ffff,
        got: 0x2000_ffff,
    };
    assert_eq!(invalid(wrong_bits), (9, expected));
    // The error names the offending header.
    let mut headers = headers_of(&blocks[10..12]);
    headers[1].bits = 0x2000_ffff;
    resolve(&mut headers[1]);
    assert_eq!(
        node.chain.check_headers(&headers, now),
        Err(HeadersError::Invalid {
            index: 1,
            hash: headers[1].block_hash(),
            error: Box::new(BlockError::WrongBits {
                expected: 0x207f_ffff,
                got: 0x2000_ffff
            }),
        })
    );
}

#[test]
fn check_headers_applies_the_time_rules_with_a_median_over_index_and_list() {
    let (_peer, node, blocks) = peer_and_node();
    let now = node.now;
    // The header at height 20 follows blocks 9..=19: two from the node's index, nine from the list.
    let mut window: Vec<u32> = blocks[8..19].iter().map(|b| b.header.time).collect();
    window.sort_unstable();
    let mtp = window[5];
    assert_ne!(
        mtp, blocks[13].header.time,
        "the irregular times make the median differ from five back"
    );
    let at_mtp = check_with_last(&node, &blocks, now, |h| {
        h.time = mtp;
        resolve(h);
    });
    assert_eq!(invalid(at_mtp), (9, BlockError::TimeTooOld { time: mtp, mtp }));
    let above_mtp = check_with_last(&node, &blocks, now, |h| {
        h.time = mtp + 1;
        resolve(h);
    });
    assert!(above_mtp.is_ok(), "{above_mtp:?}");

    let max = now + 2 * 60 * 60;
    let too_new = check_with_last(&node, &blocks, now, |h| {
        h.time = (max + 1) as u32;
        resolve(h);
    });
    assert_eq!(
        invalid(too_new),
        (
            9,
            BlockError::TimeTooNew {
                time: (max + 1) as u32,
                max
            }
        )
    );
    let at_max = check_with_last(&node, &blocks, now, |h| {
        h.time = max as u32;
        resolve(h);
    });
    assert!(at_max.is_ok(), "{at_max:?}");
    // The clock is the caller's: a later `now` accepts the same header.
    let later = check_with_last(&node, &blocks, now + 1, |h| {
        h.time = (max + 1) as u32;
        resolve(h);
    });
    assert!(later.is_ok(), "{later:?}");
}

/// A branch with an invalid block: B2 fails when connected, B3..B8 on it are flagged as its
/// descendants, and C3 (stored on B2 earlier, with too little work to be tried) is not flagged
/// yet but is known invalid all the same.
#[test]
fn check_headers_rejects_known_invalid_blocks_and_their_descendants() {
    let mut h = Harness::regtest();
    h.mine(115);
    let tip = h.chain.tip_hash();
    let fork = h.chain.block_hash_at(108).unwrap();
    let b1 = h.build_on(fork, vec![], Amount::ZERO, 3);
    h.submit_requested(b1.clone()).unwrap();
    let mut bad = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    bad.outputs[0].value = units(5_000); // breaks the signature
    let b2 = h.build_on(b1.block_hash(), vec![bad], Amount::ZERO, 3);
    h.submit_requested(b2.clone()).unwrap();
    let c3 = h.build_on(b2.block_hash(), vec![], Amount::ZERO, 4);
    h.submit_requested(c3.clone()).unwrap();
    let mut branch = vec![b1.clone(), b2.clone()];
    let mut invalid_seen = 0;
    for _ in 0..6 {
        let next = h.build_on(branch.last().unwrap().block_hash(), vec![], Amount::ZERO, 3);
        invalid_seen += h.submit_requested(next.clone()).unwrap().update.invalid.len();
        branch.push(next);
    }
    assert_eq!(invalid_seen, 1);
    assert_eq!(h.chain.tip_hash(), tip);

    let (b2_hash, c3_hash) = (b2.block_hash(), c3.block_hash());
    assert!(h.chain.index_record(&b2_hash).unwrap().is_failed());
    assert!(
        !h.chain.index_record(&c3_hash).unwrap().is_failed(),
        "flags reach descendants lazily"
    );
    for x in [b2_hash, c3_hash, branch[7].block_hash()] {
        assert!(h.chain.is_known_invalid(&x));
        assert!(h.chain.contains_block(&x));
    }
    for x in [b1.block_hash(), tip, fork, BlockHash::ZERO] {
        assert!(!h.chain.is_known_invalid(&x));
    }

    let now = h.now;
    assert_eq!(
        h.chain.check_headers(&headers_of(&branch[..3]), now),
        Err(HeadersError::KnownInvalid { index: 1, hash: b2_hash })
    );
    // A new header on an unflagged descendant of B2.
    let c4 = h.build_on(c3_hash, vec![], Amount::ZERO, 4);
    assert!(!h.chain.contains_block(&c4.block_hash()));
    assert_eq!(
        h.chain.check_headers(&[c4.header], now),
        Err(HeadersError::Invalid {
            index: 0,
            hash: c4.block_hash(),
            error: Box::new(BlockError::InvalidParent(c3_hash)),
        })
    );
}

/// On testnet (ASERT, anchored at block 1) the required bits depend on the time of block 1 on
/// the header's branch, which may be one of the new headers, and change with every block.
#[test]
fn check_headers_follows_asert_on_testnet() {
    let mut peer = Harness::new(Network::Testnet);
    let params = Network::Testnet.params();
    let genesis = peer.chain.tip_hash();
    // Blocks 1 and 2 use the anchor target (2^231, about 2^25 hashes each).
    let b1 = add_block(&mut peer, genesis, params.genesis_block().header.time + 1, 0);
    let anchor_time = b1.header.time;
    // Far enough behind schedule that block 3's target is 2^244 (about 4,000 hashes).
    let b2 = add_block(&mut peer, b1.block_hash(), anchor_time + 10 + 13 * 600, 0);
    let mut blocks = vec![b1, b2];
    let gaps: [i64; 10] = [3, 25, 10, 1, 40, -5, 12, 30, 8, 2];
    for i in 0..28 {
        let parent = blocks.last().unwrap();
        let time = (i64::from(parent.header.time) + gaps[i % gaps.len()]) as u32;
        let b = add_block(&mut peer, parent.block_hash(), time, 0);
        blocks.push(b);
    }
    assert_eq!(U256::from_compact(blocks[2].header.bits).unwrap(), U256::ONE << 244);
    let distinct: std::collections::BTreeSet<u32> = blocks[2..].iter().map(|b| b.header.bits).collect();
    assert!(distinct.len() > 10, "the target moves with the times: {distinct:?}");

    // A node at genesis: the anchor is the first header of the list.
    let mut node = Harness::new(Network::Testnet);
    node.now = peer.now;
    let now = node.now;
    let summary = node.chain.check_headers(&headers_of(&blocks), now).unwrap();
    assert_eq!(summary.last_hash, peer.chain.tip_hash());
    assert_eq!(summary.last_height, 30);
    assert_eq!(summary.new_headers, 30);
    assert_eq!(summary.chain_work, peer.chain.tip_chain_work());
    // Bits that are not the ASERT ones, at any position, are rejected with the expected value.
    for k in [1, 2, 17, 29] {
        let mut headers = headers_of(&blocks[..=k]);
        headers[k].bits = params.pow_limit_bits;
        resolve(&mut headers[k]);
        let err = node.chain.check_headers(&headers, now).unwrap_err();
        let expected = BlockError::WrongBits {
            expected: blocks[k].header.bits,
            got: params.pow_limit_bits,
        };
        assert!(
            matches!(err, HeadersError::Invalid { index, ref error, .. } if index == k && **error == expected),
            "{err:?}"
        );
    }
    // A node that has blocks 1..=5: the anchor comes from its index.
    for b in &blocks[..5] {
        node.submit(b.clone()).unwrap();
    }
    let rest = node.chain.check_headers(&headers_of(&blocks[5..]), now).unwrap();
    assert_eq!(
        rest,
        HeaderChainSummary {
            new_headers: 25,
            ..summary
        }
    );
    // Once stored, every block's bits are what `header_context` requires, and the work matches.
    for b in &blocks[5..] {
        let ctx = node.chain.header_context(&b.header.prev_blockhash, now).unwrap();
        assert_eq!(ctx.expected_bits, b.header.bits);
        node.submit(b.clone()).unwrap();
    }
    assert_eq!(node.chain.tip_chain_work(), summary.chain_work);
}

/// Presync: a branch checked batch by batch from a cursor adds up to the same work, height and
/// end as checked at once; every rule still applies in a later batch (the window carries the
/// median time past across batches), and a batch that does not build on the cursor is refused.
#[test]
fn a_branch_checked_in_batches_from_a_cursor_matches_one_check() {
    let (_, node, blocks) = peer_and_node();
    let all = headers_of(&blocks[10..]);
    let whole = node.chain.check_headers(&all, node.now).unwrap();
    let mut cursor = node.chain.start_headers(&all[..7], node.now).unwrap();
    for chunk in all[7..].chunks(6) {
        cursor = node.chain.continue_headers(&cursor, chunk, node.now).unwrap();
        assert_eq!(cursor.summary().new_headers, chunk.len());
    }
    let s = cursor.summary();
    assert_eq!(
        (s.last_hash, s.last_height, s.chain_work),
        (whole.last_hash, whole.last_height, whole.chain_work)
    );
    // Nothing was stored.
    assert_eq!(node.chain.height(), 10);
    assert!(!node.chain.contains_block(&whole.last_hash));

    let start = node.chain.start_headers(&all[..20], node.now).unwrap();
    // A later batch that skips a header.
    assert!(matches!(
        node.chain.continue_headers(&start, &all[21..], node.now),
        Err(HeadersError::NotContinuous { index: 0 })
    ));
    // A later batch whose first header is dated at the median time past of the headers before
    // it, which only the carried window knows (none of them is in the index).
    let mut late = all[20];
    late.time = {
        let mut times: Vec<u32> = all[9..20].iter().map(|h| h.time).collect();
        times.sort_unstable();
        times[5]
    };
    resolve(&mut late);
    let (index, error) = invalid(node.chain.continue_headers(&start, &[late], node.now).map(|c| c.summary()));
    assert_eq!(index, 0);
    assert!(matches!(error, BlockError::TimeTooOld { .. }), "{error:?}");
    assert!(matches!(
        node.chain.continue_headers(&start, &[], node.now),
        Err(HeadersError::Empty)
    ));
}
