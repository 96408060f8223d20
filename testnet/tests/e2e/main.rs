//! End-to-end scenarios on real `cairn node` processes started by the launcher.
