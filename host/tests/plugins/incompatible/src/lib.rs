//! Stands for a plugin built against an incompatible interface: its root module has
//! qscore's name but a different layout, which abi_stable must refuse at load.

use abi_stable::{
    StableAbi, declare_root_module_statics, export_root_module, library::RootModule,
    prefix_type::PrefixTypeTrait, sabi_types::VersionStrings,
};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    pub abi: u64,
    #[sabi(last_prefix_field)]
    pub hello: extern "C" fn() -> u32,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "qscore_plugin";
    const NAME: &'static str = "qscore_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

extern "C" fn hello() -> u32 {
    42
}

#[export_root_module]
pub fn root() -> PluginModRef {
    PluginMod { abi: 2, hello }.leak_into_prefix()
}
