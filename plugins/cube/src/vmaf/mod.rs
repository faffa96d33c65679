//! VMAF's integer features as device kernels, bit for bit the CPU plugin's: see
//! `README.md` beside this file.

mod arith;
#[cfg(test)]
mod tests;
pub mod vif;
