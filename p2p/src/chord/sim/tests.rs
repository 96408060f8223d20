//! The simulator at small scale: fast enough for debug builds, deterministic per seed.

use super::*;

fn half_log2(n: usize) -> f64 {
    0.5 * (n as f64).log2()
}

#[test]
fn lookups_take_about_half_log_n_hops() {
    // The paper's node: fingers and one successor.
    let rows = path_lengths(&[64, 128], 1, 1000, 1).unwrap();
    assert_eq!(rows.iter().map(|r| r.n).collect::<Vec<_>>(), [64, 128]);
    for row in &rows {
        assert_eq!((row.wrong, row.failed), (0, 0), "{row:?}");
        let expected = half_log2(row.n);
        assert!((row.mean - expected).abs() <= 0.15 * expected, "{row:?} vs {expected}");
        assert!(row.p1 < row.p99);
    }
    // A longer successor list serves as extra fingers near the key: shorter paths.
    let long = path_lengths(&[128], 8, 1000, 1).unwrap();
    assert_eq!((long[0].wrong, long[0].failed), (0, 0));
    assert!(long[0].mean < rows[1].mean, "{long:?}");
}

#[test]
fn lookups_never_fail_after_stabilization() {
    let setup = FailureSetup {
        nodes: 128,
        successors: 8,
        keys_per_node: 5,
        gets: 500,
        stabilize_for: 30_000,
    };
    let rows = failures(&setup, &[0.2], 7).unwrap();
    let row = &rows[0];
    assert_eq!(row.failed_nodes, 26);
    assert_eq!(row.keys, 640, "every put succeeded");
    assert_eq!(row.after.failed_lookups, 0, "{row:?}");
    assert!(
        row.divergence_after.successors == 0 && row.divergence_after.predecessors == 0,
        "{row:?}"
    );
    // Without replication about a fifth of the keys would be gone; with 8 replicas, none.
    assert!((0.1..0.3).contains(&row.lost_unreplicated), "{row:?}");
    assert_eq!(row.lost_replicated, 0.0);
    assert_eq!(row.after.missing, 0, "{row:?}");
}

#[test]
fn a_seed_fixes_every_number() {
    let run = |seed| {
        let mut sim = Sim::new(seed, NetConfig::default(), sim_config(4));
        sim.grow_to(32).unwrap();
        sim.set_maintenance(false);
        (sim.measure_lookups(200), sim.events(), sim.now())
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3).1, run(4).1);
}

#[test]
fn virtual_nodes_even_out_the_load() {
    let rows = load_balance(500, 50_000, &[1, 10], 5);
    let (plain, spread) = (&rows[0], &rows[1]);
    assert_eq!(plain.mean, 100.0);
    assert!(plain.p99_ratio() > 3.0, "{plain:?}");
    assert!(spread.p99_ratio() < 2.0 && spread.p1_ratio() > plain.p1_ratio(), "{spread:?}");
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let v: Vec<u32> = (1..=100).collect();
    assert_eq!((percentile(&v, 0.01), percentile(&v, 0.99), percentile(&v, 1.0)), (1, 99, 100));
    assert_eq!(percentile::<u32>(&[], 0.5), 0);
}

#[test]
fn hostile_nodes_are_survived_with_the_defences_and_not_without() {
    let setup = HostileSetup {
        nodes: 256,
        successors: 8,
        keys: 300,
        ops: 300,
        settle_for: 30_000,
    };
    let rows = hostile(&setup, &[Adversary::Silent, Adversary::Lone, Adversary::Liar], &[0.2], 11).unwrap();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        assert_eq!(row.hostile, 51, "{row:?}");
        if row.defences {
            assert!(row.gets_ok >= 0.97, "{row:?}");
            assert!(row.puts_ok >= 0.95, "{row:?}");
        } else if row.adversary != Adversary::Silent {
            // Without the checks a liar's word is taken: most gets come back forged or empty.
            assert!(row.gets_ok <= 0.5, "{row:?}");
        }
    }
    // Defences cost nothing but the put's extra copies when nobody lies.
    let calm = hostile(&setup, &[Adversary::Liar], &[0.0], 11).unwrap();
    for row in &calm {
        assert_eq!((row.puts_ok, row.lookups_ok, row.gets_ok), (1.0, 1.0, 1.0), "{row:?}");
    }
    assert!((calm[1].msgs_per_lookup - calm[0].msgs_per_lookup).abs() < 0.5, "{calm:?}");
}
