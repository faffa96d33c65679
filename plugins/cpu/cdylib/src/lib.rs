//! The CPU plugin as a plugin file (`libqscore_plugin_cpu.so`): it exports the root module
//! of `qscore-cpu-impl`, where the metrics and the plugin type live.

qscore_core::export_root_module_fn!(qscore_cpu::qscore_root_module);
