//! The photo pipeline natively: check, decode at reduced scale, crop, resize, encode.
//! `cargo bench -p photo` (results also feed the benchmark table, see scripts/bench).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn pipeline(c: &mut Criterion) {
    let camera =
        photo::samples::camera_like_within(4000, 3000, domain::registration::PHOTO_MAX_BYTES)
            .expect("a 4000x3000 JPEG within the upload limit");
    let high_detail = photo::samples::high_detail(4000, 3000, 90);
    let bomb = photo::samples::bomb_header(60_000);
    let mut group = c.benchmark_group("photo");
    group.sample_size(20);
    group.bench_function("thumbnail_4000x3000", |b| {
        b.iter(|| photo::thumbnail(black_box(&camera)).expect("a valid photo"))
    });
    group.bench_function("thumbnail_high_detail", |b| {
        b.iter(|| photo::thumbnail(black_box(&high_detail)).expect("a valid photo"))
    });
    group.bench_function("check_bomb_header", |b| {
        b.iter(|| photo::thumbnail(black_box(&bomb)).expect_err("refused"))
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
