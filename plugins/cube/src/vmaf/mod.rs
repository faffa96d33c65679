//! VMAF's integer features as device kernels, bit for bit the CPU plugin's: see
//! `README.md` beside this file.

pub mod adm;
mod adm_kernels;
mod arith;
pub mod luma;
pub mod motion;
#[cfg(test)]
mod tests;
pub mod vif;
