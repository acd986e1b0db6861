//! The registration's multipart reader on any body, cut into chunks of any size (the first
//! input byte picks it), as a network delivers them. It must answer — fields, or the
//! contract's error — without panicking and within the time limit.
#![no_main]

use bytes::Bytes;
use futures_util::stream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(size).max(1) * 64;
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let declared = (size % 2 == 0).then_some(body.len() as u64);
    let _ = futures_executor::block_on(api::multipart::read_registration(
        Some("multipart/form-data; boundary=XyZ"),
        declared,
        stream::iter(chunks),
    ));
});
