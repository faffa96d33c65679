//! Stands for a plugin built against a later ABI 1.x: it reports minor 9 and
//! answers an extension id this host has never heard of, besides the ones it knows.

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
            name: "newer",
            panic_in_compare: false,
        };
        &INSTANCE
    }
}

/// An extension from the future: a header and a larger table behind it.
#[repr(C)]
struct FutureTable {
    header: ExtHeader,
    payload: [u64; 8],
}

/// Id of the future extension.
const FUTURE_ID: u32 = 4242;

static FUTURE: FutureTable = FutureTable {
    header: ExtHeader {
        id: FUTURE_ID,
        size: std::mem::size_of::<FutureTable>() as u32,
    },
    payload: [7; 8],
};

extern "C" fn extensions(id: u32) -> *const ExtHeader {
    match id {
        FUTURE_ID => &FUTURE.header,
        known => exports::extension_of::<Exported>(known),
    }
}

fn root() -> PluginModRef {
    PluginMod {
        abi: AbiVersion { major: 1, minor: 9 },
        extension: extensions,
        ..exports::module::<Exported>()
    }
    .leak_into_prefix()
}

qscore_core::export_root_module_fn!(root);
