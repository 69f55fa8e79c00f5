//! The same cases natively, for comparison with wasm32: prints one JSON object with the
//! median time per operation of each case (`tools/scripts/bench.sh` merges it).

use std::time::Instant;

use bench_micro::all_cases;
use serde_json::json;

/// Each round lasts about this long; the median of the rounds is reported.
const ROUND_SECONDS: f64 = 0.15;
const ROUNDS: usize = 5;

fn main() {
    let mut results = serde_json::Map::new();
    for case in all_cases() {
        let mut iterations: u32 = 1;
        // Grow until one call takes long enough to time well.
        loop {
            let started = Instant::now();
            let succeeded = case.run(iterations);
            let elapsed = started.elapsed().as_secs_f64();
            assert_eq!(
                succeeded, iterations,
                "{}: every operation must succeed",
                case.id
            );
            if elapsed >= ROUND_SECONDS / 4.0 {
                iterations =
                    ((f64::from(iterations) * ROUND_SECONDS / elapsed).ceil() as u32).max(1);
                break;
            }
            iterations = iterations.saturating_mul(4);
        }
        let mut per_op_us: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                let succeeded = case.run(iterations);
                let elapsed = started.elapsed().as_secs_f64();
                assert_eq!(
                    succeeded, iterations,
                    "{}: every operation must succeed",
                    case.id
                );
                elapsed * 1e6 / f64::from(iterations)
            })
            .collect();
        per_op_us.sort_by(f64::total_cmp);
        let median = per_op_us[ROUNDS / 2];
        eprintln!("native  {:<28} {:>10.2} µs/op", case.id, median);
        results.insert(
            case.id.to_string(),
            json!({ "us_per_op": median, "iterations": iterations, "rounds": ROUNDS }),
        );
    }
    println!("{}", serde_json::Value::Object(results));
}
