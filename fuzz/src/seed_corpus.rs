//! Writes the seed inputs of every target into `$CAIRN_FUZZ_CORPUS/<target>/seed-N` (the corpus
//! libFuzzer starts from: valid encodings, so the fuzzer begins past the framing), then exits.
//! It is a libFuzzer binary itself only so that it links against the coverage runtime like the
//! targets do; it fuzzes nothing.
#![no_main]

fn write_seeds() {
    let dir = std::path::PathBuf::from(std::env::var("CAIRN_FUZZ_CORPUS").unwrap_or_else(|_| "fuzz/corpus".into()));
    let (blocks, txs) = cairn_chain::fuzz::seeds();
    let mut all: Vec<(&str, Vec<Vec<u8>>)> = vec![("transaction", txs), ("block", blocks)];
    for t in ["sync_message", "content_message", "index_message", "manifest", "bitfield", "chord_node"] {
        all.push((t, cairn_p2p::fuzz::seeds(t)));
    }
    for (target, seeds) in all {
        let d = dir.join(target);
        if let Err(e) = std::fs::create_dir_all(&d) {
            eprintln!("creating {}: {e}", d.display());
            std::process::exit(1);
        }
        for (i, s) in seeds.iter().enumerate() {
            if let Err(e) = std::fs::write(d.join(format!("seed-{i}")), s) {
                eprintln!("writing a seed in {}: {e}", d.display());
                std::process::exit(1);
            }
        }
    }
    std::process::exit(0);
}

libfuzzer_sys::fuzz_target!(init: write_seeds(), |_data: &[u8]| {});
