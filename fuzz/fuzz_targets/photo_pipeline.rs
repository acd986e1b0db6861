//! The whole photo pipeline as a registration runs it: checks, structure walk, decode at
//! reduced scale, crop, resize, orientation, encode. Any panic, a run past libFuzzer's
//! time limit or its memory limit is a finding; so is a result that is not the 70x70 JPEG
//! the contract stores.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jpeg) = photo::thumbnail(data) {
        let size = photo::check(&jpeg).map(|d| (d.width, d.height));
        assert_eq!(size, Ok((70, 70)), "a thumbnail that is not a 70x70 JPEG");
    }
});

usersbypage_fuzz::jpeg_mutator!();
