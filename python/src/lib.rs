//! `qscore._native`, the extension module of the Python package: the qscore host linked
//! into Python, with the CPU plugin built in and the package's GPU plugin files beside it.
//!
//! The Python-facing API is `qscore/__init__.py`; this module converts between Python and
//! the host: arrays and paths in ([`images`]), dicts out, host errors as the package's
//! exceptions ([`errors`]), and every call that scores runs with the GIL released, where
//! Ctrl-C reaches it ([`wait`]).

mod batch;
mod errors;
mod images;
mod runtime;
mod scorer;
mod video;
mod wait;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(runtime::configure, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::plugins, m)?)?;
    m.add_class::<scorer::Scorer>()?;
    m.add_function(wrap_pyfunction!(video::score_video, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch, m)?)?;
    Ok(())
}
