//! `jpeg-decoder` behind the budget: whatever a file's structure, once the budget allows
//! it the decode must end (within libFuzzer's time limit) and in bounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photo::general::{Budget, decode};
use photo::markers::Walker;

fuzz_target!(|data: &[u8]| {
    let Ok(mut walker) = Walker::new(data) else {
        return;
    };
    let Ok(frame) = walker.frame().cloned() else {
        return;
    };
    if Budget::of(data).is_ok_and(|budget| budget.allows()) {
        let _ = decode(data, &frame, 140);
    }
});

usersbypage_fuzz::jpeg_mutator!();
