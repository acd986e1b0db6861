//! The 1/8-scale decoder on any frame within the pixel limit, not only on photos whose
//! short side reaches 1,120 px, so small inputs reach every path of it. A result must have
//! one pixel per 8x8 block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photo::markers::Walker;

fuzz_target!(|data: &[u8]| {
    let Ok(mut walker) = Walker::new(data) else {
        return;
    };
    let Ok(frame) = walker.frame().cloned() else {
        return;
    };
    if let Ok(image) = photo::eighth::decode(&mut walker) {
        let expected = (frame.width.div_ceil(8), frame.height.div_ceil(8));
        let got = (image.width() as usize, image.height() as usize);
        assert_eq!(got, expected, "not one pixel per block");
    }
});

usersbypage_fuzz::jpeg_mutator!();
