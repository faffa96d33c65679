//! A plugin whose exports panic: `compare` always, `devices` when the environment
//! variable `QSCORE_FIXTURE_PANIC=devices` is set. The kit must turn each panic
//! into a typed error; nothing may unwind into the host.

#[path = "../../common/fixture.rs"]
mod fixture;

qscore_core::export_plugin!(fixture::Fixture, || fixture::Fixture {
    name: "panicking",
    panic_in_compare: true,
});
