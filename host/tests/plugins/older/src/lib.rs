//! Stands for a plugin built against ABI 1.0: it reports minor 0 and answers no
//! extension id, because none existed then.

#[path = "../../common/fixture.rs"]
mod fixture;

use qscore_core::{
    AbiVersion, PluginMod, PluginModRef, abi_stable::prefix_type::PrefixTypeTrait,
    root::ext::ExtHeader, sdk::exports,
};

struct Exported;

impl exports::Exported for Exported {
    type Plugin = fixture::Fixture;
    fn instance() -> &'static fixture::Fixture {
        static INSTANCE: fixture::Fixture = fixture::Fixture {
            name: "older",
            panic_in_compare: false,
        };
        &INSTANCE
    }
}

extern "C" fn no_extensions(_id: u32) -> *const ExtHeader {
    std::ptr::null()
}

fn root() -> PluginModRef {
    PluginMod {
        abi: AbiVersion { major: 1, minor: 0 },
        extension: no_extensions,
        ..exports::module::<Exported>()
    }
    .leak_into_prefix()
}

qscore_core::export_root_module_fn!(root);
